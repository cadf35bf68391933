"""Answer a question about one product: colours, material, stock, details.

Prices are quoted by :mod:`actions.pricing` (the price policy decides them).
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import language, latest_entities, pick_variant, resolve_one, variant_in_size
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


class ActionProductInfo(Action):
    """Answers ask_color, ask_material, ask_stock and ask_details."""

    def name(self) -> str:
        return ActionName.PRODUCT_INFO

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        lang = language(tracker)
        graph = product_graph()
        sku = resolve_one(dispatcher, tracker, graph)
        if sku is None:
            return []
        details = graph.details(sku, currency=currency_for(lang, graph))
        intent = (tracker.latest_message.get("intent") or {}).get("name")
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
