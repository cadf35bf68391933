"""Follow-ups as customers make them: a colour after a question about one product,
a variant by colour, prices in later lists that agree with the quote, and
recommendation reasons that are true to what the customer did."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from rasa_sdk import Tracker

from actions.common import variant_in_color
from actions.constants import ActionName, Intent, Response, Slot
from actions.presentation import format_money, product_lines, shown_prices
from actions.pricing import ActionQuotePrice
from actions.product_compare import ActionCompareProducts
from actions.product_info import ActionProductInfo
from actions.product_search import ActionSearchProducts
from actions.recommend import ActionRecommend
from shop.orders import CustomerIdentity
from tests.conftest import entity, make_tracker, quoted, run_action, slot_events


def _sku(graph: Any, model: str, color: str | None = None) -> str:
    return next(s for s, *_ in sorted(graph.catalog_names())
                if model in graph.model_name(s, "en") and
                (color is None or graph.details(s, currency="USD").color_en == color))


def _after(action: str, text: str, *, intent: str, entities: list[dict[str, Any]],
           slots: dict[str, Any]) -> Tracker:
    """A tracker whose previous turn was answered by ``action``."""
    events = [{"event": "user", "text": "earlier"}, {"event": "action", "name": action},
              {"event": "action", "name": "action_listen"}, {"event": "user", "text": text}]
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.9},
              "entities": entities, "metadata": {}}
    return Tracker("followup", {"language": "en", **slots}, latest, events, False, None, {},
                   "action_listen")


def test_a_colour_after_a_product_question_refines_that_product(demo_settings: Any,
                                                               graph: Any) -> None:
    white = _sku(graph, "KT9", "white")
    tracker = _after(ActionName.PRODUCT_INFO, "ok what about black?",
                     intent=Intent.SEARCH_PRODUCTS, entities=[entity("color", "black", 14)],
                     slots={Slot.PRODUCT: white})
    messages, events = run_action(ActionSearchProducts(), tracker)
    assert messages[0]["response"] == Response.COLOR_AVAILABLE
    chosen = slot_events(events)[Slot.PRODUCT]
    assert graph.details(chosen, currency="USD").color_en == "black"
    assert "KT9" in graph.model_name(chosen, "en")


def test_a_colour_after_a_follow_up_about_a_product_refines_that_product(
        demo_settings: Any, graph: Any) -> None:
    white = _sku(graph, "KT9", "white")
    tracker = _after(ActionName.FOLLOW_UP, "那黑色呢", intent=Intent.SEARCH_PRODUCTS,
                     entities=[entity("color", "black", 1)],
                     slots={Slot.PRODUCT: white, "language": "zh"})
    tracker.events[0]["parse_data"] = {"entities": [entity("product", "安踏KT9", 0)]}
    messages, events = run_action(ActionSearchProducts(), tracker)
    assert messages[0]["response"] == Response.COLOR_AVAILABLE
    assert graph.details(slot_events(events)[Slot.PRODUCT], currency="USD").color_en == "black"
    # after a follow-up that was a search, a colour refines the search instead
    tracker.events[0]["parse_data"] = {"entities": [entity("brand", "anta", 0)]}
    messages, _ = run_action(ActionSearchProducts(), tracker)
    assert messages[0]["response"] != Response.COLOR_AVAILABLE


def test_a_colour_after_a_search_refines_the_search(demo_settings: Any, graph: Any) -> None:
    tracker = _after(ActionName.SEARCH_PRODUCTS, "what about in black",
                     intent=Intent.SEARCH_PRODUCTS, entities=[entity("color", "black", 17)],
                     slots={Slot.SEARCH_CATEGORY: "running_shoes", Slot.SEARCH_COLOR: "red"})
    messages, events = run_action(ActionSearchProducts(), tracker)
    assert messages[0]["response"] == Response.SEARCH_RESULTS
    for sku in slot_events(events)[Slot.SHOWN_PRODUCTS]:
        details = graph.details(sku, currency="USD")
        assert (details.category_key, details.color_en) == ("running_shoes", "black")


def test_variants_are_picked_by_colour(demo_settings: Any, graph: Any) -> None:
    buds = _sku(graph, "FreeBuds Pro 3", "white")
    silver = variant_in_color(graph, buds, "silver")
    assert silver and graph.details(silver, currency="USD").color_en == "silver"
    assert variant_in_color(graph, buds, "银色") == silver
    assert variant_in_color(graph, _sku(graph, "KT9"), "green") is None


def test_a_price_range_in_a_search_is_one_range(demo_settings: Any, graph: Any) -> None:
    text = "I want headphones between $150 and $400"
    tracker = make_tracker(text, intent=Intent.SEARCH_PRODUCTS,
                           entities=[entity("category", "headphones", 7),
                                     entity("price", "$150", 27), entity("price", "$400", 36)])
    _, events = run_action(ActionSearchProducts(), tracker)
    shown = slot_events(events)[Slot.SHOWN_PRODUCTS]
    assert shown
    from actions.presentation import conversation_price

    for sku in shown:  # the range holds for the prices shown: today's published ones
        price = conversation_price(None, sku, graph.details(sku, currency="USD").price, "USD")
        assert price is not None and Decimal(150) <= price <= Decimal(400)


def test_lists_show_the_price_quoted_in_the_conversation(demo_settings: Any,
                                                         graph: Any) -> None:
    sku = _sku(graph, "Pegasus 41")
    run_action(ActionQuotePrice(), make_tracker("how much?", intent=Intent.ASK_PRICE,
                                                slots={Slot.PRODUCT: sku}, sender="c-list"))
    record = quoted("c-list", sku)
    from actions.services import pricing_ledger

    # the policy quoted a customer's own price, 5% under the published one, in another
    # conversation
    own = record.price / record.list_price * 0.95
    pricing_ledger().add_quote(replace(record, conversation_id="c-cheaper",
                                       price=record.list_price * own))
    summary = graph.summary(sku, currency="USD")
    expected = (summary.price * Decimal(repr(own))).quantize(Decimal("0.01"))
    assert format_money(expected, "USD") in product_lines([summary], "en", "c-cheaper")
    # an anonymous visitor's quote is the published price: what any other list shows
    published = (summary.price * Decimal(repr(record.price / record.list_price))).quantize(
        Decimal("0.01"))
    assert format_money(published, "USD") in product_lines([summary], "en", "c-other")
    assert format_money(published, "USD") in product_lines([summary], "en", None)


def test_buy_again_reasons_are_true_to_what_the_customer_did(demo_settings: Any,
                                                             graph: Any) -> None:
    shoes = _sku(graph, "Samba")
    slots = {Slot.PRODUCT: shoes}
    tracker = make_tracker("what would you recommend?", intent=Intent.ASK_RECOMMENDATION,
                           slots=slots, sender="looker")
    tracker.events.append({"event": "slot", "name": Slot.PRODUCT, "value": shoes})
    messages, _ = run_action(ActionRecommend(), tracker)
    reasons = [c["reason"] for m in messages if m.get("custom") for c in m["custom"]["cards"]]
    assert reasons and "you bought it before" not in reasons  # a visitor bought nothing


@pytest.mark.parametrize("status", ["delivered", "cancelled"])
def test_what_a_customer_bought_comes_from_their_orders(demo_settings: Any,
                                                        status: str) -> None:
    import sqlite3

    from actions.services import order_service

    with sqlite3.connect(demo_settings.data_dir / "shop.db") as db:
        customer, sku = db.execute(
            "select o.customer_id, l.product_sku from orders o join order_lines l "
            "on l.order_number = o.number where o.status = ? order by o.number limit 1",
            (status,)).fetchone()
        others = {r[0] for r in db.execute(
            "select l.product_sku from orders o join order_lines l on l.order_number = o.number"
            " where o.customer_id = ? and o.status != 'cancelled'", (customer,))}
    bought = order_service().bought(CustomerIdentity(customer_id=customer), [sku, "NOPE"])
    assert bought == ({sku} if status == "delivered" or sku in others else set())
    assert order_service().bought(CustomerIdentity(), [sku]) == set()


def _follow_up(text: str, entities: list[dict[str, Any]], previous: list[dict[str, Any]],
               slots: dict[str, Any]) -> Tracker:
    latest = {"text": text, "intent": {"name": Intent.FOLLOW_UP, "confidence": 1.0},
              "entities": entities, "metadata": {}}
    events = previous + [{"event": "user", "text": text, "parse_data": latest}]
    return Tracker("follow-up", {"language": "en", **slots}, latest, events, False, None, {},
                   "action_listen")


def _asked(intent: str, then: str) -> list[dict[str, Any]]:
    return [{"event": "user", "text": "earlier", "parse_data": {"intent": {"name": intent}}},
            {"event": "action", "name": then}]


def test_a_follow_up_asks_the_previous_question_about_another_product(
        demo_settings: Any, graph: Any) -> None:
    from actions.follow_up import ActionFollowUp

    shown = [_sku(graph, "MacBook Air"), _sku(graph, "MacBook Pro")]
    tracker = _follow_up("and the last one?", [entity("mention", "-1", 8)],
                         _asked(Intent.ASK_PRICE, ActionName.QUOTE_PRICE),
                         {Slot.SHOWN_PRODUCTS: shown, Slot.PRODUCT: shown[0]})
    messages, events = run_action(ActionFollowUp(), tracker)
    assert messages[0]["response"] in (Response.PRICE, Response.PRICE_OFFER)
    assert slot_events(events)[Slot.PRODUCT] == shown[1]
    assert quoted("follow-up", shown[1]) is not None  # priced (and audited) like a question


def test_a_follow_up_without_a_previous_question_describes_the_product(
        demo_settings: Any, graph: Any) -> None:
    from actions.follow_up import ActionFollowUp

    shown = [_sku(graph, "MacBook Air"), _sku(graph, "MacBook Pro")]
    tracker = _follow_up("第二个呢", [entity("mention", "2", 0)], [],
                         {Slot.SHOWN_PRODUCTS: shown, "language": "zh"})
    messages, _ = run_action(ActionFollowUp(), tracker)
    assert messages[0]["response"] == Response.DETAILS


def test_a_product_and_a_colour_with_no_question_before_ask_for_that_colour(
        demo_settings: Any, graph: Any) -> None:
    from actions.follow_up import ActionFollowUp

    tracker = _follow_up("安踏KT9有绿色的吗", [entity("product", "安踏KT9", 0),
                                          entity("color", "green", 6)], [],
                         {"language": "zh"})
    messages, _ = run_action(ActionFollowUp(), tracker)
    # the KT9 comes in white and black: "no green", with the colours it has
    assert messages[0]["response"] == Response.COLOR_UNAVAILABLE
    assert "白色" in messages[0]["colors"] and "黑色" in messages[0]["colors"]


def test_a_brand_follow_up_searches_again(demo_settings: Any, graph: Any) -> None:
    from actions.follow_up import ActionFollowUp

    tracker = _follow_up("what about xiaomi", [entity("brand", "xiaomi", 11)],
                         _asked(Intent.SEARCH_PRODUCTS, ActionName.SEARCH_PRODUCTS),
                         {Slot.SEARCH_CATEGORY: "phones", Slot.SEARCH_BRAND: "huawei"})
    messages, events = run_action(ActionFollowUp(), tracker)
    assert messages[0]["response"] == Response.SEARCH_RESULTS
    assert {graph.details(s, currency="USD").brand_en for s in
            slot_events(events)[Slot.SHOWN_PRODUCTS]} == {"Xiaomi"}


def test_cheaper_than_a_named_product_caps_the_search(demo_settings: Any, graph: Any) -> None:
    text = "any phones cheaper than the iPhone 15?"
    tracker = make_tracker(text, intent=Intent.SEARCH_PRODUCTS,
                           entities=[entity("category", "phones", 4),
                                     entity("product", "iPhone 15", 28)])
    _, events = run_action(ActionSearchProducts(), tracker)
    iphone = min(v.price for v in graph.variants(_sku(graph, "iPhone 15"), currency="USD"))
    shown = slot_events(events)[Slot.SHOWN_PRODUCTS]
    assert shown
    for sku in shown:
        details = graph.details(sku, currency="USD")
        assert details.category_key == "phones" and details.price < iphone


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_an_ordinal_before_any_list_asks_a_useful_question(demo_settings: Any, graph: Any,
                                                           lang: str) -> None:
    """"How much is the first one?" with nothing listed: never "I only showed 0 products"."""
    text = "how much is the first one?" if lang == "en" else "第一个多少钱？"
    tracker = make_tracker(text, intent=Intent.ASK_PRICE, slots={"language": lang},
                           entities=[{**entity("mention", "1", text.index(
                               "first" if lang == "en" else "第一个")), "end": len(text) - 1}])
    messages, events = run_action(ActionQuotePrice(), tracker)
    assert [m["response"] for m in messages] == [Response.MENTION_NOTHING_SHOWN], messages
    assert events == []


def test_the_colour_of_a_listed_product_picks_it(demo_settings: Any, graph: Any) -> None:
    """"How much is the grey one?" after a list: the listed product in grey."""
    names = {graph.model_name(s, "en"): s for s, *_ in graph.catalog_names()}
    air = next(s for n, s in names.items() if "MacBook Air" in n)
    shoe = next(s for n, s in names.items() if "Pegasus 41" in n)
    grey = variant_in_color(graph, air, "grey")
    assert grey is not None
    tracker = make_tracker("how much is the grey one?", intent=Intent.ASK_PRICE,
                           entities=[entity("color", "grey", 16)],
                           slots={Slot.SHOWN_PRODUCTS: [shoe, grey], Slot.PRODUCT: None})
    messages, events = run_action(ActionQuotePrice(), tracker)
    assert messages[0]["response"] in (Response.PRICE, Response.PRICE_OFFER), messages
    assert slot_events(events)[Slot.PRODUCT] == grey


def test_a_word_tagged_as_a_product_yields_to_the_product_named_in_full(
        demo_settings: Any, graph: Any) -> None:
    """"quick one - price of a Dell XPS 13?": never "I couldn't find a product called
    "quick"" when the message names a catalog product."""
    text = "quick one - price of a Dell XPS 13?"
    tracker = make_tracker(text, intent=Intent.ASK_PRICE, entities=[entity("product", "quick")])
    messages, events = run_action(ActionQuotePrice(), tracker)
    assert messages[0]["response"] in (Response.PRICE, Response.PRICE_OFFER), messages
    assert "XPS 13" in graph.model_name(slot_events(events)[Slot.PRODUCT], "en")


