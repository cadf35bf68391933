"""What a price decision may depend on, and the feature vector the policies see.

Personal attributes (the customer's RFM segment and price sensitivity) enter
the vector only when the configuration names them; otherwise their features
are zero for everyone, so two customers who differ only in them get the same
vector and therefore the same price.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from pricing.config import PERSONAL_ATTRIBUTES
from pricing.errors import ConfigError

#: RFM segments, in the order of their one-hot features.
SEGMENTS = ("champions", "loyal", "potential", "new", "at_risk", "hibernating")
BRAND_BUCKETS = 4
PEAK_MONTHS = frozenset({9, 10, 11, 12})


@dataclass(frozen=True)
class Context:
    """One price decision's circumstances.

    Attributes:
        category: Product category key.
        brand: Brand key, if any.
        weekly_sales: Units sold per week recently (historical sales).
        stock: Units in stock.
        competitor_ratio: Competitor's price divided by our list price, when known.
        segment: Customer's RFM segment (one of :data:`SEGMENTS`), when known.
        sensitivity: Customer's price sensitivity in [0, 1], when known.
        when: Time of the decision (weekday and season).
        promotion: Whether a promotion period is running.
        margin: The product's margin at list price, ``1 - cost / list_price``.
    """

    category: str
    brand: str | None = None
    weekly_sales: float = 0.0
    stock: int = 0
    competitor_ratio: float | None = None
    segment: str | None = None
    sensitivity: float | None = None
    when: dt.datetime | None = None
    promotion: bool = False
    margin: float | None = None

    def personal(self, allowed: Sequence[str]) -> Context:
        """This context with every personal attribute not in ``allowed`` removed."""
        return Context(**{**asdict(self),
                          **{a: None for a in PERSONAL_ATTRIBUTES if a not in allowed}})

    def cell(self) -> str:
        """The audience this price applies to: ``""`` (everyone: the published price) or
        e.g. ``"sensitivity=high"`` (a customer the policy may give a lower price)."""
        parts = []
        if self.segment is not None:
            parts.append(f"segment={self.segment}")
        if self.sensitivity is not None:
            parts.append(f"sensitivity={'high' if self.sensitivity >= 0.5 else 'low'}")
        return ",".join(parts)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Context:
        """Rebuild a context saved with :meth:`as_record` (unknown keys are ignored)."""
        fields = {k: v for k, v in record.items() if k in cls.__dataclass_fields__}
        when = fields.get("when")
        fields["when"] = dt.datetime.fromisoformat(when) if isinstance(when, str) else None
        return cls(**fields)

    def as_record(self) -> dict[str, Any]:
        """JSON-ready form for the audit log."""
        record = asdict(self)
        record["when"] = self.when.isoformat() if self.when else None
        return record


class Featurizer:
    """Turns a :class:`Context` into the policies' feature vector.

    Args:
        categories: The categories with a feature of their own (others share one).
        personalise: Personal attributes allowed to reach the vector.
    """

    def __init__(self, *, categories: Sequence[str], personalise: Sequence[str] = ()) -> None:
        if bad := [a for a in personalise if a not in PERSONAL_ATTRIBUTES]:
            raise ConfigError(f"unknown personal attribute(s): {', '.join(bad)}")
        self.categories = tuple(categories)
        self.personalise = tuple(personalise)
        self._index = {c: i for i, c in enumerate(self.categories)}
        self._k = len(self.categories) + 1
        cats = (*self.categories, "other")
        self.names = ([f"{t}cat={c}" for t in ("", "margin*", "sensitivity*",
                                               "sensitivity*margin*") for c in cats]
                      + [f"brand#{i}" for i in range(BRAND_BUCKETS)]
                      + ["log_sales", "low_stock", "competitor_known", "competitor_gap",
                         "weekend", "peak_season", "promotion"]
                      + [f"segment={s}" for s in SEGMENTS])
        self.dim = len(self.names)

    @property
    def margin_columns(self) -> tuple[int, int]:
        """Columns whose sum is the context's margin (one is set, the others are 0)."""
        return self._k, 2 * self._k

    def __call__(self, context: Context) -> np.ndarray:
        """The feature vector of ``context`` (personal attributes filtered first)."""
        c = context.personal(self.personalise)
        x = np.zeros(self.dim)
        k = self._k
        cat = self._index.get(c.category, k - 1)
        margin = 0.0 if c.margin is None else float(np.clip(c.margin, -1.0, 1.0))
        sensitivity = 0.0 if c.sensitivity is None else float(np.clip(c.sensitivity, 0.0, 1.0))
        # per-category intercept and margin slope, each also scaled by sensitivity: a
        # linear model over these is exact when demand depends on category and group
        x[cat] = 1.0
        x[k + cat] = margin
        x[2 * k + cat] = sensitivity
        x[3 * k + cat] = sensitivity * margin
        o = 4 * k
        if c.brand:
            bucket = int(hashlib.blake2b(c.brand.encode(), digest_size=2).hexdigest(), 16)
            x[o + bucket % BRAND_BUCKETS] = 1.0
        o += BRAND_BUCKETS
        x[o] = math.log1p(max(c.weekly_sales, 0.0)) / 5.0
        x[o + 1] = 1.0 if c.stock <= 5 else 0.0
        if c.competitor_ratio is not None and math.isfinite(c.competitor_ratio):
            x[o + 2] = 1.0
            x[o + 3] = float(np.clip(c.competitor_ratio - 1.0, -0.5, 0.5))
        if c.when is not None:
            x[o + 4] = 1.0 if c.when.weekday() >= 5 else 0.0
            x[o + 5] = 1.0 if c.when.month in PEAK_MONTHS else 0.0
        x[o + 6] = 1.0 if c.promotion else 0.0
        o += 7
        if c.segment in SEGMENTS:
            x[o + SEGMENTS.index(c.segment)] = 1.0
        return x
