"""Recommendations: for the customer, similar to a product, and what goes with a product."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import (
    customer_identity,
    language,
    latest_entities,
    product_entities,
    resolve_one,
    resolve_products,
)
from actions.constants import ActionName, Entity, Intent, Response, Slot
from actions.parsing import asks_cheaper, price_limits
from actions.presentation import (
    currency_for,
    lowest_shown_price,
    product_card,
    product_lines,
    shown_prices,
)
from actions.resilience import Unavailable, breaker
from actions.services import order_service, product_graph, recommender
from actions.settings import settings
from knowledge_graph.graph import ProductGraph
from recsys.experiments import Event
from recsys.rerank import Constraints
from recsys.service import Recommendation, RecommendationList, Status
from telemetry import metrics


def _reason(item: Recommendation, graph: ProductGraph, lang: str, *,
            bought: set[str] = frozenset(), discussed: set[str] = frozenset(),  # type: ignore[assignment]
            known: bool = True) -> str:
    """Why an item is in the list, from its machine-readable reason.

    The buy-again channel recalls what the customer interacted with, views and
    questions included: "you bought it before" is said only of products the
    shop's orders show the customer bought (``bought``); a product of this
    conversation (``discussed``) was looked at here, anything else before. A
    visitor the shop does not know (``known`` false) has no purchases to base
    anything on: what the models learnt from other shoppers is said as such.
    """
    related = graph.model_name(item.related, lang) if item.related and \
        graph.has_product(item.related) else None
    zh = lang == "zh"
    if item.channel == "history":
        if item.item in bought:
            return "您之前买过" if zh else "you bought it before"
        if item.item in discussed:
            return "您刚才看过" if zh else "you looked at it earlier in our chat"
        return "您之前浏览过" if zh else "you looked at it before"
    if item.channel == "accessory" and related:
        return f"{related}的配件" if zh else f"an accessory for {related}"
    if item.channel == "session" and related:
        return f"常与{related}一起购买" if zh else f"often bought with {related}"
    if item.channel == "content" and related:
        return f"与{related}相似" if zh else f"similar to {related}"
    if item.channel == "new":
        return (f"新品，与{related}相似" if zh else f"new in, like {related}") if related \
            else ("新品" if zh else "new in")
    if related:
        return f"因为您看过{related}" if zh else f"because you looked at {related}"
    if item.channel in ("itemknn", "ease", "als"):
        if not known:
            return "很受顾客欢迎" if zh else "popular with our shoppers"
        return "根据您的购买记录" if zh else "based on your purchases"
    if item.channel == "pinned":
        return "本店精选" if zh else "featured"
    return "近期热销" if zh else "popular right now"


def _catalog_instead(dispatcher: CollectingDispatcher, tracker: Tracker, graph: ProductGraph,
                     lang: str, constraints: Constraints, limit: int) -> list[EventType]:
    """The stated fallback while the recommender is slow or down: the catalog's products
    within the customer's limits, cheapest first."""
    from decimal import Decimal

    from actions.product_search import catalog_search

    def money(value: float | None) -> Decimal | None:
        return None if value is None else Decimal(str(value))

    result = catalog_search(graph, tracker.sender_id,
                            currency=constraints.currency or currency_for(lang, graph),
                            category=constraints.category, brand=constraints.brand,
                            color=constraints.color, min_price=money(constraints.min_price),
                            max_price=money(constraints.max_price), limit=limit)
    if not result.items:
        dispatcher.utter_message(response=Response.RECOMMEND_NONE)
        return []
    dispatcher.utter_message(response=Response.RECOMMEND_BUSY,
                             items=product_lines(result.items, lang, tracker.sender_id))
    return [SlotSet(Slot.SHOWN_PRODUCTS, [item.sku for item in result.items])]


def _session_products(tracker: Tracker) -> list[str]:
    """Products discussed in this conversation, oldest first."""
    seen = [e.get("value") for e in tracker.events
            if e.get("event") == "slot" and e.get("name") == Slot.PRODUCT]
    return list(dict.fromkeys(v for v in seen if isinstance(v, str)))


