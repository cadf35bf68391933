"""Product actions run against tracker fixtures and the generated demo shop."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from actions.constants import Response, Slot
from actions.pricing import ActionQuotePrice
from actions.product_accessories import ActionProductAccessories
from actions.product_compare import ActionCompareProducts
from actions.product_info import ActionProductInfo
from actions.product_search import ActionSearchProducts
from tests.conftest import entity, local_price, make_tracker, quoted, run_action, slot_events

PRICED = (Response.PRICE, Response.PRICE_OFFER)


def _search(graph, text, entities, slots=None, language="en"):
    tracker = make_tracker(text, intent="search_products", entities=entities,
                           slots={"language": language, **(slots or {})})
    return run_action(ActionSearchProducts(), tracker)


def test_search_red_running_shoes_under_80_dollars(graph) -> None:
    messages, events = _search(graph, "red running shoes under 80 dollars", [
        entity("color", "red"), entity("category", "running shoes", 4),
        entity("price", "80 dollars", 25, role="max")])
    assert messages[0]["response"] == Response.SEARCH_RESULTS
    items = messages[0]["items"]
    shown = slot_events(events)[Slot.SHOWN_PRODUCTS]
    prices = [Decimal(m.replace(",", "")) for m in re.findall(r"\$([\d,.]+)", items)]
    assert "(red)" in items and len(prices) == len(shown) >= 2, items
    # the limit holds for the prices shown (today's published ones), not the list prices
    assert all(p <= 80 for p in prices), items
    from actions.presentation import conversation_price

    for sku, price in zip(shown, prices, strict=True):
        d = graph.details(sku, currency="USD")
        assert d.color_en == "red" and d.category_key == "running_shoes"
        assert conversation_price(None, sku, d.price, "USD") == price


def test_search_in_chinese_uses_yuan_and_chinese_names(graph) -> None:
    messages, events = _search(graph, "有没有2000元以下的华为手机", [
        entity("price", "2000元", 3, role="max"), entity("brand", "huawei", 11),
        entity("category", "手机", 13)], language="zh")
    assert messages[0]["response"] == Response.SEARCH_RESULTS
    assert "华为" in messages[0]["items"] and "¥" in messages[0]["items"]
    for sku in slot_events(events)[Slot.SHOWN_PRODUCTS]:
        d = graph.details(sku, currency="CNY")
        assert d.brand_en == "Huawei" and d.price <= 2000 and d.category_key == "phones"


def test_search_refines_previous_results_with_a_colour(graph) -> None:
    _, events = _search(graph, "huawei phones", [entity("brand", "huawei"),
                                                 entity("category", "phones", 7)])
    previous = {k: v for k, v in slot_events(events).items() if k.startswith("search_")}
    messages, events = _search(graph, "any in green?", [entity("color", "green", 7)],
                               slots=previous)
    for sku in slot_events(events)[Slot.SHOWN_PRODUCTS]:
        d = graph.details(sku, currency="USD")
        assert (d.brand_en, d.color_en, d.category_key) == ("Huawei", "green", "phones")


def test_search_with_nothing_to_go_on_asks_for_criteria(graph) -> None:
    messages, _ = _search(graph, "show me stuff", [])
    assert messages[0]["response"] == Response.SEARCH_NEED_CRITERIA


def test_search_for_unknown_brand_says_none(graph) -> None:
    messages, _ = _search(graph, "gucci bags", [entity("brand", "gucci")])
    assert messages[0]["response"] == Response.SEARCH_NONE
    assert "gucci" in messages[0]["criteria"]


def test_price_of_the_second_one(graph) -> None:
    _, events = _search(graph, "huawei phones", [entity("brand", "huawei"),
                                                 entity("category", "phones", 7)])
    shown = slot_events(events)[Slot.SHOWN_PRODUCTS]
    tracker = make_tracker("how much is the second one?", intent="ask_price",
                           entities=[entity("mention", "2", 16)],
                           slots={Slot.SHOWN_PRODUCTS: shown}, sender="second-one")
    messages, events = run_action(ActionQuotePrice(), tracker)
    expected = graph.details(shown[1], currency="USD")
    assert messages[0]["response"] in PRICED
    # the capacity is named: it sets the price (another capacity costs more)
    assert messages[0]["name"] == f"{expected.model_en} {expected.capacity} ({expected.color_en})"
    # the price the policy quoted and the audit trail recorded, shown in dollars
    record = quoted("second-one", shown[1])
    assert messages[0]["price"] == local_price(graph, shown[1], "USD",
                                               record.price / record.list_price)
    assert slot_events(events)[Slot.PRODUCT] == shown[1]


def test_mention_beyond_the_list(graph) -> None:
    tracker = make_tracker("the fifth one", intent="ask_price",
                           entities=[entity("mention", "5")],
                           slots={Slot.SHOWN_PRODUCTS: ["SKU-1001"]})
    messages, _ = run_action(ActionQuotePrice(), tracker)
    assert messages[0]["response"] == Response.MENTION_OUT_OF_RANGE


def test_does_it_come_in_black_in_chinese(graph) -> None:
    iphone = graph.match_names("iPhone 15")[0].sku
    pink = next(v for v in graph.variants(iphone, currency="CNY") if v.color_en == "pink")
    tracker = make_tracker("它有黑色的吗", intent="ask_color",
                           entities=[entity("color", "black", 2)],
                           slots={"language": "zh", Slot.PRODUCT: pink.sku})
    messages, events = run_action(ActionProductInfo(), tracker)
    assert messages[0]["response"] == Response.COLOR_AVAILABLE
    assert messages[0]["color"] == "黑色" and "¥" in messages[0]["price"]
    chosen = graph.details(slot_events(events)[Slot.PRODUCT], currency="CNY")
    # whether that colour can be bought: the chosen variant's stock
    assert messages[1]["response"] in {Response.STOCK_IN, Response.STOCK_LOW, Response.STOCK_OUT}
    assert messages[1]["stock"] == chosen.stock and messages[1]["name"] == chosen.name_zh
    assert chosen.color_en == "black" and chosen.capacity == graph.details(
        pink.sku, currency="CNY").capacity


def test_colour_not_available_lists_real_colours(graph) -> None:
    sku = graph.match_names("AirPods Pro 2")[0].sku
    tracker = make_tracker("does it come in red?", intent="ask_color",
                           entities=[entity("color", "red", 16)], slots={Slot.PRODUCT: sku})
    messages, _ = run_action(ActionProductInfo(), tracker)
    assert messages[0]["response"] == Response.COLOR_UNAVAILABLE
    assert messages[0]["colors"] == "white"


@pytest.mark.parametrize(("intent", "response"), [
    ("ask_material", Response.MATERIAL), ("ask_details", Response.DETAILS)])
def test_material_and_details_by_name(graph, intent: str, response: str) -> None:
    tracker = make_tracker("what about the iphnoe 15 pro", intent=intent,
                           entities=[entity("product", "iphnoe 15 pro", 15)])
    messages, events = run_action(ActionProductInfo(), tracker)
    assert messages[0]["response"] == response
    assert "iPhone 15 Pro" in messages[0]["name"]


def test_stock_answer_matches_inventory(graph) -> None:
    sold_out = next(sku for sku, *_ in graph.catalog_names()
                    if graph.details(sku, currency="USD").stock == 0)
    tracker = make_tracker("is it in stock?", intent="ask_stock", slots={Slot.PRODUCT: sold_out})
    messages, _ = run_action(ActionProductInfo(), tracker)
    assert messages[0]["response"] == Response.STOCK_OUT


def test_unknown_product_gets_suggestions_or_not_found(graph) -> None:
    tracker = make_tracker("how much is the macbok air 99", intent="ask_price",
                           entities=[entity("product", "macbok air 99", 16)])
    messages, _ = run_action(ActionQuotePrice(), tracker)
    assert messages[0]["response"] == Response.PRODUCT_SUGGESTIONS
    assert "MacBook Air 13" in messages[0]["suggestions"]
    tracker = make_tracker("how much is the zqxw", intent="ask_price",
                           entities=[entity("product", "zqxwvy", 16)])
    messages, _ = run_action(ActionQuotePrice(), tracker)
    assert messages[0]["response"] == Response.PRODUCT_NOT_FOUND


def test_no_product_in_context_asks_which(graph) -> None:
    messages, _ = run_action(ActionQuotePrice(), make_tracker("how much?", intent="ask_price"))
    assert messages[0]["response"] == Response.WHICH_PRODUCT


def test_compare_two_named_products(graph) -> None:
    tracker = make_tracker("compare the iPhone 15 and the Galaxy S24", intent="compare_products",
                           entities=[entity("product", "iPhone 15", 12),
                                     entity("product", "Galaxy S24", 30)])
    messages, events = run_action(ActionCompareProducts(), tracker)
    assert messages[0]["response"] == Response.COMPARE
    table = messages[0]["table"]
    assert "iPhone 15" in table and "Galaxy S24" in table and "Brand: Apple | Samsung" in table
    assert len(slot_events(events)[Slot.SHOWN_PRODUCTS]) == 2


def test_compare_needs_two(graph) -> None:
    messages, _ = run_action(ActionCompareProducts(),
                             make_tracker("compare them", intent="compare_products"))
    assert messages[0]["response"] == Response.COMPARE_NEED_TWO


def test_accessories_for_a_phone_in_chinese(graph) -> None:
    sku = graph.match_names("华为 Mate 60 Pro")[0].sku
    tracker = make_tracker("有什么配件", intent="ask_accessories",
                           slots={"language": "zh", Slot.PRODUCT: sku})
    messages, events = run_action(ActionProductAccessories(), tracker)
    assert messages[0]["response"] == Response.ACCESSORIES
    assert "66W" in messages[0]["items"]
    assert slot_events(events)[Slot.PRODUCT] == sku


def test_an_accessory_says_what_it_fits(graph) -> None:
    phone = graph.match_names("华为 Mate 60 Pro")[0].sku
    charger = graph.accessories(phone, currency="USD")[0]
    tracker = make_tracker("what does it fit?", intent="ask_accessories",
                           slots={Slot.PRODUCT: charger.sku})
    messages, events = run_action(ActionProductAccessories(), tracker)
    assert messages[0]["response"] == Response.COMPATIBLE
    assert "Mate 60 Pro" in messages[0]["items"]
    assert slot_events(events)[Slot.PRODUCT] == charger.sku


def test_a_tagged_fragment_of_a_whole_name_in_the_text_resolves_to_that_name(graph) -> None:
    # a model trained on another catalog tags only part of the name
    text = "how much is the Apple iPhone 15 Pro?"
    tracker = make_tracker(text, intent="ask_price",
                           entities=[entity("product", "iPhone 15", text.index("iPhone"))])
    messages, _ = run_action(ActionQuotePrice(), tracker)
    assert messages[0]["response"] in PRICED
    assert "iPhone 15 Pro" in messages[0]["name"]


def test_product_named_in_text_without_entities(graph) -> None:
    tracker = make_tracker("how much is the Dyson V15 Detect Vacuum?", intent="ask_price")
    messages, _ = run_action(ActionQuotePrice(), tracker)
    assert messages[0]["response"] in PRICED and "Dyson V15" in messages[0]["name"]


def test_search_terms_in_text_without_entities(graph) -> None:
    messages, events = _search(graph, "anything from lego?", [])
    assert messages[0]["response"] == Response.SEARCH_RESULTS
    for sku in slot_events(events)[Slot.SHOWN_PRODUCTS]:
        assert graph.details(sku, currency="USD").brand_en == "LEGO"


@pytest.mark.parametrize(("text", "tag", "lang", "currency", "limit"), [
    ("800块以下的厨房小电器", "厨房小电器", "zh", "CNY", 800),
    ("3000元以内的厨房电器", "厨房电器", "zh", "CNY", 3000),
    ("any kitchen stuff under $300?", "kitchen stuff", "en", "USD", 300)])
def test_a_word_the_catalog_lacks_finds_the_category_it_means(
        graph, text, tag, lang, currency, limit) -> None:
    messages, events = _search(graph, text, [entity("category", tag, text.index(tag))],
                               language=lang)
    assert messages[0]["response"] == Response.SEARCH_RESULTS
    shown = slot_events(events)[Slot.SHOWN_PRODUCTS]
    assert shown
    for sku in shown:
        details = graph.details(sku, currency=currency)
        assert details.category_key == "kitchen" and details.price <= limit


@pytest.mark.parametrize("tag", ["lawnmower", "自行车", "books"])
def test_a_word_near_no_category_is_still_something_the_shop_lacks(graph, tag) -> None:
    text = f"do you sell {tag}?"
    messages, _ = _search(graph, text, [entity("category", tag, text.index(tag))])
    assert messages[0]["response"] == Response.SEARCH_NONE
    assert tag in messages[0]["criteria"]


def test_a_colour_said_the_short_way_refines_the_last_search(graph) -> None:
    _, events = _search(graph, "有黑色的夹克吗", [entity("color", "黑色", 1),
                                            entity("category", "夹克", 4)], language="zh")
    slots = slot_events(events)
    before = {Slot.SEARCH_CATEGORY: slots[Slot.SEARCH_CATEGORY],
              Slot.SEARCH_COLOR: slots[Slot.SEARCH_COLOR]}
    messages, events = _search(graph, "绿的呢", [], slots=before, language="zh")
    shown = slot_events(events)[Slot.SHOWN_PRODUCTS]
    assert messages[0]["response"] == Response.SEARCH_RESULTS and shown
    for sku in shown:
        details = graph.details(sku, currency="CNY")
        assert details.color_en == "green" and details.category_key == "jackets"
    # no white jackets: said so, not the black ones again
    messages, _ = _search(graph, "白的呢", [], slots=before, language="zh")
    assert messages[0]["response"] == Response.SEARCH_NONE and "白色" in messages[0]["criteria"]
    assert _search(graph, "明白的", [], language="zh")[0][0]["response"] \
        == Response.SEARCH_NEED_CRITERIA  # 明白 is no colour


@pytest.mark.parametrize(("mention", "pick"), [("cheapest", min), ("dearest", max)])
def test_the_cheaper_and_the_more_expensive_one(graph, mention, pick) -> None:
    _, events = _search(graph, "huawei phones", [entity("brand", "huawei"),
                                                 entity("category", "phones", 7)])
    shown = slot_events(events)[Slot.SHOWN_PRODUCTS]
    tracker = make_tracker(f"how much is the {mention} one?", intent="ask_price",
                           entities=[entity("mention", mention, 16)],
                           slots={Slot.SHOWN_PRODUCTS: shown})
    _, events = run_action(ActionQuotePrice(), tracker)
    expected = pick(shown, key=lambda s: graph.details(s, currency="USD").price)
    assert slot_events(events)[Slot.PRODUCT] == expected


def test_misspelt_name_the_nlu_did_not_tag_is_still_found(graph) -> None:
    tracker = make_tracker("how much is the macbok air?", intent="ask_price")
    messages, events = run_action(ActionQuotePrice(), tracker)
    assert messages[0]["response"] in PRICED
    assert "MacBook Air" in messages[0]["name"]
    tracker = make_tracker("how much is it?", intent="ask_price")
    messages, _ = run_action(ActionQuotePrice(), tracker)
    assert messages[0]["response"] == Response.WHICH_PRODUCT


def test_a_brand_the_shop_sells_one_product_of_names_it(graph) -> None:
    text = "美的电饭煲什么价"  # the demo shop sells one Midea product
    tracker = make_tracker(text, intent="ask_price", slots={"language": "zh"},
                           entities=[entity("brand", "美的", 0)])
    messages, _ = run_action(ActionQuotePrice(), tracker)
    assert messages[0]["response"] in PRICED and "电饭煲" in messages[0]["name"]
    # a brand with several products still asks which one
    several = make_tracker("how much is the apple?", intent="ask_price",
                           entities=[entity("brand", "apple", 16)])
    messages, _ = run_action(ActionQuotePrice(), several)
    assert messages[0]["response"] == Response.WHICH_PRODUCT


def test_a_brand_inside_a_category_tag_filters_by_that_brand(graph) -> None:
    # the demo catalog lists "lego sets" among the toys' names: the brand must not be lost
    # the synonym mapper gives the tag the category's key as its value
    tag = {**entity("category", "lego sets", 5), "value": "toys"}
    messages, events = _search(graph, "what lego sets have you got", [tag])
    assert messages[0]["response"] == Response.SEARCH_RESULTS
    shown = slot_events(events)[Slot.SHOWN_PRODUCTS]
    assert shown and all(graph.details(s, currency="USD").brand_en == "LEGO" for s in shown)


def test_cheaper_than_a_product_written_but_not_tagged(graph) -> None:
    # the entity model tagged only 吸尘器 (as a product) and the brand of the name
    text = "有没有比戴森V15便宜的吸尘器"
    v15 = graph.match_names("戴森 V15", limit=1)[0].sku
    cheapest = min(v.price for v in graph.variants(v15, currency="CNY") if v.price)
    messages, events = _search(graph, text, [entity("brand", "戴森", 3),
                                             {**entity("product", "吸尘器", 12)}],
                               language="zh")
    assert messages[0]["response"] == Response.SEARCH_RESULTS
    shown = slot_events(events)[Slot.SHOWN_PRODUCTS]
    assert shown and v15 not in shown
    for sku in shown:
        details = graph.details(sku, currency="CNY")
        assert details.price < cheapest and details.category_key == "home"


def test_a_category_named_in_the_message_wins_over_an_unknown_tag_fragment(graph) -> None:
    # the entity model tagged only "stuff" of "show me running shoes stuff"
    text = "show me running shoes stuff"
    messages, events = _search(graph, text, [entity("category", "stuff", text.index("stuff"))])
    assert messages[0]["response"] == Response.SEARCH_RESULTS
    for sku in slot_events(events)[Slot.SHOWN_PRODUCTS]:
        assert graph.details(sku, currency="USD").category_key == "running_shoes"


def test_a_budget_holds_for_todays_published_prices(graph) -> None:
    """A product whose list price fits the budget but whose published price today does not
    is left out; one published below its list price makes it in."""
    from actions.services import pricing_engine, pricing_ledger
    from pricing.guardrails import PriceState

    search = "red running shoes under 80 dollars"
    tags = [entity("color", "red"), entity("category", "running shoes", 4),
            entity("price", "80 dollars", 25, role="max")]
    shown = slot_events(_search(graph, search, tags)[1])[Slot.SHOWN_PRODUCTS]
    engine, ledger = pricing_engine(), pricing_ledger()
    today = engine.period_start(engine.now())
    listed = {sku: float(graph.details(sku, currency="USD").price) for sku in shown}
    dearer = shown[0]  # published today at 80.01 or more: over the budget
    before = ledger.price_state(dearer, "")
    ledger.set_price_state(dearer, "", PriceState(round(max(listed[dearer] * 1.1, 80.01), 2),
                                                  today, today, listed[dearer]))
    try:
        messages, events = _search(graph, search, tags)
        assert dearer not in slot_events(events)[Slot.SHOWN_PRODUCTS], messages
    finally:  # decided again by its next reader
        ledger.set_price_state(dearer, "", before or PriceState(listed[dearer], today))


@pytest.mark.parametrize(("text", "word", "model"), [
    ("show me macbooks", "macbooks", "MacBook"), ("any iphones?", "iphones", "iPhone")])
def test_a_product_line_the_catalog_has_no_category_for_is_searched_by_name(
        graph, text, word, model) -> None:
    messages, events = _search(graph, text, [entity("category", word, text.index(word))])
    assert messages[0]["response"] == Response.SEARCH_RESULTS, messages
    shown = slot_events(events)[Slot.SHOWN_PRODUCTS]
    names = [graph.model_name(s, "en") for s in shown]
    assert len(shown) >= 2 and all(model in n for n in names), names


def test_a_colour_after_a_recommendation_list_refines_its_category(graph) -> None:
    """"只看黑色的" after jackets were recommended: black jackets, not every black product."""
    names = {graph.model_name(s, "en"): s for s, *_ in graph.catalog_names()}
    jackets = [s for n, s in names.items() if "Jacket" in n][:2]
    assert len(jackets) == 2
    text = "只看黑色的"
    messages, events = _search(graph, text, [entity("color", "黑色", 2)], language="zh",
                               slots={Slot.SHOWN_PRODUCTS: jackets})
    shown = slot_events(events)[Slot.SHOWN_PRODUCTS]
    assert shown, messages
    for sku in shown:
        d = graph.details(sku, currency="CNY")
        assert d.category_key == "jackets" and d.color_en == "black"
