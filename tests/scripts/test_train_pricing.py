"""make train-pricing continues the live policy with the outcomes of logged quotes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from scripts.train_pricing import run


def test_quotes_followed_by_orders_teach_the_published_policy(demo_settings: Any) -> None:
    from actions.services import now_utc, pricing_engine, product_facts, shopper
    from pricing.store import PolicyStore
    from shop.db import make_engine, session_factory
    from shop.models import Order, OrderLine

    store = PolicyStore(demo_settings.pricing_dir)
    before = store.current_version()
    assert before is not None  # make data (and the fixture) publish a prior policy
    facts = product_facts("SKU-1001")
    assert facts is not None
    engine = pricing_engine()
    engine.quote(facts, conversation_id="train-bought", shopper=shopper("C10001"))
    engine.quote(facts, conversation_id="train-anonymous")
    with session_factory(make_engine(demo_settings.database_url))() as session, \
            session.begin():
        order = Order(number="SH-990077", customer_id="C10001", email="x@example.com",
                      status="placed", currency="USD", total=Decimal("1.00"),
                      placed_at=now_utc() + dt.timedelta(days=2))
        order.lines.append(OrderLine(position=1, product_sku="SKU-1001", quantity=2,
                                     unit_price=Decimal("1.00")))
        session.add(order)
    seen_before = float(store.load(before)[0].policy.state()["seen"][0])
    summary = run(demo_settings, quiet=True, now=now_utc() + dt.timedelta(days=15))
    assert summary["continued_from"] == before and summary["outcomes"] >= 2
    loaded, manifest = store.load(summary["version"])
    assert manifest["info"]["outcomes"] == summary["outcomes"]
    assert float(loaded.policy.state()["seen"][0]) == seen_before + summary["outcomes"]
    # nothing new since: the next run learns from nothing and continues the same state
    again = run(demo_settings, quiet=True, now=now_utc() + dt.timedelta(days=15))
    assert again["outcomes"] == 0 and again["continued_from"] == summary["version"]
