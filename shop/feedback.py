"""Recommendation feedback: shown and clicked products, and what the recommender learns from.

Written by the action server, read by ``make train-recsys`` and the experiment
report. Clicks of a known customer are also written to ``interactions`` (as
views), so the next training learns from the conversation.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, insert, select
from sqlalchemy.orm import Session, sessionmaker

from shop.models import (
    AccessoryLink,
    Category,
    Customer,
    Interaction,
    Order,
    OrderLine,
    Product,
    RecommendationEvent,
)

#: Strength of each interaction kind when the recommender learns from them.
WEIGHTS = {"view": 1.0, "click": 1.0, "cart": 3.0, "purchase": 5.0}


@dataclass(frozen=True)
class FeedbackEvent:
    """One event to log (see :class:`shop.models.RecommendationEvent`)."""

    request_id: str
    sender_id: str
    customer_id: str | None
    product_sku: str
    kind: str
    experiment: str | None = None
    variant: str | None = None
    list_kind: str | None = None
    channel: str | None = None
    position: int | None = None
    model_version: str | None = None


@dataclass(frozen=True)
class ProductRow:
    """A product as the recommender's training and re-ranking see it."""

    sku: str
    category: str
    categories: tuple[str, ...]
    price: float | None
    stock: int
    available: bool
    text: str
    image: str | None = None
    group: str = ""
    brand: str = ""
    color: str = ""


class FeedbackStore:
    """Reads training data and writes feedback in the shop database."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def log(self, events: Sequence[FeedbackEvent], *, now: dt.datetime | None = None) -> None:
        """Store ``events``; a known customer's clicks also become ``view`` interactions."""
        if not events:
            return
        when = now or dt.datetime.now()
        with self._sessions.begin() as session:
            known = set(session.scalars(select(Customer.id).where(Customer.id.in_(
                {e.customer_id for e in events if e.customer_id}))))
            skus = set(session.scalars(select(Product.sku).where(Product.sku.in_(
                {e.product_sku for e in events}))))
            for e in events:
                session.add(RecommendationEvent(
                    request_id=e.request_id[:32], sender_id=e.sender_id[:255],
                    customer_id=e.customer_id if e.customer_id in known else None,
                    experiment=e.experiment, variant=e.variant, product_sku=e.product_sku[:64],
                    kind=e.kind, list_kind=e.list_kind, channel=e.channel, position=e.position,
                    model_version=e.model_version, timestamp=when))
                if e.kind == "click" and e.customer_id in known and e.product_sku in skus:
                    session.add(Interaction(customer_id=e.customer_id, product_sku=e.product_sku,
                                            kind="view", session_id=e.request_id[:32],
                                            timestamp=when))

    def events(self, experiment: str | None = None) -> list[RecommendationEvent]:
        """Logged events, oldest first (of one experiment when given)."""
        with self._sessions() as session:
            query = select(RecommendationEvent).order_by(RecommendationEvent.id)
            if experiment:
                query = query.where(RecommendationEvent.experiment == experiment)
            return list(session.scalars(query))

    def purchases_after(self, customer_ids: set[str]) -> list[tuple[str, str, dt.datetime]]:
        """(customer, sku, placed_at) of every order line of these customers."""
        if not customer_ids:
            return []
        with self._sessions() as session:
            rows = session.execute(
                select(Order.customer_id, OrderLine.product_sku, Order.placed_at)
                .join(OrderLine, OrderLine.order_number == Order.number)
                .where(Order.customer_id.in_(customer_ids), Order.status != "cancelled"))
            return [(c, s, t) for c, s, t in rows]

    def interactions(self) -> Iterator[tuple[str, str, float, float, str]]:
        """(customer, sku, weight, unix time, session) of every interaction."""
        with self._sessions() as session:
            rows = session.execute(select(Interaction.customer_id, Interaction.product_sku,
                                          Interaction.kind, Interaction.timestamp,
                                          Interaction.session_id).order_by(Interaction.id))
            for customer, sku, kind, when, sid in rows:
                yield (customer, sku, WEIGHTS.get(kind, 1.0),
                       when.replace(tzinfo=dt.timezone.utc).timestamp(), sid)

    def products(self) -> list[ProductRow]:
        """Every product with what re-ranking and content recall need."""
        with self._sessions() as session:
            parents: dict[str, str | None] = {
                key: parent for key, parent in session.execute(
                    select(Category.key, Category.parent_key))}
            rows = session.scalars(select(Product).order_by(Product.sku))
            return [ProductRow(p.sku, p.category_key, _lineage(p.category_key, parents),
                               float(p.list_price) if p.list_price is not None else None,
                               p.stock, bool(p.available),
                               " | ".join(t for t in (p.name_en, p.name_zh, p.description_en)
                                          if t), p.image, p.group_id, p.brand_key or "",
                               p.color or "")
                    for p in rows]

    def accessories(self, sku: str) -> list[str]:
        """Accessories linked to ``sku`` in the catalog."""
        with self._sessions() as session:
            return list(session.scalars(select(AccessoryLink.accessory_sku)
                                        .where(AccessoryLink.product_sku == sku)
                                        .order_by(AccessoryLink.accessory_sku)))


def _lineage(key: str, parents: dict[str, str | None]) -> tuple[str, ...]:
    """``key`` and the categories above it, nearest first (stops at a cycle)."""
    path = [key]
    while (parent := parents.get(path[-1])) and parent not in path:
        path.append(parent)
    return tuple(path)


def local_prices(sessions: sessionmaker[Session]) -> dict[str, dict[str, float]]:
    """Per product, its list price in every currency the shop quotes."""
    from shop.models import LocalPrice

    out: dict[str, dict[str, float]] = {}
    with sessions() as session:
        for p in session.scalars(select(Product)):
            if p.list_price is not None:
                out.setdefault(p.sku, {})[p.currency] = float(p.list_price)
        for lp in session.scalars(select(LocalPrice)):
            out.setdefault(lp.product_sku, {})[lp.currency] = float(lp.amount)
    return out


def record_chat_view(conn: Connection, customer_id: str, sku: str, timestamp: float) -> bool:
    """A known customer asked about a product in a chat (the conversation stream's
    consumer, ``stream/``): a ``view`` the recommender learns from, written in the
    caller's transaction. Nothing when the customer or the product is not the shop's."""
    known = conn.execute(select(Customer.id).where(Customer.id == customer_id)).first() \
        and conn.execute(select(Product.sku).where(Product.sku == sku)).first()
    if known:
        conn.execute(insert(Interaction).values(
            customer_id=customer_id, product_sku=sku, kind="view", session_id="chat",
            timestamp=dt.datetime.fromtimestamp(timestamp)))
    return bool(known)
