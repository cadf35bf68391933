"""Derive a product catalog from the UCI Online Retail transactions.

The dataset (Chen et al. 2012) lists 541,909 invoice lines of a UK gift
retailer, not products. A product here is a ``StockCode`` of five digits
with an optional letter suffix (``85123A``); postage, fees, manual
adjustments, bank charges and gift vouchers (``POST``, ``DOT``, ``M``,
``AMAZONFEE``, ``gift_0001_20``, ...) are not products and are left out.
Only sales count: cancellations (invoice numbers starting with ``C``),
returns and adjustments (quantity ≤ 0) and zero prices are skipped.

For each product:

* **name**: its most frequent description;
* **price**: the median unit price over its sales (GBP), rounded to pence;
* **popularity**: units sold, invoices and distinct customers;
* **category**: derived from the name by the keyword rules in
  :data:`CATEGORY_RULES`, first match wins (whole words, upper case); names no
  rule matches go to "Other". The dataset has no categories of its own, so
  these are a transparent heuristic, and :func:`derive_catalog` reports how many
  products each rule caught.

The dataset has no stock levels; the shipped mapping assumes every product is
in stock (``defaults.stock``), which the shop would replace with real figures.
"""

from __future__ import annotations

import csv
import re
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

PRODUCT_CODE = re.compile(r"^\d{5}[A-Za-z]{0,2}$")

# (category path, keywords); first match wins. Order matters: "LUNCH BAG" is a lunch
# item before it is a bag, "CHRISTMAS MUG" is seasonal before it is tableware.
CATEGORY_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Seasonal > Christmas", ("CHRISTMAS", "XMAS", "ADVENT", "SANTA", "REINDEER", "SNOWFLAKE",
                              "SNOWMAN", "BAUBLE", "NATIVITY")),
    ("Seasonal > Easter", ("EASTER", "CHICK", "BUNNY")),
    ("Kitchen > Lunch & picnic", ("LUNCH", "PICNIC", "SNACK BOX")),
    ("Home > Candles & lighting", ("T-LIGHT", "TLIGHT", "T LIGHT", "CANDLE", "CANDLES",
                                   "LANTERN", "NIGHT LIGHT", "LAMP", "LAMPSHADE", "LIGHTS",
                                   "LIGHT", "LIGHTBULB", "INCENSE")),
    ("Bags & accessories > Bags", ("BAG", "BAGS", "TOTE", "SHOPPER", "PURSE", "RUCKSACK",
                                   "BACKPACK", "HANDBAG")),
    ("Bags & accessories > Jewellery & hair", ("NECKLACE", "EARRINGS", "BRACELET", "RING",
                                               "BROOCH", "HAIR", "HAIRCLIP", "CHARM", "BEAD",
                                               "BEADS", "JEWEL", "JEWELLERY", "DIAMANTE")),
    ("Bags & accessories > Fashion", ("HAT", "SCARF", "GLOVES", "UMBRELLA", "SLIPPERS",
                                      "SOCKS", "PONCHO", "FAN", "KEY FOB", "KEYRING",
                                      "PASSPORT COVER", "HAND WARMER")),
    ("Kitchen > Baking", ("CAKE", "CAKES", "BAKING", "CUPCAKE", "MUFFIN", "COOKIE", "BISCUIT",
                          "PASTRY", "CAKESTAND", "RECIPE", "JELLY MOULD")),
    ("Kitchen > Tableware", ("MUG", "MUGS", "CUP", "CUPS", "SAUCER", "PLATE", "PLATES", "BOWL",
                             "BOWLS", "TEACUP", "TEAPOT", "GLASS", "JUG", "BEAKER", "TUMBLER",
                             "CUTLERY", "COASTER", "COASTERS", "PLACEMATS", "TRAY", "DISH")),
    ("Kitchen > Kitchen tools", ("KITCHEN", "APRON", "OVEN", "TEA TOWEL", "TEA TOWELS",
                                 "CHOPPING", "SPOON", "SPOONS", "WHISK", "SCALES", "TIMER")),
    ("Party & gifts > Party", ("PARTY", "BUNTING", "BALLOON", "BALLOONS", "GARLAND", "BANNER",
                               "CONFETTI", "STRAWS", "NAPKINS", "PARASOL")),
    ("Party & gifts > Gift wrap & cards", ("WRAP", "CARD", "CARDS", "GIFT TAG", "GIFT TAGS",
                                           "RIBBON", "RIBBONS", "TISSUE", "ENVELOPE")),
    ("Stationery", ("NOTEBOOK", "PENCIL", "PENCILS", "PEN", "PENS", "ERASER", "STICKER",
                    "STICKERS", "NOTE", "DIARY", "CALENDAR", "JOURNAL", "STATIONERY", "CHALK",
                    "NOTEPAD", "RULER", "TAPE", "HOLE PUNCH", "POSTCARD", "MAGNETS",
                    "MAGNET", "RUBBER", "STAMP", "STAMPS")),
    ("Toys & games", ("TOY", "TOYS", "GAME", "GAMES", "DOLL", "DOLLY", "PUZZLE", "JIGSAW",
                      "SKIPPING", "SPINNING", "DOMINOES", "PLAYHOUSE", "TEDDY", "SOLDIER",
                      "CRAYONS", "COLOURING", "MAGIC", "PLAYING CARDS", "KIT", "FELTCRAFT",
                      "CRAFT", "PAPER CHAIN", "MOBILE")),
    ("Home > Garden", ("GARDEN", "PLANT", "PLANTER", "WATERING", "BIRD", "FEEDER", "HERB",
                       "SEEDS", "FLOWER POT", "POT", "POTS")),
    ("Home > Bath & beauty", ("SOAP", "BATH", "BATHROOM", "TOWEL", "WASHBAG", "MAKE UP",
                              "COSMETIC", "LIP", "NAIL", "SPONGE")),
    ("Home > Storage", ("TIN", "TINS", "JAR", "JARS", "BOX", "BOXES", "STORAGE", "CONTAINER",
                        "BASKET", "CRATE", "DRAWER", "CABINET", "HOOK", "HOOKS", "RACK")),
    ("Home > Decor & textiles", ("SIGN", "FRAME", "CLOCK", "MIRROR", "WALL", "PLAQUE", "ART",
                                 "DECORATION", "ORNAMENT", "HANGING", "DOORSTOP", "DOORMAT",
                                 "CUSHION", "THROW", "BLANKET", "CURTAIN", "QUILT", "HEART",
                                 "WREATH", "VASE", "CHANDELIER", "BUNNIES", "DOILY",
                                 "DOILIES", "FLOWER", "FLOWERS", "ARTIFICIAL", "DOORSIGN",
                                 "BUDDHA", "STAR", "SHELF", "NUMBER TILE", "HOT WATER BOTTLE")),
)
OTHER = "Other"
_PATTERNS = tuple((path, re.compile(r"\b(?:" + "|".join(re.escape(k) for k in keys) + r")\b"))
                  for path, keys in CATEGORY_RULES)


