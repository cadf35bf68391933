"""What pricing needs from the shop database: product economics and purchase history."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from shop.models import Order, OrderLine, Product

#: Weeks of sales behind a product's "weekly sales".
SALES_WEEKS = 4


@dataclass(frozen=True)
class ProductEconomics:
    """A product's price, cost, stock and recent sales (base currency)."""

    sku: str
    list_price: float | None
    cost: float | None
    currency: str
    category: str
    brand: str | None
    stock: int
    available: bool
    weekly_sales: float
    price_group: str = ""


@dataclass(frozen=True)
class PurchaseLine:
    """One order line of a customer's history, with the product's list price."""

    customer_id: str
    order: str
    placed_at: dt.datetime
    sku: str
    category: str
    list_price: float
    paid: float
    quantity: int
    cost: float | None = None


class ShopSales:
    """Reads product economics and purchases for pricing."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def product(self, sku: str, *, as_of: dt.datetime) -> ProductEconomics | None:
        """The product ``sku``, or ``None`` if the catalog has no such product.

        Its variants at the same list price (the colours and sizes of one model) are
        priced together: ``price_group`` names them, and the stock and recent sales
        are theirs together, so every variant's price decision sees the same facts.
        """
        with self._sessions() as session:
            p = session.get(Product, sku)
            if p is None:
                return None
            skus = [p.sku]
            if p.group_id and p.list_price is not None:
                skus = list(session.scalars(select(Product.sku).where(
                    Product.group_id == p.group_id, Product.list_price == p.list_price)))
            stock = session.scalar(select(func.coalesce(func.sum(Product.stock), 0))
                                   .where(Product.sku.in_(skus))) or 0
            since = as_of - dt.timedelta(weeks=SALES_WEEKS)
            sold = session.scalar(
                select(func.coalesce(func.sum(OrderLine.quantity), 0))
                .join(Order, Order.number == OrderLine.order_number)
                .where(OrderLine.product_sku.in_(skus), Order.placed_at >= since,
                       Order.placed_at < as_of, Order.status != "cancelled")) or 0
            return ProductEconomics(
                sku=p.sku, list_price=float(p.list_price) if p.list_price is not None else None,
                cost=float(p.cost) if p.cost is not None else None, currency=p.currency,
                category=p.category_key, brand=p.brand_key, stock=int(stock),
                available=bool(p.available), weekly_sales=float(sold) / SALES_WEEKS,
                price_group=f"{p.group_id}@{p.list_price}" if len(skus) > 1 else "")

    def purchases(self) -> list[PurchaseLine]:
        """Every order line of every order that was not cancelled, in base currency."""
        with self._sessions() as session:
            rows = session.execute(
                select(Order.customer_id, Order.number, Order.placed_at, Order.currency,
                       OrderLine.product_sku, Product.category_key, Product.list_price,
                       Product.currency, OrderLine.unit_price, OrderLine.quantity, Product.cost)
                .join(OrderLine, OrderLine.order_number == Order.number)
                .join(Product, Product.sku == OrderLine.product_sku)
                .where(Order.status != "cancelled", Product.list_price.is_not(None)))
            out = []
            for customer, number, placed, paid_in, sku, category, price, base, unit, qty, \
                    cost in rows:
                # lines paid in another currency: their price position is what matters,
                # so they count as paid at list price
                paid = float(unit) if paid_in == base else float(price)
                out.append(PurchaseLine(customer, number, placed, sku, category, float(price),
                                        paid, int(qty),
                                        float(cost) if cost is not None else None))
            return out

    def skus(self) -> list[str]:
        """Every product's SKU, sorted."""
        with self._sessions() as session:
            return list(session.scalars(select(Product.sku).order_by(Product.sku)))

    def category_prices(self) -> dict[str, list[float]]:
        """Sorted list prices of each category's products."""
        out: dict[str, list[float]] = defaultdict(list)
        with self._sessions() as session:
            for category, price in session.execute(
                    select(Product.category_key, Product.list_price)
                    .where(Product.list_price.is_not(None))):
                out[category].append(float(price))
        return {c: sorted(v) for c, v in out.items()}

    def sales_by_category(self) -> list[tuple[str, float]]:
        """Units sold per category (orders not cancelled)."""
        with self._sessions() as session:
            rows = session.execute(
                select(Product.category_key, func.sum(OrderLine.quantity))
                .join(OrderLine, OrderLine.product_sku == Product.sku)
                .join(Order, Order.number == OrderLine.order_number)
                .where(Order.status != "cancelled").group_by(Product.category_key))
            return [(c, float(n or 0)) for c, n in rows]

    def units_ordered(self, pairs: Iterable[tuple[str, str, dt.datetime]], *, days: int
                      ) -> dict[tuple[str, str, dt.datetime], int]:
        """Units of ``sku`` that ``customer`` ordered within ``days`` after each time.

        Args:
            pairs: ``(customer_id, sku, quoted_at)`` triples.
            days: Attribution window.
        """
        wanted = list(pairs)
        customers = {c for c, _, _ in wanted}
        if not customers:
            return {}
        lines: dict[tuple[str, str], list[tuple[dt.datetime, int]]] = defaultdict(list)
        with self._sessions() as session:
            for customer, sku, placed, qty in session.execute(
                    select(Order.customer_id, OrderLine.product_sku, Order.placed_at,
                           OrderLine.quantity)
                    .join(OrderLine, OrderLine.order_number == Order.number)
                    .where(Order.customer_id.in_(customers), Order.status != "cancelled")):
                lines[(customer, sku)].append((placed, int(qty)))
        window = dt.timedelta(days=days)
        return {(c, s, t): sum(q for when, q in lines.get((c, s), ()) if t <= when <= t + window)
                for c, s, t in wanted}
