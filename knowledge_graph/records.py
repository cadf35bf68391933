"""Plain records a catalog is exported from.

Any catalog source (the demo shop, a CSV import) fills these; the graph code
depends on nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True)
class CategoryRecord:
    """A category with bilingual labels and an optional parent."""

    key: str
    name_en: str
    name_zh: str
    parent_key: str | None = None
    alt_en: tuple[str, ...] = ()
    alt_zh: tuple[str, ...] = ()


@dataclass(frozen=True)
class ColorRecord:
    """A colour concept: English key, Chinese label and other English words for it."""

    key: str
    name_zh: str
    alt_en: tuple[str, ...] = ()


@dataclass(frozen=True)
class BrandRecord:
    """A brand with bilingual names."""

    key: str
    name_en: str
    name_zh: str


@dataclass(frozen=True)
class ProductRecord:
    """One sellable product variant.

    ``prices`` maps a currency code to the list price in that currency; the
    shop's cost price is deliberately not part of the public graph.
    """

    sku: str
    group_id: str
    model_en: str
    model_zh: str
    name_en: str
    name_zh: str
    description_en: str
    description_zh: str
    category_key: str
    brand_key: str
    prices: dict[str, Decimal]
    stock: int
    color: str | None = None
    color_zh: str | None = None
    material: str | None = None
    material_zh: str | None = None
    size: str | None = None
    capacity: str | None = None
    accessory_for: tuple[str, ...] = field(default=())
