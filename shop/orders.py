"""Order look-up, cancellation and returns, with ownership checks.

Every operation takes a :class:`CustomerIdentity`. An order is visible only to
the customer who placed it (by customer id, when the channel knows who is
chatting) or to someone who knows both its number and the e-mail address it
was placed with. An order that exists but belongs to someone else is reported
exactly like one that does not exist.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from shop.errors import InvalidOrderNumber, OrderNotFound, TooManyAttempts
from shop.models import LookupFailure, Order, OrderLine

ORDER_NUMBER_RE = re.compile(r"(?i)(?<![A-Z0-9])(?:SH[\s\-_]*|#)?(\d{6})(?!\d)")
EMAIL_RE = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")


def parse_order_number(text: str) -> str:
    """Normalise an order number written by a customer.

    Accepts ``SH-123456``, ``sh 123456``, ``#123456`` and ``123456``.

    Raises:
        InvalidOrderNumber: If ``text`` contains no order number.
    """
    match = ORDER_NUMBER_RE.search(text or "")
    if not match:
        raise InvalidOrderNumber(text)
    return f"SH-{match.group(1)}"


def parse_email(text: str) -> str | None:
    """The first e-mail address in ``text``, lower-cased, or ``None``."""
    match = EMAIL_RE.search(text or "")
    return match.group(0).lower() if match else None


@dataclass(frozen=True)
class CustomerIdentity:
    """Who is asking: a known customer id, or an e-mail given in the chat.

    Attributes:
        customer_id: The customer, when the channel verified their signature.
        email: The e-mail address a guest gave to prove an order is theirs.
        conversation: The conversation asking (counts a guest's failed look-ups).
        client: The channel's pseudonym of the client's address (likewise).
    """

    customer_id: str | None = None
    email: str | None = None
    conversation: str | None = None
    client: str | None = None

    @property
    def is_known(self) -> bool:
        """True when the channel told us which customer this is."""
        return bool(self.customer_id)


class OrderStatus(str, Enum):
    """The life-cycle states of an order."""

    PROCESSING = "processing"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    RETURNED = "returned"
    RETURN_REQUESTED = "return_requested"


class Refusal(str, Enum):
    """Why a cancellation or return was refused."""

    ALREADY_SHIPPED = "already_shipped"
    ALREADY_DELIVERED = "already_delivered"  # a return can still be started
    ALREADY_CANCELLED = "already_cancelled"
    ALREADY_RETURNED = "already_returned"
    NOT_DELIVERED = "not_delivered"
    RETURN_WINDOW_CLOSED = "return_window_closed"


@dataclass(frozen=True)
class OrderLineView:
    """One line of an order, with the product's names in both languages."""

    sku: str
    name_en: str
    name_zh: str
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True)
class OrderView:
    """What a customer may see of one of their orders."""

    number: str
    status: OrderStatus
    currency: str
    total: Decimal
    placed_at: dt.datetime
    shipped_at: dt.datetime | None
    delivered_at: dt.datetime | None
    carrier: str | None
    tracking_number: str | None
    return_deadline: dt.datetime | None
    lines: tuple[OrderLineView, ...]


@dataclass(frozen=True)
class ActionOutcome:
    """Result of a cancellation or return request."""

    order: OrderView
    done: bool
    refusal: Refusal | None = None


@dataclass(frozen=True)
class LookupLimits:
    """How many failed guest look-ups (order number + e-mail) are allowed.

    Attributes:
        per_conversation: Failures one conversation may make per ``window``.
        per_client: Failures one client address may make per ``window``, over
            all its conversations.
        window: The period the failures are counted over.
    """

    per_conversation: int = 5
    per_client: int = 20
    window: dt.timedelta = dt.timedelta(hours=1)


#: Who may pay the postage of a return (``OrderService(return_postage_paid_by=...)``).
RETURN_POSTAGE_PAYERS = ("shop", "customer")

