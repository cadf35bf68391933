"""Read a shop's catalog file (CSV or JSON Lines) through a mapping file.

:func:`plan_import` reads and checks every row and returns an
:class:`ImportPlan`: the products, categories and brands to import, and the
rows it rejected with their line numbers and reasons. It touches no database
and no graph; applying a plan is the caller's job (``python -m knowledge_graph
import`` does it atomically).

A mapping file (YAML) says which column holds what::

    format: csv                # or jsonl
    encoding: utf-8
    columns:                   # id, name and category are required
      id: StockCode
      name: Description
      category: Category       # "Parent > Child" builds a hierarchy
      price: UnitPrice         # without a price column: "price on request" products
      stock: Stock             # optional columns: name_zh, description,
                               # description_zh, brand, currency, color,
                               # material, size, capacity, image, group,
                               # accessory_for (ids separated by "|")
    defaults:
      currency: GBP
      stock: 100
    attributes:                # free attributes, shown as schema:PropertyValue
      units_sold: UnitsSold
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from knowledge_graph.errors import KnowledgeGraphError
from knowledge_graph.records import BrandRecord, CategoryRecord, ProductRecord

REQUIRED = ("id", "name", "category")
OPTIONAL = ("price", "name_zh", "description", "description_zh", "brand", "currency", "stock",
            "color", "material", "size", "capacity", "image", "group", "accessory_for")
MAX_ID = 64
MAX_NAME = 255
MAX_TEXT = 5000
MAX_STOCK = 10**9
CURRENCY = re.compile(r"^[A-Z]{3}$")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2060\ufeff]")


class CatalogImportError(KnowledgeGraphError):
    """The file or the mapping cannot be imported at all (nothing is changed)."""


@dataclass(frozen=True)
class Mapping:
    """How to read one catalog file.

    Attributes:
        columns: Field name (``id``, ``name``, ...) to column name (CSV header or
            JSON key).
        defaults: Values for fields whose column is missing or empty.
        attributes: Free attributes (``schema:PropertyValue``): attribute name to
            column name.
        format: ``csv`` or ``jsonl``.
        encoding: Text encoding of the file.
        delimiter: CSV field delimiter.
        category_separator: Separates levels in a category path.
        list_separator: Separates ids in ``accessory_for``.
        max_price: Prices above this are rejected as absurd.
    """

    columns: dict[str, str]
    defaults: dict[str, Any] = field(default_factory=dict)
    attributes: dict[str, str] = field(default_factory=dict)
    format: str = "csv"
    encoding: str = "utf-8"
    delimiter: str = ","
    category_separator: str = ">"
    list_separator: str = "|"
    max_price: Decimal = Decimal("1000000")

    @classmethod
    def load(cls, path: Path) -> Mapping:
        """Read and check a mapping file.

        Raises:
            CatalogImportError: If the file is missing, not YAML, or incomplete.
        """
        try:
            raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise CatalogImportError(f"cannot read mapping {path}: {exc}") from exc
        if not isinstance(raw, dict) or not isinstance(raw.get("columns"), dict):
            raise CatalogImportError(f"mapping {path} needs a 'columns' section")
        columns = {str(k): str(v) for k, v in raw["columns"].items() if v}
        unknown = set(columns) - set(REQUIRED) - set(OPTIONAL)
        if unknown:
            raise CatalogImportError(f"mapping {path}: unknown fields {sorted(unknown)}")
        missing = [f for f in REQUIRED if f not in columns]
        if missing:
            raise CatalogImportError(f"mapping {path}: no column given for {missing}")
        fmt = str(raw.get("format", "csv"))
        if fmt not in ("csv", "jsonl"):
            raise CatalogImportError(f"mapping {path}: format must be csv or jsonl")
        attributes = raw.get("attributes") or {}
        if not isinstance(attributes, dict):
            raise CatalogImportError(f"mapping {path}: 'attributes' maps names to columns")
        return cls(
            columns=columns,
            defaults=dict(raw.get("defaults") or {}),
            attributes={str(k): str(v) for k, v in attributes.items() if v},
            format=fmt,
            encoding=str(raw.get("encoding", "utf-8")),
            delimiter=str(raw.get("delimiter", ",")),
            category_separator=str(raw.get("category_separator", ">")),
            list_separator=str(raw.get("list_separator", "|")),
            max_price=Decimal(str(raw.get("max_price", "1000000"))),
        )


@dataclass(frozen=True)
class Rejection:
    """A row that was not imported, and why."""

    line: int
    sku: str | None
    reason: str


@dataclass(frozen=True)
class ImportPlan:
    """What an import would write."""

    products: tuple[ProductRecord, ...]
    categories: tuple[CategoryRecord, ...]
    brands: tuple[BrandRecord, ...]
    rejected: tuple[Rejection, ...]
    rows: int
    warnings: tuple[Rejection, ...] = ()


class RowError(ValueError):
    """One row is invalid; the message says why."""


def key_for(text: str) -> str:
    """A stable ASCII key for a category or brand name (with a digest of the name
    when it is long or mostly non-Latin)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")
    if slug and len(slug) <= 48 and len(slug) * 2 >= len(text.strip()):
        return slug
    # long or mostly non-Latin names: a prefix of the slug plus a digest of the whole,
    # so that names differing only past the cut get different keys
    digest = hashlib.sha1(text.strip().encode("utf-8")).hexdigest()[:10]
    return f"{slug[:40].rstrip('_')}_{digest}" if slug else f"k_{digest}"


