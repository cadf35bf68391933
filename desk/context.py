"""What the agent sees beside a conversation: the shop context the assistant built.

Everything comes from the services the assistant itself uses
(:mod:`actions.services`): the customer's segment and orders (:mod:`shop`),
price quotes and coupons from the pricing audit (:mod:`pricing`), products from
the graph (:mod:`knowledge_graph`); the transcript, intents, shown products and
photos from the conversation's history on the Rasa server. Prices are in the
customer's currency, with the shop's own beside them when it differs.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from actions.presentation import (
    conversation_factor,
    currency_for,
    display_name,
    product_card,
    scaled_price,
)
from actions.services import (
    feedback_store,
    order_service,
    pricing_ledger,
    product_graph,
    shopper,
)
from shop.orders import CustomerIdentity

logger = logging.getLogger(__name__)
MAX_SEARCH = 8
IMAGES_TTL = 60.0
_images: dict[str, Any] = {"at": 0.0, "by_sku": {}}


def product_images() -> dict[str, str | None]:
    """Each product's picture (URL or catalog file), re-read at most every minute."""
    if time.monotonic() - _images["at"] > IMAGES_TTL:
        _images["by_sku"] = {p.sku: p.image for p in feedback_store().products()}
        _images["at"] = time.monotonic()
    return _images["by_sku"]


def _shop_amount(sku: str, currency: str, factor: float | None = None
                 ) -> tuple[str | None, str | None]:
    """``sku``'s price in the shop's own currency (the catalog's main one), at
    ``factor`` times its list price: ``(None, None)`` when the customer's currency is
    the shop's, or the product has no price in it."""
    graph = product_graph()
    shop = graph.main_currency
    if shop is None or shop == currency:
        return None, None
    price = graph.summary(sku, currency=shop).price
    if price is None:
        return None, None
    return str(price if factor is None else scaled_price(price, shop, factor)), shop


def _product(sku: str, lang: str, conversation: str) -> dict[str, Any] | None:
    """A product as the customer saw it: at the conversation's price, in their currency."""
    graph = product_graph()
    if not graph.has_product(sku):
        return None
    summary = graph.summary(sku, currency=currency_for(lang, graph))
    factor = conversation_factor(conversation, sku)
    shop_price, shop_currency = _shop_amount(sku, summary.currency, factor)
    return {"sku": sku, "name": display_name(summary, lang),
            "price": None if summary.price is None
            else str(scaled_price(summary.price, summary.currency, factor)),
            "currency": summary.currency, "in_stock": summary.stock > 0,
            "shop_price": shop_price, "shop_currency": shop_currency}


def shop_context(history: dict[str, Any], *, lang: str) -> dict[str, Any]:
    """Customer, orders, products and quotes of a conversation (blocking: run in a thread).

    Args:
        history: The conversation's history from the Rasa server.
        lang: The customer's language (product names and prices in it).
    """
    conversation = str(history.get("conversation") or "")
    slots = history.get("slots") or {}
    out: dict[str, Any] = {"customer": None, "orders": [], "shown": [], "product": None,
                           "quotes": []}
    customer_id = history.get("customer_id")
    if customer_id:
        person = shopper(customer_id)
        out["customer"] = {"id": customer_id, "segment": person.segment}
        try:
            orders = order_service().list_recent(CustomerIdentity(customer_id=customer_id),
                                                 limit=5)
            out["orders"] = [{"number": o.number, "status": o.status.value,
                              "total": str(o.total), "currency": o.currency,
                              "placed_at": o.placed_at.isoformat()} for o in orders]
        except Exception:  # noqa: BLE001 - the panel shows what it can
            logger.exception("orders of a customer could not be read")
    out["open_order"] = slots.get("order_number")
    for sku in history.get("shown") or []:
        product = _product(str(sku), lang, conversation)
        if product:
            out["shown"].append(product)
    if slots.get("product"):
        out["product"] = _product(str(slots["product"]), lang, conversation)
    try:
        graph = product_graph()
        local = currency_for(lang, graph)
        for quote in pricing_ledger().by_conversation(conversation):
            known = graph.has_product(quote.sku)
            factor = quote.price / quote.list_price if quote.price and quote.list_price \
                else None
            published = quote.context.get("published") or quote.list_price
            published = float(published) if isinstance(published, (int, float)) else None
            listed = graph.summary(quote.sku, currency=local).price if known else None
            # what the customer saw, in their currency; the shop's own amount beside it
            price, marked, currency = (quote.price, published, quote.currency) \
                if listed is None or factor is None or not quote.list_price \
                or published is None else (
                    scaled_price(listed, local, factor),
                    scaled_price(listed, local, published / quote.list_price), local)
            shop_price, shop_currency = _shop_amount(quote.sku, currency, factor) \
                if factor and known else (None, None)
            out["quotes"].append({
                "shop_price": shop_price, "shop_currency": shop_currency,
                "sku": quote.sku, "kind": quote.kind,
                "price": None if price is None else str(price),
                "name": graph.model_name(quote.sku, lang) if known else quote.sku,
                "list_price": None if marked is None else str(marked), "currency": currency,
                "status": quote.status, "coupon": quote.coupon,
                "at": quote.created_at.isoformat()})
    except Exception:  # noqa: BLE001
        logger.exception("pricing audit could not be read")
    return out


def search_products(query: str, *, lang: str, conversation: str | None) -> list[dict[str, Any]]:
    """Catalog products matching ``query``, as the channel's product cards (blocking).

    The same name matching the assistant uses for product mentions; a category or
    brand word lists that category or brand.
    """
    graph = product_graph()
    query = query.strip()[:100]
    if not query:
        return []
    currency = currency_for(lang, graph)
    skus = [m.sku for m in graph.match_names(query, limit=MAX_SEARCH, min_score=55)]
    if len(skus) < MAX_SEARCH:
        for kind in ("category", "brand"):
            key = graph.canonical(kind, query)
            if key:
                found = graph.search(currency=currency, limit=MAX_SEARCH,
                                     **{kind: key})  # type: ignore[arg-type]
                skus += [p.sku for p in found.items if p.sku not in skus]
    images = product_images()
    return [product_card(graph, sku, lang=lang, currency=currency,
                         payload="/ask_details" + json.dumps({"product": sku}),
                         image=images.get(sku), conversation=conversation)
            for sku in skus[:MAX_SEARCH]]


def product_card_of(sku: str, *, lang: str, conversation: str | None) -> dict[str, Any] | None:
    """One product's card (``None`` when the catalog has no such product; blocking)."""
    graph = product_graph()
    if not graph.has_product(sku):
        return None
    return product_card(graph, sku, lang=lang, currency=currency_for(lang, graph),
                        payload="/ask_details" + json.dumps({"product": sku}),
                        image=product_images().get(sku), conversation=conversation)
