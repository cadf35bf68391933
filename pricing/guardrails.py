"""The shop's price rules, enforced outside (after) the policy.

Precedence, strongest first: never below cost plus the minimum margin; never
above the ceiling; at most one change per product (and audience cell) per
period; a bounded step from the previous price. A policy may propose anything;
what leaves this module always obeys the rules that can be met together, and
:func:`violations` checks a price independently (tests and the benchmark use it).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from pricing.config import PricingConfig

FLOOR = "floor"              # raised to cost + minimum margin
CEILING = "ceiling"          # lowered to the ceiling
STEP = "step"                # moved less than proposed: bounded step
PERIOD = "period"            # kept the previous price: already changed this period
NO_COST = "no_cost"          # no cost known: list price quoted
CONFLICT = "floor_above_ceiling"  # cost + margin is above the ceiling: the floor wins

_CENT = Decimal("0.01")


@dataclass(frozen=True)
class PriceState:
    """The price a product (cell) was last sold at, and when it last changed.

    Attributes:
        price: The price (base currency).
        changed_at: When it last changed (for a published price: the start of the
            period it was decided for).
        decided_at: Start of the period of the latest decision, which may have kept
            the price; ``None`` for states written before decisions were recorded.
        list_price: The catalog price it was decided against (a published price's
            ratio to it is what other currencies and a changed list price follow).
    """

    price: float
    changed_at: dt.datetime
    decided_at: dt.datetime | None = None
    list_price: float | None = None


@dataclass(frozen=True)
class Guarded:
    """A price after the rules.

    Attributes:
        price: The price to quote, in the product's currency, rounded to cents.
        adjustments: What the rules changed (constants of this module), in order.
    """

    price: float
    adjustments: tuple[str, ...] = ()


class Guardrails:
    """Applies :class:`~pricing.config.PricingConfig`'s limits to proposed prices."""

    def __init__(self, config: PricingConfig) -> None:
        self.config = config

    def floor(self, cost: float) -> float:
        """Lowest allowed price for ``cost`` (rounded up to the cent)."""
        return _round(cost * (1.0 + self.config.min_margin), ROUND_CEILING)

    def ceiling(self, list_price: float) -> float:
        """Highest allowed price for ``list_price`` (rounded down to the cent)."""
        return _round(list_price * self.config.ceiling, ROUND_FLOOR)

    def apply(self, proposed: float, *, list_price: float, cost: float | None,
              previous: PriceState | None = None, now: dt.datetime | None = None) -> Guarded:
        """Bring ``proposed`` within the rules.

        Args:
            proposed: The policy's price.
            list_price: The catalog's list price.
            cost: Unit cost; ``None`` when unknown (the list price is quoted).
            previous: The cell's current price and when it last changed.
            now: Time of the decision (needed with ``previous``).
        """
        if cost is None or not math.isfinite(cost) or cost < 0:
            return Guarded(_round(list_price, ROUND_FLOOR), (NO_COST,))
        notes: list[str] = []
        price = proposed
        if previous is not None:
            step = self.config.max_step * list_price
            if abs(price - previous.price) > step + 1e-9:
                price = previous.price + math.copysign(step, price - previous.price)
                notes.append(STEP)
            same = abs(price - previous.price) < 0.005
            if not same and now is not None and \
                    now - previous.changed_at < dt.timedelta(hours=self.config.period_hours):
                price = previous.price
                notes.append(PERIOD)
        top, bottom = self.ceiling(list_price), self.floor(cost)
        if price > top:
            price = top
            notes.append(CEILING)
        if price < bottom:
            price = bottom
            notes.append(FLOOR if bottom <= top else CONFLICT)
        # the floor and the ceiling are whole cents already (rounded up and down)
        return Guarded(_round(price, None), tuple(notes))


def violations(price: float, *, config: PricingConfig, list_price: float, cost: float | None,
               previous: PriceState | None = None, now: dt.datetime | None = None) -> list[str]:
    """Which rules ``price`` breaks (empty when none); independent of :class:`Guardrails`."""
    broken = []
    if cost is None:
        return [] if abs(price - list_price) < 0.006 else [NO_COST]
    floor = cost * (1.0 + config.min_margin)
    ceiling = list_price * config.ceiling
    if price < floor - 0.005:
        broken.append(FLOOR)
    if price > ceiling + 0.005 and floor <= ceiling:
        broken.append(CEILING)
    if previous is not None:
        # the step and period rules give way to the floor and the ceiling (a cost went
        # up, the ceiling came down), so they bind only where they can be kept
        step = config.max_step * list_price
        # prices are whole cents: the floor rounds up, the ceiling down
        low, high = _round(floor, ROUND_CEILING) - 1e-9, _round(ceiling, ROUND_FLOOR) + 1e-9
        reachable = previous.price - step <= high and previous.price + step >= low
        moved = abs(price - previous.price)
        if reachable and moved > step + 0.011:
            broken.append(STEP)
        if low <= previous.price <= high and moved > 0.005 and now is not None and \
                now - previous.changed_at < dt.timedelta(hours=config.period_hours):
            broken.append(PERIOD)
    return broken


def _round(value: float, mode: str | None) -> float:
    """``value`` to the cent: ``mode`` (``ROUND_CEILING``, ``ROUND_FLOOR``) or, with
    ``None``, half to even."""
    d = Decimal(f"{float(value):.6f}")  # 92 * 1.05 is 96.60000000000001: not 96.61
    return float(d.quantize(_CENT, rounding=mode))
