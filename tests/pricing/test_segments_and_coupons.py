"""RFM segments, price sensitivity and the coupon allocation on small known histories."""

from __future__ import annotations

import datetime as dt

import pytest

from pricing.coupons import Allocation, SegmentStats, allocate, parse_shares
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


def test_an_allocation_worked_out_by_hand() -> None:
    """new: a coupon costs 0.05 * 80 * (0.2 + 0.08) = 1.12 and earns 0.08 * 80 * 0.35 -
    0.2 * 0.05 * 80 = 1.44 (return 1.29); at_risk: 0.1 * 50 * 0.32 = 1.60 for
    0.12 * 50 * 0.3 - 0.2 * 0.1 * 50 = 0.80 (return 0.5). With 20: every new customer
    (10, 11.20), then at_risk with the 8.80 left (5 coupons, 8.00)."""
    stats = {"at_risk": SegmentStats(100, 50.0, 0.4), "new": SegmentStats(10, 80.0, 0.4)}
    plan = allocate(stats, budget=20.0)
    assert list(plan) == ["new", "at_risk"]  # best return first
    assert plan["new"] == Allocation(0.05, 10, 11.2, 14.4)
    assert plan["at_risk"] == Allocation(0.1, 5, 8.0, 4.0)
    # exactly one coupon's worth: one coupon; a segment of no one, or no orders: none
    assert allocate(stats, budget=1.12)["new"].coupons == 1
    empty = {"new": SegmentStats(0, 80.0, 0.4), "at_risk": SegmentStats(1, 0.0, 0.4)}
    assert allocate(empty, budget=100.0) == {}
    assert allocate({"new": SegmentStats(1, 80.0, 0.4)}, budget=100.0)["new"].coupons == 1
    # amounts to the cent: one coupon on orders of 81 costs 1.134 and earns 1.458
    assert allocate({"new": SegmentStats(5, 81.0, 0.4)}, budget=1.2)["new"] \
        == Allocation(0.05, 1, 1.13, 1.46)
    # the best return unaffordable: the budget goes to the next one, not to no one
    dear = {"new": SegmentStats(10, 200.0, 0.4), "at_risk": SegmentStats(10, 50.0, 0.4)}
    assert {k: a.coupons for k, a in allocate(dear, budget=2.0).items()} == {"at_risk": 1}
    # ranked by return on the money, not by size: the dear segment waits
    big = {"new": SegmentStats(10, 80.0, 0.4), "at_risk": SegmentStats(10, 500.0, 0.4)}
    assert {k: a.coupons for k, a in allocate(big, budget=20.0).items()} == {"new": 10}
    # small orders still count; a coupon that only breaks even is not given
    assert allocate({"new": SegmentStats(10, 1.0, 0.4)}, budget=1.0)["new"].coupons == 10
    assert allocate({"new": SegmentStats(10, 10.0, 1.0)}, budget=100.0,
                    discounts={"new": 0.5}, uplift={"new": 0.2}) == {}
    # a segment without a coupon to give does not stop the ones after it
    first = {"champions": SegmentStats(50, 60.0, 0.4), "new": SegmentStats(10, 80.0, 0.4)}
    assert list(allocate(first, budget=100.0)) == ["new"]


def test_segments_missing_from_the_settings_get_no_coupon() -> None:
    stats = {"at_risk": SegmentStats(100, 50.0, 0.4), "new": SegmentStats(10, 80.0, 0.4)}
    # no uplift named for at_risk: its coupons only cost, so it gets none
    plan = allocate(stats, budget=1000.0, discounts={"new": 0.05, "at_risk": 0.1},
                    uplift={"new": 0.08})
    assert list(plan) == ["new"]
    # no discount named for new: nothing to give
    assert "new" not in allocate(stats, budget=1000.0, discounts={"at_risk": 0.1})
    # the shop's own settings replace the defaults
    own = allocate(stats, budget=1000.0, discounts={"new": 0.2}, uplift={"new": 0.5})
    assert own["new"].discount == 0.2


def test_coupon_shares_at_their_edges() -> None:
    assert parse_shares("new:0, at_risk:100", "X") == {"new": 0.0, "at_risk": 1.0}
    for bad in ("new:100.5", "new:-1", "new:nan"):
        with pytest.raises(ConfigError, match="between 0 and 100"):
            parse_shares(bad, "COUPON_DISCOUNTS")
    with pytest.raises(ConfigError, match="segment:percent"):
        parse_shares("new:5:x", "COUPON_DISCOUNTS")
    with pytest.raises(ConfigError, match="champions, loyal"):
        parse_shares("vip:10", "COUPON_DISCOUNTS")
