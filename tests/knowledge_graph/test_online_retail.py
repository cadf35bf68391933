"""Deriving a catalog from the real UCI Online Retail transactions."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from knowledge_graph.sources.online_retail import OTHER, categorize, derive_catalog

DATASETS = Path(os.environ.get("DATASETS", Path(__file__).parents[3] / "shared" / "datasets"))
TRANSACTIONS = DATASETS / "online-retail" / "online_retail.csv"


@pytest.mark.parametrize(("name", "category"), [
    ("WHITE HANGING HEART T-LIGHT HOLDER", "Home > Candles & lighting"),
    ("LUNCH BAG RED RETROSPOT", "Kitchen > Lunch & picnic"),
    ("JUMBO BAG RED RETROSPOT", "Bags & accessories > Bags"),
    ("CHRISTMAS CRAFT WHITE FAIRY", "Seasonal > Christmas"),
    ("REGENCY CAKESTAND 3 TIER", "Kitchen > Baking"),
    ("SET OF 3 CAKE TINS PANTRY DESIGN", "Kitchen > Baking"),
    ("ASSORTED COLOUR BIRD ORNAMENT", "Home > Garden"),
    ("TOAST ITS - DINOSAUR", OTHER),
])
def test_keyword_categories(name: str, category: str) -> None:
    assert categorize(name) == category


@pytest.mark.slow
def test_derived_catalog_from_the_real_transactions() -> None:
    if not TRANSACTIONS.is_file():
        pytest.skip(f"UCI Online Retail not found at {TRANSACTIONS} (set DATASETS)")
    catalog = derive_catalog(TRANSACTIONS)
    assert catalog.lines_read == 541_909
    assert 3_500 <= len(catalog.rows) <= 4_100
    by_sku = {row["sku"]: row for row in catalog.rows}
    heart = by_sku["85123A"]
    assert heart["name"] == "WHITE HANGING HEART T-LIGHT HOLDER"
    assert heart["price"] == "2.95" and heart["currency"] == "GBP"
    assert heart["category"] == "Home > Candles & lighting" and int(heart["units_sold"]) > 30_000
    assert not {"POST", "DOT", "M", "AMAZONFEE", "BANK CHARGES"} & set(by_sku)
    assert all(float(row["price"]) > 0 for row in catalog.rows)
    assert catalog.categorised_share >= 0.85
