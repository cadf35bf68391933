"""Pricing configuration: price actions, reward, guardrail limits, shadow share.

Every value is checked when the configuration is built, so a shop with a
negative margin or a 500% ceiling gets a clear message at start-up instead of
odd prices later.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

from pricing.errors import ConfigError

#: Personal attributes a price may depend on when the shop allows it.
PERSONAL_ATTRIBUTES = ("segment", "sensitivity")


@dataclass(frozen=True)
class Reward:
    """What a price decision earns: profit, plus a weighted sales term, minus a change penalty.

    ``reward = units * (price - cost) + sales_weight * units * list_price
    - change_penalty * |price - previous_price|``.

    Attributes:
        sales_weight: Weight of revenue at list price (0: pure profit).
        change_penalty: Cost of moving the price, per currency unit moved.
    """

    sales_weight: float = 0.1
    change_penalty: float = 0.5

    def __post_init__(self) -> None:
        _check("sales_weight", self.sales_weight, 0.0, 10.0)
        _check("change_penalty", self.change_penalty, 0.0, 1000.0)

    def __call__(self, *, units: float, price: float, cost: float, list_price: float,
                 previous_price: float | None = None) -> float:
        """The reward of selling ``units`` at ``price``."""
        moved = abs(price - previous_price) if previous_price is not None else 0.0
        return (units * (price - cost) + self.sales_weight * units * list_price
                - self.change_penalty * moved)


@dataclass(frozen=True)
class PricingConfig:
    """How prices are chosen and bounded.

    Attributes:
        actions: Price changes relative to list price the policy chooses from
            (e.g. ``-0.1`` is 10% off); must include 0.
        min_margin: Smallest margin over cost a price may have (0.05: cost + 5%).
        ceiling: Highest price as a multiple of list price.
        max_step: Largest change of a product's price from one period to the
            next, relative to list price.
        period_hours: Length of a pricing period; a product's price changes at
            most once per period.
        shadow_share: Share of conversations in shadow mode (policy logged,
            list price quoted).
        personalise: Personal attributes the price may depend on (subset of
            :data:`PERSONAL_ATTRIBUTES`); others are never used.
        max_discount: Deepest coupon or negotiated discount, relative to list price.
        discount: The contextual bandit's forgetting factor per observation (1:
            demand never changes; lower follows shifts faster).
        promotions: Promotion periods, ``(first day, last day)``; a decision on one
            of those days has the promotion feature set.
        reward: The reward the policy learns to maximise.
        concessions_per_customer: Coupons (discounts and haggling together) one
            signed-in customer can get per day, over all conversations.
        concessions_per_client: Coupons one client (network address) can get per
            day, over all its conversations, anonymous or not; new conversations
            therefore cannot farm the coupon budget.
    """

    actions: tuple[float, ...] = (-0.10, -0.05, 0.0, 0.05, 0.10)
    min_margin: float = 0.05
    ceiling: float = 1.25
    max_step: float = 0.10
    period_hours: float = 24.0
    shadow_share: float = 0.0
    personalise: tuple[str, ...] = ("segment", "sensitivity")
    max_discount: float = 0.15
    discount: float = 1.0
    promotions: tuple[tuple[dt.date, dt.date], ...] = ()
    reward: Reward = field(default_factory=Reward)
    concessions_per_customer: int = 2
    concessions_per_client: int = 3

    def __post_init__(self) -> None:
        if not self.actions:
            raise ConfigError("pricing actions are empty: give at least the list price (0)")
        if len(set(self.actions)) != len(self.actions):
            raise ConfigError(f"pricing actions repeat a value: {self.actions}")
        for a in self.actions:
            _check("each pricing action", a, -0.9, 1.0)
        if 0.0 not in self.actions:
            raise ConfigError("pricing actions must include 0 (the list price)")
        if tuple(sorted(self.actions)) != self.actions:
            raise ConfigError(f"pricing actions must be in increasing order: {self.actions}")
        _check("min_margin", self.min_margin, 0.0, 5.0)
        _check("ceiling", self.ceiling, 1.0, 3.0)
        if 1.0 + max(self.actions) > self.ceiling + 1e-9:
            raise ConfigError(f"the largest pricing action ({max(self.actions):+.0%}) is above "
                              f"the ceiling ({self.ceiling:.2f} x list price)")
        _check("max_step", self.max_step, 0.0, 1.0)
        _check("period_hours", self.period_hours, 0.0, 24.0 * 366)
        _check("shadow_share", self.shadow_share, 0.0, 1.0)
        _check("max_discount", self.max_discount, 0.0, 0.9)
        _check("discount", self.discount, 0.9, 1.0)
        for first, last in self.promotions:
            if last < first:
                raise ConfigError(f"promotion period ends before it starts: {first} to {last}")
        if bad := [a for a in self.personalise if a not in PERSONAL_ATTRIBUTES]:
            raise ConfigError(f"cannot personalise on {', '.join(bad)}: "
                              f"choose from {', '.join(PERSONAL_ATTRIBUTES)}")

    def in_promotion(self, when: dt.datetime) -> bool:
        """Whether ``when`` falls in a configured promotion period."""
        return any(first <= when.date() <= last for first, last in self.promotions)

    @property
    def list_action(self) -> int:
        """Index of the list-price action (0%)."""
        return self.actions.index(0.0)


def parse_actions(text: str) -> tuple[float, ...]:
    """Parse ``"-10,-5,0,5,10"`` (percent) into sorted relative changes.

    Raises:
        ConfigError: If a value is not a number.
    """
    try:
        values = [float(p) / 100.0 for p in text.split(",") if p.strip()]
    except ValueError as exc:
        raise ConfigError(f"pricing actions must be percentages like -10,-5,0,5,10; "
                          f"got {text!r}") from exc
    return tuple(sorted(round(v, 6) for v in values))


def parse_promotions(text: str) -> tuple[tuple[dt.date, dt.date], ...]:
    """Parse ``"2026-11-27:2026-11-30,2026-12-20:2026-12-24"`` into date pairs.

    Raises:
        ConfigError: If a period is not ``YYYY-MM-DD:YYYY-MM-DD``.
    """
    periods = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        first, sep, last = part.partition(":")
        try:
            if not sep:
                raise ValueError(part)
            periods.append((dt.date.fromisoformat(first.strip()),
                            dt.date.fromisoformat(last.strip())))
        except ValueError as exc:
            raise ConfigError(f"promotion periods must look like 2026-11-27:2026-11-30, "
                              f"got {part!r}") from exc
    return tuple(periods)


def _check(name: str, value: float, low: float, high: float) -> None:
    if not isinstance(value, (int, float)) or math.isnan(value) or not low <= value <= high:
        raise ConfigError(f"{name} must be between {low:g} and {high:g}, got {value!r}")