def test_the_only_product_of_a_brand_written_untagged(demo_settings: Any, graph: Any) -> None:
    """"戴森那个多少钱" with nothing tagged: the shop's one Dyson product."""
    tracker = make_tracker("戴森那个多少钱", intent=Intent.ASK_PRICE, slots={"language": "zh"})
    messages, events = run_action(ActionQuotePrice(), tracker)
    assert messages[0]["response"] in (Response.PRICE, Response.PRICE_OFFER), messages
    assert "V15" in graph.model_name(slot_events(events)[Slot.PRODUCT], "en")


@pytest.mark.parametrize(("text", "lang", "size"), [
    ("四十二码有吗", "zh", "EU 42"), ("do you have it in size 39?", "en", "EU 39"),
])
def test_a_size_in_a_stock_question_picks_that_size(demo_settings: Any, graph: Any,
                                                    text: str, lang: str, size: str) -> None:
    white = _sku(graph, "C202", "white")
    tracker = make_tracker(text, intent=Intent.ASK_STOCK,
                           slots={Slot.PRODUCT: white, "language": lang})
    messages, events = run_action(ActionProductInfo(), tracker)
    chosen = slot_events(events)[Slot.PRODUCT]
    details = graph.details(chosen, currency="USD")
    assert details.size == size and details.color_en == "white"
    assert messages[0]["response"] in (Response.STOCK_IN, Response.STOCK_LOW, Response.STOCK_OUT)
    assert size in messages[0]["name"]


