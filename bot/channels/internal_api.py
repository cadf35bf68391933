"""Keeps Rasa's HTTP API off the customer-facing port.

Rasa serves its channels and its HTTP API (``/conversations``, ``/model``, ...)
from one Sanic app on one port. Registered in ``bot/credentials.yml``, this
"channel" has no routes of its own; it only:

- refuses every route outside ``/webhooks/`` (and Rasa's ``/`` greeting, and the
  operators' health and metrics routes of :mod:`bot.observe`) on the public port with
  ``404``, so strangers reach the channels and nothing else;
- when Rasa runs with ``--enable-api`` (``make run`` adds it, with
  ``--auth-token``, only when ``RASA_API_TOKEN`` is set), serves the same app on
  a second listener, ``RASA_API_HOST:RASA_API_PORT`` (``127.0.0.1:5006``), where
  the API answers to holders of the token;
- serves ``POST /webhooks/internal/push``: another service of the shop (the agent
  desk, a job) sends a message into a conversation on any channel that can be
  sent to at any time (:func:`bot.channels.sending.push`). It needs
  ``Authorization: Bearer <CHANNEL_PUSH_TOKEN>`` and answers ``404`` when no
  token is configured. Body: ``{"channel": "widget", "conversation": "...",
  "role": "agent", "message": {"text": "...", "author": "Ann"}}``. An agent's
  message or a notice is also written into the conversation's history.
- serves the agent desk's other internal routes, with the same token:
  ``POST /webhooks/internal/handoff`` (an internal note:
  ``{"conversation", "kind": "note", "detail"}``),
  ``POST /webhooks/internal/wake`` (the desk changed who holds a conversation:
  apply the published change now rather than at the next poll; claims, transfers
  and handbacks reach the server only this way, :mod:`bot.channels.follower`) and
  ``GET /webhooks/internal/conversations/<id>`` (the conversation's history:
  messages with intents and authors, the shop context the assistant built) and
  ``POST /webhooks/internal/typing`` (an agent is typing: shown, never stored).
- serves ``GET /webhooks/internal/customers/<id>/export`` (everything the shop holds
  about a customer, one ZIP with a JSON index) and ``DELETE
  /webhooks/internal/customers/<id>`` (erase or pseudonymise them everywhere;
  :mod:`privacy`), for the shop's own account page, with the same token;
- serves ``POST /webhooks/internal/customers`` (the shop's login flow links a
  messaging-platform user to a customer: ``{"channel": "wechat", "user":
  "<OpenID>", "customer_id": "C10001"}``; ``"customer_id": null`` unlinks), with
  the same token (:mod:`bot.channels.links`).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from functools import lru_cache
from typing import Any, Awaitable, Callable

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels import follower
from bot.channels.checks import BadRequest, check_id, headers_for, parse_json_object
from bot.channels.handover import history, record_agent_message, record_note, service
from bot.channels.sending import Undelivered, dispatcher, push, show_typing
from bot.settings import settings

logger = logging.getLogger(__name__)

PUBLIC_PREFIXES = ("/webhooks/",)
#: The operators' routes (bot/observe.py): the health checks, and the metrics, which
#: answer the METRICS_TOKEN's holder (or loopback callers) only.
OPERATIONS = ("/health/live", "/health/ready", "/metrics")


@lru_cache(maxsize=1)
def _customer_data() -> Any:
    """The customers' data in every store this server's settings name."""
    from bot.channels.media import shared_media
    from privacy import CustomerData, Stores

    config = settings()
    return CustomerData(Stores(shop=config.database_url, tracker=config.tracker_url,
                               channels=config.channel_db_url, handoff=config.handoff_db_url,
                               media=shared_media().store))


def public(path: str) -> bool:
    """Whether ``path`` may be served on the customer-facing port."""
    return path == "/" or path.startswith(PUBLIC_PREFIXES) or path in OPERATIONS


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
            # Sanic's own answers (no such route, a method not allowed) in JSON like every
            # other answer, not an HTML page (schemathesis found them)
            app.config.FALLBACK_ERROR_FORMAT = "json"

        @guard.listener("after_server_start")
        async def follow_the_record(app: Sanic, loop: Any) -> None:
            # applies what a stopped server left pending first, then every new change
            app.ctx.state_follower = follower.start(app, await asyncio.to_thread(service))

        @guard.listener("after_server_start")
        async def deliver_and_retry(app: Sanic, loop: Any) -> None:
            pipeline = await asyncio.to_thread(dispatcher)

            async def recorded(delivery: Any) -> None:
                # a person's message (or a notice) reaches the customer: history has it
                if delivery.role in ("agent", "notice") and \
                        delivery.body.get("record", True) is not False:
                    await record_agent_message(app.ctx.agent, delivery.conversation,
                                               delivery.body, role=delivery.role,
                                               delivery=delivery.id)

            pipeline.on_sent = recorded
            app.ctx.redelivery = asyncio.get_running_loop().create_task(pipeline.run())

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
        async def stop_following(app: Sanic, loop: Any) -> None:
            for name in ("state_follower", "redelivery"):
                task = getattr(app.ctx, name, None)
                if task is not None:
                    task.cancel()

        @guard.listener("before_server_stop")
        async def stop_internal(app: Sanic, loop: Any) -> None:
            server = getattr(app.ctx, "internal_api", None)
            if server is not None:
                server.close()
                await server.wait_closed()

        def refused(request: Request) -> HTTPResponse | None:
            token = config.push_token
            if token is None:
                return response.json({"error": "not found"}, status=404, headers=headers_for())
            auth = request.headers.get("authorization", "")
            given = auth[7:] if auth.lower().startswith("bearer ") else ""
            if not hmac.compare_digest(given.encode(), token.encode()):
                return response.json({"error": "a valid bearer token is required"},
                                     status=401, headers=headers_for())
            return None

        def error(exc: BadRequest) -> HTTPResponse:
            body: dict[str, Any] = {"error": str(exc)}
            if isinstance(exc, Undelivered):
                body["delivery"] = exc.delivery  # kept: it can be retried
            return response.json(body, status=exc.status, headers=headers_for())

        @guard.route("/customers", methods=["POST"])
        async def link_customer(request: Request) -> HTTPResponse:
            """Link (or unlink) a platform user to a shop customer."""
            if (denied := refused(request)) is not None:
                return denied
            from bot.channels.links import shared_links

            try:
                body = parse_json_object(request.body, config)
                channel = check_id(body.get("channel"), "channel", config)
                user = check_id(body.get("user"), "user", config)
                customer = body.get("customer_id")
                if customer is not None:
                    customer = check_id(customer, "customer_id", config)
            except BadRequest as exc:
                return error(exc)
            links = shared_links()
            if customer is None:
                gone = await asyncio.to_thread(links.unlink, channel, user)
                return response.json({"unlinked": gone}, headers=headers_for())
            await asyncio.to_thread(links.link, channel, user, customer)
            return response.json({"linked": customer}, status=201, headers=headers_for())

        async def about_customer(request: Request, customer: str,
                                 work: Callable[[str], Any]) -> HTTPResponse | Any:
            """``work(customer)`` in a worker thread for the token's holder; its result,
            or the refusal (401, 400 for a malformed id, 404 for an unknown one)."""
            from privacy import UnknownCustomer

            if (denied := refused(request)) is not None:
                return denied
            try:
                customer = check_id(customer, "customer", config)
            except BadRequest as exc:
                return error(exc)
            try:
                return await asyncio.to_thread(work, customer)
            except UnknownCustomer:
                return response.json({"error": "no such customer"}, status=404,
                                     headers=headers_for())

        @guard.route("/customers/<customer>/export", methods=["GET"])
        async def export_customer(request: Request, customer: str) -> HTTPResponse:
            """Everything the shop holds about a customer, as one ZIP (the shop's own
            account page offers it to the signed-in customer)."""
            import tempfile
            from pathlib import Path

            def zipped(customer: str) -> HTTPResponse:
                with tempfile.TemporaryDirectory() as folder:
                    out = Path(folder) / f"customer-{customer}.zip"
                    _customer_data().export(customer, out)
                    return response.raw(out.read_bytes(), content_type="application/zip",
                                        headers=headers_for({"Content-Disposition":
                                                             "attachment; filename="
                                                             f'"customer-{customer}.zip"'}))

            return await about_customer(request, customer, zipped)

        @guard.route("/customers/<customer>", methods=["DELETE"])
        async def forget_customer(request: Request, customer: str) -> HTTPResponse:
            """Erase or pseudonymise a customer everywhere (the account page's "delete
            my data"); what was done, in figures."""
            def forgotten(customer: str) -> HTTPResponse:
                report = _customer_data().forget(customer)
                return response.json({"forgotten": customer,
                                      "conversations": report.conversations,
                                      "deleted": report.deleted,
                                      "pseudonymised": report.pseudonymised,
                                      "photos": report.photos}, headers=headers_for())

            return await about_customer(request, customer, forgotten)

        @guard.route("/push", methods=["POST"])
        async def push_message(request: Request) -> HTTPResponse:
            if (denied := refused(request)) is not None:
                return denied
            try:
                body = parse_json_object(request.body, config)
                role = body.get("role", "agent")
                if role not in ("agent", "assistant", "notice"):
                    raise BadRequest('"role" must be agent, assistant or notice')
                message = body.get("message")
                if not isinstance(message, dict):
                    raise BadRequest('"message" must be a JSON object')
                channel = str(body.get("channel") or "")
                conversation = check_id(body.get("conversation"), "conversation", config)
                if role in ("agent", "notice") and body.get("record", True) is False:
                    message = {**message, "record": False}
                # an agent's message or a notice is written into the conversation's
                # history once it reached the customer (the pipeline's on_sent)
                entry = await push(channel, conversation, message, role=role)
            except BadRequest as exc:
                return error(exc)
            return response.json({"id": entry}, status=201, headers=headers_for())

        @guard.route("/deliveries", methods=["GET"])
        async def delivery_list(request: Request) -> HTTPResponse:
            """What became of the messages pushed into a conversation."""
            if (denied := refused(request)) is not None:
                return denied
            try:
                channel = check_id(request.args.get("channel"), "channel", config)
                conversation = check_id(request.args.get("conversation"), "conversation",
                                        config)
            except BadRequest as exc:
                return error(exc)
            found = await asyncio.to_thread(dispatcher().of, channel, conversation)
            return response.json({"deliveries": [d.as_json() for d in found]},
                                 headers=headers_for())

        @guard.route("/deliveries/<delivery_id:int>/retry", methods=["POST"])
        async def delivery_retry(request: Request, delivery_id: int) -> HTTPResponse:
            """Send a failed or expired message again (a person asked)."""
            if (denied := refused(request)) is not None:
                return denied
            try:
                body = parse_json_object(request.body, config)
                conversation = check_id(body.get("conversation"), "conversation", config)
                current = await asyncio.to_thread(dispatcher().get, delivery_id)
            except BadRequest as exc:
                return error(exc)
            except KeyError:
                current = None
            if current is None or current.conversation != conversation:
                return response.json({"error": "no such message in this conversation"},
                                     status=404, headers=headers_for())
            again = await dispatcher().retry(delivery_id)  # its outcome is in the body
            return response.json({"delivery": again.as_json()}, headers=headers_for())

        @guard.route("/handoff", methods=["POST"])
        async def handoff_event(request: Request) -> HTTPResponse:
            """An internal note from the agent desk (history only)."""
            if (denied := refused(request)) is not None:
                return denied
            try:
                body = parse_json_object(request.body, config)
                conversation = check_id(body.get("conversation"), "conversation", config)
                kind = body.get("kind")
                detail = body.get("detail") or {}
                if kind != "note":
                    raise BadRequest('"kind" must be note (claims, transfers and handbacks '
                                     'are changes of the handoff record: POST /wake)')
                if not isinstance(detail, dict):
                    raise BadRequest('"detail" must be a JSON object')
            except BadRequest as exc:
                return error(exc)
            await record_note(request.app.ctx.agent, conversation, detail)
            return response.json({"ok": True}, headers=headers_for())

        @guard.route("/wake", methods=["POST"])
        async def wake(request: Request) -> HTTPResponse:
            """Apply the handoff record's published changes now."""
            if (denied := refused(request)) is not None:
                return denied
            current = follower.follower()
            if current is not None:
                current.wake()
            return response.json({"ok": True}, headers=headers_for())

        @guard.route("/typing", methods=["POST"])
        async def typing(request: Request) -> HTTPResponse:
            """An agent is typing (or stopped): shown in the customer's open chat window."""
            if (denied := refused(request)) is not None:
                return denied
            try:
                body = parse_json_object(request.body, config)
                conversation = check_id(body.get("conversation"), "conversation", config)
            except BadRequest as exc:
                return error(exc)
            shown = await show_typing(str(body.get("channel") or ""), conversation,
                                      on=bool(body.get("on")), author=str(body.get("author") or ""))
            return response.json({"shown": shown}, headers=headers_for())

        @guard.route("/conversations/<conversation>", methods=["GET"])
        async def transcript(request: Request, conversation: str) -> HTTPResponse:
            """The conversation's history for the agent desk (see :func:`history`)."""
            if (denied := refused(request)) is not None:
                return denied
            try:
                conversation = check_id(conversation, "conversation", config)
            except BadRequest as exc:
                return error(exc)
            tracker = await request.app.ctx.agent.tracker_store.retrieve(conversation)
            if tracker is None:
                return response.json({"error": "no such conversation"}, status=404,
                                     headers=headers_for())
            return response.json(history(tracker), headers=headers_for())

        return guard
