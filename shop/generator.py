"""Deterministic generator of the demo shop.

The same ``seed`` and ``as_of`` date always give byte-identical data: products
with English and Chinese texts, accessory links, customers, orders in every
status and a browsing/purchase history a recommender can learn from.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy.orm import Session

from shop import catalog_data as cd
from shop.models import (
    AccessoryLink,
    Brand,
    Category,
    Customer,
    Interaction,
    LocalPrice,
    Order,
    OrderLine,
    Product,
)

CNY_PER_USD = Decimal("7.2")
RETURN_WINDOW_DAYS = 30
CENT = Decimal("0.01")


@dataclass(frozen=True)
class DemoSummary:
    """Counts of what the generator wrote."""

    categories: int
    products: int
    accessory_links: int
    customers: int
    orders: int
    interactions: int


def slugify(text: str) -> str:
    """Lower-case ASCII slug of ``text`` (``"Mate 60 Pro"`` -> ``"mate-60-pro"``)."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def group_id(brand_key: str, model_en: str) -> str:
    """Identifier of a product line: brand slug plus model slug."""
    return f"{slugify(brand_key)}-{slugify(model_en)}"


def _with_brand(brand: str, model: str) -> str:
    return model if model.lower().startswith(brand.lower()) else f"{brand} {model}"


def cny_price(usd: Decimal) -> Decimal:
    """Localised CNY list price: converted, then rounded to a shop-like ``…9`` ending."""
    raw = usd * CNY_PER_USD
    step = Decimal(100) if raw >= 1000 else Decimal(10)
    return ((raw / step).to_integral_value(rounding="ROUND_CEILING") * step - 1).quantize(CENT)


def _money(value: float) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def iter_products(rng: random.Random) -> Iterator[tuple[Product, tuple[str, ...]]]:
    """Expand every template into its variants.

    Yields:
        Each product with the group ids it is an accessory for.
    """
    counter = 1000
    for tpl in cd.TEMPLATES:
        brand_en, brand_zh = cd.BRANDS[tpl.brand]
        model_en = _with_brand(brand_en, tpl.model_en)
        model_zh = _with_brand(brand_zh, tpl.model_zh)
        gid = group_id(tpl.brand, tpl.model_en)
        axis_values: tuple[tuple[str | None, int], ...] = tpl.values or ((None, 0),)
        for value, surcharge in axis_values:
            for color in tpl.colors:
                counter += 1
                usd = Decimal(tpl.price + surcharge) - Decimal("0.01") if tpl.price >= 20 else (
                    Decimal(tpl.price + surcharge) - Decimal("0.51"))
                suffix_en = " ".join(x for x in (value,) if x)
                name_en = f"{model_en} {suffix_en}".strip() + f" ({color})"
                name_zh = f"{model_zh} {suffix_en}".strip() + f"（{cd.COLORS[color]}）"
                material_zh = cd.MATERIALS.get(tpl.material or "", "")
                desc_en = (
                    f"{model_en} from {brand_en} with {tpl.feature_en}. Colour: {color}."
                    + (f" Material: {tpl.material}." if tpl.material else "")
                    + (f" {tpl.axis.capitalize()}: {value}." if tpl.axis and value else "")
                )
                axis_zh = "容量" if tpl.axis == "capacity" else "尺码"
                desc_zh = (
                    f"{model_zh}，{tpl.feature_zh}。颜色：{cd.COLORS[color]}。"
                    + (f"材质：{material_zh}。" if material_zh else "")
                    + (f"{axis_zh}：{value}。" if value else "")
                )
                stock = 0 if rng.random() < 0.08 else rng.randint(1, 5) if rng.random() < 0.1 \
                    else rng.randint(6, 240)
                cost = _money(float(usd) * rng.uniform(0.45, 0.72))
                product = Product(
                    sku=f"SKU-{counter}",
                    group_id=gid,
                    model_en=model_en,
                    model_zh=model_zh,
                    name_en=name_en,
                    name_zh=name_zh,
                    description_en=desc_en,
                    description_zh=desc_zh,
                    category_key=tpl.category,
                    brand_key=tpl.brand,
                    color=color,
                    size=value if tpl.axis == "size" else None,
                    capacity=value if tpl.axis == "capacity" else None,
                    material=tpl.material,
                    list_price=usd,
                    cost=cost,
                    currency="USD",
                    stock=stock,
                )
                product.prices = [LocalPrice(currency="CNY", amount=cny_price(usd))]
                yield product, tpl.accessory_for


