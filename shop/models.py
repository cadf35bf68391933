"""SQLAlchemy models of a shop: catalog, customers, orders and interactions.

The schema is deliberately plain so that a shop can point ``DATABASE_URL`` at
SQLite (the default), PostgreSQL or any other database SQLAlchemy supports.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

MONEY = Numeric(12, 2)


class Base(DeclarativeBase):
    """Declarative base of every shop table."""


class Category(Base):
    """A product category with English and (where known) Chinese labels."""

    __tablename__ = "categories"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    name_en: Mapped[str] = mapped_column(String(128))
    name_zh: Mapped[str | None] = mapped_column(String(128))
    parent_key: Mapped[str | None] = mapped_column(ForeignKey("categories.key"))


class Brand(Base):
    """A brand with English and (where known) Chinese names."""

    __tablename__ = "brands"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    name_en: Mapped[str] = mapped_column(String(128))
    name_zh: Mapped[str | None] = mapped_column(String(128))


class Product(Base):
    """A sellable product (one colour/size variant of a product group).

    Chinese texts, brand and cost are optional: imported catalogs often lack
    them. ``available`` is false for products a later import no longer lists
    (kept, because orders refer to them).
    """

    __tablename__ = "products"

    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    group_id: Mapped[str] = mapped_column(String(128), index=True)
    model_en: Mapped[str] = mapped_column(String(255))
    model_zh: Mapped[str | None] = mapped_column(String(255))
    name_en: Mapped[str] = mapped_column(String(255))
    name_zh: Mapped[str | None] = mapped_column(String(255))
    description_en: Mapped[str | None] = mapped_column(Text)
    description_zh: Mapped[str | None] = mapped_column(Text)
    category_key: Mapped[str] = mapped_column(ForeignKey("categories.key"), index=True)
    brand_key: Mapped[str | None] = mapped_column(ForeignKey("brands.key"), index=True)
    color: Mapped[str | None] = mapped_column(String(32))
    size: Mapped[str | None] = mapped_column(String(32))
    capacity: Mapped[str | None] = mapped_column(String(32))
    material: Mapped[str | None] = mapped_column(String(64))
    list_price: Mapped[Decimal | None] = mapped_column(MONEY)  # None: price on request
    cost: Mapped[Decimal | None] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(String(3))
    stock: Mapped[int] = mapped_column(Integer)
    available: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    image: Mapped[str | None] = mapped_column(String(1024))
    popularity: Mapped[int | None] = mapped_column(Integer)

    category: Mapped[Category] = relationship()
    brand: Mapped[Brand | None] = relationship()
    prices: Mapped[list[LocalPrice]] = relationship(
        back_populates="product", cascade="all, delete-orphan"
    )


class LocalPrice(Base):
    """The list price of a product in a currency other than the base one."""

    __tablename__ = "local_prices"

    product_sku: Mapped[str] = mapped_column(ForeignKey("products.sku"), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    amount: Mapped[Decimal] = mapped_column(MONEY)

    product: Mapped[Product] = relationship(back_populates="prices")


class ProductImage(Base):
    """An extra photo of a product, beside the catalog's main ``Product.image``.

    ``uri`` is a ``file://`` URI or ``media:<id>`` (a photo in the media store).
    """

    __tablename__ = "product_images"
    __table_args__ = (UniqueConstraint("sku", "uri"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sku: Mapped[str] = mapped_column(ForeignKey("products.sku"), index=True)
    uri: Mapped[str] = mapped_column(String(1024))


class LookupFailure(Base):
    """A guest's order look-up that matched no order of theirs (for rate limiting).

    ``client`` is the channel's pseudonym of the client address, never the address.
    """

    __tablename__ = "order_lookup_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation: Mapped[str] = mapped_column(String(255), index=True)
    client: Mapped[str | None] = mapped_column(String(64), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)


class AccessoryLink(Base):
    """``accessory_sku`` is an accessory or spare part for ``product_sku``."""

    __tablename__ = "accessory_links"

    accessory_sku: Mapped[str] = mapped_column(ForeignKey("products.sku"), primary_key=True)
    product_sku: Mapped[str] = mapped_column(ForeignKey("products.sku"), primary_key=True)


class Customer(Base):
    """A registered customer."""

    __tablename__ = "customers"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    email: Mapped[str] = mapped_column(String(255), unique=True)
    language: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


class Order(Base):
    """A customer's order."""

    __tablename__ = "orders"

    number: Mapped[str] = mapped_column(String(16), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    email: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    total: Mapped[Decimal] = mapped_column(MONEY)
    placed_at: Mapped[dt.datetime] = mapped_column(DateTime)
    shipped_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    carrier: Mapped[str | None] = mapped_column(String(32))
    tracking_number: Mapped[str | None] = mapped_column(String(64))
    return_reason: Mapped[str | None] = mapped_column(Text)
    return_requested_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderLine.position"
    )


class OrderLine(Base):
    """One product line of an order."""

    __tablename__ = "order_lines"
    __table_args__ = (UniqueConstraint("order_number", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_number: Mapped[str] = mapped_column(ForeignKey("orders.number"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    product_sku: Mapped[str] = mapped_column(ForeignKey("products.sku"))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(MONEY)

    order: Mapped[Order] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship()


class Interaction(Base):
    """A customer's view, add-to-cart or purchase of a product."""

    __tablename__ = "interactions"
    __table_args__ = (Index("ix_interactions_customer_ts", "customer_id", "timestamp"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    product_sku: Mapped[str] = mapped_column(ForeignKey("products.sku"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    session_id: Mapped[str] = mapped_column(String(32))
    timestamp: Mapped[dt.datetime] = mapped_column(DateTime)


class RecommendationEvent(Base):
    """A product shown in, clicked from, or bought after a recommendation list.

    ``request_id`` ties the events of one list together; ``variant`` is the
    experiment arm the user was in when it was shown.
    """

    __tablename__ = "recommendation_events"
    __table_args__ = (Index("ix_rec_events_request", "request_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(String(32))
    sender_id: Mapped[str] = mapped_column(String(255))
    customer_id: Mapped[str | None] = mapped_column(String(32), index=True)
    experiment: Mapped[str | None] = mapped_column(String(64))
    variant: Mapped[str | None] = mapped_column(String(64))
    product_sku: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    list_kind: Mapped[str | None] = mapped_column(String(16))
    channel: Mapped[str | None] = mapped_column(String(16))
    position: Mapped[int | None] = mapped_column(Integer)
    model_version: Mapped[str | None] = mapped_column(String(32))
    timestamp: Mapped[dt.datetime] = mapped_column(DateTime)
