"""Customer text repeated in replies is normalised and short (finding 6 of issue 18)."""

from __future__ import annotations

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.common import quote
from actions.constants import Response, Slot
from actions.order_form import ValidateOrderForm
from actions.product_info import ActionProductInfo
from tests.conftest import make_tracker, run_action

SCRIPT = '<script>alert("x")</script>'


@pytest.mark.parametrize(("text", "expected"), [
    ("macbok air", "macbok air"),
    (SCRIPT, 'script alert("x") /script'),
    ("<img src=x onerror=alert(1)>", "img src=x onerror=alert(1)"),
    ("a\u202eb\u0000c\u200bd", "abcd"),
    ("ｆｕｌｌ　ｗｉｄｔｈ", "full width"),
    ("{{7*7}} ${x} `rm`", "7*7 $ x rm"),
    ("x" * 100, "x" * 39 + "…"),
    (None, ""),
    (42, "42"),
])
def test_quotes_are_inert_and_short(text: object, expected: str) -> None:
    assert quote(text) == expected
    assert "<" not in quote(text) and len(quote(text)) <= 40


def test_an_invalid_order_number_is_quoted_safely(demo_settings) -> None:
    tracker = make_tracker(SCRIPT * 5)
    dispatcher = CollectingDispatcher()
    ValidateOrderForm().validate_order_number(SCRIPT * 5, dispatcher, tracker, {})
    messages = dispatcher.messages
    assert messages[0]["response"] == Response.INVALID_ORDER_NUMBER
    assert "<" not in messages[0]["value"] and len(messages[0]["value"]) <= 40


def test_an_unknown_product_is_quoted_safely(demo_settings) -> None:
    tracker = make_tracker(f"tell me about {SCRIPT}", intent="product_info",
                           entities=[{"entity": "product", "value": SCRIPT + "zzqx" * 20}],
                           slots={Slot.PRODUCT: None})
    messages, _ = run_action(ActionProductInfo(), tracker)
    quoted = [m for m in messages if "query" in m]
    assert quoted and all("<" not in m["query"] and len(m["query"]) <= 40 for m in quoted)
