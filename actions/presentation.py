"""How the shop's products, prices and dates read to a customer, in English and Chinese:
the product cards, numbered lists and money of the assistant's answers and of the agent
desk (which uses this module, not Rasa's SDK)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any
from urllib.parse import quote as quote_url

from actions.settings import settings
from knowledge_graph.graph import ProductDetails, ProductGraph, ProductSummary
from pricing.engine import at_ratio, published_ratios

CURRENCY_SIGNS = {"USD": "$", "CNY": "¥", "EUR": "€", "GBP": "£"}


def currency_for(lang: str, graph: ProductGraph) -> str:
    """The currency quoted to customers writing in ``lang`` (CURRENCY_EN / CURRENCY_ZH),
    or the catalog's own currency when it has no prices in that one."""
    s = settings()
    return graph.pick_currency(s.default_currency_zh if lang == "zh" else s.default_currency_en)


def format_money(amount: Decimal, currency: str) -> str:
    """``$1,299.00``, ``¥6,499`` or ``12.50 EUR``-style price text."""
    sign = CURRENCY_SIGNS.get(currency)
    if currency == "CNY" and amount == amount.to_integral_value():
        number = f"{amount:,.0f}"
    else:
        number = f"{amount:,.2f}"
    return f"{sign}{number}" if sign else f"{number} {currency}"


PRICE_ON_REQUEST = {"en": "price on request", "zh": "价格请咨询"}


def price_text(amount: Decimal | None, currency: str, lang: str) -> str:
    """A product's price as text, or "price on request" when it has none."""
    return PRICE_ON_REQUEST[lang] if amount is None else format_money(amount, currency)


MORE = {"en": "Tell me more", "zh": "了解详情"}


def scaled_price(amount: Decimal, currency: str, factor: float) -> Decimal:
    """``amount`` at ``factor`` times, rounded as quotes are (whole yuan at list price)."""
    return at_ratio(amount, currency, factor)


def conversation_factor(conversation: str | None, sku: str) -> float:
    """The price of ``sku`` shown in ``conversation`` over its list price.

    One price per product and conversation: the one already quoted there (the
    published price, or the customer's own lower one), else the product's
    published price for today, the same as the storefront's; never above that
    (a quote of yesterday gives way to a lower price today).
    """
    return conversation_factors(conversation, [sku])[sku]


def conversation_factors(conversation: str | None, skus: list[str]) -> dict[str, float]:
    """:func:`conversation_factor` of many products at once (two queries, plus a decision
    for a product nobody published this period)."""
    from actions.services import pricing_engine, pricing_ledger, published_factor

    ledger = pricing_ledger()
    quoted = {r.sku: r.price / r.list_price for r in (
        ledger.by_conversation(conversation) if conversation else [])
        if r.kind == "quote" and r.price and r.list_price}
    engine = pricing_engine()
    start = engine.period_start(engine.now())
    states = ledger.price_states("", skus)
    current = published_ratios({k: v for k, v in states.items()
                                if v.decided_at is not None and v.decided_at >= start})
    today = {sku: current.get(sku) or published_factor(sku) for sku in skus}
    # the quoted price, never above today's (a quote of yesterday gives way to a lower one)
    return {sku: min(quoted[sku], today[sku]) if sku in quoted else today[sku] for sku in skus}


def shown_prices(conversation: str | None,
                 items: Iterable[ProductSummary]) -> dict[str, Decimal]:
    """The price each of ``items`` (summaries at list price) is shown at in
    ``conversation``, in its currency (:func:`conversation_factors`, in one go); items
    without a price are left out."""
    priced = [i for i in items if i.price is not None]
    factors = conversation_factors(conversation, [i.sku for i in priced])
    return {i.sku: scaled_price(i.price, i.currency, factors[i.sku])
            for i in priced if i.price is not None}


def lowest_shown_price(conversation: str | None, graph: ProductGraph, sku: str,
                       currency: str) -> Decimal | None:
    """The lowest price any variant of ``sku``'s model is shown at in ``conversation``, in
    ``currency`` (what "cheaper than it" is cheaper than); ``None`` when none is priced."""
    return min(shown_prices(conversation, graph.variants(sku, currency=currency)).values(),
               default=None)


def conversation_price(conversation: str | None, sku: str, amount: Decimal | None,
                       currency: str) -> Decimal | None:
    """The price of ``sku`` to show in ``conversation``, in the currency of ``amount``
    (the catalog's list price in ``currency``): :func:`conversation_factor` times it."""
    if amount is None:
        return None
    return scaled_price(amount, currency, conversation_factor(conversation, sku))


def public_image(sku: str, image: str | None) -> str | None:
    """A card's image as a browser can load it: an http(s) catalog URL as it is; a
    local file through ``PRODUCT_IMAGE_URL`` (the shop's image server), else none."""
    if not image:
        return None
    if image.startswith(("http://", "https://")):
        return image
    template = settings().product_image_url
    return template.replace("{sku}", quote_url(sku, safe="")) if template else None


def product_card(graph: ProductGraph, sku: str, *, lang: str, currency: str, payload: str,
                 image: str | None, conversation: str | None = None,
                 **extra: Any) -> dict[str, Any]:
    """A product card for the chat widget: SKU, title, price, image, a "tell me more" button.

    The price is the one quoted in ``conversation`` when there was one. ``extra``
    fields (a reason, a score) are added to the card as they are.
    """
    summary = graph.summary(sku, currency=currency)
    price = conversation_price(conversation, sku, summary.price, summary.currency)
    return {"sku": sku, "title": display_name(summary, lang),
            "price": price_text(price, summary.currency, lang), "image": public_image(sku, image),
            **extra, "buttons": [{"title": MORE[lang], "payload": payload}]}


def format_date(value: dt.datetime | dt.date | None, lang: str) -> str:
    """A date as customers read it: ``Nov 3, 2026`` or ``2026年11月3日``."""
    if value is None:
        return "-"
    if lang == "zh":
        return f"{value.year}年{value.month}月{value.day}日"
    return f"{value:%b} {value.day}, {value.year}"


def display_name(item: ProductSummary | ProductDetails, lang: str) -> str:
    """Model name plus capacity and colour, e.g. ``Anta C202 Running Shoes (red)``,
    ``Huawei Enjoy 70 256GB (black)``.

    Sizes are left out (the price of a shoe is the same in every size); a capacity
    stays, as it sets the price: two lines of one chat never show one name at two
    prices.
    """
    model = item.model_zh if lang == "zh" else item.model_en
    if item.capacity:
        model = f"{model} {item.capacity}"
    color = item.color_zh if lang == "zh" else item.color_en
    if not color:
        return model
    return f"{model}（{color}）" if lang == "zh" else f"{model} ({color})"


def product_lines(items: list[ProductSummary] | tuple[ProductSummary, ...], lang: str,
                  conversation: str | None = None) -> str:
    """A numbered list of products with prices (as quoted in ``conversation``), marking
    ones out of stock."""
    sold_out = "（缺货）" if lang == "zh" else " (out of stock)"
    shown = shown_prices(conversation, items)  # in one go; none: price on request
    lines = []
    for i, p in enumerate(items, start=1):
        price = shown.get(p.sku)
        lines.append(f"{i}. {display_name(p, lang)} — {price_text(price, p.currency, lang)}"
                     + (sold_out if p.stock <= 0 else ""))
    return "\n".join(lines)


def join_words(words: list[str], lang: str) -> str:
    """``a, b and c`` / ``a、b和c``."""
    if lang == "zh":
        return "、".join(words)
    if len(words) <= 2:
        return " and ".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]
