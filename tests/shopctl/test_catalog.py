"""`python -m knowledge_graph import`: atomic, idempotent, updates and retires products."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from actions.settings import load_settings
from knowledge_graph.graph import ProductGraph
from knowledge_graph.importing import CatalogImportError, Mapping
from shop.db import make_engine, session_factory
from shop.models import Product
from shopctl import catalog as catalog_import
from shopctl.catalog_files import GraphInvalid

ROOT = Path(__file__).resolve().parents[2]
MAPPING = """
columns: {id: sku, name: title, category: category, price: price, stock: stock, brand: brand}
defaults: {currency: EUR}
"""
CATALOG = """sku,title,category,price,stock,brand
T-1,Trail Runner,Shoes > Trail,59.90,12,Peak
T-2,Road Runner,Shoes > Road,79.00,3,Peak
B-1,Water Bottle,Outdoor,9.50,100,
X-1,Broken,Outdoor,abc,1,
"""


@pytest.fixture()
def shop_dir(tmp_path: Path):
    (tmp_path / "mapping.yml").write_text(MAPPING)
    (tmp_path / "catalog.csv").write_text(CATALOG)
    settings = load_settings({"SHOP_DATA_DIR": str(tmp_path / "data")})
    return tmp_path, settings, Mapping.load(tmp_path / "mapping.yml")


def run(tmp_path, settings, mapping, source="catalog.csv"):
    return catalog_import.run_import(settings, tmp_path / source, mapping,
                                     nlu_out=tmp_path / "nlu" / "catalog.yml")


def skus(settings, **filters) -> list[str]:
    graph = ProductGraph.from_file(settings.graph_path)
    return sorted(p.sku for p in graph.search(currency="EUR", limit=50, **filters).items)


def fingerprint(settings) -> tuple[str, str]:
    db = Path(settings.database_url.removeprefix("sqlite:///"))
    return (hashlib.sha256(settings.graph_path.read_bytes()).hexdigest(),
            hashlib.sha256(db.read_bytes()).hexdigest())


def test_import_then_reimport_is_idempotent(shop_dir) -> None:
    tmp_path, settings, mapping = shop_dir
    first = run(tmp_path, settings, mapping)
    assert (first.sync.added, len(first.plan.rejected)) == (3, 1)
    assert first.plan.rejected[0].line == 5
    assert skus(settings) == ["B-1", "T-1", "T-2"]
    assert skus(settings, category=first.plan.products[0].category_key) == ["T-1"]
    details = ProductGraph.from_file(settings.graph_path).details("T-1", currency="USD")
    assert (details.price, details.currency, details.brand_en) == (Decimal("59.90"), "EUR", "Peak")
    lookups = (tmp_path / "nlu" / "catalog.yml").read_text()
    assert "Trail Runner" in lookups and "Water Bottle" in lookups
    again = run(tmp_path, settings, mapping)
    assert (again.sync.added, again.sync.updated, again.sync.unchanged) == (0, 0, 3)


def test_changed_products_are_updated_and_missing_ones_retired(shop_dir) -> None:
    tmp_path, settings, mapping = shop_dir
    run(tmp_path, settings, mapping)
    (tmp_path / "v2.csv").write_text("sku,title,category,price,stock,brand\n"
                                     "T-1,Trail Runner,Shoes > Trail,49.90,12,Peak\n"
                                     "B-1,Water Bottle,Outdoor,9.50,100,\n")
    report = run(tmp_path, settings, mapping, "v2.csv")
    assert (report.sync.updated, report.sync.unchanged, report.sync.discontinued) == (1, 1, 1)
    assert skus(settings) == ["B-1", "T-1"]
    graph = ProductGraph.from_file(settings.graph_path)
    assert graph.details("T-1", currency="EUR").price == Decimal("49.90")
    assert graph.details("T-2", currency="EUR").availability == "Discontinued"
    with session_factory(make_engine(settings.database_url))() as session:
        retired = session.scalars(select(Product).where(Product.available.is_(False))).all()
        assert [p.sku for p in retired] == ["T-2"]


def test_a_failed_import_changes_nothing(shop_dir, monkeypatch) -> None:
    tmp_path, settings, mapping = shop_dir
    run(tmp_path, settings, mapping)
    before = fingerprint(settings)
    (tmp_path / "bad.csv").write_text("sku,title,category,cost\nA,B,C,1\n")
    with pytest.raises(CatalogImportError, match="required column"):
        run(tmp_path, settings, mapping, "bad.csv")
    assert fingerprint(settings) == before
    # a graph that breaks the SHACL shapes rolls the database back too
    (tmp_path / "v2.csv").write_text("sku,title,category,price,stock,brand\n"
                                     "NEW,New thing,Outdoor,1.00,1,\n")

    def broken(*args, **kwargs):
        raise GraphInvalid("the product graph breaks 1 SHACL constraint(s)")

    monkeypatch.setattr(catalog_import, "checked_store", broken)
    with pytest.raises(GraphInvalid):
        run(tmp_path, settings, mapping, "v2.csv")
    assert fingerprint(settings)[0] == before[0]
    with session_factory(make_engine(settings.database_url))() as session:
        assert session.get(Product, "NEW") is None
        assert session.get(Product, "T-2").available


def test_command_line(shop_dir) -> None:
    tmp_path, settings, _ = shop_dir
    env = {"SHOP_DATA_DIR": str(settings.data_dir), "PYTHONPATH": str(ROOT), "PATH": "/usr/bin"}
    cmd = [sys.executable, "-m", "knowledge_graph", "import", str(tmp_path / "catalog.csv"),
           "--mapping", str(tmp_path / "mapping.yml"), "--nlu-out",
           str(tmp_path / "nlu" / "catalog.yml"), "--rejected-out", str(tmp_path / "rej.csv")]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "3 products, 1 rejected" in done.stdout and "line 5 (X-1)" in done.stdout
    assert "5,X-1,price 'abc' is not a number" in (tmp_path / "rej.csv").read_text()
    (tmp_path / "empty.csv").write_text("")
    cmd[4] = str(tmp_path / "empty.csv")
    failed = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert failed.returncode == 2 and "nothing changed" in failed.stderr


def test_accessory_links_are_imported_and_replaced(shop_dir) -> None:
    tmp_path, settings, _ = shop_dir
    (tmp_path / "links.yml").write_text(MAPPING.replace("brand: brand}", "brand: brand, "
                                                        "accessory_for: fits}"))
    mapping = Mapping.load(tmp_path / "links.yml")
    header = "sku,title,category,price,stock,brand,fits\n"
    (tmp_path / "a.csv").write_text(header + "T-1,Trail Runner,Shoes,59.90,12,Peak,\n"
                                    "L-1,Laces,Shoes,3.00,40,Peak,T-1\n")
    run(tmp_path, settings, mapping, "a.csv")
    graph = ProductGraph.from_file(settings.graph_path)
    assert [a.sku for a in graph.accessories("T-1", currency="EUR")] == ["L-1"]
    (tmp_path / "b.csv").write_text(header + "T-1,Trail Runner,Shoes,59.90,12,Peak,\n"
                                    "L-1,Laces,Shoes,3.00,40,Peak,\n")
    run(tmp_path, settings, mapping, "b.csv")
    graph = ProductGraph.from_file(settings.graph_path)
    assert graph.accessories("T-1", currency="EUR") == []