def test_a_size_the_product_lacks_is_said_with_the_sizes_it_has(demo_settings: Any,
                                                               graph: Any) -> None:
    shoe = _sku(graph, "C202", "white")
    messages, _ = run_action(ActionProductInfo(), make_tracker(
        "有50码的吗", intent=Intent.ASK_STOCK, slots={Slot.PRODUCT: shoe, "language": "zh"}))
    assert messages[0]["response"] == Response.SIZE_UNAVAILABLE
    assert "EU 42" in messages[0]["sizes"] and messages[0]["size"] == "EU 50"
    # a product without sizes answers the stock question as before
    phone = _sku(graph, "Huawei Enjoy 70", "black")
    messages, _ = run_action(ActionProductInfo(), make_tracker(
        "42码有吗", intent=Intent.ASK_STOCK, slots={Slot.PRODUCT: phone, "language": "zh"}))
    assert messages[0]["response"] != Response.SIZE_UNAVAILABLE


def test_a_product_line_named_untagged_in_chinese_is_searched(demo_settings: Any,
                                                             graph: Any) -> None:
    """"想买个吸尘器": no category, brand or colour tagged, but 吸尘器 names a product line."""
    messages, events = run_action(ActionSearchProducts(), make_tracker(
        "想买个吸尘器", intent=Intent.SEARCH_PRODUCTS, slots={"language": "zh"}))
    assert messages[0]["response"] == Response.SEARCH_RESULTS, messages
    shown = slot_events(events)[Slot.SHOWN_PRODUCTS]
    assert shown and all("吸尘器" in graph.details(s, currency="CNY").name_zh for s in shown)
    messages, _ = run_action(ActionSearchProducts(), make_tracker(
        "我想买东西", intent=Intent.SEARCH_PRODUCTS, slots={"language": "zh"}))
    assert messages[0]["response"] == Response.SEARCH_NEED_CRITERIA


