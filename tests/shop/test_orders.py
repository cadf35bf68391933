"""Order look-up, cancellation and returns, including who may see what."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from shop.db import create_schema, make_engine, session_factory
from shop.errors import InvalidOrderNumber, OrderNotFound
from shop.generator import generate_demo_shop
from shop.models import Order
from shop.orders import CustomerIdentity, OrderService, OrderStatus, Refusal, parse_order_number

AS_OF = dt.date(2026, 6, 15)
NOW = dt.datetime.combine(AS_OF, dt.time(12, 0))


@pytest.fixture()
def sessions():
    engine = make_engine("sqlite://")
    create_schema(engine)
    factory = session_factory(engine)
    with factory.begin() as session:
        generate_demo_shop(session, seed=7, as_of=AS_OF)
    return factory


@pytest.fixture()
def service(sessions) -> OrderService:
    return OrderService(sessions, return_window_days=30, clock=lambda: NOW)


def _first(sessions, *conditions) -> Order:
    with sessions() as session:
        return session.scalars(select(Order).where(*conditions).order_by(Order.number)).first()


@pytest.mark.parametrize("text", ["SH-100234", "sh100234", "SH 100234", "#100234", "100234",
                                  "my order is SH-100234 thanks"])
def test_order_numbers_in_common_spellings(text: str) -> None:
    assert parse_order_number(text) == "SH-100234"


@pytest.mark.parametrize("text", ["", "hello", "SH-12345", "1234567", "' OR 1=1 --"])
def test_invalid_order_numbers(text: str) -> None:
    with pytest.raises(InvalidOrderNumber):
        parse_order_number(text)


def test_owner_sees_order_by_id_or_email(sessions, service) -> None:
    order = _first(sessions, Order.status == "shipped")
    by_id = service.get(order.number, CustomerIdentity(customer_id=order.customer_id))
    assert by_id.status is OrderStatus.SHIPPED and by_id.tracking_number == order.tracking_number
    by_email = service.get(order.number, CustomerIdentity(email=order.email.upper()))
    assert by_email.number == order.number


def test_nobody_sees_another_customers_order(sessions, service) -> None:
    order = _first(sessions, Order.status == "delivered")
    other = _first(sessions, Order.customer_id != order.customer_id)
    for identity in (CustomerIdentity(customer_id=other.customer_id),
                     CustomerIdentity(email=other.email),
                     CustomerIdentity(),
                     # a known customer cannot reach another's order with that order's e-mail
                     CustomerIdentity(customer_id=other.customer_id, email=order.email)):
        with pytest.raises(OrderNotFound):
            service.get(order.number, identity)
    with pytest.raises(OrderNotFound):
        service.get("SH-999999", CustomerIdentity(customer_id=order.customer_id))


def test_cancel_only_before_shipping(sessions, service) -> None:
    processing = _first(sessions, Order.status == "processing")
    who = CustomerIdentity(customer_id=processing.customer_id)
    outcome = service.cancel(processing.number, who)
    assert outcome.done and outcome.order.status is OrderStatus.CANCELLED
    again = service.cancel(processing.number, who)
    assert not again.done and again.refusal is Refusal.ALREADY_CANCELLED
    shipped = _first(sessions, Order.status == "shipped")
    refused = service.cancel(shipped.number, CustomerIdentity(customer_id=shipped.customer_id))
    assert not refused.done and refused.refusal is Refusal.ALREADY_SHIPPED
    assert service.get(shipped.number, CustomerIdentity(customer_id=shipped.customer_id)).status \
        is OrderStatus.SHIPPED



def test_a_delivered_order_is_not_cancelled_and_says_whether_it_can_be_returned(
        sessions, service) -> None:
    recent = _first(sessions, Order.status == "delivered",
                    Order.delivered_at > NOW - dt.timedelta(days=20))
    refused = service.cancel(recent.number, CustomerIdentity(customer_id=recent.customer_id))
    assert not refused.done and refused.refusal is Refusal.ALREADY_DELIVERED
    assert refused.order.return_deadline > NOW  # the answer can say until when
    old = _first(sessions, Order.status == "delivered",
                 Order.delivered_at < NOW - dt.timedelta(days=45))
    late = service.cancel(old.number, CustomerIdentity(customer_id=old.customer_id))
    assert not late.done and late.refusal is Refusal.RETURN_WINDOW_CLOSED
    assert late.order.status is OrderStatus.DELIVERED


def test_return_inside_window_only(sessions, service) -> None:
    recent = _first(sessions, Order.status == "delivered",
                    Order.delivered_at > NOW - dt.timedelta(days=20))
    who = CustomerIdentity(customer_id=recent.customer_id)
    outcome = service.request_return(recent.number, who, reason="too small")
    assert outcome.done and outcome.order.status is OrderStatus.RETURN_REQUESTED
    assert service.request_return(recent.number, who).refusal is Refusal.ALREADY_RETURNED
    old = _first(sessions, Order.status == "delivered",
                 Order.delivered_at < NOW - dt.timedelta(days=45))
    late = service.request_return(old.number, CustomerIdentity(customer_id=old.customer_id))
    assert late.refusal is Refusal.RETURN_WINDOW_CLOSED
    assert late.order.return_deadline < NOW
    shipped = _first(sessions, Order.status == "shipped")
    early = service.request_return(shipped.number,
                                   CustomerIdentity(customer_id=shipped.customer_id))
    assert early.refusal is Refusal.NOT_DELIVERED


def test_recent_orders_only_for_known_customers(sessions, service) -> None:
    order = _first(sessions, Order.status == "delivered")
    recent = service.list_recent(CustomerIdentity(customer_id=order.customer_id))
    assert recent and all(r.placed_at >= recent[-1].placed_at for r in recent)
    assert service.list_recent(CustomerIdentity(email=order.email)) == []
