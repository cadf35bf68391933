"""SHACL validation of product graphs, reported per product."""

from __future__ import annotations

from decimal import Decimal

from rdflib import Literal
from rdflib.namespace import XSD

from knowledge_graph.export import build_graph
from knowledge_graph.validation import validate
from knowledge_graph.vocab import SCHEMA, brand_iri, offer_iri, product_iri
from tests.knowledge_graph.test_export import small_catalog


def test_a_well_formed_catalog_conforms() -> None:
    report = validate(build_graph(*small_catalog()))
    assert report.conforms and report.count == 0


def test_violations_are_reported_per_product() -> None:
    g = build_graph(*small_catalog())
    # S1: a negative price on its USD offer, attributed to the product
    offer = offer_iri("S1", "USD")
    g.set((offer, SCHEMA.price, Literal(Decimal("-5"), datatype=XSD.decimal)))
    # S2: no English name, a second sku
    g.remove((product_iri("S2"), SCHEMA.name, None))
    g.add((product_iri("S2"), SCHEMA.sku, Literal("S2-bis")))
    # P1: a currency that is not an ISO code
    g.set((offer_iri("P1", "USD"), SCHEMA.priceCurrency, Literal("dollars")))
    # C1: accessory of a product that is not in the graph
    g.add((product_iri("C1"), SCHEMA.isAccessoryOrSparePartFor, product_iri("GHOST")))
    report = validate(g)
    assert not report.conforms
    assert set(report.by_product) == {"S1", "S2", "P1", "C1"}
    assert any("non-negative decimal" in v.message for v in report.by_product["S1"])
    messages_s2 = " ".join(v.message for v in report.by_product["S2"])
    assert "English name" in messages_s2 and "sku" in messages_s2
    assert any("ISO 4217" in v.message for v in report.by_product["P1"])
    assert any("accessory" in v.message for v in report.by_product["C1"])


def test_brand_without_name_is_reported_under_the_brand() -> None:
    g = build_graph(*small_catalog())
    g.remove((brand_iri("acme"), SCHEMA.name, None))
    report = validate(g)
    assert "brand:acme" in report.by_product


def test_a_catalog_is_checked_in_chunks_in_parallel() -> None:
    from dataclasses import replace

    from knowledge_graph.validation import validate_catalog

    categories, brands, products, colors = small_catalog()
    # chunks of one product, two workers: C1's accessory link to P1 crosses chunks
    assert validate_catalog(categories, brands, products, colors, chunk_size=1,
                            workers=2).conforms
    broken = [replace(p, prices={"USD": Decimal("-1")}) if p.sku == "S2" else p
              for p in products]
    report = validate_catalog(categories, brands, broken, colors, chunk_size=1, workers=2)
    assert set(report.by_product) == {"S2"}
    # an import that changed only other products does not check S2 again
    assert validate_catalog(categories, brands, broken, colors, only={"S1", "C1"}).conforms
    dangling = [replace(p, accessory_for=("GHOST",)) if p.sku == "C1" else p for p in products]
    assert set(validate_catalog(categories, brands, dangling, colors, chunk_size=1,
                                workers=2).by_product) == {"C1"}
