"""What the Rasa server tells its operators: every turn counted by channel, language
and intent, fallbacks and offers of a person, the request id passed to the action
server, ``/health/live``, ``/health/ready`` and ``/metrics``.

Registered in ``bot/credentials.yml`` as the ``telemetry`` "channel" (it has no chat
of its own): :class:`TelemetryInput` makes every log line JSON (:mod:`telemetry.logs`)
when Rasa creates it, adds the request-id and HTTP-metrics middleware when the server
starts, and serves the three routes at the server's root (the public-port filter of
:mod:`bot.channels.internal_api` lets them through; ``/metrics`` answers the
``METRICS_TOKEN``'s holder, or loopback callers only).

A turn is measured once, in :func:`bot.channels.pipeline.take_turn` (every channel's
turn): :func:`turn` opens a :class:`Turn`, and :func:`install` wraps Rasa's
``MessageProcessor.save_tracker`` so that the turn learns from the tracker it saves
what was understood (intent, language) and what was said (a fallback, an offer of a
person) without reading the tracker store again.

Ready once the model is loaded and the tracker store and the channels' database
answer (:class:`telemetry.web.Readiness`).
"""

from __future__ import annotations

import contextvars
import functools
import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, Sanic

from telemetry import metrics
from telemetry.logs import CONVERSATION_ID
from telemetry.web import Readiness, Telemetry, forwarded

logger = logging.getLogger(__name__)

#: What an answer said, by the response it came from (``utter_action``).
FALLBACKS = {"utter_default": "not_understood", "utter_out_of_scope": "out_of_scope",
             "utter_cannot_lookup": "lookup_failed", "utter_recommend_busy": "busy",
             "utter_recommend_unavailable": "busy", "utter_visual_busy": "busy",
             "utter_visual_unavailable": "busy"}
OFFERS = {"utter_handoff_offer", "utter_handoff_offer_upset"}


@dataclass
class Turn:
    """One customer message on its way through the assistant."""

    channel: str
    started: float = field(default_factory=time.perf_counter)
    intent: str = "none"
    language: str = "unknown"
    said: list = field(default_factory=list)  # the answers' response names


_TURN: contextvars.ContextVar[Turn | None] = contextvars.ContextVar("turn", default=None)


@contextmanager
def turn(channel: str, conversation: str) -> Iterator[Turn]:
    """Measure one turn of ``conversation`` on ``channel`` (its log lines carry the
    conversation's id). Counted when the block ends without an error; a failed turn
    is counted by :func:`failed`."""
    current = Turn(channel)
    token = _TURN.set(current)
    conversation_token = CONVERSATION_ID.set(conversation)
    try:
        yield current
    finally:
        _TURN.reset(token)
        CONVERSATION_ID.reset(conversation_token)
    took = time.perf_counter() - current.started
    metrics.TURNS.labels(channel, current.language).inc()
    metrics.TURN_SECONDS.labels(channel, current.intent).observe(took)
    for name in current.said:
        if name in FALLBACKS:
            metrics.FALLBACKS.labels(current.language, FALLBACKS[name]).inc()
        elif name in OFFERS:
            metrics.PERSON_OFFERS.labels(current.language).inc()


def failed(channel: str) -> None:
    """A turn that failed and got the polite apology."""
    metrics.TURN_FAILURES.labels(channel).inc()


def _learn(tracker: Any) -> None:
    """Fill the current turn from the tracker Rasa is about to save."""
    current = _TURN.get()
    if current is None:
        return
    from rasa.shared.core.events import BotUttered, UserUttered

    latest = tracker.latest_message
    intent = (latest.intent or {}).get("name") if latest is not None else None
    current.intent = str(intent or "none")[:64]
    language = tracker.get_slot("language")
    current.language = language if language in ("en", "zh") else "unknown"
    said = []
    for event in reversed(list(tracker.events)):
        if isinstance(event, UserUttered):
            break
        if isinstance(event, BotUttered):
            said.append(str((event.metadata or {}).get("utter_action") or ""))
    current.said = said