def _customers(rng: random.Random, as_of: dt.datetime, count: int) -> list[Customer]:
    customers = []
    for i in range(count):
        if rng.random() < 0.6:
            first, last = rng.choice(cd.FIRST_NAMES_EN), rng.choice(cd.LAST_NAMES_EN)
            name, lang = f"{first} {last}", "en"
            local = f"{first}.{last}".lower()
        else:
            (sur, sur_py), (given, given_py) = rng.choice(cd.SURNAMES_ZH), rng.choice(cd.GIVEN_ZH)
            name, lang, local = f"{sur}{given}", "zh", f"{given_py}.{sur_py}"
        customers.append(
            Customer(
                id=f"C{10001 + i}",
                name=name,
                email=f"{local}{i + 1}@example.com",
                language=lang,
                created_at=as_of - dt.timedelta(days=rng.randint(200, 900)),
            )
        )
    return customers


def _tracking(rng: random.Random, carrier: str) -> str:
    digits = "".join(rng.choice("0123456789") for _ in range(12))
    prefix = {"UPS": "1Z", "FedEx": "FX", "DHL": "JD", "SF Express": "SF"}[carrier]
    return prefix + digits


def _status_for_age(rng: random.Random, age_days: float) -> str:
    if age_days < 2:
        return "cancelled" if rng.random() < 0.06 else "processing"
    if age_days < 6:
        return "cancelled" if rng.random() < 0.04 else "shipped"
    roll = rng.random()
    if roll < 0.05:
        return "cancelled"
    if roll < 0.11:
        return "returned"
    return "delivered"


