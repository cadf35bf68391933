"""Customer segments from purchase history (RFM) and price sensitivity.

RFM: each customer with orders gets a 1-5 score for *recency* (days since the
last order, fewer is better), *frequency* (orders) and *monetary* value
(spend), by quintile among the shop's customers. The scores map to the usual
named segments (:data:`~pricing.context.SEGMENTS`).

Price sensitivity (0 to 1) is how cheaply a customer tends to buy: for each
line they bought, where the product's list price sits among its category's
list prices (0 = the cheapest, 1 = the dearest), and whether they paid less than
list (a coupon or promotion); sensitivity is ``1 -`` the mean price position,
pulled towards 1 by the share of discounted lines.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from pricing.coupons import SegmentStats


@dataclass(frozen=True)
class Purchase:
    """One order line of a customer's history."""

    customer_id: str
    order: str
    placed_at: dt.datetime
    category: str
    list_price: float
    paid: float
    quantity: int
    cost: float | None = None


@dataclass(frozen=True)
class RFM:
    """A customer's RFM scores and segment."""

    recency: int
    frequency: int
    monetary: int
    segment: str
    orders: int
    spend: float
    days_since: int


def segment_of(r: int, f: int) -> str:
    """The named segment of recency score ``r`` and frequency score ``f`` (1-5)."""
    if r >= 4 and f >= 4:
        return "champions"
    if f >= 4:
        return "loyal" if r >= 3 else "at_risk"
    if r >= 4:
        return "new" if f <= 1 else "potential"
    if r == 3:
        return "potential"
    return "at_risk" if f >= 3 else "hibernating"


def _quintile(values: Sequence[float], value: float) -> int:
    """1-5: the quintile of ``value`` among sorted ``values`` (ties share the higher score)."""
    rank = bisect.bisect_right(values, value) / max(len(values), 1)
    return min(5, max(1, int(np.ceil(rank * 5))))


def rfm(purchases: Iterable[Purchase], *, as_of: dt.datetime) -> dict[str, RFM]:
    """RFM scores and segments of every customer with at least one purchase."""
    orders: dict[str, set[str]] = defaultdict(set)
    spend: dict[str, float] = defaultdict(float)
    last: dict[str, dt.datetime] = {}
    for p in purchases:
        orders[p.customer_id].add(p.order)
        spend[p.customer_id] += p.paid * p.quantity
        last[p.customer_id] = max(last.get(p.customer_id, p.placed_at), p.placed_at)
    days = {c: max((as_of - t).days, 0) for c, t in last.items()}
    # recency: fewer days is better, so score the negated days
    recency = sorted(-d for d in days.values())
    frequency = sorted(len(o) for o in orders.values())
    money = sorted(spend.values())
    out = {}
    for c in orders:
        r = _quintile(recency, -days[c])
        f = _quintile(frequency, len(orders[c]))
        if len(orders[c]) == 1:
            f = 1  # one order is never "frequent", however many customers have one
        m = _quintile(money, spend[c])
        out[c] = RFM(r, f, m, segment_of(r, f), len(orders[c]), round(spend[c], 2), days[c])
    return out


def sensitivity(purchases: Iterable[Purchase],
                category_prices: Mapping[str, Sequence[float]]) -> dict[str, float]:
    """Price sensitivity in [0, 1] of every customer with purchases (see the module docs)."""
    positions: dict[str, list[float]] = defaultdict(list)
    discounted: dict[str, list[float]] = defaultdict(list)
    for p in purchases:
        prices = category_prices.get(p.category) or ()
        if len(prices) > 1:
            below = bisect.bisect_left(prices, p.list_price)
            positions[p.customer_id].append(below / (len(prices) - 1))
        discounted[p.customer_id].append(1.0 if p.paid < p.list_price - 0.005 else 0.0)
    out = {}
    for c, flags in discounted.items():
        position = float(np.mean(positions[c])) if positions[c] else 0.5
        share = float(np.mean(flags))
        out[c] = float(np.clip((1.0 - position) * (1.0 - share) + share, 0.0, 1.0))
    return out


def segment_stats(purchases: Sequence[Purchase], scores: Mapping[str, RFM]
                  ) -> dict[str, SegmentStats]:
    """Size, average order value and margin (where costs are known) of every segment."""
    members: dict[str, list[RFM]] = defaultdict(list)
    for r in scores.values():
        members[r.segment].append(r)
    revenue: dict[str, float] = defaultdict(float)
    costs: dict[str, float] = defaultdict(float)
    for p in purchases:
        if p.cost is not None and p.customer_id in scores:
            seg = scores[p.customer_id].segment
            revenue[seg] += p.paid * p.quantity
            costs[seg] += p.cost * p.quantity
    out = {}
    for seg, rs in members.items():
        value = sum(r.spend for r in rs) / max(sum(r.orders for r in rs), 1)
        margin = 1.0 - costs[seg] / revenue[seg] if revenue[seg] > 0 else 0.0
        out[seg] = SegmentStats(customers=len(rs), order_value=value, margin=margin)
    return out