def test_an_unsure_brand_tag_beside_a_category_is_not_a_brand(demo_settings: Any,
                                                             graph: Any) -> None:
    """"顺便看看耳机": the entity model tagged 顺便 ("by the way") as a brand, unsure."""
    unsure = {**entity("brand", "顺便", 0), "extractor": "DIETClassifier",
              "confidence_entity": 0.45}
    tracker = make_tracker("顺便看看耳机", intent=Intent.SEARCH_PRODUCTS,
                           entities=[unsure, entity("category", "headphones", 4)],
                           slots={"language": "zh"})
    messages, events = run_action(ActionSearchProducts(), tracker)
    every = graph.search(currency="CNY", category="headphones", limit=100).total
    assert messages[0]["count"] == every and slot_events(events)[Slot.SEARCH_BRAND] is None
    sure = {**unsure, "value": "华强", "confidence_entity": 0.94}
    messages, _ = run_action(ActionSearchProducts(), make_tracker(
        "看看华强耳机", intent=Intent.SEARCH_PRODUCTS,
        entities=[sure, entity("category", "headphones", 4)], slots={"language": "zh"}))
    assert messages[0]["response"] == Response.SEARCH_NONE


def test_a_budget_tagged_as_a_brand_keeps_the_brand_searched_before(demo_settings: Any,
                                                                   graph: Any) -> None:
    """"要欧莱雅的" then "三百以内的" (三百 tagged as a brand): L'Oréal within ¥300."""
    tracker = make_tracker("三百以内的", intent=Intent.FOLLOW_UP,
                           entities=[entity("brand", "三百", 0)],
                           slots={"language": "zh", Slot.SEARCH_BRAND: "loreal"})
    messages, events = run_action(ActionSearchProducts(), tracker)
    shown = slot_events(events)[Slot.SHOWN_PRODUCTS]
    assert messages[0]["response"] == Response.SEARCH_RESULTS and shown
    assert {graph.details(s, currency="CNY").brand_en for s in shown} == {"L'Oreal"}
    assert slot_events(events)[Slot.SEARCH_MAX_PRICE] == 300


