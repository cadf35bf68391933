"""The demo-shop generator: size, shape, bilingual content and determinism."""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import func, select

from shop.db import create_schema, make_engine, session_factory
from shop.generator import cny_price, generate_demo_shop
from shop.models import AccessoryLink, Category, Interaction, Order, Product

AS_OF = dt.date(2026, 6, 15)


def _build(seed: int = 7):
    engine = make_engine("sqlite://")
    create_schema(engine)
    sessions = session_factory(engine)
    with sessions.begin() as session:
        summary = generate_demo_shop(session, seed=seed, as_of=AS_OF)
    return sessions, summary


def _fingerprint(sessions) -> str:
    digest = hashlib.sha256()
    with sessions() as session:
        for model, key in ((Product, Product.sku), (Order, Order.number)):
            for row in session.scalars(select(model).order_by(key)):
                cols = sorted((c.name, str(getattr(row, c.name))) for c in model.__table__.columns)
                digest.update(repr(cols).encode())
        for row in session.scalars(select(Interaction).order_by(Interaction.id)):
            digest.update(f"{row.customer_id}{row.product_sku}{row.kind}{row.timestamp}".encode())
    return digest.hexdigest()


def test_catalog_has_required_size_and_shape() -> None:
    sessions, summary = _build()
    assert summary.products >= 600
    with sessions() as session:
        top_level = session.scalars(select(Category).where(Category.parent_key.is_(None))).all()
        assert len(top_level) >= 10
        products = session.scalars(select(Product)).all()
        for p in products:
            assert p.name_en and p.name_zh and p.description_en and p.description_zh
            assert p.brand_key and p.category_key and p.currency == "USD"
            assert p.list_price > p.cost > 0
            assert p.stock >= 0
            assert {lp.currency for lp in p.prices} == {"CNY"}
        # Chinese names really are Chinese for most products
        assert sum(any("\u4e00" <= ch <= "\u9fff" for ch in p.name_zh) for p in products) > 500
        assert any(p.size for p in products) and any(p.capacity for p in products)
        assert any(p.stock == 0 for p in products)
        assert session.scalar(select(func.count()).select_from(AccessoryLink)) > 100


def test_orders_cover_every_status_with_consistent_dates() -> None:
    sessions, summary = _build()
    assert summary.orders >= 1000 and summary.customers >= 200 and summary.interactions > 10000
    with sessions() as session:
        orders = session.scalars(select(Order)).all()
        assert {o.status for o in orders} == {"processing", "shipped", "delivered", "cancelled",
                                              "returned"}
        now = dt.datetime.combine(AS_OF, dt.time(12, 0))
        for o in orders:
            assert o.placed_at <= now
            assert o.lines and o.total == sum(line.unit_price * line.quantity for line in o.lines)
            if o.status in ("shipped", "delivered", "returned"):
                assert o.tracking_number and o.carrier and o.shipped_at >= o.placed_at
            if o.status in ("delivered", "returned"):
                assert o.delivered_at > o.shipped_at
            if o.status == "processing":
                assert o.tracking_number is None
        # some delivered orders are still inside the 30-day return window, some outside
        delivered = [o for o in orders if o.status == "delivered"]
        assert any(now - o.delivered_at < dt.timedelta(days=30) for o in delivered)
        assert any(now - o.delivered_at > dt.timedelta(days=30) for o in delivered)


def test_interactions_follow_a_funnel() -> None:
    sessions, _ = _build()
    with sessions() as session:
        kinds = dict(session.execute(
            select(Interaction.kind, func.count()).group_by(Interaction.kind)).all())
    assert kinds["view"] > kinds["cart"] > 0 and kinds["purchase"] > 0


def test_same_seed_same_shop_other_seed_other_shop() -> None:
    a, _ = _build(seed=7)
    b, _ = _build(seed=7)
    c, _ = _build(seed=8)
    assert _fingerprint(a) == _fingerprint(b)
    assert _fingerprint(a) != _fingerprint(c)


def test_localised_prices_end_in_nine() -> None:
    from decimal import Decimal

    assert cny_price(Decimal("899.99")) == Decimal("6499.00")
    assert cny_price(Decimal("11.49")) == Decimal("89.00")
