"""Compare two or more products attribute by attribute."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import language, latest_entities, resolve_products, say
from actions.constants import ActionName, Entity, Response, Slot
from actions.presentation import conversation_price, currency_for, price_text
from actions.services import product_graph
from knowledge_graph.graph import Comparison, ProductDetails

LABELS = {
    "en": {"brand_en": "Brand", "category_en": "Category", "color_en": "Colour",
           "material_en": "Material", "size": "Size", "capacity": "Capacity", "price": "Price",
           "availability": "Availability"},
    "zh": {"brand_en": "品牌", "category_en": "品类", "color_en": "颜色", "material_en": "材质",
           "size": "尺码", "capacity": "容量", "price": "价格", "availability": "库存"},
}
AVAILABILITY = {
    "en": {"InStock": "in stock", "LimitedAvailability": "few left", "OutOfStock": "sold out"},
    "zh": {"InStock": "有货", "LimitedAvailability": "库存紧张", "OutOfStock": "缺货"},
}


def _label(attr: str, lang: str) -> str:
    """A compared attribute's name; free attributes are shown by their own name."""
    return LABELS[lang].get(attr) or attr.replace("_", " ").capitalize()


def _value(comparison: Comparison, p: ProductDetails, attr: str, lang: str,
           conversation: str | None = None) -> str:
    if attr not in LABELS[lang]:
        return str(comparison.value(p, attr) or "-")
    if attr == "price":  # the conversation's price of the product, as every answer shows it
        return price_text(conversation_price(conversation, p.sku, p.price, p.currency),
                          p.currency, lang)
    if attr == "availability":
        return AVAILABILITY[lang].get(p.availability, p.availability)
    if lang == "zh" and attr.endswith("_en"):
        value = getattr(p, attr[:-3] + "_zh")
    else:
        value = getattr(p, attr)
    return str(value) if value else "-"


def comparison_table(comparison: Comparison, lang: str, conversation: str | None = None) -> str:
    """Render a comparison as text lines: names, differing attributes, shared ones (prices
    as quoted or published in ``conversation``)."""
    names = [p.name_zh if lang == "zh" else p.name_en for p in comparison.products]
    sep = " | "
    lines = [" vs ".join(names)]
    for attr in comparison.differing:
        lines.append(f"{_label(attr, lang)}: "
                     + sep.join(_value(comparison, p, attr, lang, conversation)
                                for p in comparison.products))
    if comparison.shared:
        first = comparison.products[0]
        same = "、".join if lang == "zh" else ", ".join
        shared = same(f"{_label(a, lang)} {_value(comparison, first, a, lang, conversation)}"
                      for a in comparison.shared)
        lines.append(("相同：" if lang == "zh" else "Both: ") + shared)
    return "\n".join(lines)


class ActionCompareProducts(Action):
    """Compares the products the customer names or points at."""

    def name(self) -> str:
        return ActionName.COMPARE_PRODUCTS

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        lang = language(tracker)
        graph = product_graph()
        mentions = [str(e.get("value")) for e in latest_entities(tracker, Entity.MENTION)]
        if mentions in (["cheapest"], ["dearest"]) and not latest_entities(tracker,
                                                                          Entity.PRODUCT):
            # "最便宜的是哪个", "which one is the cheapest?": that product and its price
            from actions.pricing import ActionQuotePrice

            return await ActionQuotePrice().run(dispatcher, tracker, domain)
        resolution = resolve_products(tracker, graph, wanted=2)
        if len(resolution.skus) < 2:
            if resolution.response:
                return say(dispatcher, resolution)
            dispatcher.utter_message(response=Response.COMPARE_NEED_TWO)
            return []
        comparison = graph.compare(list(resolution.skus[:4]), currency=currency_for(lang, graph))
        dispatcher.utter_message(response=Response.COMPARE,
                                 table=comparison_table(comparison, lang, tracker.sender_id))
        return [SlotSet(Slot.SHOWN_PRODUCTS, list(resolution.skus[:4]))]
