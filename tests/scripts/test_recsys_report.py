"""The experiment report: clicks and purchases attributed to what each variant showed."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from scripts.recsys_report import collect, main
from shop.db import make_engine, session_factory
from shop.feedback import FeedbackEvent, FeedbackStore
from shop.models import Customer, Order, OrderLine, Product


def test_report_attributes_orders_to_impressions(demo_settings: Any, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    sessions = session_factory(make_engine(demo_settings.database_url))
    store = FeedbackStore(sessions)
    with sessions() as session:
        customer = session.scalars(select(Customer.id).order_by(Customer.id)).first()
        a, b = session.scalars(select(Product.sku).order_by(Product.sku).limit(2)).all()
    shown_at = dt.datetime(2030, 1, 1, 12)
    store.log([FeedbackEvent("req-a", customer, customer, a, "shown", "exp-t", "pipeline"),
               FeedbackEvent("req-a", customer, customer, b, "shown", "exp-t", "pipeline"),
               FeedbackEvent("req-b", "visitor-9", None, a, "shown", "exp-t", "popular")],
              now=shown_at)
    store.log([FeedbackEvent("req-a", customer, customer, a, "click", "exp-t", "pipeline")],
              now=shown_at + dt.timedelta(minutes=1))
    with sessions.begin() as session:  # the customer orders product b three days later
        session.add(Order(number="SH-990001", customer_id=customer, email="x@example.com",
                          status="processing", currency="USD", total=Decimal("1"),
                          placed_at=shown_at + dt.timedelta(days=3),
                          lines=[OrderLine(position=1, product_sku=b, quantity=1,
                                           unit_price=Decimal("1"))]))
    kinds = sorted((e.variant, e.item, e.kind) for e in collect(store, "exp-t", days=14))
    assert ("pipeline", b, "purchase") in kinds and ("pipeline", a, "click") in kinds
    assert not [k for k in kinds if k[0] == "popular" and k[2] != "shown"]
    assert "purchase" not in {e.kind for e in collect(store, "exp-t", days=1)}  # too late
    assert main(["--experiment", "exp-t", "--out", str(tmp_path)]) == 0
    table = capsys.readouterr().out
    assert "pipeline" in table and "50.0%" in table  # 1 click and 1 purchase of 2 shown
    assert (tmp_path / "recsys_experiment.png").stat().st_size > 0
    learned = {(c, s, sid) for c, s, _w, _t, sid in store.interactions()}
    assert (customer, a, "req-a") in learned  # the click becomes training data
