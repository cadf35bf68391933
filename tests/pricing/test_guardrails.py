"""The guardrails hold for every combination of inputs, not just the examples we thought of.

The grid covers cheap and dear products, margins from negative (cost above the
list price) to wide, every price a policy might propose (far below cost to far
above the ceiling), no previous price or one set just now, within or after the
period, and three rule sets. Every output is checked by ``violations``, an
independent statement of the rules.
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from pricing.config import PricingConfig
from pricing.guardrails import (
    CEILING,
    CONFLICT,
    FLOOR,
    NO_COST,
    PERIOD,
    STEP,
    Guarded,
    Guardrails,
    PriceState,
    violations,
)

NOW = dt.datetime(2026, 6, 15, 12, 0)
CONFIGS = [PricingConfig(),
           PricingConfig(min_margin=0.3, ceiling=1.1, max_step=0.02, period_hours=1.0,
                         actions=(-0.1, 0.0, 0.1)),
           PricingConfig(min_margin=0.0, ceiling=2.0, max_step=1.0, period_hours=0.0)]
LIST_PRICES = [0.99, 19.99, 1299.0]
COST_SHARES = [None, 0.0, 0.5, 0.9, 0.97, 1.3]
PROPOSED = [0.0, 0.5, 0.85, 0.9, 0.95, 1.0, 1.04, 1.1, 1.3, 5.0]
PREVIOUS = [None, (0.9, 0.5), (1.0, 30.0), (1.1, 0.1), (0.6, 48.0)]  # (share of list, hours ago)


def _cases():  # type: ignore[no-untyped-def]
    for config, list_price, cost_share, proposed, previous in itertools.product(
            CONFIGS, LIST_PRICES, COST_SHARES, PROPOSED, PREVIOUS):
        cost = None if cost_share is None else round(list_price * cost_share, 2)
        state = None if previous is None else PriceState(
            round(list_price * previous[0], 2), NOW - dt.timedelta(hours=previous[1]))
        yield config, list_price, cost, list_price * proposed, state


def test_no_output_breaks_a_rule_that_can_be_kept() -> None:
    checked = 0
    for config, list_price, cost, proposed, state in _cases():
        out = Guardrails(config).apply(proposed, list_price=list_price, cost=cost,
                                       previous=state, now=NOW)
        broken = violations(out.price, config=config, list_price=list_price, cost=cost,
                            previous=state, now=NOW)
        assert broken == [], (config, list_price, cost, proposed, state, out)
        checked += 1
    assert checked == len(CONFIGS) * len(LIST_PRICES) * len(COST_SHARES) * len(PROPOSED) * \
        len(PREVIOUS)


def test_the_floor_always_wins() -> None:
    for config, list_price, cost, proposed, state in _cases():
        if cost is None:
            continue
        out = Guardrails(config).apply(proposed, list_price=list_price, cost=cost,
                                       previous=state, now=NOW)
        assert out.price >= cost * (1 + config.min_margin) - 0.005


def test_no_cost_quotes_the_list_price_and_says_why() -> None:
    out = Guardrails(PricingConfig()).apply(50.0, list_price=80.0, cost=None)
    assert out.price == 80.0 and out.adjustments == (NO_COST,)


@pytest.mark.parametrize(("proposed", "cost", "expected", "note"), [
    (55.0, 60.0, 63.0, FLOOR),           # below cost + 5%
    (200.0, 10.0, 125.0, CEILING),       # above 1.25 x list
    (90.0, 10.0, 90.0, None),            # fine as it is
    (100.0, 130.0, 136.5, CONFLICT),     # cost + margin above the ceiling: never sell at a loss
])
def test_each_bound_is_reported(proposed: float, cost: float, expected: float,
                                note: str | None) -> None:
    out = Guardrails(PricingConfig()).apply(proposed, list_price=100.0, cost=cost)
    assert out.price == pytest.approx(expected)
    assert out.adjustments == ((note,) if note else ())


def test_one_change_per_period_and_bounded_steps() -> None:
    rails = Guardrails(PricingConfig(max_step=0.05, period_hours=24))
    recent = PriceState(100.0, NOW - dt.timedelta(hours=2))
    kept = rails.apply(90.0, list_price=100.0, cost=50.0, previous=recent, now=NOW)
    assert kept.price == 100.0 and PERIOD in kept.adjustments
    old = PriceState(100.0, NOW - dt.timedelta(hours=30))
    stepped = rails.apply(90.0, list_price=100.0, cost=50.0, previous=old, now=NOW)
    assert stepped.price == 95.0 and stepped.adjustments == (STEP,)


@pytest.mark.parametrize(("price", "cost", "previous", "expected"), [
    (62.0, 60.0, None, [FLOOR]),                          # below cost + 5 %
    (126.0, 10.0, None, [CEILING]),                       # above 1.25 x list
    (100.0, None, None, []),                              # no cost, at the list price
    (90.0, None, None, [NO_COST]),                        # no cost: only the list price
    (125.0, 10.0, (100.0, 48.0), [STEP]),                 # more than a 10 % step
    (104.0, 10.0, (100.0, 1.0), [PERIOD]),                # a second change in one period
    (130.0, 10.0, (100.0, 1.0), [CEILING, STEP, PERIOD]),
    (100.0, 10.0, (100.0, 1.0), []),                      # unchanged: breaks nothing
])
def test_the_oracle_names_every_rule_a_price_breaks(price: float, cost: float | None,
                                                    previous: tuple[float, float] | None,
                                                    expected: list[str]) -> None:
    """``violations`` is what the grid above trusts: shown here to catch each breach on its
    own (an oracle that always said "none" would pass the grid)."""
    state = None if previous is None else PriceState(previous[0],
                                                     NOW - dt.timedelta(hours=previous[1]))
    assert violations(price, config=PricingConfig(), list_price=100.0, cost=cost,
                      previous=state, now=NOW) == expected


# --- each rule at its edge (what mutation testing showed the grid above misses) ----------

RAILS = Guardrails(PricingConfig())  # margin 5 %, ceiling 1.25, step 10 %, period 24 h


def test_the_bounds_round_towards_the_rules() -> None:
    assert RAILS.floor(10.01) == 10.52      # 10.5105 up, never below cost + margin
    assert RAILS.ceiling(19.99) == 24.98    # 24.9875 down, never above the ceiling
    # no cost known: the list price, to the cent below
    assert RAILS.apply(50.0, list_price=19.999, cost=None) == Guarded(19.99, (NO_COST,))
    for unknown in (float("inf"), float("nan"), -1.0):
        assert RAILS.apply(50.0, list_price=80.0, cost=unknown).adjustments == (NO_COST,)


@pytest.mark.parametrize(("proposed", "cost", "expected"), [
    (125.0, 50.0, Guarded(125.0, ())),         # at the ceiling: allowed, not lowered
    (105.0, 100.0, Guarded(105.0, ())),        # at the floor: allowed, not raised
    (100.126, 50.0, Guarded(100.13, ())),      # inside: to the nearest cent
])
def test_a_price_on_a_bound_is_left_alone(proposed: float, cost: float,
                                          expected: Guarded) -> None:
    assert RAILS.apply(proposed, list_price=100.0, cost=cost) == expected


def test_floor_equal_to_ceiling_is_the_floor_not_a_conflict() -> None:
    assert RAILS.floor(125 / 1.05) == RAILS.ceiling(100.0) == 125.0
    assert RAILS.apply(90.0, list_price=100.0, cost=125 / 1.05) == Guarded(125.0, (FLOOR,))


def test_step_and_period_at_their_edges() -> None:
    long_ago = PriceState(100.0, NOW - dt.timedelta(hours=48))
    # a move within the step, after the period: as proposed
    assert RAILS.apply(101.0, list_price=100.0, cost=50.0, previous=long_ago, now=NOW) \
        == Guarded(101.0, ())
    # exactly one step: allowed as it is
    assert RAILS.apply(110.0, list_price=100.0, cost=50.0, previous=long_ago, now=NOW) \
        == Guarded(110.0, ())
    # the same price again within the period is no change at all
    just_now = PriceState(100.0, NOW - dt.timedelta(hours=1))
    assert RAILS.apply(100.0, list_price=100.0, cost=50.0, previous=just_now, now=NOW) \
        == Guarded(100.0, ())


def test_the_oracle_at_the_edges() -> None:
    config = PricingConfig()

    def broken(price: float, *, list_price: float = 100.0, cost: float | None = 50.0,
               previous: PriceState | None = None) -> list[str]:
        return violations(price, config=config, list_price=list_price, cost=cost,
                          previous=previous, now=NOW)

    def ago(price: float, hours: float) -> PriceState:
        return PriceState(price, NOW - dt.timedelta(hours=hours))

    assert broken(80.5, list_price=80.0, cost=None) == [NO_COST]
    assert broken(104.995, cost=100.0) == []     # half a cent of tolerance, each side
    assert broken(125.005) == []
    assert broken(106.0, list_price=84.0, cost=100.0) == [CEILING]  # floor == ceiling
    # the step binds while the band can be reached from the previous price
    assert broken(100.0, list_price=100.0, cost=50.0, previous=ago(120.0, 48)) == [STEP]
    assert broken(80.0, list_price=100.0, cost=100 / 1.05 * 0.55,
                  previous=ago(60.0, 48)) == [STEP]
    assert broken(110.5, previous=ago(100.0, 48)) == [STEP]  # half a unit over the step
    # the period binds when the previous price is inside the band, edges included
    assert broken(10.60, list_price=12.0, cost=10.01, previous=ago(10.51, 1)) == []
    assert broken(10.60, list_price=12.0, cost=10.01, previous=ago(10.52, 1)) == [PERIOD]
    assert broken(120.0, previous=ago(125.0, 1)) == [PERIOD]
    assert broken(100.5, previous=ago(100.0, 1)) == [PERIOD]
    assert broken(100.5, previous=ago(100.0, 24)) == []   # a whole period later: free