def _constraints(tracker: Tracker, graph: ProductGraph, currency: str) -> Constraints:
    """Price limits and a category the customer named in this message."""
    text = tracker.latest_message.get("text") or ""
    found_limits = price_limits(text, latest_entities(tracker, Entity.PRICE))
    currency = found_limits.currency or currency
    limits = {k: float(v) for k, v in (("min", found_limits.min), ("max", found_limits.max))
              if v is not None}
    category, brand, color = (_named(tracker, graph, entity, kind, text) for entity, kind in (
        (Entity.CATEGORY, "category"), (Entity.BRAND, "brand"), (Entity.COLOR, "color")))
    return Constraints(min_price=limits.get("min"), max_price=limits.get("max"),
                       category=category, currency=currency, brand=brand, color=color)


def _named(tracker: Tracker, graph: ProductGraph, entity: str, kind: str,
           text: str) -> str | None:
    """The catalog term of ``kind`` (category, brand, colour) the message names: a tagged
    entity, else the term written in the text (a catalog imported after training)."""
    for tagged in latest_entities(tracker, entity):
        key = graph.canonical(kind, str(tagged.get("value") or ""))
        if key:
            return key
    found = graph.terms_in(text, kind)
    return found[0] if found else None


def _fitting(graph: ProductGraph, conversation: str, skus: list[str],
             constraints: Constraints) -> set[str]:
    """Of ``skus``, those within the price limits at the price this conversation shows
    (a product not sold in the limits' currency was judged by the re-ranking)."""
    if constraints.min_price is None and constraints.max_price is None:
        return set(skus)
    currency = constraints.currency or graph.pick_currency("USD")
    summaries = [graph.summary(s, currency=currency) for s in skus if graph.has_product(s)]
    shown = shown_prices(conversation, summaries)
    return {s.sku for s in summaries if s.sku in shown and (
        s.currency != currency or (
            (constraints.min_price is None or float(shown[s.sku]) >= constraints.min_price)
            and (constraints.max_price is None
                 or float(shown[s.sku]) <= constraints.max_price)))}


def _about(constraints: Constraints, graph: ProductGraph, sku: str) -> Constraints:
    """``constraints`` for a list around ``sku``: its own brand and colour, named only as
    part of its name ("something like the JBL Flip 6"), constrain nothing."""
    details = graph.details(sku, currency=constraints.currency or graph.pick_currency("USD"))
    brand = None if constraints.brand == graph.canonical("brand", details.brand_en or "") \
        else constraints.brand
    color = None if constraints.color == graph.canonical("color", details.color_en or "") \
        else constraints.color
    return replace(constraints, brand=brand, color=color)


def _cheaper_than(graph: ProductGraph, sku: str, constraints: Constraints,
                  conversation: str) -> Constraints:
    """``constraints`` with an upper price below every variant of ``sku``'s model, as this
    conversation shows them, in its category unless the customer named one."""
    currency = constraints.currency or graph.pick_currency("USD")
    lowest = lowest_shown_price(conversation, graph, sku, currency)
    if lowest is None:
        return constraints
    ceiling = float(lowest) * 0.999
    if constraints.max_price is not None:
        ceiling = min(ceiling, constraints.max_price)
    # something cheaper than a vacuum cleaner is another of its kind, not a lamp's price
    category = constraints.category or graph.details(sku, currency=currency).category_key
    return replace(constraints, max_price=ceiling, currency=currency, category=category)


