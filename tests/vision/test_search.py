"""The real encoder and lookup on real photos (Grocery Store dataset)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from scripts.bench_vision import load_dataset
from tests.knowledge_graph.test_grocery_store import GROCERY
from tests.vision.conftest import encode
from vision.adapt import calibrate
from vision.encoder import BACKBONES, ImageEncoder
from vision.errors import ConfigError, ImageError
from vision.images import decode
from vision.index import ImageIndex, IndexStore
from vision.search import Status, VisualSearch

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def encoder() -> ImageEncoder:
    return ImageEncoder(views=("center", "zoom"), threads=2)


@pytest.fixture(scope="module")
def grocery(encoder: ImageEncoder) -> tuple[ImageIndex, list, list]:
    if not (GROCERY / "classes.csv").is_file():
        pytest.skip(f"Grocery Store dataset not found at {GROCERY} (set DATASETS)")
    iconic, train, val = load_dataset(GROCERY)
    shelf = [p for p in train if p.path.stem.endswith(("_001", "_010"))]
    photos = iconic + shelf
    index = ImageIndex(dim=encoder.dim, model_version=encoder.version, threshold=0.75,
                       floor=0.5)
    vectors = encoder.encode([decode(p.path.read_bytes()) for p in photos])
    index.add([p.product for p in photos], [str(p.path) for p in photos], vectors)
    return index, iconic, val


def test_vectors_are_unit_length_and_the_version_names_the_preprocessing(
        encoder: ImageEncoder, photo: Image.Image) -> None:
    vectors = encoder.encode([photo, photo.convert("L")])
    assert vectors.shape == (2, 1280) and np.allclose(np.linalg.norm(vectors, axis=1), 1)
    assert encoder.version != ImageEncoder(views=("center",)).version
    assert encoder.encode([]).shape == (0, 1280)
    with pytest.raises(ConfigError):
        ImageEncoder(views=("sideways",))


def test_each_network_loads_offline_and_names_the_weight_file_its_package_ships(
        photo: Image.Image) -> None:
    for name, backbone in BACKBONES.items():
        assert Path(backbone.weights_path()).stem == backbone.weights
        encoder = ImageEncoder(model=name, views=("center", "zoom"))
        assert encoder.version.startswith(backbone.weights)
        assert encoder.image_size == backbone.image_size
        vectors, document = encoder.analyse([photo])
        assert vectors.shape == (1, 1280) and abs(float(np.linalg.norm(vectors)) - 1) < 1e-5
        assert 0 <= document[0] <= 1
    with pytest.raises(ConfigError):
        ImageEncoder(model="resnet50")


def test_a_photo_and_its_exif_rotated_file_give_the_same_vector(encoder: ImageEncoder,
                                                                photo: Image.Image) -> None:
    rotated = photo.transpose(Image.Transpose.ROTATE_90)  # the pixels as a phone stores them
    exif = Image.Exif()
    exif[0x0112] = 6  # and the tag that says how to display them
    upright = decode(encode(rotated, "JPEG", exif=exif.tobytes(), quality=95))
    plain = decode(encode(photo, "JPEG", quality=95))
    a, b = encoder.encode([upright, plain])
    assert float(a @ b) > 0.98


def test_shoppers_photos_find_their_product(encoder: ImageEncoder, grocery) -> None:
    index, _, val = grocery
    search = VisualSearch(encoder=encoder, index=index)
    sample = val[::6]
    found = [search.lookup(p.path.read_bytes(), k=5) for p in sample]
    top5 = np.mean([p.product in {h.product for h in r.hits}
                    for p, r in zip(sample, found, strict=True)])
    assert top5 >= 0.7  # the benchmark measures the exact figures; this catches a broken encoder
    for result in found:
        assert len(result.hits) == 5 and len({h.product for h in result.hits}) == 5
        assert result.status in (Status.MATCHED, Status.UNSURE, Status.NO_MATCH)
        assert result.status is Status.MATCHED or not result.confident


def test_a_screenshot_of_text_is_not_searched(encoder: ImageEncoder, grocery) -> None:
    index, iconic, _ = grocery
    products, images, raw = index.raw_vectors()
    bounds = calibrate(raw, products)
    assert bounds is not None
    calibrated = ImageIndex(dim=index.dim, model_version=index.model_version,
                            threshold=bounds.threshold, floor=bounds.floor)
    calibrated.add(products, images, raw)
    screenshot = Image.new("RGB", (640, 360), "white")
    draw = ImageDraw.Draw(screenshot)
    for line in range(12):
        draw.text((20, 20 + 26 * line), "Order #12345 shipped - track your parcel here",
                  fill="black")
    result = VisualSearch(encoder=encoder, index=calibrated).lookup(encode(screenshot, "PNG"))
    assert result.status is Status.NOT_A_PHOTO and not result.hits
    unchecked = VisualSearch(encoder=encoder, index=calibrated, document_limit=1.0)
    assert unchecked.lookup(encode(screenshot, "PNG")).status is not Status.NOT_A_PHOTO
    own = VisualSearch(encoder=encoder, index=calibrated).lookup(iconic[5].path.read_bytes())
    assert own.status is Status.MATCHED and own.confident[0].product == iconic[5].product
    strict = ImageIndex(dim=index.dim, model_version=index.model_version, threshold=0.999,
                        floor=0.999)
    strict.add(products, images, raw)
    shelf = VisualSearch(encoder=encoder, index=strict).lookup(grocery[2][0].path.read_bytes())
    assert shelf.status is Status.NO_MATCH and shelf.hits and not shelf.plausible


def test_missing_or_outdated_index_and_bad_files(encoder: ImageEncoder, tmp_path: Path,
                                                  grocery) -> None:
    index, iconic, _ = grocery
    search = VisualSearch(encoder=encoder, store=IndexStore(tmp_path / "none"))
    assert search.lookup(iconic[0].path.read_bytes()).status is Status.NO_INDEX
    old = ImageIndex(dim=index.dim, model_version="another-encoder")
    old.add(["x"], ["x.jpg"], np.ones((1, index.dim)))
    stale = VisualSearch(encoder=encoder, index=old).lookup(iconic[0].path.read_bytes())
    assert stale.status is Status.STALE_INDEX and not stale.hits
    with pytest.raises(ImageError):
        VisualSearch(encoder=encoder, index=index).lookup(b"not a photo")
