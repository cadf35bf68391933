"""The shop database also runs on PostgreSQL, switched by DATABASE_URL alone.

Uses the PostgreSQL server every dev and CI machine runs (127.0.0.1:5432,
trust auth); skipped with a reason where none answers.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import create_engine, select, text

from shop.db import create_schema, make_engine, session_factory
from shop.errors import OrderNotFound, TooManyAttempts
from shop.generator import generate_demo_shop
from shop.models import Order
from shop.orders import CustomerIdentity, LookupLimits, OrderService

SERVER = "postgresql+psycopg2://postgres@127.0.0.1:5432"
AS_OF = dt.date(2026, 6, 15)


@pytest.fixture()
def pg_url():
    admin = create_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:  # pragma: no cover - depends on the machine
        pytest.skip(f"no PostgreSQL server at 127.0.0.1:5432 ({type(exc).__name__})")
    name = f"shop_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{SERVER}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_demo_shop_and_orders_on_postgres(pg_url: str) -> None:
    engine = make_engine(pg_url)
    create_schema(engine)
    sessions = session_factory(engine)
    with sessions.begin() as session:
        summary = generate_demo_shop(session, seed=7, as_of=AS_OF)
    assert summary.products >= 600
    with sessions() as session:
        order = session.scalars(select(Order).where(Order.status == "processing")
                                .order_by(Order.number)).first()
    service = OrderService(sessions, clock=lambda: dt.datetime(2026, 6, 15, 12))
    with pytest.raises(OrderNotFound):
        service.get(order.number, CustomerIdentity(customer_id="C99999"))
    assert service.cancel(order.number, CustomerIdentity(email=order.email)).done
    with sessions() as session:
        assert session.get(Order, order.number).status == "cancelled"
    # a guest's failed attempts are recorded while cancel holds its row lock,
    # and stop the guest once the limit is reached
    guarded = OrderService(sessions, clock=lambda: dt.datetime(2026, 6, 15, 12),
                           limits=LookupLimits(per_conversation=2, per_client=10))
    guest = CustomerIdentity(email="nobody@example.com", conversation="pg-guest", client="c1")
    for _ in range(2):
        with pytest.raises(OrderNotFound):
            guarded.cancel(order.number, guest)
    with pytest.raises(TooManyAttempts):
        guarded.get(order.number, CustomerIdentity(email=order.email, conversation="pg-guest"))
    engine.dispose()
