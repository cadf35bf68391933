"""The WhatsApp channel's own part (bot/channels/whatsapp.py): what a Cloud API
delivery means, and the assistant's answers within WhatsApp's documented limits (as
the fake Cloud API, written from Meta's documentation, checks them)."""

from __future__ import annotations

import pytest

from bot.channels.pipeline import MESSAGE, PHOTO, UNSUPPORTED
from bot.channels.whatsapp import parse_message, render
from bot.settings import SettingsError, load_settings
from tests.fakes.whatsapp import FakeWhatsApp


def _valid(messages: list[dict]) -> None:
    for message in messages:
        refusal = FakeWhatsApp._check_limits(message)
        assert refusal is None, (refusal, message)


def test_every_kind_of_customer_message() -> None:
    fake = FakeWhatsApp()
    text = parse_message(fake.text("8613800000000", "有没有跑鞋"))
    assert text is not None and (text.kind, text.text, text.said) == (MESSAGE, "有没有跑鞋",
                                                                       "有没有跑鞋")
    tap = parse_message(fake.tap("8613800000000", "/inform{\"sku\": \"A1\"}", "Trail runner",
                                 row=True))
    assert tap is not None and tap.text == '/inform{"sku": "A1"}' and tap.said == "Trail runner"
    button = parse_message(fake.tap("8613800000000", "/deny", "No thanks"))
    assert button is not None and button.text == "/deny"
    photo = parse_message(fake.image("8613800000000", b"x", caption="this one?"))
    assert photo is not None and photo.kind == PHOTO and photo.media and photo.said == "this one?"
    for kind in ("audio", "sticker", "location", "video", "document"):
        other = parse_message(fake.other("8613800000000", kind))
        assert other is not None and other.kind == UNSUPPORTED
    assert parse_message({**fake.text("1", "x"), "type": "reaction"}) is None
    for bad in ({"from": "<script>", "id": "wamid.1", "type": "text"},
                {"from": "123", "id": "", "type": "text"},
                {"from": "1" * 21, "id": "wamid.1", "type": "text"},
                {"from": "123", "id": "wamid.\x00", "type": "text"},
                {"from": "123", "id": "wamid.1", "type": "interactive", "interactive": "x"}):
        assert parse_message(bad) is None, bad


def test_buttons_become_reply_buttons_or_lists_within_the_limits() -> None:
    three = [{"title": f"Choice {i}", "payload": f"/c{i}"} for i in range(3)]
    out = render([{"text": "Pick one", "buttons": three}])
    _valid(out)
    assert [m["interactive"]["type"] for m in out] == ["button"]
    many = [{"title": f"A very long option title number {i}", "payload": f"/c{i}"}
            for i in range(14)]
    out = render([{"text": "x" * 1500, "buttons": many}])
    _valid(out)
    lists = [m for m in out if m["type"] == "interactive"]
    rows = [r for m in lists for s in m["interactive"]["action"]["sections"] for r in s["rows"]]
    assert len(lists) == 2 and len(rows) == 14  # nothing dropped
    assert "".join(m["text"]["body"] for m in out if m["type"] == "text") + \
        lists[0]["interactive"]["body"]["text"] == "x" * 1500
    # the same title twice cannot be two reply buttons: a list instead
    twins = [{"title": "Same", "payload": "/a"}, {"title": "Same", "payload": "/b"}]
    _valid(render([{"text": "?", "buttons": twins}]))


def test_long_texts_product_cards_and_authors() -> None:
    out = render([{"text": "word " * 2000}])
    _valid(out)
    assert len(out) == 3 and all(len(m["text"]["body"]) <= 4096 for m in out)
    cards = [{"title": f"Trail runner model {i} with a long name", "price": "$89.00",
              "reason": "popular with runners like you", "image": f"https://x/{i}.jpg",
              "buttons": [{"title": "Tell me more",
                           "payload": f"/ask_details{{\"sku\": \"{i}\"}}"}]}
             for i in range(12)]
    out = render([{"custom": {"type": "product_cards", "cards": cards}}])
    _valid(out)
    assert sum(m["type"] == "image" for m in out) == 12
    rows = [r for m in out if m["type"] == "interactive"
            for s in m["interactive"]["action"]["sections"] for r in s["rows"]]
    assert len(rows) == 12 and all("$89.00" in r["description"] for r in rows)
    few = render([{"custom": {"type": "product_cards", "cards": [
        {**card, "title": f"Shoe {i}"} for i, card in enumerate(cards[:2])]}}])
    _valid(few)
    assert few[-1]["interactive"]["type"] == "button"
    # two names alike once cut to a button's 20 characters: a list shows them whole
    alike = render([{"custom": {"type": "product_cards", "cards": cards[:2]}}])
    _valid(alike)
    assert alike[-1]["interactive"]["type"] == "list"
    authored = render([{"text": "你好，我来帮您查", "author": "小王"}])
    assert authored[0]["text"]["body"].startswith("小王")


def test_whatsapp_is_off_by_default_and_checks_its_settings() -> None:
    assert not load_settings({}).whatsapp.enabled
    on = load_settings({"WHATSAPP_APP_SECRET": "s", "WHATSAPP_ACCESS_TOKEN": "t",
                        "WHATSAPP_VERIFY_TOKEN": "v" * 16, "WHATSAPP_PHONE_NUMBER_ID": "123"})
    assert on.whatsapp.enabled and on.whatsapp.api_base == "https://graph.facebook.com"
    for env in ({"WHATSAPP_APP_SECRET": "s"},
                {"WHATSAPP_APP_SECRET": "s", "WHATSAPP_ACCESS_TOKEN": "t",
                 "WHATSAPP_VERIFY_TOKEN": "short", "WHATSAPP_PHONE_NUMBER_ID": "123"},
                {"WHATSAPP_PHONE_NUMBER_ID": "12x"},
                {"WHATSAPP_API_BASE": "ftp://x"},
                {"WHATSAPP_TEMPLATE": "bad name!"},
                {"WHATSAPP_TEMPLATE_LANGUAGES": "fr:fr_FR"}):
        with pytest.raises(SettingsError):
            load_settings(env)
