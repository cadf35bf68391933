"""The rasa-sdk knowledge base over the product graph."""

from __future__ import annotations

import asyncio

from rasa_sdk.knowledge_base.utils import resolve_mention

from actions.knowledge_base import GraphKnowledgeBase
from tests.conftest import make_tracker


def test_objects_filtered_by_brand_and_category_names(graph) -> None:
    kb = GraphKnowledgeBase(graph, currency="USD")
    objects = asyncio.run(kb.get_objects("product", [{"name": "brand", "value": "华为"},
                                                     {"name": "category", "value": "phones"}]))
    assert objects and all(o["brand"] == "Huawei" and o["currency"] == "USD" for o in objects)
    assert asyncio.run(kb.get_objects("product", [{"name": "brand", "value": "gucci"}])) == []
    assert asyncio.run(kb.get_objects("restaurant", [])) == []
    assert "price" in asyncio.run(kb.get_attributes_of_object("product"))


def test_object_by_sku_or_name_in_chinese(graph) -> None:
    kb = GraphKnowledgeBase(graph, currency="CNY", language="zh")
    by_name = asyncio.run(kb.get_object("product", "iphnoe 15 pro"))
    assert by_name["name"].startswith("苹果 iPhone 15 Pro") and by_name["currency"] == "CNY"
    assert asyncio.run(kb.get_object("product", by_name["sku"]))["sku"] == by_name["sku"]
    assert asyncio.run(kb.get_object("product", "zzqqxx")) is None


def test_rasa_sdk_mention_helpers_use_the_graphs_mapping(graph) -> None:
    kb = GraphKnowledgeBase(graph, currency="USD")
    listed = [o["sku"] for o in asyncio.run(kb.get_objects(
        "product", [{"name": "brand", "value": "huawei"}, {"name": "category",
                                                           "value": "phones"}]))]
    prices = {s: graph.details(s, currency="USD").price for s in listed}
    for mention, expected in (("2", listed[1]), ("-1", listed[-1]),
                              ("cheapest", min(prices, key=prices.get)),
                              ("dearest", max(prices, key=prices.get))):
        tracker = make_tracker("", slots={"mention": mention,
                                          "knowledge_base_listed_objects": listed})
        assert resolve_mention(tracker, kb.ordinal_mention_mapping) == expected
