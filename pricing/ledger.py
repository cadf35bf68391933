"""The audit trail, price states and coupons in SQL (the shop's database by default).

Tables (created on first use, beside the shop's own):

- ``price_quotes``: every pricing decision (quotes, negotiations, coupons) with
  its product, customer segment, context, policy action, final price, guardrail
  adjustments, policy version and shadow flag; read back by conversation.
- ``price_states``: each product's (and audience cell's) current live price and
  when it last changed, for the once-per-period and step rules.
- ``coupons``: single-use coupons; redemption is one conditional ``UPDATE``, so
  two checkouts racing for the same code cannot both succeed.
- ``competitor_prices``: the latest competitor price seen per product, when the
  shop imports them (``python -m shopctl.pricing competitors FILE.csv``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import (
    Boolean,
    DateTime,
    Engine,
    Float,
    Integer,
    String,
    Text,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from pricing.engine import Coupon, QuoteRecord
from pricing.errors import CouponError
from pricing.guardrails import PriceState


class _Base(DeclarativeBase):
    """Declarative base of the pricing tables."""


class QuoteRow(_Base):
    """One audited pricing decision."""

    __tablename__ = "price_quotes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(String(255), index=True)
    customer_id: Mapped[str | None] = mapped_column(String(64))
    segment: Mapped[str | None] = mapped_column(String(32))
    sku: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    currency: Mapped[str] = mapped_column(String(3))
    list_price: Mapped[float | None] = mapped_column(Float)
    cost: Mapped[float | None] = mapped_column(Float)
    price: Mapped[float | None] = mapped_column(Float)
    action: Mapped[float | None] = mapped_column(Float)
    policy_action: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16))
    adjustments: Mapped[str] = mapped_column(String(128))
    policy_kind: Mapped[str] = mapped_column(String(32))
    policy_version: Mapped[str] = mapped_column(String(64))
    shadow: Mapped[bool] = mapped_column(Boolean)
    context: Mapped[str] = mapped_column(Text)
    coupon: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)


class PriceStateRow(_Base):
    """A product cell's live price."""

    __tablename__ = "price_states"

    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    cell: Mapped[str] = mapped_column(String(128), primary_key=True)
    price: Mapped[float] = mapped_column(Float)
    changed_at: Mapped[dt.datetime] = mapped_column(DateTime)
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    list_price: Mapped[float | None] = mapped_column(Float)


class CouponRow(_Base):
    """A single-use coupon."""

    __tablename__ = "coupons"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    segment: Mapped[str] = mapped_column(String(32))
    customer_id: Mapped[str | None] = mapped_column(String(64), index=True)
    conversation_id: Mapped[str] = mapped_column(String(255), index=True)
    sku: Mapped[str | None] = mapped_column(String(64))
    discount: Mapped[float] = mapped_column(Float)
    price_after: Mapped[float | None] = mapped_column(Float)
    currency: Mapped[str] = mapped_column(String(3))
    value: Mapped[float] = mapped_column(Float)
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    redeemed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    redeemed_order: Mapped[str | None] = mapped_column(String(32))
    client: Mapped[str | None] = mapped_column(String(64), index=True)


class CompetitorPriceRow(_Base):
    """The latest competitor price seen for a product."""

    __tablename__ = "competitor_prices"

    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    price: Mapped[float] = mapped_column(Float)
    currency: Mapped[str] = mapped_column(String(3))
    source: Mapped[str] = mapped_column(String(64))
    seen_at: Mapped[dt.datetime] = mapped_column(DateTime)


@dataclass(frozen=True)
class CompetitorPrice:
    """A competitor's price for one of our products."""

    sku: str
    price: float
    currency: str
    source: str
    seen_at: dt.datetime


def drop_tables(engine: Engine) -> None:
    """Remove the pricing tables (a regenerated shop starts without quotes or coupons)."""
    _Base.metadata.drop_all(engine)


def _add_missing_columns(engine: Engine) -> None:
    """Add columns newer versions introduced to tables an older version created."""
    wanted = {CouponRow.__tablename__: {"client": "VARCHAR(64)"},
              PriceStateRow.__tablename__: {"decided_at": "TIMESTAMP",
                                            "list_price": "FLOAT"}}
    for table, columns in wanted.items():
        present = {c["name"] for c in inspect(engine).get_columns(table)}
        for name, kind in columns.items():
            if name not in present:
                try:
                    with engine.begin() as connection:
                        connection.execute(text(f"ALTER TABLE {table} ADD COLUMN {name} {kind}"))
                except DBAPIError:  # another process added it a moment before
                    if name not in {c["name"] for c in inspect(engine).get_columns(table)}:
                        raise


