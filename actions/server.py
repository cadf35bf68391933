"""The action server: rasa-sdk's action executor behind a locked door.

``python -m actions.server [--port 5055]`` replaces ``python -m rasa_sdk``. The
difference is what a caller other than our Rasa server can do: nothing.

- It listens on ``ACTIONS_HOST`` (``127.0.0.1`` by default), not every interface.
- Every call but ``/health`` must carry ``Authorization: Bearer
  <ACTION_SERVER_TOKEN>`` (compared in constant time); without the token set
  the server refuses to start. Rasa sends it from ``bot/endpoints.yml``.
- A call that is not a well-formed action call (bad JSON, a compressed body
  that inflates past ``ACTION_MAX_BODY_BYTES``, a tracker of the wrong shape)
  gets a ``4xx``; no answer or log line ever repeats the tracker (it holds
  customers' messages and e-mail addresses).
- ``/health/live``, ``/health/ready`` (the recommender warmed up, the shop database
  and the product graph answering) and ``/metrics`` (:mod:`telemetry.web`); every
  action's time and failures are counted, every log line is JSON with the call's
  request id (the Rasa server's ``X-Request-ID``) and conversation.
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import json
import logging
import sys
import time
import traceback
import zlib
from typing import Any

from sanic import Sanic, response
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse

from actions.settings import Settings, SettingsError, load_settings
from telemetry import metrics
from telemetry.logs import CONVERSATION_ID

logger = logging.getLogger(__name__)


class MalformedCall(ValueError):
    """The request is not an action call Rasa would send."""


def _require(condition: bool, what: str) -> None:
    if not condition:
        raise MalformedCall(what)


def check_call(call: Any) -> str:
    """Check the shape of an action call; returns the action's name.

    Raises:
        MalformedCall: Saying which part is wrong (never quoting it).
    """
    _require(isinstance(call, dict), "the body must be a JSON object")
    name = call.get("next_action")
    _require(isinstance(name, str) and 0 < len(name) <= 128, '"next_action" must be a name')
    tracker = call.get("tracker")
    _require(isinstance(tracker, dict), '"tracker" must be an object')
    _require(isinstance(tracker.get("sender_id"), str) and 0 < len(tracker["sender_id"]) <= 255,
             '"tracker.sender_id" must be a string')
    _require(isinstance(tracker.get("slots", {}), dict), '"tracker.slots" must be an object')
    latest = tracker.get("latest_message", {})
    _require(isinstance(latest, dict), '"tracker.latest_message" must be an object')
    _require(isinstance(latest.get("metadata") or {}, dict),
             '"tracker.latest_message.metadata" must be an object')
    _require(isinstance(latest.get("entities") or [], list)
             and all(isinstance(e, dict) for e in latest.get("entities") or []),
             '"tracker.latest_message.entities" must be a list of objects')
    _require(isinstance(latest.get("intent") or {}, dict),
             '"tracker.latest_message.intent" must be an object')
    events = tracker.get("events", [])
    _require(isinstance(events, list) and all(
        isinstance(e, dict) and isinstance(e.get("event"), str) for e in events),
        '"tracker.events" must be a list of events')
    _require(isinstance(tracker.get("active_loop") or {}, dict),
             '"tracker.active_loop" must be an object')
    _require(call.get("domain") is None or isinstance(call["domain"], dict),
             '"domain" must be an object')
    return name


def read_body(request: Request, limit: int) -> Any:
    """The request's JSON, inflated when Rasa compressed it, within ``limit`` bytes.

    Raises:
        MalformedCall: Not JSON, or not valid deflate data.
        SanicException: ``413`` when it inflates past ``limit``.
    """
    body = request.body or b""
    if request.headers.get("content-encoding") == "deflate":
        inflater = zlib.decompressobj()
        try:
            body = inflater.decompress(body, limit + 1)
        except zlib.error:
            raise MalformedCall("the body is not valid deflate data") from None
        if len(body) > limit or inflater.unconsumed_tail:
            raise SanicException(f"the call inflates past {limit} bytes", status_code=413)
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise MalformedCall("the body is not valid JSON") from None


def create_app(settings: Settings, *, package: str = "actions") -> Sanic:
    """The action server's Sanic app for ``settings`` (actions from ``package``)."""
    from rasa_sdk.executor import ActionExecutor
    from rasa_sdk.interfaces import (
        ActionExecutionRejection,
        ActionMissingDomainException,
        ActionNotFoundException,
    )

    token = settings.action_server_token
    if not token:
        raise SettingsError("ACTION_SERVER_TOKEN is not set: the action server only answers "
                            "a Rasa server that sends this shared secret (make run "
                            "generates one in $SHOP_DATA_DIR/secrets.env)")
    expected = f"Bearer {token}".encode()
    executor = ActionExecutor()
    executor.register_package(package)
    app = Sanic("shop_actions", configure_logging=False)
    app.config.REQUEST_MAX_SIZE = settings.action_max_body
    app.config.FALLBACK_ERROR_FORMAT = "json"

    def authorised(request: Request) -> bool:
        given = request.headers.get("authorization", "").encode("utf-8", "replace")
        return hmac.compare_digest(given, expected)

    def error(message: str, status: int, **extra: Any) -> HTTPResponse:
        return response.json({"error": message, **extra}, status=status)

    @app.before_server_start
    async def publish_prices(app: Sanic) -> None:
        from actions.services import start_price_publisher

        start_price_publisher()

    @app.after_server_start
    async def warm_up(app: Sanic) -> None:
        from actions.services import warm_up

        # in the background: the health check answers at once, the first customer
        # does not wait for the recommender's model
        app.ctx.warming = asyncio.get_running_loop().run_in_executor(None, warm_up)

    @app.get("/health")
    async def health(request: Request) -> HTTPResponse:
        return response.json({"status": "ok"})

    _install_telemetry(app, settings)

    @app.get("/actions")
    async def actions(request: Request) -> HTTPResponse:
        if not authorised(request):
            return error("unauthorised", 401)
        return response.json([a.model_dump() for a in executor.list_actions()])

    @app.post("/webhook")
    async def webhook(request: Request) -> HTTPResponse:
        if not authorised(request):
            return error("unauthorised", 401)
        try:
            call = read_body(request, settings.action_max_body)
            name = check_call(call)
        except MalformedCall as exc:
            return error(str(exc), 400)
        CONVERSATION_ID.set(call["tracker"]["sender_id"])
        started = time.perf_counter()
        try:
            result = await executor.run(call)
        except ActionExecutionRejection as exc:
            return error(exc.message, 400, action_name=exc.action_name)
        except ActionNotFoundException as exc:
            return error(exc.message, 404, action_name=exc.action_name)
        except ActionMissingDomainException as exc:
            return error(exc.message, 449, action_name=exc.action_name)
        except Exception as exc:  # noqa: BLE001 - say which action failed, never the tracker
            frames = traceback.extract_tb(exc.__traceback__)
            where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
            logger.error("action %s failed: %s at %s", name, type(exc).__name__, where)
            metrics.ACTION_ERRORS.labels(name).inc()
            return error("the action failed", 500, action_name=name)
        finally:
            metrics.ACTION_SECONDS.labels(name).observe(time.perf_counter() - started)
        return response.json(result.model_dump() if result else None)

    @app.exception(Exception)
    async def on_error(request: Request, exc: Exception) -> HTTPResponse:
        status = exc.status_code if isinstance(exc, SanicException) else 500
        if status >= 500:
            logger.error("request to %s failed: %s", request.path, type(exc).__name__)
        return error(str(exc) if status < 500 else "internal error", status)

    return app


