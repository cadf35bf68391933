"""Coupon budgets: which segments get coupons, and how many, within a budget.

Each segment has a coupon discount and an expected *uplift*: the extra chance
that a customer of that segment buys because of the coupon. A coupon costs its
discount on an average order when it is redeemed, and earns the margin of the
orders it causes. :func:`allocate` gives coupons to the segments with the best
return on the budget first (a greedy knapsack over whole segments, then a
partial last one), never to a segment where a coupon loses money, and never
more than the segment has customers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from pricing.context import SEGMENTS
from pricing.errors import ConfigError

#: Default coupon discount per segment (share of price).
DEFAULT_DISCOUNTS: dict[str, float] = {
    "champions": 0.0, "loyal": 0.05, "potential": 0.05, "new": 0.05, "at_risk": 0.10,
    "hibernating": 0.10}
#: Default expected uplift per segment (extra purchase probability from a coupon).
DEFAULT_UPLIFT: dict[str, float] = {
    "champions": 0.01, "loyal": 0.03, "potential": 0.06, "new": 0.08, "at_risk": 0.12,
    "hibernating": 0.06}


@dataclass(frozen=True)
class SegmentStats:
    """What a segment looks like: its size, order value and margin."""

    customers: int
    order_value: float
    margin: float


@dataclass(frozen=True)
class Allocation:
    """Coupons for one segment.

    Attributes:
        discount: Coupon discount (share of price).
        coupons: How many coupons the segment may receive this period.
        cost: Expected cost of those coupons.
        gain: Expected net profit they bring.
    """

    discount: float
    coupons: int
    cost: float
    gain: float


def parse_shares(text: str, what: str) -> dict[str, float]:
    """Parse ``"at_risk:10,new:5"`` (percent per segment).

    Raises:
        ConfigError: On an unknown segment or a value outside 0-100.
    """
    out: dict[str, float] = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        name, _, raw = part.partition(":")
        if name not in SEGMENTS:
            raise ConfigError(f"{what}: unknown segment {name!r}; choose from "
                              f"{', '.join(SEGMENTS)}")
        try:
            value = float(raw) / 100.0
        except ValueError as exc:
            raise ConfigError(f"{what}: {part!r} is not segment:percent") from exc
        if not 0.0 <= value <= 1.0 or math.isnan(value):
            raise ConfigError(f"{what}: {name} must be between 0 and 100%, got {raw}")
        out[name] = value
    return out


def allocate(stats: Mapping[str, SegmentStats], *, budget: float,
             discounts: Mapping[str, float] | None = None,
             uplift: Mapping[str, float] | None = None) -> dict[str, Allocation]:
    """Coupons per segment within ``budget`` (see the module docstring).

    Args:
        stats: Size, average order value and margin of each segment.
        budget: Money the shop will spend on coupon discounts this period.
        discounts: Coupon discount per segment (default :data:`DEFAULT_DISCOUNTS`).
        uplift: Extra purchase probability per segment (default :data:`DEFAULT_UPLIFT`).

    Raises:
        ConfigError: If the budget is negative or not a number.
    """
    if not budget >= 0 or math.isinf(budget):
        raise ConfigError(f"coupon budget must be a non-negative amount, got {budget!r}")
    discounts = DEFAULT_DISCOUNTS if discounts is None else discounts
    uplift = DEFAULT_UPLIFT if uplift is None else uplift
    options = []
    for name, s in stats.items():
        d, u = discounts.get(name, 0.0), uplift.get(name, 0.0)
        if d <= 0 or s.customers <= 0 or s.order_value <= 0:
            continue
        # a coupon is redeemed by the customers who buy anyway (base) and the uplifted ones;
        # base purchase probability is taken as 0.2, so cost = d * value * (0.2 + u)
        cost = d * s.order_value * (0.2 + u)
        gain = u * s.order_value * (s.margin - d) - 0.2 * d * s.order_value
        if gain > 0:
            options.append((gain / cost, name, cost, gain, d))
    options.sort(reverse=True)
    out: dict[str, Allocation] = {}
    left = budget
    for _roi, name, cost, gain, d in options:
        n = min(stats[name].customers, int(left // cost))
        if n <= 0:
            continue
        out[name] = Allocation(d, n, round(n * cost, 2), round(n * gain, 2))
        left -= n * cost
    return out
