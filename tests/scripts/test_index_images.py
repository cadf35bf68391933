"""Keeping the image index in step with the catalog (real Grocery Store photos)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, update

from actions.services import encoder_for, image_encoder
from actions.settings import load_settings
from scripts.index_images import add, read_photo, sync, tune
from shop.db import make_engine, session_factory
from shop.images import CatalogImages
from shop.models import Product, ProductImage
from tests.knowledge_graph.test_grocery_store import GROCERY
from vision.encoder import tuned_digest
from vision.finetune import current_tuned
from vision.index import IndexStore
from vision.media import MediaStore
from vision.search import Status, VisualSearch

pytestmark = pytest.mark.slow


def test_the_catalog_photos_and_the_added_shelf_photos_are_indexed(grocery_env: dict[str, str]
                                                                  ) -> None:
    settings = load_settings(grocery_env)
    index = IndexStore(settings.vision_dir).load_current()
    assert index is not None and index.products() == {f"GS-{i:03d}" for i in range(81)}
    assert len(index) == 81 + 24  # iconic images plus 2 shelf photos of 12 products
    assert index.threshold is not None and 0 < index.threshold < 1  # calibrated
    assert index.decision == "ratio"  # the ratio test's threshold; the floor is a score
    assert index.floor is not None and 0 < index.floor < 1
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


def test_tuning_retrains_on_the_shop_photos_and_the_live_index_follows(
        grocery_env: dict[str, str], tmp_path: Path) -> None:

    env = {**grocery_env, "VISION_DIR": str(tmp_path / "vision")}
    settings = load_settings(env)
    before = sync(settings, quiet=True)
    base_version = IndexStore(settings.vision_dir).load_current().model_version
    assert tune(settings, epochs=1, quiet=True) == 0
    weights = current_tuned(settings.vision_dir / "tuned", "lite0")
    assert weights is not None and list((settings.vision_dir / "tuned").glob("*.pt")) == [weights]
    index = IndexStore(settings.vision_dir).load_current()
    assert index.model_version != base_version and len(index) == before["photos"]
    assert tuned_digest(index.model_version) == weights.stem  # every photo re-encoded with it
    # a running server built before tuning follows the new index
    search = VisualSearch(encoder=image_encoder(settings, tuned=None),
                          store=IndexStore(settings.vision_dir, check_seconds=0),
                          encoder_for=lambda version: encoder_for(settings, version))
    photo = next((GROCERY / "train" / "Fruit" / "Apple" / "Pink-Lady").glob("*.jpg"))
    result = search.lookup(photo.read_bytes())
    assert result.status is not Status.STALE_INDEX and result.model_version == index.model_version
    assert image_encoder(settings).version == index.model_version  # a restarted one too
    # VISION_TUNED=off: the tuned index is not searched with weights it was not built with
    off = load_settings({**env, "VISION_TUNED": "off"})
    assert encoder_for(off, index.model_version) is None
    assert image_encoder(off).version == base_version


def test_tuning_a_catalog_with_one_photo_per_product_is_refused(
        grocery_env: dict[str, str], tmp_path: Path, capsys: Any) -> None:
    source = load_settings(grocery_env).database_url.removeprefix("sqlite:///")
    shutil.copy(source, tmp_path / "shop.db")  # the same shop without its shelf photos
    env = {**grocery_env, "VISION_DIR": str(tmp_path / "vision"),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'shop.db'}"}
    settings = load_settings(env)
    engine = make_engine(settings.database_url)
    with session_factory(engine)() as session, session.begin():
        session.execute(delete(ProductImage))
    engine.dispose()
    assert tune(settings, epochs=1, quiet=True) == 2
    assert "two or more photos" in capsys.readouterr().err
    assert not (settings.vision_dir / "tuned" / "CURRENT.json").exists()