def _install_telemetry(app: Sanic, settings: Settings) -> None:
    """Request ids, HTTP metrics, ``/metrics`` and the health routes; ready once the
    warm-up finished and the shop database and the product graph answered."""
    from telemetry.web import Readiness, Telemetry

    def warmed_up() -> bool:
        warming = getattr(app.ctx, "warming", None)
        return warming is not None and warming.done()

    def database() -> bool:
        from actions.services import database_answers

        return database_answers()

    def graph() -> bool:
        from actions.services import product_graph

        return len(product_graph()) > 0

    readiness = Readiness("actions", {"warmed_up": warmed_up, "database": database,
                                      "graph": graph})
    Telemetry("actions", readiness, metrics_token=settings.metrics_token).install(app)


def main(argv: list[str] | None = None) -> int:
    """Start the action server (``--port``, default 5055)."""
    parser = argparse.ArgumentParser(prog="python -m actions.server")
    parser.add_argument("--port", type=int, default=5055)
    args = parser.parse_args(argv)
    from telemetry.logs import setup

    setup("actions")
    try:
        settings = load_settings()
        app = create_app(settings)
    except SettingsError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    logger.info("action server listening on http://%s:%d", settings.actions_host, args.port)
    app.run(host=settings.actions_host, port=args.port, single_process=True,
            access_log=False, motd=False)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
