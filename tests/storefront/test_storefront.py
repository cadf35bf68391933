"""The demo storefront: photos only from allowed folders, catalog text escaped."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from storefront.app import HERE, STRINGS, Card, Catalog
from storefront.settings import load_settings


def catalog(tmp_path: Path, images: dict[str, str]) -> Catalog:
    shop = Catalog(load_settings({"SHOP_DATA_DIR": str(tmp_path / "data"),
                                  "DATASETS": str(tmp_path / "datasets")}))
    shop._images = images
    return shop


def test_photos_are_served_only_from_the_data_and_dataset_folders(tmp_path: Path) -> None:
    inside = tmp_path / "datasets" / "a.jpg"
    outside = tmp_path / "secret.jpg"
    text = tmp_path / "datasets" / "notes.txt"
    for path in (inside, outside, text):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\xff\xd8\xff")
    shop = catalog(tmp_path, {
        "IN": inside.as_uri(), "OUT": outside.as_uri(), "TXT": text.as_uri(),
        "UP": (tmp_path / "datasets" / ".." / "secret.jpg").as_uri(),
        "WEB": "https://cdn.example/a.jpg", "GONE": (tmp_path / "datasets" / "b.jpg").as_uri()})
    assert shop.image_file("IN") == inside.resolve()
    for sku in ("OUT", "TXT", "UP", "WEB", "GONE", "NONE"):
        assert shop.image_file(sku) is None, sku


def test_catalog_text_is_escaped_in_pages() -> None:
    templates = Environment(loader=FileSystemLoader(HERE / "templates"),
                            autoescape=select_autoescape(["html"]))
    evil = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
    html = templates.get_template("index.html").render(
        lang="en", t=STRINGS["en"], widget="http://chat.example/webhooks/widget/widget.js",
        cards=[Card(sku=evil, name=evil, price="$1", in_stock=True, image=None)], total=1,
        category=None, categories=[("x", evil)])
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert html.count("<script") == 1  # the widget's tag, nothing else
