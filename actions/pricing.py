"""Price questions, discount questions and one round of negotiation, from the price policy.

Every answer comes from :class:`pricing.engine.PricingEngine` (policy, guardrails,
shadow mode, coupons, audit trail). Prices are decided in the catalog's base
currency and shown in the customer's, at the same ratio to the list price. A
quote is the product's published price (the storefront's) or, for a customer
the policy gives a personal price, a lower one, said as such. When the price policy
cannot answer (its database slow or away: the ``pricing`` breaker), a price question
gets the list price, said to be the list price.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from decimal import Decimal
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import (
    customer_identity,
    language,
    latest_entities,
    resolve_one,
    resolve_products,
    variant_in_color,
)
from actions.constants import ActionName, Entity, Response, Slot
from actions.presentation import currency_for, display_name, format_date, price_text, scaled_price
from actions.resilience import Unavailable, breaker
from actions.services import pricing_engine, product_facts, product_graph, shopper
from knowledge_graph.graph import ProductDetails
from pricing.engine import (
    PERSONAL,
    VARIANT,
    Coupon,
    Offer,
    OfferStatus,
    ProductFacts,
    Quote,
    QuoteStatus,
    Shopper,
)
from telemetry import metrics


def _scaled(details: ProductDetails, factor: float) -> Decimal | None:
    """The local price at ``factor`` times the list price."""
    if details.price is None:
        return None
    return scaled_price(details.price, details.currency, factor)


def _percent(share: float) -> str:
    """``5%``, ``4.5%``: the same in both languages."""
    return f"{round(share * 100, 1):g}%"


logger = logging.getLogger(__name__)

LIST_PRICE_ONLY = {"en": "{price} (the list price: I can't check today's offers right now)",
                   "zh": "{price}（标价，暂时查不到今天的优惠）"}


def _quote(facts: ProductFacts, tracker: Tracker) -> Quote | None:
    """The price policy's quote in this conversation, or ``None`` when it cannot
    answer now (the ``pricing`` breaker: its ledger's database away or slow)."""
    try:
        quote = breaker("pricing").guard(lambda: pricing_engine().quote(
            facts, conversation_id=tracker.sender_id, shopper=_PriceAction.shopper(tracker)))
    except Unavailable as exc:
        logger.warning("price policy unavailable (%s): quoting the list price", exc.why)
        metrics.PRICE_DECISIONS.labels("unavailable", "list").inc()
        return None
    guardrails = [a for a in quote.adjustments if a not in (PERSONAL, VARIANT)]
    metrics.PRICE_DECISIONS.labels(quote.status.value,
                                   "guardrail" if guardrails else "quoted").inc()
    for guardrail in guardrails:
        metrics.PRICE_GUARDRAILS.labels(guardrail).inc()
    return quote


def list_price_text(details: ProductDetails, lang: str) -> str:
    """The list price, said to be the list price (the price policy's fallback)."""
    return LIST_PRICE_ONLY[lang].format(price=price_text(details.price, details.currency, lang))


def quoted_price_text(tracker: Tracker, details: ProductDetails, lang: str) -> str:
    """The price of ``details`` as the price policy quotes it in this conversation.

    Every price an answer states goes through the policy (and its audit trail),
    so a product's description, a colour answer and a price question agree.
    """
    facts = product_facts(details.sku)
    if facts is None or details.price is None:
        return price_text(details.price, details.currency, lang)
    quote = _quote(facts, tracker)
    if quote is None:
        return list_price_text(details, lang)
    if quote.status is QuoteStatus.ON_REQUEST:
        return price_text(None, details.currency, lang)
    return price_text(_scaled(details, quote.factor), details.currency, lang)


class _PriceAction:
    """Shared plumbing: who is asking, the product's details in their currency.

    A mixin, not an :class:`Action`: rasa-sdk registers every Action subclass.
    """

    def subject(self, dispatcher: CollectingDispatcher, tracker: Tracker, lang: str
                ) -> tuple[str, ProductFacts, ProductDetails, str] | None:
        """The product asked about: SKU, pricing facts, details and display name; or
        ``None`` after saying why it is unclear or unknown."""
        sku = resolve_one(dispatcher, tracker, product_graph())
        if sku is None:
            return None
        facts = product_facts(sku)
        details = self.details(sku, lang)
        name = display_name(details, lang)
        if facts is None:  # in the graph but not (or no longer) in the shop database
            dispatcher.utter_message(response=Response.PRODUCT_NOT_FOUND, query=name)
            return None
        return sku, facts, details, name

    @staticmethod
    def shopper(tracker: Tracker) -> Shopper:
        """Who is asking (a vouched-for customer id, or a guest) and from which client."""
        identity = customer_identity(tracker)
        return replace(shopper(identity.customer_id), client=identity.client)

    def details(self, sku: str, lang: str) -> ProductDetails:
        graph = product_graph()
        return graph.details(sku, currency=currency_for(lang, graph))

    def price_of(self, details: ProductDetails, factor: float, lang: str) -> str:
        return price_text(_scaled(details, factor), details.currency, lang)

    def coupon_kwargs(self, coupon: Coupon, quote: Quote | None, details: ProductDetails | None,
                      lang: str) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"code": coupon.code, "percent": _percent(coupon.discount),
                                  "expires": format_date(coupon.expires_at, lang)}
        if details is not None and quote is not None and coupon.price_after is not None \
                and quote.list_price:
            kwargs["price"] = self.price_of(details, coupon.price_after / quote.list_price, lang)
            kwargs["was"] = self.price_of(details, quote.factor, lang)
        return kwargs


