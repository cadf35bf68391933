"""Keeps Rasa's HTTP API off the customer-facing port.

Rasa serves its channels and its HTTP API (``/conversations``, ``/model``, ...)
from one Sanic app on one port. Registered in ``bot/credentials.yml``, this
"channel" has no routes of its own; it only:

- refuses every route outside ``/webhooks/`` (and Rasa's ``/`` greeting) on the
  public port with ``404``, so strangers reach the channels and nothing else;
- when Rasa runs with ``--enable-api`` (``make run`` adds it, with
  ``--auth-token``, only when ``RASA_API_TOKEN`` is set), serves the same app on
  a second listener, ``RASA_API_HOST:RASA_API_PORT`` (``127.0.0.1:5006``), where
  the API answers to holders of the token;
- serves ``POST /webhooks/internal/push``: another service of the shop (the agent
  desk, a job) sends a message into a conversation on any channel that can be
  sent to at any time (:func:`bot.channels.base.push`). It needs
  ``Authorization: Bearer <CHANNEL_PUSH_TOKEN>`` and answers ``404`` when no
  token is configured. Body: ``{"channel": "widget", "conversation": "...",
  "role": "agent", "message": {"text": "...", "author": "Ann"}}``.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any, Awaitable, Callable

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.base import BadRequest, check_id, headers_for, parse_json_object, push
from bot.settings import settings

logger = logging.getLogger(__name__)

PUBLIC_PREFIXES = ("/webhooks/",)


def public(path: str) -> bool:
    """Whether ``path`` may be served on the customer-facing port."""
    return path == "/" or path.startswith(PUBLIC_PREFIXES)


class InternalApiGuard(InputChannel):
    """Not a chat channel: the guard described in the module docstring."""

    @classmethod
    def name(cls) -> str:
        """Registered as ``internal`` (its prefix serves nothing)."""
        return "internal"

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        """Listeners only: the public-port filter and the internal listener."""
        config = settings()
        guard = Blueprint("shop_internal_api_guard", __name__)
        internal: set[int] = set()  # the port, once the internal listener is up

        async def refuse_off_public(request: Request) -> HTTPResponse | None:
            if request.server_port not in internal and not public(request.path):
                return response.json({"error": "not found"}, status=404,
                                     headers=headers_for())
            return None

        @guard.listener("before_server_start")
        async def install_filter(app: Sanic, loop: Any) -> None:
            app.register_middleware(refuse_off_public, "request")

        @guard.listener("after_server_start")
        async def serve_internal(app: Sanic, loop: Any) -> None:
            if not any(route.path.lstrip("/").startswith("conversations")
                       for route in app.router.routes):
                return  # the API is not enabled: nothing to serve internally
            # fails loudly (address in use) if RASA_API_PORT is the public port
            app.ctx.internal_api = await app.create_server(
                host=config.api_host, port=config.api_port, return_asyncio_server=True,
                access_log=False)
            internal.add(config.api_port)
            logger.info("Rasa's HTTP API is served on http://%s:%d only",
                        config.api_host, config.api_port)

        @guard.listener("before_server_stop")
        async def stop_internal(app: Sanic, loop: Any) -> None:
            server = getattr(app.ctx, "internal_api", None)
            if server is not None:
                server.close()
                await server.wait_closed()

        @guard.route("/push", methods=["POST"])
        async def push_message(request: Request) -> HTTPResponse:
            token = config.push_token
            if token is None:
                return response.json({"error": "not found"}, status=404, headers=headers_for())
            auth = request.headers.get("authorization", "")
            given = auth[7:] if auth.lower().startswith("bearer ") else ""
            if not hmac.compare_digest(given.encode(), token.encode()):
                return response.json({"error": "a valid bearer token is required"},
                                     status=401, headers=headers_for())
            try:
                body = parse_json_object(request.body, config)
                role = body.get("role", "agent")
                if role not in ("agent", "assistant", "notice"):
                    raise BadRequest('"role" must be agent, assistant or notice')
                message = body.get("message")
                if not isinstance(message, dict):
                    raise BadRequest('"message" must be a JSON object')
                entry = await push(str(body.get("channel") or ""),
                                   check_id(body.get("conversation"), "conversation", config),
                                   message, role=role)
            except BadRequest as exc:
                return response.json({"error": str(exc)}, status=exc.status,
                                     headers=headers_for())
            return response.json({"id": entry}, status=201, headers=headers_for())

        return guard
