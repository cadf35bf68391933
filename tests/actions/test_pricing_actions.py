"""Price, discount and negotiation actions against the demo shop, its policy and its ledger."""

from __future__ import annotations

from typing import Any

import pytest

from actions.constants import Response, Slot
from actions.pricing import ActionNegotiatePrice, ActionOfferDiscount, ActionQuotePrice
from tests.conftest import (
    entity,
    local_price,
    make_tracker,
    quoted,
    run_action,
    slot_events,
    verified,
)

PRICED = (Response.PRICE, Response.PRICE_OFFER)


def _customer_in(segment: str) -> str:
    from actions.services import _customers

    customers = _customers()
    customers._refresh()
    return next(c for c, s in sorted(customers._shoppers.items()) if s.segment == segment)


def _targeted_customer() -> str:
    from actions.services import _customers

    plan = _customers().plan()
    assert plan.allocations, "the demo shop's coupon plan targets no segment"
    return _customer_in(sorted(plan.allocations)[0])


def test_price_in_chinese_is_the_audited_quote_in_yuan(graph: Any) -> None:
    iphone = graph.match_names("iPhone 15")[0].sku
    tracker = make_tracker("iPhone 15多少钱", intent="ask_price", sender="zh-price",
                           slots={"language": "zh", Slot.PRODUCT: iphone})
    messages, events = run_action(ActionQuotePrice(), tracker)
    record = quoted("zh-price", iphone)
    assert record is not None and record.status in ("live", "no_policy")
    assert messages[0]["response"] in PRICED
    assert messages[0]["price"] == local_price(graph, iphone, "CNY",
                                               record.price / record.list_price)
    assert "¥" in messages[0]["price"]
    # asking again in the same conversation gives the same price, recorded once
    again, _ = run_action(ActionQuotePrice(), tracker)
    assert again[0]["price"] == messages[0]["price"]
    from actions.services import pricing_ledger

    assert len([r for r in pricing_ledger().by_conversation("zh-price") if r.kind == "quote"]) \
        == 1
    assert slot_events(events)[Slot.PRODUCT] == iphone


def test_prices_stay_inside_the_guardrails(graph: Any) -> None:
    from actions.services import pricing_engine
    from pricing.guardrails import violations

    engine = pricing_engine()
    for i, (sku, *_rest) in enumerate(graph.catalog_names()[:40]):
        tracker = make_tracker("how much?", intent="ask_price", sender=f"rails-{i}",
                               slots={Slot.PRODUCT: sku})
        run_action(ActionQuotePrice(), tracker)
        record = quoted(f"rails-{i}", sku)
        if record.price is None:
            continue
        assert violations(record.price, config=engine.config, list_price=record.list_price,
                          cost=record.cost) == []


def test_anonymous_discount_question_is_answered_honestly(graph: Any) -> None:
    iphone = graph.match_names("iPhone 15")[0].sku
    tracker = make_tracker("any discount?", intent="ask_discount", sender="anon-discount",
                           slots={Slot.PRODUCT: iphone})
    messages, _ = run_action(ActionOfferDiscount(), tracker)
    assert messages[0]["response"] in (Response.DISCOUNT_NONE, Response.DISCOUNT_ALREADY)
    assert "code" not in messages[0]


def test_a_targeted_customer_gets_one_coupon_per_conversation(graph: Any) -> None:
    customer = _targeted_customer()
    iphone = graph.match_names("iPhone 15")[0].sku
    tracker = make_tracker("any discount on it?", intent="ask_discount", sender="coupon-conv",
                           slots={Slot.PRODUCT: iphone}, metadata=verified(customer))
    messages, _ = run_action(ActionOfferDiscount(), tracker)
    assert messages[0]["response"] == Response.DISCOUNT_COUPON
    code = messages[0]["code"]
    assert code.startswith("SAVE-") and messages[0]["price"] != messages[0]["was"]
    again, _ = run_action(ActionOfferDiscount(), tracker)
    assert again[0]["response"] == Response.DISCOUNT_EXISTING and again[0]["code"] == code
    # the concession counts as the one round of negotiation for this product
    haggle, _ = run_action(ActionNegotiatePrice(), make_tracker(
        "can you do better?", intent="negotiate_price", sender="coupon-conv",
        slots={Slot.PRODUCT: iphone}, metadata=verified(customer)))
    assert haggle[0]["response"] == Response.NEGOTIATE_AGAIN and haggle[0]["code"] == code


@pytest.mark.parametrize("language", ["en", "zh"])
def test_one_round_of_negotiation(graph: Any, language: str) -> None:
    laptop = graph.match_names("MacBook Air 13")[0].sku
    sender = f"haggle-{language}"
    tracker = make_tracker("can you do better?", intent="negotiate_price", sender=sender,
                           slots={"language": language, Slot.PRODUCT: laptop})
    first, _ = run_action(ActionNegotiatePrice(), tracker)
    assert first[0]["response"] in (Response.NEGOTIATE_COUPON, Response.NEGOTIATE_FINAL)
    second, _ = run_action(ActionNegotiatePrice(), tracker)
    if first[0]["response"] == Response.NEGOTIATE_COUPON:
        assert second[0]["response"] == Response.NEGOTIATE_AGAIN
        assert second[0]["code"] == first[0]["code"]
    else:
        assert second[0]["response"] == Response.NEGOTIATE_FINAL