class ActionQuotePrice(_PriceAction, Action):
    """Answers ask_price with the policy's price for this customer and conversation."""

    def name(self) -> str:
        return ActionName.QUOTE_PRICE

    @staticmethod
    def lacks_color(tracker: Tracker, sku: str) -> bool:
        """Whether the message asks for a colour the product comes in other colours than;
        a colour that is part of its name ("white hanging heart t-light holder") or of a
        product without colours asks for nothing."""
        tags = latest_entities(tracker, Entity.COLOR)
        if not tags:
            return False
        graph = product_graph()
        color = str(tags[0].get("value") or "")
        details = graph.details(sku, currency=graph.pick_currency("USD"))
        if color.lower() in f"{details.name_en} {details.name_zh}".lower() or not any(
                v.color_en for v in graph.variants(sku, currency=details.currency)):
            return False
        return variant_in_color(graph, sku, color) is None

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        lang = language(tracker)
        subject = self.subject(dispatcher, tracker, lang)
        if subject is None:
            return []
        sku, facts, details, name = subject
        if self.lacks_color(tracker, sku):
            # "白色的多少钱" of a phone that has no white: say so, with the colours it has
            from actions.product_info import ActionProductInfo

            return await ActionProductInfo().run(dispatcher, tracker, domain)
        quote = _quote(facts, tracker)
        if quote is None and details.price is not None:
            dispatcher.utter_message(response=Response.PRICE, name=name,
                                     price=list_price_text(details, lang))
        elif quote is None or quote.status is QuoteStatus.ON_REQUEST or details.price is None:
            dispatcher.utter_message(response=Response.PRICE_ON_REQUEST, name=name)
        elif quote.previous is not None and quote.list_price:
            # a chat that spans a new day, when everyone's price fell below its quote
            dispatcher.utter_message(response=Response.PRICE_CHANGED, name=name,
                                     price=self.price_of(details, quote.factor, lang),
                                     previous=self.price_of(
                                         details, quote.previous / quote.list_price, lang))
        elif quote.discount >= 0.005:  # the customer's own price, below the published one
            dispatcher.utter_message(response=Response.PRICE_OFFER, name=name,
                                     price=self.price_of(details, quote.factor, lang),
                                     list_price=self.price_of(details, quote.published_factor,
                                                              lang),
                                     percent=_percent(quote.discount))
        else:
            dispatcher.utter_message(response=Response.PRICE, name=name,
                                     price=self.price_of(details, quote.factor, lang))
        return [SlotSet(Slot.PRODUCT, sku)]