class ActionRecommend(Action):
    """Answers "what would you recommend?", "anything similar?" and "what goes with it?"."""

    def name(self) -> str:
        return ActionName.RECOMMEND

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        lang, graph = language(tracker), product_graph()
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        currency = currency_for(lang, graph)
        constraints = _constraints(tracker, graph, currency)
        identity = customer_identity(tracker)
        visitor = identity.customer_id or tracker.sender_id
        limit = settings().results_per_page
        events: list[EventType] = []
        if intent == Intent.ASK_RECOMMENDATION and product_entities(tracker, graph):
            intent = Intent.ASK_SIMILAR  # "something like the iPhone 15 but cheaper"
        if intent == Intent.ASK_SIMILAR and (constraints.brand or constraints.category) and \
                not resolve_products(tracker, graph).skus:
            intent = Intent.ASK_RECOMMENDATION  # "anything from Nike instead?": no product
        if intent in (Intent.ASK_SIMILAR, Intent.ASK_COMPLEMENTS):
            sku = resolve_one(dispatcher, tracker, graph)
            if sku is None:
                return []
            constraints = _about(constraints, graph, sku)
            if asks_cheaper(tracker.latest_message.get("text") or ""):
                constraints = _cheaper_than(graph, sku, constraints, tracker.sender_id)
            similar = intent == Intent.ASK_SIMILAR
            asked = constraints

            def ask() -> RecommendationList:
                service = recommender()
                method = service.similar if similar else service.complements
                return method(sku, visitor=visitor, n=limit, constraints=asked)

            events.append(SlotSet(Slot.PRODUCT, sku))
            name = graph.model_name(sku, lang)
        else:
            session = _session_products(tracker)

            def ask() -> RecommendationList:
                return recommender().for_user(identity.customer_id, visitor=visitor,
                                              session=session, n=limit,
                                              constraints=constraints)
            name = ""
        try:
            result = await breaker("recommender").call(ask)
        except Unavailable:
            # slow or down: the catalog's products that fit, said to be that, at once
            metrics.RECOMMENDATIONS.labels("", "catalog_fallback").inc()
            return events + _catalog_instead(dispatcher, tracker, graph, lang, constraints,
                                             limit)
        history = {i.item for i in result.items if i.channel == "history"}
        facts = {"bought": order_service().bought(identity, history),
                 "discussed": set(_session_products(tracker)),
                 "known": identity.customer_id is not None}
        # the limits hold for the prices shown (a product first priced just now included)
        fitting = _fitting(graph, tracker.sender_id, [i.item for i in result.items],
                           constraints)
        result = replace(result, items=tuple(i for i in result.items if i.item in fitting))
        return events + self._answer(dispatcher, result, graph, lang, currency, name,
                                     facts, tracker.sender_id)

    @staticmethod
    def _answer(dispatcher: CollectingDispatcher, result: RecommendationList,
                graph: ProductGraph, lang: str, currency: str, name: str,
                facts: dict[str, Any], conversation: str) -> list[EventType]:
        if result.status is Status.CONTRADICTORY:
            dispatcher.utter_message(response=Response.RECOMMEND_CONTRADICTORY)
            return []
        if result.status is Status.NO_MODEL:
            dispatcher.utter_message(response=Response.RECOMMEND_UNAVAILABLE)
            return []
        items = [r for r in result.items if graph.has_product(r.item)]
        if not items:
            dispatcher.utter_message(response=Response.RECOMMEND_NONE)
            return []
        inventory = recommender().inventory()
        lines, cards = [], []
        for i, item in enumerate(items, start=1):
            reason = _reason(item, graph, lang, **facts)
            info = inventory.get(item.item)
            card = product_card(
                graph, item.item, lang=lang, currency=currency,
                payload="/pick_recommendation" + json.dumps({"product": item.item}),
                image=info.image if info else None, reason=reason, conversation=conversation,
                reason_code={"channel": item.channel, "related": item.related})
            lines.append(f"{i}. {card['title']} — {card['price']} ({reason})" if lang == "en"
                         else f"{i}. {card['title']} — {card['price']}（{reason}）")
            cards.append(card)
        response = {"for_you": Response.RECOMMEND_FOR_YOU, "similar": Response.RECOMMEND_SIMILAR,
                    "complements": Response.RECOMMEND_COMPLEMENTS}[result.kind]
        # one message: where a channel draws the cards, the list in words is not repeated
        dispatcher.utter_message(response=response, name=name, items="\n".join(lines),
                                 json_message={
            "type": "product_cards", "cards": cards, "request_id": result.request_id,
            "model_version": result.model_version, "variant": result.variant,
            "listed": "lines"})
        skus = [i.item for i in items]
        metrics.RECOMMENDATIONS.labels(result.variant or "", result.kind).inc()
        return [SlotSet(Slot.SHOWN_PRODUCTS, skus),
                SlotSet(Slot.RECOMMENDATION, {"request": result.request_id,
                                              "variant": result.variant or "",
                                              "items": skus})]


class ActionRecommendationClick(Action):
    """Logs that the customer picked a recommended product, and makes it the one discussed.

    The rule then runs ``action_product_info`` to describe it.
    """

    def name(self) -> str:
        return ActionName.RECOMMENDATION_CLICK

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        graph = product_graph()
        resolution = resolve_products(tracker, graph)
        if not resolution.skus:
            return []
        sku = resolution.skus[0]
        shown = tracker.get_slot(Slot.RECOMMENDATION)
        if isinstance(shown, dict) and sku in (shown.get("items") or []):
            visitor = customer_identity(tracker).customer_id or tracker.sender_id
            recommender().record([Event(str(shown.get("request") or ""), visitor,
                                        str(shown.get("variant") or ""), sku, "click")])
        return [SlotSet(Slot.PRODUCT, sku)]