class SqlLedger:
    """:class:`pricing.engine.Ledger` over SQLAlchemy (SQLite, PostgreSQL, ...)."""

    def __init__(self, engine: Engine) -> None:
        _Base.metadata.create_all(engine)
        _add_missing_columns(engine)
        self._sessions: sessionmaker[Session] = sessionmaker(engine, expire_on_commit=False)

    # --- quotes -------------------------------------------------------------------------

    def add_quote(self, record: QuoteRecord) -> int:
        row = QuoteRow(conversation_id=record.conversation_id, customer_id=record.customer_id,
                       segment=record.segment, sku=record.sku, kind=record.kind,
                       currency=record.currency, list_price=record.list_price,
                       cost=record.cost, price=record.price, action=record.action,
                       policy_action=record.policy_action, status=record.status,
                       adjustments=",".join(record.adjustments),
                       policy_kind=record.policy_kind, policy_version=record.policy_version,
                       shadow=record.shadow,
                       context=json.dumps(record.context, ensure_ascii=False, sort_keys=True),
                       coupon=record.coupon, created_at=record.created_at)
        with self._sessions() as session, session.begin():
            session.add(row)
            session.flush()
            return int(row.id)

    def find_quote(self, conversation_id: str, sku: str, kind: str) -> QuoteRecord | None:
        with self._sessions() as session:
            row = session.scalars(select(QuoteRow).where(
                QuoteRow.conversation_id == conversation_id, QuoteRow.sku == sku,
                QuoteRow.kind == kind).order_by(QuoteRow.id.desc()).limit(1)).first()
            return _record(row) if row else None

    def by_conversation(self, conversation_id: str) -> list[QuoteRecord]:
        """Every pricing decision of a conversation, oldest first (the audit trail)."""
        with self._sessions() as session:
            rows = session.scalars(select(QuoteRow).where(
                QuoteRow.conversation_id == conversation_id).order_by(QuoteRow.id))
            return [_record(r) for r in rows]

    def quotes(self, *, since: dt.datetime | None = None, kinds: Sequence[str] = ("quote",)
               ) -> list[QuoteRecord]:
        """Decisions of ``kinds`` since ``since`` (all when ``None``), oldest first."""
        query = select(QuoteRow).where(QuoteRow.kind.in_(kinds)).order_by(QuoteRow.id)
        if since is not None:
            query = query.where(QuoteRow.created_at >= since)
        with self._sessions() as session:
            return [_record(r) for r in session.scalars(query)]

    # --- price states -------------------------------------------------------------------

    def price_state(self, sku: str, cell: str) -> PriceState | None:
        with self._sessions() as session:
            row = session.get(PriceStateRow, (sku, cell))
            return PriceState(row.price, row.changed_at, row.decided_at,
                              row.list_price) if row else None

    def price_states(self, cell: str, skus: Iterable[str] | None = None
                     ) -> dict[str, PriceState]:
        """The states in ``cell`` (the published prices: ``""``) of ``skus``, or of every
        product when ``None``."""
        query = select(PriceStateRow).where(PriceStateRow.cell == cell)
        if skus is not None:
            query = query.where(PriceStateRow.sku.in_(list(skus)))
        with self._sessions() as session:
            return {r.sku: PriceState(r.price, r.changed_at, r.decided_at, r.list_price)
                    for r in session.scalars(query)}

    def set_price_state(self, sku: str, cell: str, state: PriceState) -> None:
        """Insert or update one state. Two processes deciding the same product at once
        both insert: the second finds the first's row and writes over it (the decision
        is the same in every process) instead of failing."""
        for attempt in (1, 2):
            try:
                with self._sessions() as session, session.begin():
                    row = session.get(PriceStateRow, (sku, cell))
                    if row is None:
                        session.add(PriceStateRow(sku=sku, cell=cell, price=state.price,
                                                  changed_at=state.changed_at,
                                                  decided_at=state.decided_at,
                                                  list_price=state.list_price))
                    else:
                        row.price, row.changed_at = state.price, state.changed_at
                        row.decided_at, row.list_price = state.decided_at, state.list_price
                return
            except IntegrityError:
                if attempt == 2:
                    raise

    # --- competitor prices ---------------------------------------------------------------

    def set_competitor_prices(self, prices: Iterable[CompetitorPrice]) -> int:
        """Record competitor prices (the latest per product wins); returns how many."""
        n = 0
        with self._sessions() as session, session.begin():
            for p in prices:
                row = session.get(CompetitorPriceRow, p.sku)
                if row is None:
                    session.add(CompetitorPriceRow(sku=p.sku, price=p.price,
                                                   currency=p.currency, source=p.source,
                                                   seen_at=p.seen_at))
                elif p.seen_at >= row.seen_at:
                    row.price, row.currency = p.price, p.currency
                    row.source, row.seen_at = p.source, p.seen_at
                n += 1
        return n

    def competitor_price(self, sku: str) -> CompetitorPrice | None:
        """The latest competitor price of ``sku``, if one was recorded."""
        with self._sessions() as session:
            row = session.get(CompetitorPriceRow, sku)
            return CompetitorPrice(row.sku, row.price, row.currency, row.source,
                                   row.seen_at) if row else None

    # --- coupons ------------------------------------------------------------------------

    def issue(self, coupon: Coupon) -> None:
        with self._sessions() as session, session.begin():
            session.add(CouponRow(
                code=coupon.code, segment=coupon.segment, customer_id=coupon.customer_id,
                conversation_id=coupon.conversation_id, sku=coupon.sku,
                discount=coupon.discount, price_after=coupon.price_after,
                currency=coupon.currency, value=coupon.value,
                issued_at=coupon.issued_at or dt.datetime.now(dt.timezone.utc).replace(
                    tzinfo=None), expires_at=coupon.expires_at, client=coupon.client))

    def coupon_in(self, conversation_id: str, sku: str | None, segment: str | None
                  ) -> Coupon | None:
        query = select(CouponRow).where(CouponRow.conversation_id == conversation_id)
        query = query.where(CouponRow.sku == sku) if sku is not None else \
            query.where(CouponRow.sku.is_(None))
        if segment is not None:
            query = query.where(CouponRow.segment == segment)
        with self._sessions() as session:
            row = session.scalars(query.order_by(CouponRow.issued_at.desc()).limit(1)).first()
            return _coupon(row) if row else None

    def coupons_since(self, since: dt.datetime) -> list[Coupon]:
        with self._sessions() as session:
            return [_coupon(r) for r in session.scalars(
                select(CouponRow).where(CouponRow.issued_at >= since))]

    def coupon(self, code: str) -> Coupon | None:
        """The coupon with ``code``, if any."""
        with self._sessions() as session:
            row = session.get(CouponRow, code.strip().upper())
            return _coupon(row) if row else None

    def redeem(self, code: str, *, order_number: str, customer_id: str | None = None,
               sku: str | None = None, now: dt.datetime | None = None) -> Coupon:
        """Mark a coupon used by ``order_number``; it cannot be used again.

        Raises:
            CouponError: If the code is unknown, expired, already used, belongs to
                another customer or is for another product.
        """
        now = now or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        code = code.strip().upper()
        with self._sessions() as session, session.begin():
            row = session.get(CouponRow, code)
            if row is None:
                raise CouponError(f"unknown coupon {code!r}")
            if row.redeemed_at is not None:
                raise CouponError(f"coupon {code} was already used (order "
                                  f"{row.redeemed_order})")
            if row.expires_at < now:
                raise CouponError(f"coupon {code} expired on {row.expires_at:%Y-%m-%d}")
            if row.customer_id and customer_id != row.customer_id:
                raise CouponError(f"coupon {code} belongs to another customer")
            if row.sku and sku is not None and sku != row.sku:
                raise CouponError(f"coupon {code} is for product {row.sku}, not {sku}")
            done = session.execute(
                update(CouponRow).where(CouponRow.code == code, CouponRow.redeemed_at.is_(None))
                .values(redeemed_at=now, redeemed_order=order_number))
            if done.rowcount != 1:  # type: ignore[attr-defined]
                raise CouponError(f"coupon {code} was already used")
        redeemed = self.coupon(code)
        assert redeemed is not None
        return redeemed


def _record(row: QuoteRow) -> QuoteRecord:
    return QuoteRecord(
        conversation_id=row.conversation_id, sku=row.sku, kind=row.kind,
        currency=row.currency, list_price=row.list_price, cost=row.cost, price=row.price,
        action=row.action, policy_action=row.policy_action, status=row.status,
        adjustments=tuple(a for a in row.adjustments.split(",") if a),
        policy_kind=row.policy_kind, policy_version=row.policy_version, shadow=row.shadow,
        context=json.loads(row.context), created_at=row.created_at,
        customer_id=row.customer_id, segment=row.segment, coupon=row.coupon, id=row.id)


def _coupon(row: CouponRow) -> Coupon:
    return Coupon(code=row.code, discount=row.discount, sku=row.sku,
                  price_after=row.price_after, currency=row.currency, value=row.value,
                  expires_at=row.expires_at, segment=row.segment, customer_id=row.customer_id,
                  conversation_id=row.conversation_id, issued_at=row.issued_at,
                  redeemed_at=row.redeemed_at, client=row.client)