class ActionOfferDiscount(_PriceAction, Action):
    """Answers "any discount?": a segment coupon when the budget allows, else honestly no."""

    def name(self) -> str:
        return ActionName.OFFER_DISCOUNT

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        lang = language(tracker)
        resolution = resolve_products(tracker, product_graph())
        sku = resolution.skus[0] if resolution.skus else None
        facts = product_facts(sku) if sku else None
        details = self.details(sku, lang) if sku else None
        offer = pricing_engine().discount(facts, conversation_id=tracker.sender_id,
                                          shopper=self.shopper(tracker))
        self._say(dispatcher, offer, details, lang)
        return [SlotSet(Slot.PRODUCT, sku)] if sku else []

    def _say(self, dispatcher: CollectingDispatcher, offer: Offer,
             details: ProductDetails | None, lang: str) -> None:
        name = display_name(details, lang) if details else ""
        quote = offer.quote
        if offer.status is OfferStatus.NO_PRICE and details is not None:
            dispatcher.utter_message(response=Response.PRICE_ON_REQUEST, name=name)
            return
        if offer.status is OfferStatus.LIMIT:
            dispatcher.utter_message(response=Response.CONCESSION_LIMIT, name=name)
            return
        if offer.coupon is not None and offer.status in (OfferStatus.COUPON,
                                                          OfferStatus.EXISTING):
            kwargs = self.coupon_kwargs(offer.coupon, quote, details, lang)
            response = (Response.DISCOUNT_EXISTING if offer.status is OfferStatus.EXISTING
                        else Response.DISCOUNT_COUPON if "price" in kwargs
                        else Response.DISCOUNT_COUPON_ANY)
            dispatcher.utter_message(response=response, name=name, **kwargs)
            return
        if details is not None and quote is not None and quote.discount >= 0.005:
            dispatcher.utter_message(response=Response.DISCOUNT_ALREADY, name=name,
                                     percent=_percent(quote.discount),
                                     price=self.price_of(details, quote.factor, lang),
                                     list_price=self.price_of(details, quote.published_factor,
                                                              lang))
            return
        dispatcher.utter_message(response=Response.DISCOUNT_NONE, name=name,
                                 price=self.price_of(details, quote.factor, lang)
                                 if details is not None and quote is not None else "")


class ActionNegotiatePrice(_PriceAction, Action):
    """Answers "can you do better?" once per product: a coupon, or a polite final price."""

    def name(self) -> str:
        return ActionName.NEGOTIATE_PRICE

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        lang = language(tracker)
        subject = self.subject(dispatcher, tracker, lang)
        if subject is None:
            return []
        sku, facts, details, name = subject
        offer = pricing_engine().negotiate(facts, conversation_id=tracker.sender_id,
                                           shopper=self.shopper(tracker))
        quote = offer.quote
        if offer.status is OfferStatus.NO_PRICE or quote is None:
            dispatcher.utter_message(response=Response.PRICE_ON_REQUEST, name=name)
        elif offer.status is OfferStatus.LIMIT:
            dispatcher.utter_message(response=Response.CONCESSION_LIMIT, name=name)
        elif offer.status is OfferStatus.COUPON and offer.coupon is not None:
            dispatcher.utter_message(response=Response.NEGOTIATE_COUPON, name=name,
                                     **self.coupon_kwargs(offer.coupon, quote, details, lang))
        elif offer.coupon is not None:  # negotiated before: the same offer again
            dispatcher.utter_message(response=Response.NEGOTIATE_AGAIN, name=name,
                                     **self.coupon_kwargs(offer.coupon, quote, details, lang))
        else:
            dispatcher.utter_message(response=Response.NEGOTIATE_FINAL, name=name,
                                     price=self.price_of(details, quote.factor, lang))
        return [SlotSet(Slot.PRODUCT, sku)]
