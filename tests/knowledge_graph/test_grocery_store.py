"""Deriving and importing the real Grocery Store catalog: no prices, iconic images."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from knowledge_graph.backends import OxigraphBackend
from knowledge_graph.export import build_graph
from knowledge_graph.graph import ProductGraph
from knowledge_graph.importing import Mapping, plan_import
from knowledge_graph.sources.grocery_store import derive_catalog, write_catalog
from knowledge_graph.validation import validate
from knowledge_graph.vocab import SCHEMA, product_iri
from tests.knowledge_graph.test_online_retail import DATASETS

GROCERY = DATASETS / "grocery-store" / "dataset"
MAPPING = Path(__file__).parents[2] / "knowledge_graph" / "mappings" / "grocery_store.yml"


@pytest.fixture(scope="module")
def plan(tmp_path_factory: pytest.TempPathFactory):
    if not (GROCERY / "classes.csv").is_file():
        pytest.skip(f"Grocery Store dataset not found at {GROCERY} (set DATASETS)")
    catalog = derive_catalog(GROCERY)
    out = tmp_path_factory.mktemp("grocery") / "grocery.csv"
    write_catalog(catalog, out)
    return catalog, plan_import(out, Mapping.load(MAPPING))


def test_every_class_becomes_a_product_with_its_image_and_description(plan) -> None:
    catalog, imported = plan
    assert len(catalog.rows) == 81 and not imported.rejected and len(imported.products) == 81
    by_name = {p.name_en: p for p in imported.products}
    apple = by_name["Granny Smith Apple"]
    assert apple.prices == {"SEK": None} and apple.brand_key is None
    assert apple.image and apple.image.startswith("file://") and apple.image.endswith(".jpg")
    assert Path(apple.image.removeprefix("file://")).is_file()
    assert "Granny Smith" in (apple.description_en or "")
    juice = by_name["God Morgon Apple Juice"]
    assert juice.brand_key == "god_morgon" and juice.size == "1l"
    # one category per coarse class (classes.csv has coarse ids 0-42), under Fruit,
    # Vegetables and Packages
    assert len({p.category_key for p in imported.products}) == 43
    assert {c.name_en for c in imported.categories if c.parent_key is None} == {
        "Fruit", "Vegetables", "Packages"}


def test_the_graph_conforms_and_answers_at_price_on_request(plan) -> None:
    _, imported = plan
    g = build_graph(imported.categories, imported.brands, imported.products)
    assert validate(g).conforms
    sku = next(p.sku for p in imported.products if p.name_en == "Arla Standard Milk")
    assert (product_iri(sku), SCHEMA.image, None) in g
    graph = ProductGraph(OxigraphBackend.from_graph(g))
    assert graph.pick_currency("USD") == "SEK"
    details = graph.details(sku, currency="SEK")
    assert details.price is None and details.brand_en == "Arla" and details.stock == 100
    milk = graph.search(currency="SEK", category=graph.canonical("category", "Milk"))
    assert milk.total == 6 and all(p.price is None for p in milk.items)
    # a price range cannot be met by products without a price
    assert graph.search(currency="SEK").total == 81
    assert graph.search(currency="SEK", max_price=Decimal(1000)).total == 0