def categorize(name: str) -> str:
    """Category path for a product name, by the first matching keyword rule."""
    upper = name.upper()
    for path, pattern in _PATTERNS:
        if pattern.search(upper):
            return path
    return OTHER


@dataclass(frozen=True)
class DerivedCatalog:
    """The derived products and how they were derived."""

    rows: list[dict[str, str]]
    lines_read: int
    lines_used: int
    codes_excluded: int
    by_category: dict[str, int]

    @property
    def categorised_share(self) -> float:
        """Share of products a keyword rule placed (not "Other")."""
        total = sum(self.by_category.values())
        return 1 - self.by_category.get(OTHER, 0) / total if total else 0.0


def derive_catalog(transactions: Path, *, progress: bool = False) -> DerivedCatalog:
    """Aggregate the transactions file into one row per product.

    Returns:
        Rows with ``sku``, ``name``, ``category``, ``price``, ``currency``,
        ``units_sold``, ``invoices`` and ``customers``.
    """
    names: dict[str, Counter[str]] = defaultdict(Counter)
    prices: dict[str, list[float]] = defaultdict(list)
    units: Counter[str] = Counter()
    invoices: dict[str, set[str]] = defaultdict(set)
    customers: dict[str, set[str]] = defaultdict(set)
    excluded: set[str] = set()
    read = used = 0
    with Path(transactions).open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        rows = reader
        if progress:
            from tqdm import tqdm

            rows = tqdm(reader, desc="online retail: transactions", unit=" lines",
                        unit_scale=True)
        for row in rows:
            read += 1
            code = (row["StockCode"] or "").strip().upper()
            if not PRODUCT_CODE.match(code):
                excluded.add(code)
                continue
            try:
                quantity, price = int(row["Quantity"]), float(row["UnitPrice"])
            except ValueError:
                continue
            if row["InvoiceNo"].startswith("C") or quantity <= 0 or price <= 0:
                continue
            used += 1
            description = (row["Description"] or "").strip()
            if description:
                names[code][description] += 1
            prices[code].append(price)
            units[code] += quantity
            invoices[code].add(row["InvoiceNo"])
            if row.get("CustomerID"):
                customers[code].add(row["CustomerID"])
    out: list[dict[str, str]] = []
    by_category: Counter[str] = Counter()
    for code in sorted(prices):
        if not names[code]:
            continue
        name = names[code].most_common(1)[0][0]
        category = categorize(name)
        by_category[category] += 1
        median = Decimal(str(statistics.median(prices[code]))).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP)
        out.append({"sku": code, "name": name, "category": category, "price": str(median),
                    "currency": "GBP", "units_sold": str(units[code]),
                    "invoices": str(len(invoices[code])),
                    "customers": str(len(customers[code]))})
    return DerivedCatalog(rows=out, lines_read=read, lines_used=used,
                          codes_excluded=len(excluded), by_category=dict(by_category))


def write_catalog(catalog: DerivedCatalog, path: Path) -> None:
    """Write the derived rows as a CSV file for the importer."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fields = ["sku", "name", "category", "price", "currency", "units_sold", "invoices",
              "customers"]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(catalog.rows)
