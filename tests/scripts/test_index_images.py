"""Keeping the image index in step with the catalog (real Grocery Store photos)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from actions.settings import load_settings
from scripts.index_images import add, read_photo, sync
from shop.db import make_engine, session_factory
from shop.images import CatalogImages
from shop.models import Product
from tests.knowledge_graph.test_grocery_store import GROCERY
from vision.index import IndexStore
from vision.media import MediaStore

pytestmark = pytest.mark.slow


def test_the_catalog_photos_and_the_added_shelf_photos_are_indexed(grocery_env: dict[str, str]
                                                                  ) -> None:
    settings = load_settings(grocery_env)
    index = IndexStore(settings.vision_dir).load_current()
    assert index is not None and index.products() == {f"GS-{i:03d}" for i in range(81)}
    assert len(index) == 81 + 24  # iconic images plus 2 shelf photos of 12 products
    assert index.threshold is not None and 0 < index.threshold < 1  # calibrated
    assert index.floor is not None and index.floor < index.threshold
    assert index.projection is not None  # learned: 12 products have 3 photos
    extra = [uri for sku, uri in index.entries() if sku == "GS-003" and uri.startswith("media:")]
    assert len(extra) == 2


def test_sync_is_incremental_and_follows_the_catalog(grocery_env: dict[str, str],
                                                     tmp_path: Path) -> None:
    env = {**grocery_env, "VISION_DIR": str(tmp_path / "vision")}
    settings = load_settings(env)
    first = sync(settings, quiet=True)
    assert first["added"] == 105 and first["removed"] == 0 and not first["skipped"]
    again = sync(settings, quiet=True)
    assert again["added"] == 0 and again["removed"] == 0 and again["version"] == first["version"]
    engine = make_engine(settings.database_url)
    sessions = session_factory(engine)
    try:
        with sessions() as session, session.begin():
            session.execute(update(Product).where(Product.sku == "GS-000").values(available=False))
        after = sync(settings, quiet=True)
        assert after["removed"] == 3 and after["added"] == 0  # its iconic and 2 shelf photos
        assert "GS-000" not in IndexStore(settings.vision_dir).load_current().products()
    finally:
        with sessions() as session, session.begin():
            session.execute(update(Product).where(Product.sku == "GS-000").values(available=True))
        engine.dispose()


def test_bad_photos_and_unknown_products_are_refused(grocery_env: dict[str, str],
                                                     tmp_path: Path, capsys: Any) -> None:
    env = {**grocery_env, "VISION_DIR": str(tmp_path / "vision"),
           "MEDIA_DIR": str(tmp_path / "media")}
    settings = load_settings(env)
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"not a photo at all")
    photo = next((GROCERY / "train" / "Fruit" / "Apple" / "Pink-Lady").glob("*.jpg"))
    assert add(settings, [("NO-SUCH-SKU", photo)], quiet=True) == 2
    assert "unknown product" in capsys.readouterr().err
    engine = make_engine(settings.database_url)
    before = CatalogImages(session_factory(engine)).listed()
    assert add(settings, [("GS-002", junk)], quiet=True) == 0  # rejected, nothing attached
    assert CatalogImages(session_factory(engine)).listed() == before
    engine.dispose()
    assert not list((tmp_path / "media").rglob("*.jpg"))
    with pytest.raises(FileNotFoundError):
        read_photo("https://example.com/a.jpg", settings, MediaStore(tmp_path / "media"))
