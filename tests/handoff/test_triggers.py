"""When the assistant offers a person, read from Rasa's event JSON."""

from __future__ import annotations

from typing import Any

import pytest

from handoff import BusinessHours, InvalidHours
from handoff.triggers import TriggerConfig, detect, turns_from_events


def user(text: str, intent: str = "ask_price", negative: float | None = None) -> dict[str, Any]:
    parse: dict[str, Any] = {"intent": {"name": intent, "confidence": 0.9}}
    if negative is not None:
        parse["sentiment"] = {"negative": negative, "upset": negative >= 0.9}
    return {"event": "user", "text": text, "parse_data": parse}


def bot(response: str) -> dict[str, Any]:
    return {"event": "bot", "text": "...", "metadata": {"utter_action": response}}


def action(name: str) -> dict[str, Any]:
    return {"event": "action", "name": name}


CONFIG = TriggerConfig(configured=frozenset({"utter_cancel_refused_shipped"}))


def reason(*events: dict[str, Any]) -> str | None:
    return detect(turns_from_events(events), CONFIG)


def test_two_fallbacks_in_a_row_but_not_one_or_two_apart() -> None:
    assert reason(user("asdf qwer", "nlu_fallback"), bot("utter_default")) is None
    assert reason(user("asdf", "nlu_fallback"), bot("utter_default"),
                  user("zxcv", "nlu_fallback"), bot("utter_default")) == "fallbacks"
    assert reason(user("asdf", "nlu_fallback"), bot("utter_default"),
                  user("red shoes", "search_products"), bot("utter_search_results"),
                  user("zxcv", "nlu_fallback"), bot("utter_default")) is None


def test_failing_lookups_photo_misses_and_shop_cases() -> None:
    assert reason(user("order 1"), bot("utter_cannot_lookup")) is None
    assert reason(user("order 1"), bot("utter_cannot_lookup"),
                  user("order 1?"), bot("utter_cannot_lookup")) == "failures"
    assert reason(user("/share_image", "share_image"), bot("utter_visual_none")) == "photo"
    assert reason(user("cancel SH-1", "cancel_order"),
                  bot("utter_cancel_refused_shipped")) == "configured"


def test_upset_by_the_threshold_and_repeats() -> None:
    assert reason(user("this is useless!!", negative=0.95), bot("utter_default")) == "upset"
    assert reason(user("fine", negative=0.2), bot("utter_greet")) is None
    # a lexicon scores "no thanks" negative: a refusal is not anger
    assert reason(user("no thanks", "deny", negative=0.95), bot("utter_ok")) is None
    assert reason(user("Where is my order?"), bot("utter_ask_order_number"),
                  user("where is my order"), bot("utter_ask_order_number")) == "repeated"
    # short answers repeat naturally
    assert reason(user("yes", "affirm"), bot("utter_ok"), user("yes", "affirm"),
                  bot("utter_ok")) is None


def test_a_handoff_action_starts_a_new_count() -> None:
    events = [user("asdf", "nlu_fallback"), bot("utter_default"),
              action("action_handoff_offer"), user("zxcv", "nlu_fallback"),
              bot("utter_default")]
    assert reason(*events) is None


def test_business_hours_from_a_setting() -> None:
    hours = BusinessHours.from_text("mon-fri=09:00-18:00; sat=10:00-14:00",
                                    timezone="Asia/Shanghai")
    assert hours.week[5] == ((600, 840),) and hours.week[6] == ()
    assert BusinessHours.from_text("") == BusinessHours.always()
    with pytest.raises(InvalidHours):
        BusinessHours.from_text("weekdays 9 to 5")