def test_a_brand_after_a_category_list_is_that_brand_in_that_category(demo_settings: Any,
                                                                     graph: Any) -> None:
    """"有500块以下的耳机吗" … "索尼的有吗" … "那苹果的呢": Apple's headphones within ¥500,
    not every Apple product; a brand that sells none of them starts a new search."""
    slots = {"language": "zh", Slot.SEARCH_CATEGORY: "headphones", Slot.SEARCH_MAX_PRICE: 3000.0,
             Slot.SEARCH_CURRENCY: "CNY"}
    messages, events = run_action(ActionSearchProducts(), make_tracker(
        "那苹果的呢", intent=Intent.SEARCH_PRODUCTS, entities=[entity("brand", "apple", 1)],
        slots=slots))
    set_ = slot_events(events)
    assert set_[Slot.SEARCH_CATEGORY] == "headphones" and set_[Slot.SEARCH_MAX_PRICE] == 3000.0
    assert {graph.details(s, currency="CNY").category_key for s in set_[Slot.SHOWN_PRODUCTS]} \
        == {"headphones"}
    _, events = run_action(ActionSearchProducts(), make_tracker(
        "乐高的呢", intent=Intent.SEARCH_PRODUCTS, entities=[entity("brand", "lego", 0)],
        slots=slots))
    assert slot_events(events)[Slot.SEARCH_CATEGORY] is None


