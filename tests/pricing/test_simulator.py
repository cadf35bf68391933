"""The demand fit recovers a known elasticity, and the simulator's oracle is what it claims."""

from __future__ import annotations

import csv
import datetime as dt
import os
from pathlib import Path

import numpy as np
import pytest

from pricing.errors import PricingError
from pricing.simulator import Market, category_of, fit_demand

HEADER = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice",
          "CustomerID", "Country"]


def _write_log(path: Path, elasticity: dict[str, float], seed: int = 0) -> None:
    """Weekly sales of 30 mugs (retail buyers) and 30 bags (bulk buyers) at varying prices."""
    rng = np.random.default_rng(seed)
    rows = []
    invoice = 500000
    for kind, customer, base in (("MUG", "10001", 6), ("BAG", "20001", 40)):
        for product in range(30):
            code = f"{(1 if kind == 'MUG' else 2)}{product:04d}"
            list_price = float(rng.uniform(1, 5))
            for week in range(20):
                price = list_price * float(rng.choice([0.8, 0.9, 1.0, 1.1, 1.2]))
                mean = base * (price / list_price) ** elasticity[kind]
                day = dt.datetime(2011, 1, 3) + dt.timedelta(weeks=week)
                invoice += 1
                rows.append([str(invoice), code, f"RED SPOTTY {kind}", str(max(1, rng.poisson(
                    mean))), day.strftime("%Y-%m-%d %H:%M:%S"), f"{price:.2f}", customer, "UK"])
    rows.append(["C500000", "10000", "RED SPOTTY MUG", "-3", "2011-01-03 10:00:00", "2.00",
                 "10001", "UK"])  # a cancellation: ignored
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)


def test_fit_recovers_known_elasticities_per_group(tmp_path: Path) -> None:
    path = tmp_path / "online_retail.csv"
    _write_log(path, {"MUG": -1.0, "BAG": -3.0})
    demand = fit_demand(path)
    assert set(demand) == {"kitchen", "bags"}
    assert demand["kitchen"].by_group["retail"].value == pytest.approx(-1.0, abs=0.3)
    assert demand["bags"].by_group["bulk"].value == pytest.approx(-3.0, abs=0.3)
    assert demand["bags"].bulk_share == 1.0 and demand["kitchen"].bulk_share == 0.0


def test_fit_refuses_missing_or_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(PricingError, match="not found"):
        fit_demand(tmp_path / "missing.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(PricingError, match="lacks columns"):
        fit_demand(bad)


def test_categories_from_descriptions() -> None:
    assert category_of("WHITE HANGING HEART T-LIGHT HOLDER") == "candles"
    assert category_of("JUMBO BAG RED RETROSPOT") == "bags"
    assert category_of("POSTAGE") is None


def test_market_oracle_is_the_best_expected_profit(tmp_path: Path) -> None:
    path = tmp_path / "online_retail.csv"
    _write_log(path, {"MUG": -1.0, "BAG": -3.0})
    market = Market(fit_demand(path), scenario="contextual", actions=(-0.1, 0.0, 0.1),
                    n_products=6, horizon=300, seeds=(0, 1))
    for t in (0, 150, 299):
        expected = market.expected(t)
        # the price multipliers respect the cost floor for every product
        assert (market.multiplier * market.list_price[:, None] >=
                market.cost[:, None] * 1.05 - 1e-9).all()
        for a in range(3):
            units, profit = market.sell(t, np.full(2, a))
            assert (units >= 0).all() and profit.shape == (2,)
        assert expected.shape == (2, 3)
    with pytest.raises(PricingError, match="unknown scenario"):
        Market(fit_demand(path), scenario="chaos", actions=(0.0,))


@pytest.mark.slow
def test_fit_on_the_real_online_retail_log() -> None:
    datasets = Path(os.environ.get("DATASETS", Path(__file__).parents[3] / "shared" / "datasets"))
    path = datasets / "online-retail" / "online_retail.csv"
    if not path.exists():
        pytest.skip(f"{path} not available")
    demand = fit_demand(path)
    assert len(demand) == 8
    for d in demand.values():
        # demand falls with price in every category, within the range retail studies report
        assert -6.0 < d.elasticity.value < -0.5 and d.elasticity.observations > 300
    # bulk buyers react more to price than retail buyers in most categories
    assert sum(d.by_group["bulk"].value < d.by_group["retail"].value
               for d in demand.values()) >= 6
