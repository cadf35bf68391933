"""Recommendations through the real Rasa server and action server."""

from __future__ import annotations

import sqlite3

import pytest

from scripts.stack import Stack

pytestmark = pytest.mark.e2e


def ask(stack: Stack, sender: str, text: str) -> list[dict]:
    response = stack.post({"sender": sender, "message": text})
    assert response.status_code == 200, response.text
    return response.json()


def cards(messages: list[dict]) -> list[dict]:
    return [c for m in messages if isinstance(m.get("custom"), dict)
            for c in m["custom"].get("cards", [])]


def test_recommendations_come_as_cards_and_a_click_is_logged(stack: Stack, sender: str) -> None:
    messages = ask(stack, sender, "what would you recommend?")
    text = " ".join(m.get("text", "") for m in messages)
    shown = cards(messages)
    assert "picks for you" in text and shown, messages
    assert all(c["title"] and c["price"] and c["buttons"] for c in shown)
    picked = ask(stack, sender, shown[0]["buttons"][0]["payload"])
    assert any(shown[0]["title"].split(" (")[0] in m.get("text", "") for m in picked), picked
    with sqlite3.connect(stack.data_dir / "shop.db") as db:
        kinds = dict(db.execute("select kind, count(*) from recommendation_events "
                                "where sender_id = ? group by kind", (sender,)).fetchall())
    assert kinds.get("shown") == len(shown) and kinds.get("click") == 1


def test_chinese_recommendations_and_price_limits(stack: Stack, sender: str) -> None:
    messages = ask(stack, sender, "有什么推荐的吗")
    assert "为您推荐" in " ".join(m.get("text", "") for m in messages), messages
    assert cards(messages)


def test_contradictory_limits_get_an_honest_reply(stack: Stack, sender: str) -> None:
    texts = stack.say(sender, "recommend something over $900 under $10")
    assert any("exclude each other" in t or "couldn't find" in t for t in texts), texts
