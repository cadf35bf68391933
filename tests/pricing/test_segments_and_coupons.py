"""RFM segments, price sensitivity and the coupon allocation on small known histories."""

from __future__ import annotations

import datetime as dt

import pytest

from pricing.coupons import SegmentStats, allocate, parse_shares
from pricing.errors import ConfigError
from pricing.segments import Purchase, rfm, segment_of, segment_stats, sensitivity

NOW = dt.datetime(2026, 6, 15)


def _history() -> list[Purchase]:
    """20 customers: c0-c4 buy often and lately, c5-c9 often but longest ago,
    c10-c14 once lately, c15-c19 once, a while ago (scores are relative: quintiles)."""
    out = []
    last = {0: 3, 1: 500, 2: 5, 3: 400}  # days since the last order, per group of five
    for i in range(20):
        orders = 8 if i < 10 else 1
        for k in range(orders):
            days = last[i // 5] + 7 * k
            out.append(Purchase(f"c{i}", f"o{i}-{k}", NOW - dt.timedelta(days=days), "mugs",
                                10.0, 10.0, 2, 6.0))
    return out


def test_rfm_names_the_obvious_segments() -> None:
    scores = rfm(_history(), as_of=NOW)
    assert {scores[f"c{i}"].segment for i in range(5)} == {"champions"}
    assert {scores[f"c{i}"].segment for i in range(5, 10)} == {"at_risk"}
    assert {scores[f"c{i}"].segment for i in range(10, 15)} == {"new"}
    assert {scores[f"c{i}"].segment for i in range(15, 20)} == {"potential"}
    assert scores["c0"].orders == 8 and scores["c0"].spend == 160.0
    stats = segment_stats(_history(), scores)
    assert stats["champions"].customers == 5
    assert stats["champions"].order_value == pytest.approx(20.0)
    assert stats["champions"].margin == pytest.approx(0.4)


@pytest.mark.parametrize(("r", "f", "segment"), [
    (5, 5, "champions"), (2, 5, "at_risk"), (3, 4, "loyal"), (5, 1, "new"), (4, 2, "potential"),
    (3, 1, "potential"), (1, 1, "hibernating"), (1, 3, "at_risk")])
def test_segment_rules(r: int, f: int, segment: str) -> None:
    assert segment_of(r, f) == segment


def test_sensitivity_orders_bargain_hunters_first() -> None:
    prices = {"mugs": [5.0, 10.0, 20.0, 40.0]}
    cheap = [Purchase("a", "o1", NOW, "mugs", 5.0, 5.0, 1)]
    dear = [Purchase("b", "o2", NOW, "mugs", 40.0, 40.0, 1)]
    coupon = [Purchase("c", "o3", NOW, "mugs", 40.0, 30.0, 1)]
    s = sensitivity(cheap + dear + coupon, prices)
    assert s["a"] == 1.0 and s["b"] == 0.0 and 0.0 < s["c"] <= 1.0


def test_allocation_stays_within_budget_and_skips_losing_segments() -> None:
    stats = {"at_risk": SegmentStats(100, 50.0, 0.4), "new": SegmentStats(10, 80.0, 0.4),
             "champions": SegmentStats(50, 60.0, 0.4), "loyal": SegmentStats(30, 40.0, 0.3)}
    plan = allocate(stats, budget=200.0)
    assert "champions" not in plan  # 0% default discount: nothing to give
    assert sum(a.cost for a in plan.values()) <= 200.0 + 1e-9
    assert all(a.gain > 0 for a in plan.values())
    assert all(a.coupons <= stats[s].customers for s, a in plan.items())
    assert "loyal" not in plan  # a 5% coupon to loyal customers loses money at 3% uplift
    unlimited = allocate(stats, budget=1e9)
    assert unlimited["at_risk"].coupons == 100 and unlimited["new"].coupons == 10
    assert allocate(stats, budget=0.0) == {}


def test_bad_coupon_settings_are_refused() -> None:
    assert parse_shares("at_risk:10, new:5", "X") == {"at_risk": 0.1, "new": 0.05}
    with pytest.raises(ConfigError, match="unknown segment 'vip'"):
        parse_shares("vip:10", "COUPON_DISCOUNTS")
    with pytest.raises(ConfigError, match="between 0 and 100"):
        parse_shares("new:150", "COUPON_DISCOUNTS")
    with pytest.raises(ConfigError, match="segment:percent"):
        parse_shares("new:lots", "COUPON_DISCOUNTS")
    with pytest.raises(ConfigError, match="budget"):
        allocate({}, budget=-5.0)
