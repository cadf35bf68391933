"""Recommendations through the real Rasa server and action server."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time

import pytest

from scripts.stack import ROOT, Stack

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


def test_similar_and_goes_with_in_both_languages(stack: Stack, sender: str) -> None:
    similar = ask(stack, sender, "anything similar to the Apple MacBook Air 13?")
    text = " ".join(m.get("text", "") for m in similar)
    assert "Similar to" in text and "MacBook Air" in text, similar
    assert cards(similar) and all("MacBook Air 13" not in c["title"] for c in cards(similar))
    goes_with = ask(stack, f"{sender}-zh", "iPhone 15搭配什么好")
    text = " ".join(m.get("text", "") for m in goes_with)
    assert "适合与" in text and cards(goes_with), goes_with
    assert all(c["buttons"][0]["title"] == "了解详情" for c in cards(goes_with))


def test_a_category_the_customer_names_limits_the_picks(stack: Stack, sender: str) -> None:
    skus = [c["sku"] for c in cards(ask(stack, sender, "recommend some running shoes"))]
    assert skus
    with sqlite3.connect(stack.data_dir / "shop.db") as db:
        categories = {db.execute("select category_key from products where sku = ?",
                                 (sku,)).fetchone()[0] for sku in skus}
    assert categories == {"running_shoes"}


def test_a_retrained_model_is_served_without_a_restart(stack: Stack, sender: str) -> None:
    def version() -> str:
        payloads = [m["custom"] for m in ask(stack, sender, "what would you recommend?")
                    if isinstance(m.get("custom"), dict)]
        assert payloads, "no product cards"
        return str(payloads[0]["model_version"])

    before = version()
    env = {**stack.env, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-m", "scripts.train_recsys"], cwd=ROOT, env=env,
                   check=True, capture_output=True)
    published = (stack.data_dir / "recsys" / "CURRENT").read_text().strip()
    assert published != before
    deadline = time.monotonic() + 30  # the action server looks every RECSYS_RELOAD_SECONDS (5)
    while version() != published:
        assert time.monotonic() < deadline, "the action server kept the old model"
        time.sleep(1)
