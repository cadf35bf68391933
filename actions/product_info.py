"""Answer a question about one product: colours, material, stock, details.

Prices are quoted by :mod:`actions.pricing` (the price policy decides them).
"""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import (
    language,
    latest_entities,
    pick_variant,
    resolve_one,
    resolve_products,
    variant_in_size,
)
from actions.constants import ActionName, Entity, Intent, Response, Slot
from actions.parsing import size_in
from actions.presentation import currency_for, display_name, join_words
from actions.pricing import quoted_price_text
from actions.services import product_graph
from knowledge_graph.export import LOW_STOCK
from knowledge_graph.graph import ProductDetails, ProductGraph


def _variant_name(d: ProductDetails, lang: str) -> str:
    """Full variant name, with size or capacity: stock is counted per variant."""
    return d.name_zh if lang == "zh" else d.name_en


def _stock(dispatcher: CollectingDispatcher, details: ProductDetails, lang: str) -> None:
    """Say whether the variant is in stock, and how many are left."""
    response = (Response.STOCK_OUT if details.stock <= 0 else
                Response.STOCK_LOW if details.stock <= LOW_STOCK else Response.STOCK_IN)
    dispatcher.utter_message(response=response, name=_variant_name(details, lang),
                             stock=details.stock)


INFO_INTENTS = {Intent.ASK_STOCK, Intent.ASK_MATERIAL, Intent.ASK_DETAILS}
#: Words that ask for a range of products, not one: "do you stock anything by Sony?"
RANGE_WORDS = re.compile(r"\b(?:any|anything|something|stuff|products|items|range|"
                         r"selection)\b|什么|哪些|东西|产品|商品", re.IGNORECASE)


def _key(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.lower())


def asks_for_a_range(tracker: Tracker, graph: ProductGraph) -> bool:
    """Whether a stock question names a brand or category rather than a product:
    "do you stock anything by Sony?", "有索尼的东西吗" ask what there is (a search),
    unless they are about the product under discussion ("is the Sony in stock?"
    while a Sony headphone is discussed)."""
    if latest_entities(tracker, Entity.PRODUCT) or latest_entities(tracker, Entity.MENTION):
        return False
    brands = [str(e.get("value") or "") for e in latest_entities(tracker, Entity.BRAND)]
    categories = [str(e.get("value") or "") for e in latest_entities(tracker, Entity.CATEGORY)]
    if not brands and not categories:
        return False
    if RANGE_WORDS.search(tracker.latest_message.get("text") or ""):
        return True
    resolution = resolve_products(tracker, graph)
    if not resolution.skus:
        return True
    current = graph.details(resolution.skus[0], currency=graph.pick_currency("USD"))
    if any(_key(graph.label("brand", graph.canonical("brand", b) or b, "en"))
           != _key(current.brand_en) for b in brands):
        return True
    brand = graph.canonical("brand", current.brand_en)
    return any(c != current.category_key and current.group_id not in {
        graph.details(i.sku, currency=current.currency).group_id for i in graph.search(
            currency=current.currency, category=graph.canonical("category", c) or c,
            brand=brand, limit=50).items} for c in categories)


class ActionProductInfo(Action):
    """Answers ask_color, ask_material, ask_stock and ask_details."""

    def name(self) -> str:
        return ActionName.PRODUCT_INFO

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        lang = language(tracker)
        graph = product_graph()
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if intent == Intent.ASK_STOCK and asks_for_a_range(tracker, graph):
            from actions.follow_up import answer_as

            return await answer_as(Intent.SEARCH_PRODUCTS, dispatcher, tracker, domain)
        sku = resolve_one(dispatcher, tracker, graph)
        if sku is None:
            return []
        details = graph.details(sku, currency=currency_for(lang, graph))
        name = display_name(details, lang)
        size = size_in(tracker.latest_message.get("text") or "") \
            if intent in (Intent.ASK_STOCK, Intent.ASK_DETAILS) else None
        if size:  # "42码有吗", "is the medium in stock?": that size of the product
            fits, sizes = variant_in_size(graph, details, size)
            if fits is None and sizes:
                dispatcher.utter_message(response=Response.SIZE_UNAVAILABLE,
                                         name=graph.model_name(sku, lang), size=size,
                                         sizes=join_words(sizes, lang))
                return [SlotSet(Slot.PRODUCT, sku)]
            if fits is not None:
                sku = fits.sku
                details = graph.details(sku, currency=details.currency)
        if intent == Intent.ASK_COLOR or (intent not in INFO_INTENTS
                                          and latest_entities(tracker, Entity.COLOR)):
            return [SlotSet(Slot.PRODUCT, self._color(dispatcher, tracker, graph, details, lang))]
        if intent == Intent.ASK_STOCK:
            _stock(dispatcher, details, lang)
        elif intent == Intent.ASK_MATERIAL:
            material = details.material_zh if lang == "zh" else details.material_en
            if material:
                dispatcher.utter_message(response=Response.MATERIAL, name=name, material=material)
            else:
                dispatcher.utter_message(response=Response.MATERIAL_UNKNOWN, name=name)
        else:
            availability = {
                "en": {"InStock": "In stock.", "LimitedAvailability": "Only a few left.",
                       "OutOfStock": "Currently out of stock."},
                "zh": {"InStock": "有货。", "LimitedAvailability": "库存紧张。",
                       "OutOfStock": "暂时缺货。"},
            }[lang].get(details.availability, "")
            dispatcher.utter_message(
                response=Response.DETAILS, name=name,
                description=(details.description_zh if lang == "zh" else details.description_en)
                or "", price=quoted_price_text(tracker, details, lang),
                availability=availability)
        return [SlotSet(Slot.PRODUCT, sku)]

    @staticmethod
    def _color(dispatcher: CollectingDispatcher, tracker: Tracker, graph: ProductGraph,
               details: ProductDetails, lang: str) -> str:
        """Answer "does it come in black?"; returns the product now under discussion.

        A colour the product comes in is answered with that variant's price and
        stock: whether it can be bought is what the customer asks next.
        """
        variants = graph.variants(details.sku, currency=details.currency)
        colors: dict[str, str] = {}
        for v in variants:
            if v.color_en:
                colors.setdefault(v.color_en, (v.color_zh or v.color_en) if lang == "zh"
                                  else v.color_en)
        model = graph.model_name(details.sku, lang)
        wanted_values = latest_entities(tracker, Entity.COLOR)
        if not wanted_values:
            dispatcher.utter_message(response=Response.COLORS_LIST, name=model,
                                     colors=join_words(list(colors.values()), lang))
            return details.sku
        raw = str(wanted_values[0].get("value"))
        wanted = graph.canonical("color", raw) or raw.lower()
        pick = pick_variant(graph, details, variants, wanted)
        if pick is None:
            dispatcher.utter_message(response=Response.COLOR_UNAVAILABLE, name=model,
                                     color=graph.label("color", wanted, lang)
                                     if graph.canonical("color", wanted) else raw,
                                     colors=join_words(list(colors.values()), lang))
            return details.sku
        picked = graph.details(pick.sku, currency=pick.currency)
        dispatcher.utter_message(response=Response.COLOR_AVAILABLE, name=model,
                                 color=graph.label("color", wanted, lang),
                                 variant=display_name(pick, lang),
                                 price=quoted_price_text(tracker, picked, lang))
        _stock(dispatcher, picked, lang)
        return pick.sku
