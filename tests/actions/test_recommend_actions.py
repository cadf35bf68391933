"""The recommendation actions against the demo shop and a recommender trained on it."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest

from actions.constants import Intent, Response, Slot
from actions.recommend import ActionRecommend, ActionRecommendationClick
from tests.conftest import entity, make_tracker, run_action, slot_events


def cards(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for m in messages if m.get("custom") for c in m["custom"]["cards"]]


def shown_price(card: dict[str, Any]) -> Decimal:
    """The price a card shows the customer ("$76.99", "¥1,299")."""
    return Decimal(re.sub(r"[^\d.]", "", card["price"]))


def test_recommendations_come_with_cards_and_reasons(demo_settings: Any) -> None:
    tracker = make_tracker("what would you recommend?", intent=Intent.ASK_RECOMMENDATION)
    messages, events = run_action(ActionRecommend(), tracker)
    assert messages[0]["response"] == Response.RECOMMEND_FOR_YOU
    shown = cards(messages)
    assert 1 <= len(shown) <= demo_settings.results_per_page
    for card in shown:
        assert card["title"] and card["price"] and card["reason"]
        assert card["buttons"][0]["payload"].startswith("/pick_recommendation{")
    slots = slot_events(events)
    assert slots[Slot.SHOWN_PRODUCTS] == [c["sku"] for c in shown]
    assert slots[Slot.RECOMMENDATION]["items"] == slots[Slot.SHOWN_PRODUCTS]


def test_price_and_category_limits_are_respected(demo_settings: Any, graph: Any) -> None:
    tracker = make_tracker("recommend some running shoes under $100",
                           intent=Intent.ASK_RECOMMENDATION,
                           entities=[entity("category", "running shoes", 15),
                                     entity("price", "$100", 35, role="max")])
    messages, _ = run_action(ActionRecommend(), tracker)
    shown = cards(messages)
    assert shown
    for card in shown:  # the budget holds for the price the customer sees
        details = graph.details(card["sku"], currency="USD")
        assert shown_price(card) <= 100 and card["price"].startswith("$")
        assert details.category_key == "running_shoes"


@pytest.mark.parametrize(("text", "tag", "limit"), [
    ("need a gift for my dad, nothing over $100", "100", 100),
    ("any suggestions for a housewarming present? max 80 dollars", "max", 80)])
def test_a_word_of_the_budget_tagged_as_a_product_is_read_as_the_budget(
        demo_settings: Any, graph: Any, text: str, tag: str, limit: int) -> None:
    tracker = make_tracker(text, intent=Intent.ASK_RECOMMENDATION,
                           entities=[entity("product", tag, text.index(tag))])
    messages, _ = run_action(ActionRecommend(), tracker)
    shown = cards(messages)
    assert shown, messages
    for card in shown:
        assert shown_price(card) <= limit, card


@pytest.mark.parametrize(("text", "entities", "language"), [
    ("any JBL speakers you'd recommend?", [entity("brand", "JBL", 4)], "en"),
    ("推荐几款JBL的", [entity("brand", "JBL", 3)], "zh"),
])
def test_a_brand_named_in_the_request_holds_for_every_pick(
        demo_settings: Any, graph: Any, text: str, entities: list[dict[str, Any]],
        language: str) -> None:
    tracker = make_tracker(text, intent=Intent.ASK_RECOMMENDATION, entities=entities,
                           slots={"language": language})
    messages, _ = run_action(ActionRecommend(), tracker)
    shown = cards(messages)
    assert shown, messages
    assert {graph.details(c["sku"], currency="USD").brand_en for c in shown} == {"JBL"}


def test_a_budget_in_yuan_holds_for_the_yuan_shown(demo_settings: Any, graph: Any) -> None:
    text = "有什么推荐的，2000元以下"
    tracker = make_tracker(text, intent=Intent.ASK_RECOMMENDATION,
                           entities=[entity("price", "2000元", text.index("2000"), role="max")],
                           slots={"language": "zh"})
    messages, _ = run_action(ActionRecommend(), tracker)
    shown = cards(messages)
    assert shown, messages
    assert all(c["price"].startswith("¥") and shown_price(c) <= 2000 for c in shown), shown


def test_an_anonymous_visitor_is_never_told_about_their_purchases(demo_settings: Any) -> None:
    for text, lang in (("what would you recommend?", "en"), ("有什么推荐的", "zh")):
        tracker = make_tracker(text, intent=Intent.ASK_RECOMMENDATION, slots={"language": lang})
        messages, _ = run_action(ActionRecommend(), tracker)
        reasons = [c["reason"] for c in cards(messages)]
        assert reasons, messages
        assert not any(r in ("based on your purchases", "you bought it before",
                             "根据您的购买记录", "您之前买过") for r in reasons), reasons


def test_similar_and_goes_with_name_the_product(demo_settings: Any, graph: Any) -> None:
    sku = next(s for s, *_ in graph.catalog_names() if "MacBook Air" in graph.model_name(s, "en"))
    for intent, response in ((Intent.ASK_SIMILAR, Response.RECOMMEND_SIMILAR),
                             (Intent.ASK_COMPLEMENTS, Response.RECOMMEND_COMPLEMENTS)):
        tracker = make_tracker("anything like it?", intent=intent, slots={Slot.PRODUCT: sku,
                                                                         "language": "zh"})
        messages, events = run_action(ActionRecommend(), tracker)
        assert messages[0]["response"] == response
        group = graph.details(sku, currency="USD").group_id
        assert all(graph.details(c["sku"], currency="USD").group_id != group
                   for c in cards(messages))  # not the product itself in another colour
        assert slot_events(events)[Slot.PRODUCT] == sku
        assert all(c["buttons"][0]["title"] == "了解详情" for c in cards(messages))


@pytest.mark.parametrize(("entities", "response"), [
    ([entity("price", "$900", 0, role="min"), entity("price", "$10", 10, role="max")],
     Response.RECOMMEND_CONTRADICTORY),
    ([entity("price", "$0.01", 0, role="max")], Response.RECOMMEND_NONE),
])
def test_impossible_limits_get_honest_replies(demo_settings: Any, entities: list[Any],
                                              response: str) -> None:
    tracker = make_tracker("recommend something", intent=Intent.ASK_RECOMMENDATION,
                           entities=entities)
    messages, _ = run_action(ActionRecommend(), tracker)
    assert messages[0]["response"] == response


def test_no_trained_model_gets_a_polite_reply(demo_settings: Any, monkeypatch: Any,
                                              tmp_path: Any) -> None:
    from actions import services, settings

    monkeypatch.setenv("RECSYS_DIR", str(tmp_path / "nothing"))
    settings.settings.cache_clear()
    services._recommender.cache_clear()
    tracker = make_tracker("recommend something", intent=Intent.ASK_RECOMMENDATION)
    messages, _ = run_action(ActionRecommend(), tracker)
    assert messages[0]["response"] == Response.RECOMMEND_UNAVAILABLE


def test_clicking_a_recommended_product_is_logged(demo_settings: Any) -> None:
    from actions.services import feedback_store

    tracker = make_tracker("recommend", intent=Intent.ASK_RECOMMENDATION, sender="clicker")
    messages, events = run_action(ActionRecommend(), tracker)
    slots = slot_events(events)
    sku = slots[Slot.SHOWN_PRODUCTS][0]
    click = make_tracker(f'/pick_recommendation{{"product": "{sku}"}}',
                         intent=Intent.PICK_RECOMMENDATION, entities=[entity("product", sku)],
                         slots={Slot.RECOMMENDATION: slots[Slot.RECOMMENDATION]},
                         sender="clicker")
    _, click_events = run_action(ActionRecommendationClick(), click)
    assert slot_events(click_events)[Slot.PRODUCT] == sku
    logged = [(e.kind, e.product_sku) for e in feedback_store().events()
              if e.request_id == slots[Slot.RECOMMENDATION]["request"]]
    assert ("click", sku) in logged and logged.count(("click", sku)) == 1
    assert sum(1 for kind, _ in logged if kind == "shown") == len(cards(messages))


def test_card_images_are_urls_a_browser_can_load(demo_settings: Any,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from actions import settings
    from actions.presentation import public_image

    assert public_image("S1", "https://cdn.example/s1.jpg") == "https://cdn.example/s1.jpg"
    assert public_image("S1", None) is None
    # a catalog photo on disk: no URL unless the shop names its image server
    assert public_image("S1", "file:///data/photos/s1.jpg") is None
    monkeypatch.setenv("PRODUCT_IMAGE_URL", "http://127.0.0.1:8080/images/{sku}")
    settings.settings.cache_clear()
    assert public_image("A B/1", "file:///data/photos/s1.jpg") \
        == "http://127.0.0.1:8080/images/A%20B%2F1"
    monkeypatch.setenv("PRODUCT_IMAGE_URL", "javascript:alert(1)//{sku}")
    settings.settings.cache_clear()
    with pytest.raises(settings.SettingsError):
        settings.settings()
    monkeypatch.delenv("PRODUCT_IMAGE_URL")
    settings.settings.cache_clear()


def test_a_brand_instead_with_no_product_discussed_recommends_from_that_brand(
        demo_settings: Any, graph: Any) -> None:
    """"Anything from Nike instead?" with no product under discussion: Nike's picks, not
    "Which product do you mean?"."""
    text = "anything from Nike instead?"
    tracker = make_tracker(text, intent=Intent.ASK_SIMILAR,
                           entities=[entity("brand", "Nike", text.index("Nike"))])
    messages, _ = run_action(ActionRecommend(), tracker)
    assert messages[0]["response"] == Response.RECOMMEND_FOR_YOU, messages
    shown = cards(messages)
    assert shown and {graph.details(c["sku"], currency="USD").brand_en for c in shown} == {
        "Nike"}


@pytest.mark.parametrize(("text", "lang"), [("got something less pricey?", "en"),
                                            ("有便宜点的吗", "zh")])
def test_cheaper_after_a_product_lists_cheaper_ones_like_it(demo_settings: Any, graph: Any,
                                                             text: str, lang: str) -> None:
    sku = next(s for s, *_ in graph.catalog_names()
               if "Ultraboost" in graph.model_name(s, "en"))
    tracker = make_tracker(text, intent=Intent.ASK_SIMILAR,
                           slots={Slot.PRODUCT: sku, "language": lang})
    messages, _ = run_action(ActionRecommend(), tracker)
    assert messages[0]["response"] == Response.RECOMMEND_SIMILAR, messages
    from actions.presentation import conversation_price

    currency = "USD" if lang == "en" else "CNY"
    own = conversation_price("test-user", sku, graph.details(sku, currency=currency).price,
                             currency)
    assert own is not None and cards(messages)
    # every pick is cheaper than the product as this customer sees it
    assert all(shown_price(c) < own for c in cards(messages)), (own, cards(messages))


def test_a_budget_right_after_recommendations_keeps_the_picks(demo_settings: Any,
                                                              graph: Any) -> None:
    """"Anything under $150?" after a signed-in customer's picks: their picks within the
    budget, not the catalog's cheapest products."""
    from actions.product_search import ActionSearchProducts
    from tests.conftest import verified

    first = make_tracker("what would you recommend?", intent=Intent.ASK_RECOMMENDATION,
                         metadata=verified("C10001"))
    _, events = run_action(ActionRecommend(), first)
    slots = slot_events(events)
    text = "anything under $150?"
    follow = make_tracker(text, intent="search_products", metadata=verified("C10001"),
                          entities=[entity("price", "$150", text.index("$"), role="max")],
                          slots={Slot.SHOWN_PRODUCTS: slots[Slot.SHOWN_PRODUCTS],
                                 Slot.RECOMMENDATION: slots[Slot.RECOMMENDATION]})
    messages, _ = run_action(ActionSearchProducts(), follow)
    assert messages[0]["response"] == Response.RECOMMEND_FOR_YOU, messages
    assert cards(messages) and all(shown_price(c) <= 150 for c in cards(messages))


def test_a_budget_tagged_as_a_product_in_chinese_is_the_budget(demo_settings: Any) -> None:
    """"有适合送人的礼物推荐吗，500元以内" with 500元 tagged as a product: picks within
    ¥500, never "no product called 500元"."""
    text = "有适合送人的礼物推荐吗，500元以内"
    tracker = make_tracker(text, intent=Intent.ASK_RECOMMENDATION, slots={"language": "zh"},
                           entities=[entity("product", "500元", text.index("500"))])
    messages, _ = run_action(ActionRecommend(), tracker)
    assert messages[0]["response"] == Response.RECOMMEND_FOR_YOU, messages
    assert cards(messages) and all(shown_price(c) <= 500 for c in cards(messages))