def test_a_product_line_around_a_category_word_is_searched_by_name(demo_settings: Any,
                                                                  graph: Any) -> None:
    """"有卖咖啡豆吗": 咖啡 is the groceries category, 咖啡豆 a product line."""
    tag = {**entity("category", "groceries", 2), "end": 4}
    _, events = run_action(ActionSearchProducts(), make_tracker(
        "有卖咖啡豆吗", intent=Intent.SEARCH_PRODUCTS, entities=[tag], slots={"language": "zh"}))
    shown = slot_events(events)[Slot.SHOWN_PRODUCTS]
    assert shown and all("咖啡豆" in graph.details(s, currency="CNY").name_zh for s in shown)


@pytest.mark.parametrize(("text", "tagged", "line"), [
    ("do you guys sell rice cookers", "cookers", "rice cooker"),  # the tag in the plural
    ("any kitchen knives?", "kitchen", "knife"),
])
def test_a_product_line_in_the_plural_around_a_category_word(demo_settings: Any, graph: Any,
                                                             text: str, tagged: str,
                                                             line: str) -> None:
    start = text.index(tagged)
    tag = {**entity("category", "kitchen", start), "end": start + len(tagged)}
    _, events = run_action(ActionSearchProducts(), make_tracker(
        text, intent=Intent.SEARCH_PRODUCTS, entities=[tag], slots={"language": "en"}))
    shown = slot_events(events)[Slot.SHOWN_PRODUCTS]
    assert shown and all(line in graph.details(s, currency="USD").name_en.lower() for s in shown)


@pytest.mark.parametrize(("text", "lang"), [("最便宜的是哪个", "zh"),
                                            ("which one is the cheapest?", "en")])
