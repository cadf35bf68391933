"""Reading catalog files through a mapping: good rows, bad rows, bad files."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from knowledge_graph.importing import CatalogImportError, Mapping, key_for, plan_import

MAPPING = """
format: csv
columns:
  id: sku
  name: title
  category: category
  price: price
  stock: stock
  brand: brand
  color: colour
  accessory_for: fits
defaults:
  currency: EUR
"""
HEADER = "sku,title,category,price,stock,brand,colour,fits\n"


@pytest.fixture()
def mapping(tmp_path: Path) -> Mapping:
    path = tmp_path / "mapping.yml"
    path.write_text(MAPPING)
    return Mapping.load(path)


def write(tmp_path: Path, text: str, name: str = "catalog.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_good_rows_become_products_with_a_category_tree(tmp_path, mapping) -> None:
    rows = ('"Trail Runner 2, red",Trail Runner,Shoes > Trail,59.90,12,Peak,Red,\n'
            'B-1,Bottle,Outdoor,9.5,,,,"Trail Runner 2, red"\n')
    plan = plan_import(write(tmp_path, HEADER + rows), mapping)
    assert plan.rejected == () and plan.rows == 2
    shoe, bottle = plan.products
    assert shoe.sku == "Trail Runner 2, red" and shoe.prices == {"EUR": Decimal("59.90")}
    assert shoe.color == "red" and shoe.brand_key == "peak" and shoe.stock == 12
    assert bottle.stock == 0 and bottle.brand_key is None
    assert bottle.accessory_for == ("Trail Runner 2, red",)
    tree = {c.key: c.parent_key for c in plan.categories}
    assert tree[shoe.category_key] == key_for("Shoes") and tree[key_for("Shoes")] is None


@pytest.mark.parametrize(("row", "reason"), [
    ("X,Thing,Outdoor,abc,1,,,", "not a number"),
    ("X,Thing,Outdoor,-3,1,,,", "negative price"),
    ("X,Thing,Outdoor,99999999,1,,,", "max_price"),
    ("X,Thing,Outdoor,5,1.5,,,", "whole number"),
    ("X,Thing,Outdoor,5,-1,,,", "whole number"),
    (",Thing,Outdoor,5,1,,,", "missing id"),
    ("X,,Outdoor,5,1,,,", "missing name"),
    ("X,Thing,,5,1,,,", "missing category"),
    ("X,Thing,Outdoor,,1,,,", "missing price"),
    ("X,Thing,Outdoor,5,1,,,,extra", "more cells than columns"),
])
def test_bad_rows_are_rejected_with_line_and_reason(tmp_path, mapping, row, reason) -> None:
    plan = plan_import(write(tmp_path, HEADER + "OK,Fine,Outdoor,1,1,,,\n" + row + "\n"), mapping)
    assert [p.sku for p in plan.products] == ["OK"]
    assert len(plan.rejected) == 1
    assert plan.rejected[0].line == 3 and reason in plan.rejected[0].reason


def test_duplicate_ids_keep_the_first(tmp_path, mapping) -> None:
    plan = plan_import(write(tmp_path, HEADER + "A,First,X,1,1,,,\nA,Second,X,2,1,,,\n"), mapping)
    assert [p.name_en for p in plan.products] == ["First"]
    assert plan.rejected[0].reason == "duplicate id (first on line 2)"


def test_injection_text_is_kept_as_plain_data(tmp_path, mapping) -> None:
    nasty = "'} UNION SELECT * WHERE { ?s ?p ?o"
    plan = plan_import(write(tmp_path, HEADER + f'A,"{nasty}",X,1,1,,,\n'
                             + 'B,""">""<script>alert(1)</script>""",X,1,1,,,\n'), mapping)
    assert [p.name_en for p in plan.products] == [nasty, '">"<script>alert(1)</script>"']


@pytest.mark.parametrize(("content", "encoding", "message"), [
    (HEADER.replace("price", "cost") + "A,B,C,1,1,,,\n", "utf-8", "required column(s) ['price']"),
    (HEADER + "A,Café,X,1,1,,,\n", "latin-1", "not valid utf-8"),
    ("", "utf-8", "empty"),
    (HEADER + 'A,"unterminated,X,1,1,,,\n', "utf-8", "malformed CSV"),
])
def test_broken_files_fail_as_a_whole(tmp_path, mapping, content, encoding, message) -> None:
    with pytest.raises(CatalogImportError, match=message.replace("(", r"\(").replace(
            ")", r"\)").replace("[", r"\[").replace("]", r"\]")):
        plan_import(write(tmp_path, content, encoding=encoding), mapping)


def test_json_lines(tmp_path) -> None:
    mapping_path = tmp_path / "m.yml"
    mapping_path.write_text("format: jsonl\ncolumns: {id: id, name: name, category: cat, "
                            "price: price, currency: cur}\n")
    lines = [json.dumps({"id": "J1", "name": "茶壶", "cat": "Kitchen", "price": 12,
                         "cur": "cny"}), "{not json", "[1, 2]",
             json.dumps({"id": "J2", "name": "Cup", "cat": "Kitchen", "price": "3.5",
                         "cur": "dollars"})]
    plan = plan_import(write(tmp_path, "\n".join(lines), "c.jsonl"), Mapping.load(mapping_path))
    assert [p.sku for p in plan.products] == ["J1"]
    assert plan.products[0].prices == {"CNY": Decimal("12.00")}
    assert [(r.line, r.reason) for r in plan.rejected] == [
        (2, "not valid JSON"), (3, "not a JSON object"),
        (4, "currency 'DOLLARS' is not an ISO 4217 code")]


def test_mapping_errors(tmp_path) -> None:
    path = tmp_path / "m.yml"
    for text, message in (("columns: {id: a, name: b, price: d}", "category"),
                          ("columns: {id: a, name: b, category: c, price: d, colour: e}",
                           "unknown fields"),
                          ("format: xml\ncolumns: {id: a, name: b, category: c, price: d}",
                           "csv or jsonl"),
                          ("just text", "columns")):
        path.write_text(text)
        with pytest.raises(CatalogImportError, match=message):
            Mapping.load(path)


def test_keys_are_stable_ascii() -> None:
    assert key_for("Home & Garden") == "home_garden"
    # long names that differ only at the end get different keys
    long = "accessories_phone_accessories/phone accessories S1"
    assert key_for(long) != key_for(long + "9") and len(key_for(long + "9")) <= 51
    assert key_for("厨房用品") == key_for("厨房用品") and key_for("厨房用品").startswith("k_")
    assert key_for("厨房用品") != key_for("家居")


def test_a_catalog_without_prices_imports_at_price_on_request(tmp_path) -> None:
    source = tmp_path / "catalog.csv"
    source.write_text("sku,title,category\nA1,Granny Smith,Fruit > Apple\n", encoding="utf-8")
    mapping = tmp_path / "m.yml"
    mapping.write_text("columns: {id: sku, name: title, category: category}\n"
                       "defaults: {currency: SEK}\n")
    plan = plan_import(source, Mapping.load(mapping))
    assert not plan.rejected
    assert plan.products[0].prices == {"SEK": None}
