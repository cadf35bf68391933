"""Accessories and spare parts that fit a product; for an accessory, what it fits."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import language, latest_entities, resolve_one
from actions.constants import ActionName, Entity, Response, Slot
from actions.presentation import currency_for, product_lines
from actions.services import product_graph
from actions.settings import settings


class ActionProductAccessories(Action):
    """Lists accessories for the product under discussion."""

    def name(self) -> str:
        return ActionName.PRODUCT_ACCESSORIES

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        lang = language(tracker)
        graph = product_graph()
        named = latest_entities(tracker, Entity.PRODUCT) + latest_entities(tracker, Entity.MENTION)
        if latest_entities(tracker, Entity.CATEGORY) and not named \
                and not tracker.get_slot(Slot.PRODUCT):
            # "手机配件看一下", "show me laptop accessories": a category to browse, and no
            # product to find accessories for
            from actions.product_search import ActionSearchProducts

            return await ActionSearchProducts().run(dispatcher, tracker, domain)
        sku = resolve_one(dispatcher, tracker, graph)
        if sku is None:
            return []
        currency, limit = currency_for(lang, graph), settings().results_per_page
        items = graph.accessories(sku, currency=currency, limit=limit)
        response = Response.ACCESSORIES
        if not items:  # an accessory itself: say what it fits
            items, response = graph.compatible(sku, currency=currency, limit=limit), \
                Response.COMPATIBLE
        name = graph.model_name(sku, lang)
        if not items:
            dispatcher.utter_message(response=Response.ACCESSORIES_NONE, name=name)
            return [SlotSet(Slot.PRODUCT, sku)]
        dispatcher.utter_message(response=response, name=name,
                                 items=product_lines(items, lang, tracker.sender_id))
        return [SlotSet(Slot.PRODUCT, sku), SlotSet(Slot.SHOWN_PRODUCTS, [i.sku for i in items])]