def test_impossible_or_unclear_requests_get_polite_answers(graph: Any) -> None:
    messages, _ = run_action(ActionNegotiatePrice(), make_tracker(
        "give me 90% off", intent="negotiate_price", sender="nothing"))
    assert messages[0]["response"] == Response.WHICH_PRODUCT
    messages, _ = run_action(ActionQuotePrice(), make_tracker(
        "how much is the zqxw?", intent="ask_price", sender="unknown",
        entities=[entity("product", "zqxwvy", 12)]))
    assert messages[0]["response"] == Response.PRODUCT_NOT_FOUND
    messages, _ = run_action(ActionOfferDiscount(), make_tracker(
        "any coupons?", intent="ask_discount", sender="storewide"))
    assert messages[0]["response"] in (Response.DISCOUNT_NONE, Response.DISCOUNT_COUPON_ANY)


def test_competitor_prices_are_imported_checked_and_reach_the_context(
        graph: Any, tmp_path: Any, demo_settings: Any, monkeypatch: Any) -> None:
    from actions.services import product_facts
    from shopctl.pricing import main

    monkeypatch.setenv("SHOP_DATA_DIR", str(demo_settings.data_dir))
    iphone = graph.match_names("iPhone 15")[0].sku
    bad = tmp_path / "bad.csv"
    bad.write_text("sku,price\nNOPE-1,10\n" + f"{iphone},-5\n")
    assert main(["competitors", str(bad)]) == 1
    assert product_facts(iphone).competitor_price is None  # nothing imported
    good = tmp_path / "prices.csv"
    good.write_text(f"sku,price,source\n{iphone},777.5,rival.example\n")
    assert main(["competitors", str(good)]) == 0
    facts = product_facts(iphone)
    assert facts.competitor_price == 777.5
    tracker = make_tracker("how much?", intent="ask_price", sender="rival",
                           slots={Slot.PRODUCT: iphone})
    run_action(ActionQuotePrice(), tracker)
    assert quoted("rival", iphone).context["competitor_ratio"] == pytest.approx(
        777.5 / facts.list_price)


@pytest.mark.parametrize("language", ["en", "zh"])
def test_a_chat_across_midnight_says_why_a_price_fell(graph: Any, language: str) -> None:
    """Quoted yesterday above today's published price: today's price, and the answer says
    the earlier one and why; lists of the chat show today's price too."""
    import dataclasses
    import datetime as dt

    from actions.presentation import conversation_factor
    from actions.services import pricing_engine, pricing_ledger, published_factor

    sku = graph.match_names("Galaxy S24")[0].sku
    sender = f"midnight-{language}"
    tracker = make_tracker("how much is it?", intent="ask_price", sender=sender,
                           slots={"language": language, Slot.PRODUCT: sku})
    run_action(ActionQuotePrice(), tracker)  # today's quote, then moved to yesterday
    record = quoted(sender, sku)
    engine = pricing_engine()
    yesterday = engine.period_start(engine.now()) - dt.timedelta(hours=1)
    ledger = pricing_ledger()
    ledger.add_quote(dataclasses.replace(record, price=round(record.price * 1.2, 2),
                                         created_at=yesterday))
    # the latest record is the one a conversation keeps: make yesterday's the latest
    assert quoted(sender, sku).created_at == yesterday
    assert conversation_factor(sender, sku) == pytest.approx(published_factor(sku))
    messages, _ = run_action(ActionQuotePrice(), tracker)
    assert messages[0]["response"] == Response.PRICE_CHANGED, messages
    assert messages[0]["previous"] != messages[0]["price"]
    again, _ = run_action(ActionQuotePrice(), tracker)
    assert again[0]["response"] in PRICED and again[0]["price"] == messages[0]["price"]


@pytest.mark.parametrize(("lang", "said", "currency"), [
    ("en", "the list price: I can't check today's offers right now", "$"),
    ("zh", "标价，暂时查不到今天的优惠", "¥")])
def test_a_price_policy_that_cannot_answer_gives_the_list_price_said_as_such(
        graph: Any, monkeypatch: pytest.MonkeyPatch, lang: str, said: str,
        currency: str) -> None:
    from actions import services
    from actions.resilience import reset_breakers

    class Away:
        def quote(self, *args: Any, **kwargs: Any) -> Any:
            raise ConnectionError("the pricing ledger's database is away")

    iphone = graph.match_names("iPhone 15")[0].sku
    monkeypatch.setattr(services, "pricing_engine", lambda: Away())
    monkeypatch.setattr("actions.pricing.pricing_engine", lambda: Away())
    reset_breakers()
    try:
        tracker = make_tracker("how much is the iPhone 15?", intent="ask_price",
                               sender=f"pricing-away-{lang}",
                               slots={"language": lang, Slot.PRODUCT: iphone})
        messages, events = run_action(ActionQuotePrice(), tracker)
    finally:
        reset_breakers()
    assert messages[0]["response"] == Response.PRICE
    listed = local_price(graph, iphone, "CNY" if lang == "zh" else "USD", 1.0)
    assert messages[0]["price"].startswith(listed) and said in messages[0]["price"]
    assert currency in listed
    assert quoted(f"pricing-away-{lang}", iphone) is None  # nothing was quoted
    assert slot_events(events)[Slot.PRODUCT] == iphone
