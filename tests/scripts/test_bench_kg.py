"""The knowledge-graph benchmark: its scaled catalog keeps the demo's shape, and a
small run goes through import, every back end and every query type."""

from __future__ import annotations

from collections import Counter

import pytest

from scripts.bench_kg import QUERY_TYPES, run, scale_catalog


def test_scaled_catalog_keeps_the_demo_shape(demo_settings) -> None:
    from shop.db import make_engine, session_factory
    from shopctl.catalog_files import catalog_records

    with session_factory(make_engine(demo_settings.database_url))() as session:
        categories, _, products, _ = catalog_records(session)
    scaled = scale_catalog(categories, products, 2 * len(products) + 10)
    assert len(scaled) == 2 * len(products) + 10
    assert len({s.record.sku for s in scaled}) == len(scaled)
    first_copy = [s.record for s in scaled if s.copy == 0]
    # the same variants per product line, colours and accessory links as the demo
    assert Counter(p.group_id + "-S0" for p in products) == Counter(p.group_id for p in first_copy)
    assert Counter(p.color for p in products) == Counter(p.color for p in first_copy)
    skus = {p.sku for p in first_copy}
    links = [a for p in first_copy for a in p.accessory_for]
    assert links and all(a in skus for a in links)
    # each copy files its products under its own sub-category of the demo category
    assert scaled[0].leaf_path.endswith(" S0") and scaled[-1].leaf_path.endswith(" S2")


@pytest.mark.slow
def test_a_small_run_measures_every_query_on_every_backend(tmp_path) -> None:
    figures = run(700, 3, 0.5, ("oxigraph", "rdflib-oxigraph", "remote", "rdflib"), tmp_path,
                  rdflib_products=150)
    assert figures["import"]["first import"]["added"] == 700
    assert figures["import"]["re-import (unchanged)"]["unchanged"] == 700
    for backend, data in figures["backends"].items():
        assert set(data["latencies_ms"]) == set(QUERY_TYPES), backend
        measured = {query: values for query, values in data["latencies_ms"].items() if values}
        # rdflib's engine may run past the budget on some query types (reported as such)
        assert len(measured) == len(QUERY_TYPES) or backend == "rdflib", backend
        assert "lookup" in measured and all(min(v) > 0 for v in measured.values())
    assert figures["backends"]["rdflib"]["products"] == 150
