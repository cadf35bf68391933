"""Follow-ups: a message that only points at something ("and the last one?", "第二个呢",
"ok what about black?", "那小米的呢") continues the conversation's previous question.

The NLU gives such messages the ``follow_up`` intent (``bot/components/references.py``).
This action decides what they continue and hands over to the action that
answers it, as if the customer had asked the full question:

* a brand or category: a new or refined search;
* a listed or named product: the previous question about a product (its price,
  stock, material, colours ...), about this one; when there was none, "does it
  come in that colour?" if a colour is named, else "tell me about it";
* a colour or price alone: that colour of the product just discussed, or a
  refined search after a list.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.common import answered_about_a_product, latest_entities
from actions.constants import ActionName, Entity, Intent, Slot

#: questions about one product a follow-up can continue, and the action answering each
PRODUCT_QUESTIONS = {
    Intent.ASK_PRICE: ActionName.QUOTE_PRICE,
    Intent.ASK_DISCOUNT: ActionName.OFFER_DISCOUNT,
    Intent.ASK_COLOR: ActionName.PRODUCT_INFO,
    Intent.ASK_MATERIAL: ActionName.PRODUCT_INFO,
    Intent.ASK_STOCK: ActionName.PRODUCT_INFO,
    Intent.ASK_DETAILS: ActionName.PRODUCT_INFO,
    Intent.ASK_ACCESSORIES: ActionName.PRODUCT_ACCESSORIES,
    Intent.ASK_SIMILAR: ActionName.RECOMMEND,
    Intent.ASK_COMPLEMENTS: ActionName.RECOMMEND,
    Intent.COMPARE_PRODUCTS: ActionName.COMPARE_PRODUCTS,
}


#: every request :func:`answer_as` answers, and its action
ANSWERS = {**PRODUCT_QUESTIONS, Intent.SEARCH_PRODUCTS: ActionName.SEARCH_PRODUCTS,
           Intent.ASK_RECOMMENDATION: ActionName.RECOMMEND}


def previous_question(tracker: Tracker) -> str | None:
    """The intent of the customer's last question about a product, before this message."""
    users = [e for e in tracker.events if e.get("event") == "user"]
    for event in reversed(users[:-1]):
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if intent in PRODUCT_QUESTIONS:
            return str(intent)
    return None


def _as_if(tracker: Tracker, intent: str) -> Tracker:
    """``tracker`` with the latest message read as ``intent``."""
    copy = tracker.copy()
    copy.latest_message = {**tracker.latest_message,
                           "intent": {"name": intent, "confidence": 1.0}}
    return copy


def _action(name: str) -> Action:
    # the answering actions import this module's neighbours: import them when needed
    from actions.pricing import ActionOfferDiscount, ActionQuotePrice
    from actions.product_accessories import ActionProductAccessories
    from actions.product_compare import ActionCompareProducts
    from actions.product_info import ActionProductInfo
    from actions.product_search import ActionSearchProducts
    from actions.recommend import ActionRecommend

    actions: dict[str, type[Action]] = {
        ActionName.QUOTE_PRICE: ActionQuotePrice, ActionName.OFFER_DISCOUNT: ActionOfferDiscount,
        ActionName.PRODUCT_INFO: ActionProductInfo,
        ActionName.PRODUCT_ACCESSORIES: ActionProductAccessories,
        ActionName.COMPARE_PRODUCTS: ActionCompareProducts, ActionName.RECOMMEND: ActionRecommend,
        ActionName.SEARCH_PRODUCTS: ActionSearchProducts,
    }
    return actions[name]()


async def answer_as(intent: str, dispatcher: CollectingDispatcher, tracker: Tracker,
                    domain: dict[str, Any]) -> list[EventType]:
    """Answer the latest message as if the NLU had read it as ``intent`` (a product
    question, a recommendation request or a search), with the action that answers it."""
    action = ANSWERS.get(intent, ActionName.SEARCH_PRODUCTS)
    return await _action(action).run(dispatcher, _as_if(tracker, intent), domain)


class ActionFollowUp(Action):
    """Answers a follow-up as the question it continues (see the module docstring)."""

    def name(self) -> str:
        return ActionName.FOLLOW_UP

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        def has(entity: str) -> bool:
            return bool(latest_entities(tracker, entity))

        if has(Entity.BRAND) or has(Entity.CATEGORY):
            intent = Intent.SEARCH_PRODUCTS
        elif has(Entity.PRODUCT) or has(Entity.MENTION):
            # with no question to continue, a product and a colour ask whether it comes
            # in that colour ("安踏KT9有绿色的吗"); a product alone, about the product
            intent = previous_question(tracker) or (
                Intent.ASK_COLOR if has(Entity.COLOR) else Intent.ASK_DETAILS)
            if intent == Intent.COMPARE_PRODUCTS and len(
                    latest_entities(tracker, Entity.PRODUCT)
                    + latest_entities(tracker, Entity.MENTION)) < 2:
                intent = Intent.ASK_DETAILS  # "and the third?" after a comparison
        elif has(Entity.COLOR) and answered_about_a_product(tracker) \
                and tracker.get_slot(Slot.PRODUCT):
            intent = Intent.ASK_COLOR
        else:
            intent = Intent.SEARCH_PRODUCTS
        return await answer_as(intent, dispatcher, tracker, domain)