def generate_demo_shop(
    session: Session,
    *,
    seed: int = 7,
    as_of: dt.date,
    customers: int = 300,
    orders: int = 1500,
    browse_sessions: int = 2500,
) -> DemoSummary:
    """Write a complete demo shop into an empty database.

    Args:
        session: An open session on a database whose tables exist and are empty.
        seed: Seed of the random generator; the same seed gives the same shop.
        as_of: The shop's "today"; order dates lie before it.
        customers: Number of customers.
        orders: Number of orders.
        browse_sessions: Number of browsing sessions that end without a purchase.

    Returns:
        Counts of the rows written.
    """
    rng = random.Random(seed)
    now = dt.datetime.combine(as_of, dt.time(12, 0))

    for key, (en, zh, parent) in cd.CATEGORIES.items():
        session.add(Category(key=key, name_en=en, name_zh=zh, parent_key=parent))
    for key, (en, zh) in cd.BRANDS.items():
        session.add(Brand(key=key, name_en=en, name_zh=zh))
    session.flush()

    products: list[Product] = []
    groups: dict[str, list[Product]] = {}
    pending_links: list[tuple[Product, tuple[str, ...]]] = []
    for product, accessory_for in iter_products(rng):
        products.append(product)
        groups.setdefault(product.group_id, []).append(product)
        if accessory_for:
            pending_links.append((product, accessory_for))
    session.add_all(products)
    session.flush()

    links = 0
    for accessory, targets in pending_links:
        for gid in targets:
            if gid not in groups:
                raise ValueError(f"accessory target {gid!r} is not a product group")
            for target in groups[gid]:
                session.add(AccessoryLink(accessory_sku=accessory.sku, product_sku=target.sku))
                links += 1

    people = _customers(rng, now, customers)
    session.add_all(people)
    session.flush()

    # Each customer prefers two or three categories; purchases follow preferences.
    by_category: dict[str, list[Product]] = {}
    for p in products:
        by_category.setdefault(p.category_key, []).append(p)
    category_keys = sorted(by_category)
    prefs = {c.id: rng.sample(category_keys, rng.randint(2, 3)) for c in people}
    accessories_of: dict[str, list[str]] = {}
    for accessory, targets in pending_links:
        for gid in targets:
            for target in groups[gid]:
                accessories_of.setdefault(target.sku, []).append(accessory.sku)
    sku_index = {p.sku: p for p in products}

    interactions: list[Interaction] = []
    session_no = 0

    def browse(customer: Customer, start: dt.datetime, must: list[Product]) -> None:
        nonlocal session_no
        session_no += 1
        sid = f"S{session_no:06d}"
        pool = [p for cat in prefs[customer.id] for p in by_category[cat]]
        seen = must + rng.sample(pool, min(len(pool), rng.randint(2, 6)))
        t = start
        for product in seen:
            t += dt.timedelta(seconds=rng.randint(15, 240))
            interactions.append(Interaction(customer_id=customer.id, product_sku=product.sku,
                                            kind="view", session_id=sid, timestamp=t))
        for product in must:
            t += dt.timedelta(seconds=rng.randint(10, 90))
            interactions.append(Interaction(customer_id=customer.id, product_sku=product.sku,
                                            kind="cart", session_id=sid, timestamp=t))
        if not must and rng.random() < 0.3:
            t += dt.timedelta(seconds=rng.randint(10, 90))
            interactions.append(Interaction(customer_id=customer.id, product_sku=seen[0].sku,
                                            kind="cart", session_id=sid, timestamp=t))

    order_rows: list[Order] = []
    for n in range(orders):
        customer = rng.choice(people)
        age_days = rng.uniform(0.05, 240) if n % 10 else rng.uniform(0.05, 8)
        placed = now - dt.timedelta(days=age_days)
        placed = placed.replace(microsecond=0)
        lines: list[Product] = []
        main = rng.choice(by_category[rng.choice(prefs[customer.id])])
        lines.append(main)
        if accessories_of.get(main.sku) and rng.random() < 0.5:
            lines.append(sku_index[rng.choice(accessories_of[main.sku])])
        while rng.random() < 0.25 and len(lines) < 4:
            lines.append(rng.choice(by_category[rng.choice(prefs[customer.id])]))
        lines = list(dict.fromkeys(lines))
        browse(customer, placed - dt.timedelta(minutes=30), lines)
        status = _status_for_age(rng, age_days)
        currency = "CNY" if customer.language == "zh" else "USD"
        order = Order(
            number=f"SH-{100001 + n * 7 + rng.randint(0, 6):06d}",
            customer_id=customer.id,
            email=customer.email,
            status=status,
            currency=currency,
            total=Decimal(0),
            placed_at=placed,
        )
        total = Decimal(0)
        for pos, product in enumerate(lines, start=1):
            qty = 1 if rng.random() < 0.8 else rng.randint(2, 3)
            unit = product.list_price if currency == "USD" else product.prices[0].amount
            assert unit is not None  # the demo shop prices every product
            order.lines.append(OrderLine(position=pos, product_sku=product.sku, quantity=qty,
                                         unit_price=unit))
            total += unit * qty
        order.total = total.quantize(CENT)
        if status in ("shipped", "delivered", "returned"):
            order.carrier = rng.choice(cd.CARRIERS)
            order.tracking_number = _tracking(rng, order.carrier)
            order.shipped_at = placed + dt.timedelta(hours=rng.randint(12, 40))
        if status in ("delivered", "returned"):
            assert order.shipped_at is not None
            order.delivered_at = order.shipped_at + dt.timedelta(days=rng.randint(2, 4))
        if status == "returned":
            assert order.delivered_at is not None
            order.return_requested_at = order.delivered_at + dt.timedelta(days=rng.randint(1, 14))
            order.return_reason = rng.choice(("wrong size", "changed my mind", "damaged"))
        if status == "cancelled":
            order.cancelled_at = placed + dt.timedelta(hours=rng.randint(1, 20))
        if status not in ("cancelled",):
            for product in lines:
                interactions.append(Interaction(
                    customer_id=customer.id, product_sku=product.sku, kind="purchase",
                    session_id=f"S{session_no:06d}", timestamp=placed))
        order_rows.append(order)
    session.add_all(order_rows)

    for _ in range(browse_sessions):
        customer = rng.choice(people)
        browse(customer, (now - dt.timedelta(days=rng.uniform(0.1, 240))).replace(microsecond=0),
               [])
    session.add_all(interactions)
    session.flush()
    return DemoSummary(
        categories=len(cd.CATEGORIES),
        products=len(products),
        accessory_links=links,
        customers=len(people),
        orders=len(order_rows),
        interactions=len(interactions),
    )