def test_which_is_the_cheapest_is_answered_with_that_product(demo_settings: Any, graph: Any,
                                                           text: str, lang: str) -> None:
    currency = "CNY" if lang == "zh" else "USD"  # zh compares the prices shown in yuan
    phones = graph.search(currency=currency, category="phones", limit=4).items
    shown = [p.sku for p in reversed(phones)]  # dearest first: the cheapest is last
    messages, events = run_action(ActionCompareProducts(), make_tracker(
        text, intent=Intent.COMPARE_PRODUCTS, entities=[entity("mention", "cheapest", 0)],
        slots={Slot.SHOWN_PRODUCTS: shown, "language": lang}, sender=f"cheapest-{lang}"))
    assert messages[0]["response"] in (Response.PRICE, Response.PRICE_OFFER), messages
    prices = shown_prices(None, phones)  # as the customer was shown them (published today)
    assert slot_events(events)[Slot.PRODUCT] == min(prices, key=prices.__getitem__)


def test_the_price_of_a_colour_the_product_lacks_says_so(demo_settings: Any,
                                                         graph: Any) -> None:
    s24 = _sku(graph, "Galaxy S24", "black")
    colors = {v.color_en for v in graph.variants(s24, currency="USD")}
    assert "white" not in colors
    messages, _ = run_action(ActionQuotePrice(), make_tracker(
        "白色的多少钱", intent=Intent.ASK_PRICE, entities=[entity("color", "white", 0)],
        slots={Slot.PRODUCT: s24, "language": "zh"}))
    assert messages[0]["response"] == Response.COLOR_UNAVAILABLE, messages


@pytest.mark.parametrize(("text", "lang", "word"), [
    ("do you have any air purifiers", "en", "Purifier"), ("got a rice cooker?", "en", "Cooker"),
])
def test_a_product_line_named_untagged_in_english_is_searched(demo_settings: Any, graph: Any,
                                                             text: str, lang: str,
                                                             word: str) -> None:
    messages, events = run_action(ActionSearchProducts(), make_tracker(
        text, intent=Intent.SEARCH_PRODUCTS, slots={"language": lang}))
    shown = slot_events(events)[Slot.SHOWN_PRODUCTS]
    assert messages[0]["response"] == Response.SEARCH_RESULTS, messages
    assert shown and all(word in graph.details(s, currency="USD").name_en for s in shown)
    # a word that names no product line asks for what the customer wants
    messages, _ = run_action(ActionSearchProducts(), make_tracker(
        "do you have anything for the air", intent=Intent.SEARCH_PRODUCTS))
    assert messages[0]["response"] == Response.SEARCH_NEED_CRITERIA


def test_a_brand_and_category_in_traditional_chinese_are_not_a_product_line(
        demo_settings: Any, graph: Any) -> None:
    """"有沒有蘋果的耳機": Apple's headphones, not products named like "蘋果的耳機"."""
    tags = [{**entity("brand", "apple", 3), "end": 5}, {**entity("category", "headphones", 6),
                                                      "end": 8}]
    _, events = run_action(ActionSearchProducts(), make_tracker(
        "有沒有蘋果的耳機", intent=Intent.SEARCH_PRODUCTS, entities=tags,
        slots={"language": "zh"}))
    shown = slot_events(events)[Slot.SHOWN_PRODUCTS]
    assert shown and {graph.details(s, currency="CNY").category_key for s in shown} == \
        {"headphones"}


def test_a_brand_with_a_category_is_never_a_product_line(demo_settings: Any, graph: Any) -> None:
    """"show me sony headphones": every Sony headphone, not those named "… Headphones"."""
    tags = [entity("brand", "sony", 8), {**entity("category", "headphones", 13)}]
    _, events = run_action(ActionSearchProducts(), make_tracker(
        "show me sony headphones", intent=Intent.SEARCH_PRODUCTS, entities=tags))
    shown = slot_events(events)[Slot.SHOWN_PRODUCTS]
    every = graph.search(currency="USD", category="headphones", brand="sony", limit=100)
    assert len(shown) == every.total >= 2


