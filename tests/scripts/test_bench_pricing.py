"""A small pricing benchmark run goes through every policy and scenario and writes its report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scripts.bench_pricing import POLICIES, main
from tests.pricing.test_simulator import _write_log


@pytest.mark.slow
def test_a_small_run_reports_every_policy_and_scenario(tmp_path: Path) -> None:
    datasets = tmp_path / "datasets"
    (datasets / "online-retail").mkdir(parents=True)
    _write_log(datasets / "online-retail" / "online_retail.csv", {"MUG": -1.0, "BAG": -3.0})
    out = tmp_path / "reports"
    assert main(["--datasets", str(datasets), "--out", str(out), "--horizon", "400",
                 "--seeds", "3"]) == 0
    report = json.loads((out / "bench_pricing.json").read_text())
    assert set(report["scenarios"]) == {"stationary", "contextual", "shifts"}
    for rows in report["scenarios"].values():
        assert set(POLICIES) <= set(rows)
        for name in POLICIES:
            assert rows[name]["violations"] == 0
            assert 0 < rows[name]["share_of_oracle"] <= 1.0 + 1e-9
            # the price rule (one published price a day, personal prices only lower)
            # costs the oracle something, never gains it anything
            assert rows[name]["rule_oracle_profit"] <= rows[name]["oracle_profit"] + 1e-6
            assert rows[name]["share_of_rule_oracle"] >= rows[name]["share_of_oracle"] - 1e-9
        # nothing beats the oracle that knows every context's best price
        assert rows["best fixed (hindsight)"]["regret"] >= -1e-6
    assert report["latency_ms"]["thompson"]["p99"] > 0
    assert (out / "bench_pricing_regret.png").stat().st_size > 10_000
    assert (out / "bench_pricing_fit.png").stat().st_size > 10_000
