"""Plain records a catalog is exported from.

Any catalog source (the demo shop, a CSV or JSON Lines import) fills these;
the graph code depends on nothing else. Chinese texts are optional: a catalog
that has none is answered with its English names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True)
class CategoryRecord:
    """A category with labels and an optional parent."""

    key: str
    name_en: str
    name_zh: str | None = None
    parent_key: str | None = None
    alt_en: tuple[str, ...] = ()
    alt_zh: tuple[str, ...] = ()


@dataclass(frozen=True)
class ColorRecord:
    """A colour concept: English key, Chinese label and other English words for it."""

    key: str
    name_zh: str | None = None
    alt_en: tuple[str, ...] = ()


@dataclass(frozen=True)
class BrandRecord:
    """A brand with its names."""

    key: str
    name_en: str
    name_zh: str | None = None


@dataclass(frozen=True)
class ProductRecord:
    """One sellable product variant.

    ``prices`` maps a currency code to the list price in that currency, or to
    ``None`` for a product sold at a price on request (its offer has no price);
    the shop's cost price is deliberately not part of the public graph.
    ``available`` is false for products the shop no longer sells.
    """

    sku: str
    group_id: str
    model_en: str
    name_en: str
    category_key: str
    prices: dict[str, Decimal | None]
    stock: int
    model_zh: str | None = None
    name_zh: str | None = None
    description_en: str | None = None
    description_zh: str | None = None
    brand_key: str | None = None
    color: str | None = None
    color_zh: str | None = None
    material: str | None = None
    material_zh: str | None = None
    size: str | None = None
    capacity: str | None = None
    image: str | None = None
    available: bool = True
    attributes: tuple[tuple[str, str], ...] = ()
    accessory_for: tuple[str, ...] = field(default=())
