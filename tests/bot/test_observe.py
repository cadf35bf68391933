"""The Rasa server's operators' view (bot/observe.py): a turn counted by channel,
language and intent, its fallbacks and offers of a person; the routes at the root."""

from __future__ import annotations

import asyncio

from prometheus_client import REGISTRY

from bot import observe


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _tracker(intent: str, language: str, answers: list[str]):  # type: ignore[no-untyped-def]
    from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    tracker = DialogueStateTracker.from_events("c1", [
        UserUttered("earlier", {"name": "greet", "confidence": 1.0}),
        BotUttered("hello", metadata={"utter_action": "utter_default"}),
        ActionExecuted("action_listen"),
        SlotSet("language", language),
        UserUttered("now", {"name": intent, "confidence": 0.9}),
        *[BotUttered("...", metadata={"utter_action": name}) for name in answers],
    ])
    return tracker


def test_a_turn_is_counted_with_what_was_understood_and_said() -> None:
    before = (_value("shop_turns_total", channel="widget", language="zh"),
              _value("shop_fallbacks_total", language="zh", kind="lookup_failed"),
              _value("shop_person_offers_total", language="zh"),
              _value("shop_fallbacks_total", language="zh", kind="not_understood"),
              _value("shop_turn_seconds_count", channel="widget", intent="ask_price"))
    with observe.turn("widget", "c1"):
        observe._learn(_tracker("ask_price", "zh",
                                ["utter_cannot_lookup", "utter_handoff_offer"]))
    after = (_value("shop_turns_total", channel="widget", language="zh"),
             _value("shop_fallbacks_total", language="zh", kind="lookup_failed"),
             _value("shop_person_offers_total", language="zh"),
             _value("shop_fallbacks_total", language="zh", kind="not_understood"),
             _value("shop_turn_seconds_count", channel="widget", intent="ask_price"))
    # the earlier turn's utter_default is not this turn's
    assert [b - a for a, b in zip(before, after, strict=True)] == [1, 1, 1, 0, 1]


def test_a_turn_rasa_never_saved_is_counted_without_an_intent() -> None:
    before = _value("shop_turn_seconds_count", channel="rest", intent="none")
    with observe.turn("rest", "c2"):
        pass
    assert _value("shop_turn_seconds_count", channel="rest", intent="none") == before + 1


def test_the_tracker_save_tells_the_turn_and_still_saves() -> None:
    from rasa.core.processor import MessageProcessor

    saved = []

    class Processor:
        async def save_tracker(self, tracker):  # type: ignore[no-untyped-def]
            saved.append(tracker)

    wrapped = observe._save_tracker(Processor.save_tracker)
    tracker = _tracker("greet", "en", [])
    with observe.turn("rest", "c3") as current:
        asyncio.run(wrapped(Processor(), tracker))
    assert saved == [tracker] and current.intent == "greet" and current.language == "en"
    observe.install()
    observe.install()  # idempotent: wrapped once
    assert MessageProcessor.save_tracker._shop_observed  # type: ignore[attr-defined]
    assert not getattr(MessageProcessor.save_tracker.__wrapped__, "_shop_observed", False)


def test_the_request_id_goes_to_the_action_server() -> None:
    from telemetry.logs import REQUEST_ID

    sent = {}

    async def request(self, method="post", subpath=None, **kwargs):  # type: ignore[no-untyped-def]
        sent.update(kwargs)

    token = REQUEST_ID.set("abcdef0123456789")
    try:
        asyncio.run(observe._request(request)(None, "post", json={}))
    finally:
        REQUEST_ID.reset(token)
    assert sent["headers"]["X-Request-ID"] == "abcdef0123456789"


def test_the_routes_sit_at_the_servers_root() -> None:
    from rasa.core.channels.channel import register
    from sanic import Sanic

    app = Sanic("observe_test")
    register([observe.TelemetryInput()], app, route="/webhooks/")
    app.router.finalize()
    paths = {"/" + route.path.lstrip("/") for route in app.router.routes}
    assert {"/health/live", "/health/ready", "/metrics"} <= paths


def test_a_rest_requests_conversation_is_read_for_its_log_lines() -> None:
    from types import SimpleNamespace

    post = SimpleNamespace(method="POST", path="/webhooks/rest/webhook", args={},
                           json={"sender": "me", "message": "hi"})
    assert observe.conversation_of(post) == "me"
    fetch = SimpleNamespace(method="GET", path="/webhooks/rest/messages",
                            args={"sender": "you"}, json=None)
    assert observe.conversation_of(fetch) == "you"
    odd = SimpleNamespace(method="POST", path="/webhooks/rest/webhook", args={},
                          json=["not", "an", "object"])
    assert observe.conversation_of(odd) is None
