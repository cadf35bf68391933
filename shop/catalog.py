"""Bring the shop's SQL catalog in line with an imported one.

:func:`sync_catalog` adds new products, updates changed ones and marks
products the import no longer lists as unavailable (they are kept: orders
refer to them). It runs inside the caller's transaction, so a failed import
leaves the database as it was.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from shop.models import AccessoryLink, Brand, Category, LocalPrice, Product


class BrandItem(Protocol):
    """A brand to import."""

    @property
    def key(self) -> str: ...
    @property
    def name_en(self) -> str: ...
    @property
    def name_zh(self) -> str | None: ...


class CategoryItem(BrandItem, Protocol):
    """A category to import: a named key with an optional parent."""

    @property
    def parent_key(self) -> str | None: ...


class ProductItem(Protocol):
    """A product to import (``knowledge_graph.records.ProductRecord`` fits)."""

    @property
    def sku(self) -> str: ...
    @property
    def group_id(self) -> str: ...
    @property
    def model_en(self) -> str: ...
    @property
    def model_zh(self) -> str | None: ...
    @property
    def name_en(self) -> str: ...
    @property
    def name_zh(self) -> str | None: ...
    @property
    def description_en(self) -> str | None: ...
    @property
    def description_zh(self) -> str | None: ...
    @property
    def category_key(self) -> str: ...
    @property
    def brand_key(self) -> str | None: ...
    @property
    def prices(self) -> dict[str, Decimal | None]: ...
    @property
    def stock(self) -> int: ...
    @property
    def color(self) -> str | None: ...
    @property
    def material(self) -> str | None: ...
    @property
    def size(self) -> str | None: ...
    @property
    def capacity(self) -> str | None: ...
    @property
    def image(self) -> str | None: ...
    @property
    def accessory_for(self) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class SyncSummary:
    """What a sync changed."""

    added: int
    updated: int
    unchanged: int
    discontinued: int
    categories_added: int
    brands_added: int
    changed: frozenset[str] = frozenset()


FIELDS = ("group_id", "model_en", "model_zh", "name_en", "name_zh", "description_en",
          "description_zh", "category_key", "brand_key", "stock", "color", "material", "size",
          "capacity", "image")


def sync_catalog(
    session: Session,
    *,
    categories: Iterable[CategoryItem],
    brands: Iterable[BrandItem],
    products: Iterable[ProductItem],
) -> SyncSummary:
    """Make the catalog in ``session`` match the imported one.

    Args:
        session: An open session inside a transaction.
        categories: Categories the products use (existing ones are updated).
        brands: Brands the products use.
        products: The full catalog being imported.
    """
    categories_added = brands_added = 0
    for c in categories:
        row = session.get(Category, c.key)
        if row is None:
            session.add(Category(key=c.key, name_en=c.name_en, name_zh=c.name_zh,
                                 parent_key=c.parent_key))
            categories_added += 1
        else:
            row.name_en, row.parent_key = c.name_en, c.parent_key
            row.name_zh = c.name_zh or row.name_zh
    for b in brands:
        brand = session.get(Brand, b.key)
        if brand is None:
            session.add(Brand(key=b.key, name_en=b.name_en, name_zh=b.name_zh))
            brands_added += 1
        else:
            brand.name_en, brand.name_zh = b.name_en, b.name_zh or brand.name_zh
    session.flush()

    existing = {p.sku: p for p in session.scalars(
        select(Product).options(selectinload(Product.prices)))}
    added = updated = unchanged = 0
    changed: set[str] = set()
    seen: set[str] = set()
    links: list[tuple[str, str]] = []
    for item in products:
        seen.add(item.sku)
        links.extend((item.sku, target) for target in item.accessory_for)
        # one currency is the product's list price, any others are local prices
        (currency, price), *others = sorted(item.prices.items())
        values = {name: getattr(item, name) for name in FIELDS}
        local = {cur: amount for cur, amount in others if amount is not None}
        product = existing.get(item.sku)
        if product is None:
            product = Product(sku=item.sku, list_price=price, currency=currency, cost=None,
                              available=True, **values)
            product.prices = [LocalPrice(currency=cur, amount=amount)
                              for cur, amount in local.items()]
            session.add(product)
            added += 1
            changed.add(item.sku)
            continue
        before = ({n: getattr(product, n) for n in FIELDS}, product.list_price,
                  product.currency, product.available,
                  {lp.currency: lp.amount for lp in product.prices})
        for name, value in values.items():
            setattr(product, name, value)
        product.list_price, product.currency, product.available = price, currency, True
        current = {lp.currency: lp for lp in product.prices}
        for cur, amount in local.items():
            if cur in current:
                current[cur].amount = amount
            else:
                product.prices.append(LocalPrice(currency=cur, amount=amount))
        product.prices = [lp for lp in product.prices if lp.currency in local]
        if before == (values, price, currency, True, local):
            unchanged += 1
        else:
            updated += 1
            changed.add(item.sku)
    discontinued = 0
    for sku, old in existing.items():
        if sku not in seen and old.available:
            old.available = False
            discontinued += 1
            changed.add(sku)
    session.flush()
    # accessory links of the imported products are replaced by the import's
    imported = sorted(seen)
    for start in range(0, len(imported), 500):
        batch = imported[start:start + 500]
        for link in session.scalars(select(AccessoryLink).where(
                AccessoryLink.accessory_sku.in_(batch))):
            session.delete(link)
    session.flush()
    for accessory, target in dict.fromkeys(links):
        session.add(AccessoryLink(accessory_sku=accessory, product_sku=target))
    session.flush()
    return SyncSummary(added=added, updated=updated, unchanged=unchanged,
                       discontinued=discontinued, categories_added=categories_added,
                       brands_added=brands_added, changed=frozenset(changed))