class OrderService:
    """Reads and changes orders in the shop database.

    Guests (no verified customer id) prove an order is theirs with its e-mail
    address; their failed look-ups are counted per conversation and per client
    address, and past ``limits`` they get :class:`~shop.errors.TooManyAttempts`
    instead of another try, so order numbers cannot be probed at speed.

    Args:
        sessions: Session factory bound to the shop database.
        return_window_days: Days after delivery during which a return may start.
        return_postage_paid_by: Who pays to send a return back: ``"shop"`` (a prepaid
            label) or ``"customer"`` (the shop pays only for faulty items).
        limits: Failed guest look-ups allowed.
        clock: Returns "now"; injectable for tests.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        return_window_days: int = 30,
        return_postage_paid_by: str = "shop",
        limits: LookupLimits = LookupLimits(),
        clock: Callable[[], dt.datetime] = dt.datetime.now,
    ) -> None:
        if return_postage_paid_by not in RETURN_POSTAGE_PAYERS:
            raise ValueError(f"return_postage_paid_by must be one of {RETURN_POSTAGE_PAYERS}")
        self._sessions = sessions
        self._window = dt.timedelta(days=return_window_days)
        self._postage = return_postage_paid_by
        self._limits = limits
        self._clock = clock

    @property
    def return_window_days(self) -> int:
        """Days after delivery during which a return may start (the shop's policy)."""
        return self._window.days

    @property
    def return_postage_paid_by(self) -> str:
        """Who pays to send a return back: ``"shop"`` or ``"customer"``."""
        return self._postage

    @staticmethod
    def ensure_tables(engine: Engine) -> None:
        """Create the look-up failure table in a database made before it existed."""
        LookupFailure.metadata.create_all(engine, tables=[LookupFailure.__table__])  # type: ignore[list-item]

    def get(self, number: str, identity: CustomerIdentity) -> OrderView:
        """Look an order up for ``identity``.

        Raises:
            InvalidOrderNumber: If ``number`` is not an order number.
            OrderNotFound: If the order does not exist or is not theirs.
            TooManyAttempts: If a guest failed too often recently.
        """
        with self._sessions() as session:
            return self._view(self._load(session, number, identity))

    def list_recent(self, identity: CustomerIdentity, *, limit: int = 3) -> list[OrderView]:
        """The most recent orders of a known customer (empty for anonymous callers)."""
        if not identity.is_known:
            return []
        with self._sessions() as session:
            rows = session.scalars(
                select(Order)
                .where(Order.customer_id == identity.customer_id)
                .options(selectinload(Order.lines).selectinload(OrderLine.product))
                .order_by(Order.placed_at.desc())
                .limit(limit)
            ).all()
            return [self._view(o) for o in rows]

    def bought(self, identity: CustomerIdentity, skus: Iterable[str]) -> set[str]:
        """Which of ``skus`` a known customer has ordered (cancelled orders do not count).

        Anonymous callers have bought nothing: what a visitor only looked at or
        asked about is not a purchase.
        """
        wanted = list(dict.fromkeys(skus))
        if not identity.is_known or not wanted:
            return set()
        with self._sessions() as session:
            rows = session.scalars(
                select(OrderLine.product_sku).join(Order, Order.number == OrderLine.order_number)
                .where(Order.customer_id == identity.customer_id,
                       Order.status != OrderStatus.CANCELLED.value,
                       OrderLine.product_sku.in_(wanted))
            ).all()
        return set(rows)

    def cancel(self, number: str, identity: CustomerIdentity) -> ActionOutcome:
        """Cancel an order that has not shipped yet. A delivered one is refused with
        whether it can still be returned (``ALREADY_DELIVERED``) or not
        (``RETURN_WINDOW_CLOSED``).

        Raises:
            InvalidOrderNumber: If ``number`` is not an order number.
            OrderNotFound: If the order does not exist or is not theirs.
        """
        with self._sessions.begin() as session:
            order = self._load(session, number, identity, for_update=True)
            refusal = {
                OrderStatus.SHIPPED.value: Refusal.ALREADY_SHIPPED,
                OrderStatus.DELIVERED.value: Refusal.ALREADY_DELIVERED,
                OrderStatus.RETURN_REQUESTED.value: Refusal.ALREADY_RETURNED,
                OrderStatus.RETURNED.value: Refusal.ALREADY_RETURNED,
                OrderStatus.CANCELLED.value: Refusal.ALREADY_CANCELLED,
            }.get(order.status)
            if refusal is Refusal.ALREADY_DELIVERED and (
                    order.delivered_at is None
                    or self._clock() > order.delivered_at + self._window):
                refusal = Refusal.RETURN_WINDOW_CLOSED  # arrived, and too long ago to return
            if refusal is None:
                order.status = OrderStatus.CANCELLED.value
                order.cancelled_at = self._clock()
            return ActionOutcome(self._view(order), done=refusal is None, refusal=refusal)

    def request_return(
        self, number: str, identity: CustomerIdentity, *, reason: str | None = None
    ) -> ActionOutcome:
        """Start a return for a delivered order inside the return window.

        Raises:
            InvalidOrderNumber: If ``number`` is not an order number.
            OrderNotFound: If the order does not exist or is not theirs.
        """
        with self._sessions.begin() as session:
            order = self._load(session, number, identity, for_update=True)
            refusal: Refusal | None = None
            if order.status in (OrderStatus.RETURNED.value, OrderStatus.RETURN_REQUESTED.value):
                refusal = Refusal.ALREADY_RETURNED
            elif order.status == OrderStatus.CANCELLED.value:
                refusal = Refusal.ALREADY_CANCELLED
            elif order.status != OrderStatus.DELIVERED.value or order.delivered_at is None:
                refusal = Refusal.NOT_DELIVERED
            elif self._clock() > order.delivered_at + self._window:
                refusal = Refusal.RETURN_WINDOW_CLOSED
            if refusal is None:
                order.status = OrderStatus.RETURN_REQUESTED.value
                order.return_requested_at = self._clock()
                order.return_reason = (reason or "")[:500] or None
            return ActionOutcome(self._view(order), done=refusal is None, refusal=refusal)

    def _check_attempts(self, identity: CustomerIdentity) -> None:
        """Refuse a guest who failed too often within the window."""
        if identity.is_known:
            return
        since = self._clock() - self._limits.window
        scopes = [(LookupFailure.conversation == (identity.conversation or ""),
                   self._limits.per_conversation)]
        if identity.client:
            scopes.append((LookupFailure.client == identity.client, self._limits.per_client))
        with self._sessions() as session:
            for condition, limit in scopes:
                times = session.scalars(select(LookupFailure.at).where(
                    condition, LookupFailure.at > since).order_by(LookupFailure.at.desc())
                    .limit(limit)).all()
                if len(times) >= limit:
                    wait = times[-1] + self._limits.window - self._clock()
                    raise TooManyAttempts(max(wait.total_seconds(), 1.0))

    def _record_failure(self, identity: CustomerIdentity) -> None:
        if identity.is_known:
            return
        with self._sessions.begin() as session:
            session.add(LookupFailure(conversation=(identity.conversation or "")[:255],
                                      client=identity.client, at=self._clock()))

    def _load(
        self, session: Session, number: str, identity: CustomerIdentity, for_update: bool = False
    ) -> Order:
        normalized = parse_order_number(number)
        self._check_attempts(identity)
        query = (
            select(Order)
            .where(Order.number == normalized)
            .options(selectinload(Order.lines).selectinload(OrderLine.product))
        )
        if for_update:
            query = query.with_for_update()
        order = session.scalars(query).first()
        if order is None or not _owns(order, identity):
            self._record_failure(identity)
            raise OrderNotFound(normalized)
        return order

    def _view(self, order: Order) -> OrderView:
        deadline = order.delivered_at + self._window if order.delivered_at else None
        return OrderView(
            number=order.number,
            status=OrderStatus(order.status),
            currency=order.currency,
            total=order.total,
            placed_at=order.placed_at,
            shipped_at=order.shipped_at,
            delivered_at=order.delivered_at,
            carrier=order.carrier,
            tracking_number=order.tracking_number,
            return_deadline=deadline,
            lines=tuple(
                OrderLineView(
                    sku=line.product_sku,
                    name_en=line.product.name_en,
                    name_zh=line.product.name_zh or line.product.name_en,
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                )
                for line in order.lines
            ),
        )


def _owns(order: Order, identity: CustomerIdentity) -> bool:
    if identity.customer_id:
        return order.customer_id == identity.customer_id
    return bool(identity.email) and order.email.lower() == (identity.email or "").lower()
