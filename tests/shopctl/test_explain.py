"""The trail `make explain` prints: each decision in time order with its inputs and
versions."""

from __future__ import annotations

import datetime as dt

from shopctl.explain import _line, trail


def test_the_trail_orders_understanding_prices_lists_and_photos() -> None:
    rows = {
        "events": [
            {"type_name": "user", "timestamp": 100.0, "data": {
                "text": "how much is the first one", "metadata": {
                    "verified": {"customer_id": "C1"}},
                "parse_data": {"intent": {"name": "ask_price", "confidence": 0.9912},
                               "entities": [{"entity": "mention", "value": "1"}]}}},
            {"type_name": "bot", "timestamp": 100.5, "data": {
                "text": "It costs $9.", "metadata": {"utter_action": "utter_price"}}},
            {"type_name": "user", "timestamp": 200.0, "data": {
                "text": "/share_image", "metadata": {"image": "ab" * 32},
                "parse_data": {"intent": {"name": "share_image", "confidence": 1.0}}}},
            {"type_name": "bot", "timestamp": 200.4, "data": {"text": "1. Banana", "data": {
                "custom": {"type": "product_cards", "source": "photo", "confident": True,
                           "model_version": "lite0-tuned-3",
                           "cards": [{"sku": "SKU-1", "score": 0.91,
                                      "matched_image": "SKU-1/0.jpg"}]}}}},
        ],
        "price_quotes": [{"created_at": dt.datetime(1970, 1, 1, 0, 1, 40, 200000),
                          "sku": "SKU-9", "kind": "quote", "list_price": 10.0,
                          "price": 9.0, "currency": "USD", "status": "live",
                          "policy_kind": "thompson", "policy_version": "v7",
                          "adjustments": "floor", "shadow": False, "context": {}}],
        "recommendation_events": [
            {"timestamp": dt.datetime(1970, 1, 1, 0, 2, 30), "request_id": "r1",
             "list_kind": "for_you", "variant": "B", "experiment": "e1",
             "model_version": "m3", "product_sku": sku, "kind": kind}
            for sku, kind in (("SKU-2", "shown"), ("SKU-3", "shown"), ("SKU-3", "click"))],
        "handoffs": [{"requested_at": 300.0, "reason": "asked", "state": "waiting",
                      "agent": None}],
    }
    steps = trail(rows)
    assert [s["kind"] for s in steps] == ["message", "price", "answer", "recommendation",
                                          "message", "photo", "handoff"]
    message, price, _, listed, _, photo, _ = steps
    assert message["intent"] == "ask_price" and message["customer"] == "C1"
    assert price["policy"] == "thompson v7" and price["guardrails"] == "floor"
    assert listed["variant"] == "B" and listed["shown"] == ["SKU-2", "SKU-3"]
    assert listed["clicked"] == ["SKU-3"]
    assert photo["model_version"] == "lite0-tuned-3" and photo["matches"][0]["score"] == 0.91
    printed = "\n".join(_line(s) for s in steps)
    assert "policy thompson v7, guardrails floor" in printed
    assert "variant B, model m3" in printed and "clicked ['SKU-3']" in printed
