"""The conversation evaluation's checks, on the demo shop's data without servers:
what a turn must show to pass, and what makes it fail."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from scripts.eval_conversations import (
    Conversation,
    Outcome,
    Report,
    Result,
    Runner,
    ShopData,
    Turn,
)


@pytest.fixture(scope="module")
def shop(demo_env: dict[str, str]) -> ShopData:
    return ShopData(Path(demo_env["SHOP_DATA_DIR"]))


@pytest.fixture(scope="module")
def runner(shop: ShopData) -> Runner:
    return Runner(rasa_url="", api_url="", api_token="", data=shop, sign=lambda *_: {})


def _skus(shop: ShopData, where: str) -> list[str]:
    """One product of each of the three cheapest models matching ``where``."""
    return [r[0] for r in shop._db.execute(f"select min(sku), min(list_price) p from products "
                                           f"where {where} group by group_id order by p limit 3")]


def _turn(runner: Runner, expect: dict[str, Any], events: list[dict[str, Any]],
          before: dict[str, Any] | None = None, text: str = "show me headphones",
          language: str = "en") -> list[str]:
    outcome = Outcome(events, before=before or {})
    outcome.after = {**(before or {}), **outcome.slot_changes}
    conversation = Conversation("c", language, "cap", (Turn(text, expect),))
    return list(runner.check(Turn(text, expect), outcome, conversation, "sender", text, {},
                             None))


def _listed(skus: list[str], text: str = "Here you go") -> list[dict[str, Any]]:
    return [{"event": "action", "name": "action_search_products"},
            {"event": "bot", "text": text, "metadata": {"utter_action": "utter_search_results"}},
            {"event": "slot", "name": "shown_products", "value": skus}]


def test_a_list_passes_only_when_every_product_matches(runner: Runner, shop: ShopData) -> None:
    cheap = _skus(shop, "category_key = 'headphones' and list_price < 100")
    dear = _skus(shop, "category_key = 'headphones' and list_price > 300")
    expect = {"list": {"category": "headphones", "max_price": 100}}
    assert _turn(runner, expect, _listed(cheap)) == []
    failures = _turn(runner, expect, _listed(cheap + dear))
    assert failures and all("> 100" in f for f in failures)
    assert _turn(runner, expect, [{"event": "bot", "text": "Sorry"}]) == ["no product list shown"]


def test_a_reference_must_land_on_the_listed_product(runner: Runner, shop: ShopData) -> None:
    listed = _skus(shop, "category_key = 'phones'")
    answer = [{"event": "action", "name": "action_quote_price"},
              {"event": "bot", "text": "It costs $1", "metadata": {"utter_action": "utter_price"}},
              {"event": "slot", "name": "product", "value": listed[1]}]
    before = {"shown_products": listed}
    assert _turn(runner, {"product": {"listed": 2}}, answer, before) == []
    assert _turn(runner, {"product": {"listed": 1}}, answer, before)
    assert _turn(runner, {"action": "action_quote_price"}, answer, before) == []
    assert _turn(runner, {"action": "action_product_info"}, answer, before)


def test_fallbacks_silence_and_the_wrong_language_fail(runner: Runner) -> None:
    fallback = [{"event": "bot", "text": "Sorry, I didn't follow that",
                 "metadata": {"utter_action": "utter_default"}}]
    assert any("fell back" in f for f in _turn(runner, {}, fallback))
    assert _turn(runner, {"response": ["utter_out_of_scope", "utter_default"]}, fallback) == []
    assert _turn(runner, {}, []) == ["no answer"]
    english = [{"event": "bot", "text": "Here you go"}]
    assert any("English" in f for f in _turn(runner, {}, english, text="看看耳机"))
    # an e-mail address says nothing about the language: the conversation's counts
    assert _turn(runner, {}, [{"event": "bot", "text": "订单已发货"}],
                 text="bob@example.com", language="zh") == []
    # a message in both scripts is judged in the language its conversation is labelled with
    mixed = "do you have the 华为 Mate 60 Pro?"
    assert _turn(runner, {}, english, text=mixed, language="en") == []
    assert any("English" in f for f in _turn(runner, {}, english, text=mixed, language="zh"))
    # a model number glued to Chinese ("Y100多少钱一台") still counts as Chinese
    assert any("English" in f for f in _turn(runner, {}, english, text="Y100多少钱一台",
                                             language="zh"))


def test_the_report_counts_conversations_per_language_and_capability() -> None:
    def result(language: str, capability: str, ok: bool) -> Result:
        conversation = Conversation(f"{language}-{capability}-{ok}", language, capability,
                                    (Turn("hi", {}),))
        return Result(conversation, [] if ok else ["turn 1: no answer"])

    report = Report([result("en", "a", True), result("en", "a", False),
                     result("zh", "a", True), result("zh", "b", True)])
    rates = report.rates()
    assert rates["a"] == {"en": (1, 2), "zh": (1, 1)}
    assert rates["all"] == {"en": (1, 2), "zh": (2, 2)}
    assert "| **all** | 1/2 (50%) | 2/2 (100%) |" in report.markdown()
