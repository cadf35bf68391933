"""One price per product per conversation, checked from what the customer read.

A whole conversation's replies (texts and product cards) are read line by line
as a customer reads them: each line naming one product and stating amounts
(``$69.99``, ``¥1,299``) says what that product costs. Two rules:

- **never above the shop's own price**: no amount stated for a product is above
  what the storefront shows for it today (its published price, in that
  currency: ``price_states`` over the catalog's list prices);
- **one price**: a product keeps the first price it was shown at, in that
  currency, unless a line states why it changes (a personal price "for you
  today", a coupon, a negotiated offer); lines stating such a reason may name a
  second price (the coupon's, the one it replaces).

Products are recognised by their model names (English and Chinese), with the
capacity where the replies name one ("Huawei Enjoy 70 256GB"); a name whose
variants sell at different prices (a model named without its capacity) is only
held to the first rule.

Used by ``make eval-conversations`` (every conversation) and by the end-to-end
price tests.
"""

from __future__ import annotations

import re
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from pricing.engine import at_ratio

MONEY = re.compile(r"([$¥€£])\s?(\d[\d,]*(?:\.\d+)?)")
SIGNS = {"$": "USD", "¥": "CNY", "€": "EUR", "£": "GBP"}
#: a line that states why a price differs: a personal price, a coupon, an offer
STATED = re.compile(r"for you today|coupon|instead of|best offer|with code|\bcode SAVE-|"
                    r"when we spoke earlier|"
                    r"给您的价格|已经给您优惠|优惠码|优惠券|代替|原价|标价|最低价|价格每天最多调整一次")
#: a stated change that holds for the rest of the conversation (the customer's own price)
PERSONAL = re.compile(r"for you today|给您的价格|已经给您优惠")
CENT = Decimal("0.011")


@dataclass(frozen=True)
class Mention:
    """A product named in a reply: its shown name and the SKUs it can be."""

    key: str
    skus: tuple[str, ...]


@dataclass
class PriceBook:
    """The shop's products, local list prices and today's published prices (read once)."""

    db: sqlite3.Connection
    models: dict[str, list[sqlite3.Row]] = field(default_factory=dict)
    local: dict[tuple[str, str], Decimal] = field(default_factory=dict)
    ratios: dict[str, float] = field(default_factory=dict)
    pattern: re.Pattern[str] | None = None

    @classmethod
    def open(cls, data_dir: Path) -> PriceBook:
        db = sqlite3.connect(data_dir / "shop.db", check_same_thread=False)
        db.row_factory = sqlite3.Row
        book = cls(db)
        book.refresh()
        return book

    def refresh(self) -> None:
        """Read the catalog and today's published prices again."""
        models: dict[str, list[sqlite3.Row]] = defaultdict(list)
        for row in self.db.execute("select sku, model_en, model_zh, color, capacity, "
                                   "list_price, currency from products"):
            for name in (row["model_en"], row["model_zh"]):
                if name:
                    models[name].append(row)
                    if row["capacity"]:  # "Huawei Enjoy 70 256GB": one price again
                        models[f"{name} {row['capacity']}"].append(row)
            if row["list_price"] is not None:
                self.local[(row["sku"], row["currency"])] = Decimal(str(row["list_price"]))
        for sku, currency, amount in self.db.execute(
                "select product_sku, currency, amount from local_prices"):
            self.local[(sku, currency)] = Decimal(str(amount))
        try:
            rows = self.db.execute("select sku, price, list_price from price_states "
                                   "where cell = '' and decided_at is not null").fetchall()
        except sqlite3.OperationalError:  # nothing published yet
            rows = []
        self.ratios = {r[0]: r[1] / r[2] for r in rows if r[2]}
        self.models = dict(models)
        names = sorted(self.models, key=len, reverse=True)
        self.pattern = re.compile("|".join(re.escape(n) for n in names)) if names else None

    def storefront(self, sku: str, currency: str) -> Decimal | None:
        """What the storefront shows for ``sku`` today in ``currency``."""
        amount = self.local.get((sku, currency))
        return None if amount is None else at_ratio(amount, currency,
                                                    self.ratios.get(sku, 1.0))

    def mentions(self, line: str) -> list[Mention]:
        """The products a line names, in order (by model name: the colour and size the
        replies may add rarely change a price, and where they do the name is ambiguous
        and held to the first rule only)."""
        if self.pattern is None:
            return []
        return [Mention(m.group(0), tuple(sorted({r["sku"] for r in self.models[m.group(0)]})))
                for m in self.pattern.finditer(line)]

    def one_price(self, mention: Mention, currency: str) -> bool:
        """Whether every variant a name can be sells at the same list price."""
        return len({self.local.get((s, currency)) for s in mention.skus}) == 1


def _amounts(line: str) -> list[tuple[str, Decimal]]:
    return [(SIGNS[m.group(1)], Decimal(m.group(2).replace(",", ""))) for m in MONEY.finditer(line)]


def card_lines(custom: Any) -> list[str]:
    """Product cards of a reply's custom payload as the lines a customer reads."""
    cards = custom.get("cards") if isinstance(custom, dict) else None
    return [f"{c.get('title', '')} — {c.get('price', '')}" for c in cards or []
            if isinstance(c, dict)]


def check(book: PriceBook, replies: Iterable[str]) -> list[str]:
    """Problems with the prices of one conversation's replies, in order (empty: none)."""
    return list(_check(book, replies))


def _check(book: PriceBook, replies: Iterable[str]) -> Iterator[str]:
    current: dict[tuple[str, str], Decimal] = {}
    compared: list[Mention] = []
    for reply in replies:
        for line in reply.splitlines():
            named = book.mentions(line)
            amounts = _amounts(line)
            if " vs " in line and len(named) >= 2:  # a comparison's header line
                compared = named
                continue
            if not amounts:
                continue
            if not named and "|" in line and compared and len(amounts) == len(compared):
                pairs = list(zip(compared, amounts, strict=True))  # a comparison's price row
                stated = personal = False
            elif len({m.key for m in named}) == 1:
                pairs = [(named[0], a) for a in amounts]
                stated, personal = bool(STATED.search(line)), bool(PERSONAL.search(line))
            else:
                continue
            for mention, (currency, amount) in pairs:
                shop = [p for p in (book.storefront(s, currency) for s in mention.skus)
                        if p is not None]
                if shop and amount > max(shop) + CENT:
                    yield (f"{mention.key} shown at {amount} {currency}, above the shop's own "
                           f"price {max(shop)}: {line.strip()[:120]!r}")
            if stated and not personal:
                continue  # a coupon or an offer: a second price, said why
            for mention, (currency, amount) in pairs if len(pairs) > 1 and not named \
                    else pairs[:1]:
                key = (mention.key, currency)
                if personal:
                    current[key] = amount
                    continue
                seen = current.setdefault(key, amount)
                if abs(seen - amount) > CENT and book.one_price(mention, currency):
                    yield (f"{mention.key} shown at {seen} then at {amount} {currency} with "
                           f"no reason given: {line.strip()[:120]!r}")
