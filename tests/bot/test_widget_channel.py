"""The widget channel's sessions, tokens, origins and message bodies (no server)."""

from __future__ import annotations

import time

import pytest

from bot.channels.checks import BadRequest
from bot.channels.widget import (
    Session,
    _cors,
    issue_token,
    message_body,
    read_token,
    start_session,
)
from bot.settings import ChannelSettings
from shop.identity import signed_metadata

SECRET = "test-secret-0123456789abcdef"
CONFIG = ChannelSettings(customer_id_secret=SECRET, channel_secret="k" * 32,
                         widget_origins=("https://shop.example",))


def test_a_token_proves_its_session_and_nothing_else() -> None:
    session = Session(conversation="web-1", expires=int(time.time()) + 60, customer_id="C1",
                      customer_sig="ab", customer_expires=123)
    token = issue_token(session, CONFIG.channel_secret)
    assert read_token(token, CONFIG.channel_secret) == session
    body, tag = token.split(".")
    for forged in (f"{body}.{tag[:-2]}AA", f"{body[:-3]}xyz.{tag}", token + "x", "",
                   None, 42, "a.b.c", "." * 3000):
        with pytest.raises(BadRequest) as refused:
            read_token(forged, CONFIG.channel_secret)
        assert refused.value.status == 401
    with pytest.raises(BadRequest):
        read_token(token, "another-secret-entirely-000000")


def test_an_expired_token_is_refused() -> None:
    token = issue_token(Session(conversation="web-1", expires=100), CONFIG.channel_secret)
    with pytest.raises(BadRequest, match="expired"):
        read_token(token, CONFIG.channel_secret)


def test_a_visitor_gets_a_new_conversation_and_keeps_it() -> None:
    first = start_session({}, CONFIG)
    assert first.conversation.startswith("web-") and first.customer_id is None
    token = issue_token(first, CONFIG.channel_secret)
    assert start_session({"token": token}, CONFIG).conversation == first.conversation
    assert start_session({"token": token, "reset": True}, CONFIG).conversation \
        != first.conversation
    # an old or foreign token is no error: a new conversation starts
    assert start_session({"token": "junk"}, CONFIG).conversation != first.conversation


def test_a_signed_in_customer_is_who_the_shop_signed() -> None:
    claim = signed_metadata(SECRET, "C10001", "shop-session-7", ttl=600)
    session = start_session({"user": {"sender": "shop-session-7", **claim}}, CONFIG)
    assert session.conversation == "shop-session-7" and session.customer_id == "C10001"
    assert session.claims()["customer_sig"] == claim["customer_sig"]
    for user in ({"sender": "another-session", **claim},           # signed for another chat
                 {"sender": "shop-session-7", "customer_id": "C10001"},  # unsigned
                 {"sender": "shop-session-7", **claim, "customer_id": "C99999"}):  # forged
        with pytest.raises(BadRequest) as refused:
            start_session({"user": user}, CONFIG)
        assert refused.value.status == 401
    with pytest.raises(BadRequest):
        start_session({"user": "C10001"}, CONFIG)


def test_a_customers_token_does_not_resume_as_a_visitor() -> None:
    claim = signed_metadata(SECRET, "C10001", "shop-session-7", ttl=600)
    signed_in = start_session({"user": {"sender": "shop-session-7", **claim}}, CONFIG)
    token = issue_token(signed_in, CONFIG.channel_secret)
    # without the shop's claim (logged out), the customer's conversation is not resumed
    assert start_session({"token": token}, CONFIG).conversation != "shop-session-7"


class FakeRequest:
    def __init__(self, origin: str | None) -> None:
        self.headers = {} if origin is None else {"origin": origin}


def test_only_configured_origins_get_cors() -> None:
    allowed = _cors(FakeRequest("https://shop.example"), CONFIG)
    assert allowed["Access-Control-Allow-Origin"] == "https://shop.example"
    assert _cors(FakeRequest("https://evil.example"), CONFIG) is None
    assert _cors(FakeRequest("https://shop.example.evil.example"), CONFIG) is None
    assert _cors(FakeRequest(None), CONFIG) == {}  # a server or curl: no CORS needed


def test_message_bodies_keep_only_what_the_widget_draws() -> None:
    body = message_body({"text": "hi", "buttons": [{"title": "Yes", "payload": "/affirm"},
                                                   {"title": 3}, "x", {"title": "No"}],
                         "custom": {"type": "product_cards", "cards": []},
                         "image": "https://cdn.example/p.jpg", "recipient_id": "web-1",
                         "author": "A" * 200, "onload": "alert(1)"})
    assert body["buttons"] == [{"title": "Yes", "payload": "/affirm"},
                               {"title": "No", "payload": "No"}]
    assert set(body) == {"text", "buttons", "custom", "image", "author"}
    assert len(body["author"]) == 80
    assert message_body({"text": ""}) == {}


def test_an_answer_the_history_cannot_keep_still_reaches_the_open_page(tmp_path) -> None:
    """The channels' database away (PostgreSQL behind a relay the test cuts): the
    assistant's answer goes to the page's socket instead of being lost; once the
    database is back, answers are kept in the history again. Without a page (a
    reminder), the failure is Rasa's to report."""
    import asyncio
    import json

    from sqlalchemy.exc import SQLAlchemyError

    from bot.channels.history import MessageHistory
    from bot.channels.widget import WidgetOutput
    from tests.databases import database_url
    from tests.relay import ThreadedRelay

    sent: list[dict] = []

    class Socket:  # the page's end, as Sanic's websocket is used: send(text)
        async def send(self, frame: str) -> None:
            sent.append(json.loads(frame))

    relay = ThreadedRelay(("127.0.0.1", 5432))
    try:
        with database_url("postgresql", tmp_path, prefix="widget") as url:
            history = MessageHistory(url.replace(":5432/", f":{relay.port}/"), channel="widget")
            output = WidgetOutput(history, direct=Socket())
            asyncio.run(output.send_text_message("web-1", "Here are our headphones"))
            relay.cut()
            asyncio.run(output.send_text_with_buttons(
                "web-1", "有三款耳机", [{"title": "看看", "payload": "/more"}]))
            with pytest.raises(SQLAlchemyError):
                asyncio.run(WidgetOutput(history).send_text_message("web-1", "a reminder"))
            relay.restore()
            asyncio.run(output.send_text_message("web-1", "Anything else?"))
            kept = asyncio.run(MessageHistory(url, channel="widget").since("web-1"))
    finally:
        relay.close()
    assert [(f["type"], f["role"], f["text"], f["buttons"]) for f in sent] == [
        ("message", "assistant", "有三款耳机", [{"title": "看看", "payload": "/more"}])]
    assert [e.body["text"] for e in kept] == ["Here are our headphones", "Anything else?"]