@pytest.mark.parametrize(("text", "words", "lang"), [
    ("show me phone chargers", ("phone", "chargers"), "en"),
    ("看看手机充电器", ("手机", "充电器"), "zh"),
])
def test_a_category_word_before_another_only_says_what_for(demo_settings: Any, graph: Any,
                                                           text: str, words: tuple[str, str],
                                                           lang: str) -> None:
    """"phone chargers" are chargers: the last of two category words side by side wins."""
    tracker = make_tracker(text, intent=Intent.SEARCH_PRODUCTS,
                           entities=[entity("category", w, text.index(w)) for w in words],
                           slots={"language": lang})
    _, events = run_action(ActionSearchProducts(), tracker)
    shown = slot_events(events)[Slot.SHOWN_PRODUCTS]
    assert shown
    assert {graph.details(s, currency="USD").category_key for s in shown} == \
        {"phone_accessories"}


def test_category_words_apart_keep_the_first(demo_settings: Any, graph: Any) -> None:
    text = "phones, and maybe chargers later"
    tracker = make_tracker(text, intent=Intent.SEARCH_PRODUCTS,
                           entities=[entity("category", "phones", 0),
                                     entity("category", "chargers", text.index("chargers"))])
    _, events = run_action(ActionSearchProducts(), tracker)
    assert {graph.details(s, currency="USD").category_key
            for s in slot_events(events)[Slot.SHOWN_PRODUCTS]} == {"phones"}


@pytest.mark.parametrize(("text", "lang", "said"), [
    ("got any kettles or toasters?", "en", "kettles or toasters"),
    ("有没有卖电水壶", "zh", "电水壶"), ("你们卖自行车吗", "zh", "自行车"),
    ("do you sell bicycles?", "en", "bicycles")])
def test_a_thing_the_shop_does_not_sell_is_said_so(demo_settings: Any, text: str, lang: str,
                                                    said: str) -> None:
    """Asked for something no product is called, the customer hears the shop has none of
    it, in their words, not "what are you looking for?"."""
    tracker = make_tracker(text, intent=Intent.SEARCH_PRODUCTS, slots={"language": lang})
    messages, _ = run_action(ActionSearchProducts(), tracker)
    assert [m["response"] for m in messages] == [Response.SEARCH_NONE]
    assert said in messages[0]["criteria"]


def test_a_vague_request_still_asks_what_for(demo_settings: Any) -> None:
    tracker = make_tracker("got anything nice?", intent=Intent.SEARCH_PRODUCTS)
    messages, _ = run_action(ActionSearchProducts(), tracker)
    assert [m["response"] for m in messages] == [Response.SEARCH_NEED_CRITERIA]


@pytest.mark.parametrize(("text", "lang", "brand", "start"), [
    ("hey there, do you stock anything by Sony?", "en", "sony", 34),
    ("有索尼的东西吗", "zh", "sony", 1)])
def test_a_stock_question_about_a_brand_is_a_search(demo_settings: Any, graph: Any, text: str,
                                                   lang: str, brand: str, start: int) -> None:
    """"Do you stock anything by Sony?" read as a stock question lists Sony's products
    instead of asking "which product do you mean?"."""
    tracker = make_tracker(text, intent=Intent.ASK_STOCK, slots={"language": lang},
                           entities=[entity("brand", brand, start)])
    messages, events = run_action(ActionProductInfo(), tracker)
    assert [m["response"] for m in messages] == [Response.SEARCH_RESULTS]
    shown = slot_events(events)[Slot.SHOWN_PRODUCTS]
    assert shown and all(graph.details(s, currency="USD").brand_en == "Sony" for s in shown)


def test_a_stock_question_naming_the_brand_of_the_product_discussed_is_about_it(
        demo_settings: Any, graph: Any) -> None:
    sony = graph.search(currency="USD", brand="sony").items[0].sku
    text = "is the Sony in stock?"
    tracker = make_tracker(text, intent=Intent.ASK_STOCK, slots={Slot.PRODUCT: sony},
                           entities=[entity("brand", "sony", text.index("Sony"))])
    messages, _ = run_action(ActionProductInfo(), tracker)
    assert messages[0]["response"] in (Response.STOCK_IN, Response.STOCK_LOW,
                                       Response.STOCK_OUT)