def clean(value: Any, limit: int = MAX_TEXT) -> str | None:
    """Text of a cell: control characters removed, whitespace trimmed, ``None`` if empty.

    Raises:
        RowError: If the text is longer than ``limit``.
    """
    if value is None:
        return None
    text = CONTROL.sub("", unicodedata.normalize("NFC", str(value))).strip()
    if len(text) > limit:
        raise RowError(f"text longer than {limit} characters")
    return text or None


def _rows(path: Path, mapping: Mapping) -> Iterator[tuple[int, dict[str, Any] | None, str]]:
    """Yield ``(line number, row or None, error)`` for every data row."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise CatalogImportError(f"cannot read {path}: {exc}") from exc
    try:
        text = data.decode(mapping.encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        line = data[: getattr(exc, "start", 0)].count(b"\n") + 1
        raise CatalogImportError(
            f"{path} is not valid {mapping.encoding} text (first bad byte on line {line}); "
            "set 'encoding' in the mapping") from exc
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise CatalogImportError(f"{path} is empty")
    if mapping.format == "jsonl":
        for number, json_line in enumerate(text.splitlines(), start=1):
            if not json_line.strip():
                continue
            try:
                row = json.loads(json_line)
            except ValueError:
                yield number, None, "not valid JSON"
                continue
            if not isinstance(row, dict):
                yield number, None, "not a JSON object"
                continue
            yield number, row, ""
        return
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=mapping.delimiter,
                            strict=True)
    try:
        header = reader.fieldnames or []
    except csv.Error as exc:
        raise CatalogImportError(f"{path}: malformed CSV header: {exc}") from exc
    wanted = {mapping.columns[f] for f in (*REQUIRED, "price") if f in mapping.columns}
    missing = sorted(wanted - set(header))
    if missing:
        raise CatalogImportError(
            f"{path}: required column(s) {missing} not in the header {header[:20]}")
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise CatalogImportError(
                f"{path}: malformed CSV near line {reader.line_num}: {exc}") from exc
        if None in row:  # more cells than header columns
            yield reader.line_num, None, "more cells than columns (check quoting)"
            continue
        yield reader.line_num, row, ""


def _decimal(value: str | None, name: str) -> Decimal | None:
    if value is None:
        return None
    try:
        number = Decimal(value.replace(",", "")) if isinstance(value, str) else Decimal(value)
    except InvalidOperation:
        raise RowError(f"{name} {value!r} is not a number") from None
    if not number.is_finite():
        raise RowError(f"{name} {value!r} is not a number")
    return number


def plan_import(path: Path, mapping: Mapping, *, progress: bool = False) -> ImportPlan:
    """Read and check a catalog file.

    Args:
        path: CSV or JSON Lines file.
        mapping: Which column holds what.
        progress: Show a progress bar.

    Raises:
        CatalogImportError: If the file cannot be read as a whole (encoding,
            missing columns, broken CSV quoting, empty file).
    """
    cols, defaults = mapping.columns, mapping.defaults

    def cell(row: dict[str, Any], name: str, limit: int = MAX_TEXT) -> str | None:
        column = cols.get(name)
        value = clean(row.get(column), limit) if column else None
        if value is None and defaults.get(name) is not None:
            value = clean(defaults[name], limit)
        return value

    categories: dict[str, CategoryRecord] = {}
    brands: dict[str, BrandRecord] = {}
    products: dict[str, tuple[int, ProductRecord]] = {}
    rejected: list[Rejection] = []
    rows = 0
    iterator = _rows(path, mapping)
    if progress:
        from tqdm import tqdm

        iterator = tqdm(iterator, desc=f"import {Path(path).name}", unit="row")
    for line, row, error in iterator:
        rows += 1
        if row is None:
            rejected.append(Rejection(line, None, error))
            continue
        sku = None
        try:
            sku = cell(row, "id", MAX_ID)
            if not sku:
                raise RowError("missing id")
            if sku in products:
                raise RowError(f"duplicate id (first on line {products[sku][0]})")
            name = cell(row, "name", MAX_NAME)
            if not name:
                raise RowError("missing name")
            path_text = cell(row, "category", MAX_NAME)
            if not path_text:
                raise RowError("missing category")
            levels = [p.strip() for p in path_text.split(mapping.category_separator) if p.strip()]
            parent: str | None = None
            for level in levels:
                key = key_for(f"{parent}/{level}" if parent else level)
                categories.setdefault(key, CategoryRecord(key=key, name_en=level,
                                                          parent_key=parent))
                parent = key
            price = _decimal(cell(row, "price", 40), "price")
            if price is None and "price" in cols:
                raise RowError("missing price")
            # price is None when the catalog has no prices: "price on request"
            if price is not None and price < 0:
                raise RowError(f"negative price {price}")
            if price is not None and price > mapping.max_price:
                raise RowError(f"price {price} is above the mapping's max_price "
                               f"{mapping.max_price}")
            currency = (cell(row, "currency", 8) or "").upper()
            if not CURRENCY.match(currency):
                raise RowError(f"currency {currency!r} is not an ISO 4217 code")
            stock_value = _decimal(cell(row, "stock", 40), "stock")
            stock = int(stock_value) if stock_value is not None else 0
            if stock_value is not None and (stock_value != stock or not 0 <= stock <= MAX_STOCK):
                raise RowError(f"stock {stock_value} is not a whole number from 0 to {MAX_STOCK}")
            brand_name = cell(row, "brand", MAX_NAME)
            brand_key = None
            if brand_name:
                brand_key = key_for(brand_name)
                brands.setdefault(brand_key, BrandRecord(key=brand_key, name_en=brand_name))
            accessory_text = cell(row, "accessory_for")
            accessory_for = tuple(a.strip() for a in (accessory_text or "").split(
                mapping.list_separator) if a.strip())
            color = cell(row, "color", 64)
            products[sku] = (line, ProductRecord(
                sku=sku,
                group_id=key_for(cell(row, "group", MAX_NAME) or sku),
                model_en=cell(row, "group", MAX_NAME) or name,
                name_en=name,
                name_zh=cell(row, "name_zh", MAX_NAME),
                description_en=cell(row, "description"),
                description_zh=cell(row, "description_zh"),
                category_key=parent or "",
                brand_key=brand_key,
                prices={currency: price.quantize(Decimal("0.01")) if price is not None
                        else None},
                stock=stock,
                color=color.lower() if color else None,
                material=cell(row, "material", 128),
                size=cell(row, "size", 64),
                capacity=cell(row, "capacity", 64),
                image=cell(row, "image", 1024),
                attributes=tuple((attr, value) for attr, column in mapping.attributes.items()
                                 if (value := clean(row.get(column), 256))),
                accessory_for=accessory_for,
            ))
        except RowError as exc:
            rejected.append(Rejection(line, sku, str(exc)))
    known = set(products)
    final = []
    warnings = []
    for line, record in products.values():
        dangling = [a for a in record.accessory_for if a not in known]
        if dangling:
            warnings.append(Rejection(line, record.sku,
                                      f"accessory_for names unknown id(s) {dangling[:5]}; "
                                      "imported without those links"))
            record = replace(record, accessory_for=tuple(a for a in record.accessory_for
                                                         if a in known))
        final.append(record)
    return ImportPlan(products=tuple(final), categories=tuple(categories.values()),
                      brands=tuple(brands.values()),
                      rejected=tuple(sorted(rejected, key=lambda r: r.line)), rows=rows,
                      warnings=tuple(warnings))