def _save_tracker(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    async def save_tracker(self: Any, tracker: Any) -> None:
        try:
            _learn(tracker)
        except Exception:  # noqa: BLE001 - a metric is never worth a turn
            logger.debug("the turn's figures were not read", exc_info=True)
        await original(self, tracker)

    save_tracker._shop_observed = True  # type: ignore[attr-defined]
    return save_tracker


def _request(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    async def request(self: Any, *args: Any, **kwargs: Any) -> Any:
        # the action server's log lines carry the customer message's id
        kwargs["headers"] = {**(kwargs.get("headers") or {}), **forwarded()}
        return await original(self, *args, **kwargs)

    request._shop_observed = True  # type: ignore[attr-defined]
    return request


def install() -> None:
    """Wrap Rasa's tracker save (the turn's figures) and its HTTP client (the request
    id to the action server). Idempotent."""
    from rasa.core.processor import MessageProcessor
    from rasa.utils.endpoints import EndpointConfig

    if not getattr(MessageProcessor.save_tracker, "_shop_observed", False):
        MessageProcessor.save_tracker = _save_tracker(  # type: ignore[method-assign]
            MessageProcessor.save_tracker)
    if not getattr(EndpointConfig.request, "_shop_observed", False):
        EndpointConfig.request = _request(EndpointConfig.request)  # type: ignore[method-assign]


def conversation_of(request: Any) -> str | None:
    """The conversation a request names where the route says it plainly (the REST
    channel's ``sender``), for its log lines; ``None`` otherwise."""
    sender: Any = request.args.get("sender")
    if request.method == "POST" and request.path == "/webhooks/rest/webhook":
        body = request.json  # a body that is not JSON: the route answers 400 itself
        sender = body.get("sender") if isinstance(body, dict) else None
    return sender if isinstance(sender, str) and 0 < len(sender) <= 255 else None


def _checks(app: Sanic) -> Dict[str, Callable[[], Any]]:
    async def model() -> bool:
        agent = getattr(app.ctx, "agent", None)
        return agent is not None and agent.is_ready()

    async def tracker_store() -> bool:
        agent = getattr(app.ctx, "agent", None)
        if agent is None or agent.tracker_store is None:
            return False
        await agent.tracker_store.retrieve("__readiness__")
        return True

    def channels_database() -> bool:
        import sqlalchemy as sa

        from bot.channels.handover import service

        with service()._engine.connect() as connection:
            return connection.execute(sa.text("SELECT 1")).scalar() == 1

    return {"model": model, "tracker_store": tracker_store,
            "channels_database": channels_database}


class TelemetryInput(InputChannel):
    """Not a chat channel: the module docstring says what it does."""

    @classmethod
    def name(cls) -> str:
        """Registered as ``telemetry``."""
        return "telemetry"

    @classmethod
    def from_credentials(cls, credentials: Dict[str, Any] | None) -> "TelemetryInput":
        """Made when the server starts: JSON logs from here on, turns measured."""
        from telemetry.logs import setup

        setup("rasa")
        install()
        return cls()

    def url_prefix(self) -> str:
        """The routes sit at the server's root (``/health/ready``, ``/metrics``)."""
        return "/"

    def blueprint(self, on_new_message: Callable[[UserMessage], Any]) -> Blueprint:
        """The three routes; the middleware once the app starts."""
        from bot.settings import settings

        hook = Blueprint("shop_telemetry", __name__)
        readiness = Readiness("rasa")  # its checks need the app: added when it starts
        telemetry = Telemetry("rasa", readiness, metrics_token=settings().metrics_token,
                              conversation_of=conversation_of)

        @hook.listener("before_server_start")
        async def start(app: Sanic, loop: Any) -> None:
            from telemetry.logs import setup

            setup("rasa")  # Rasa configured Sanic's loggers after this channel was made
            for name, check in _checks(app).items():
                readiness.add(name, check)
            app.register_middleware(telemetry.on_request, "request")
            app.register_middleware(telemetry.on_response, "response")

        for handler, path in telemetry.routes():
            # Sanic 21 marks a blueprint's handler with an attribute: a function, not
            # a bound method
            hook.add_route(_plain(handler), path, methods=["GET"], name=handler.__name__)
        return hook


def _plain(handler: Callable[[Any], Any]) -> Callable[[Any], Any]:
    async def serve(request: Any) -> Any:
        return await handler(request)

    return serve
