"""Fine-tuning the network on a shop's photos, and encoders that follow the index."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from vision.encoder import ImageEncoder, tuned_digest
from vision.errors import ConfigError, ModelUnavailable
from vision.finetune import TuneResult, current_tuned, fine_tune, prune, record_current, shrink
from vision.index import ImageIndex
from vision.search import Status, VisualSearch

pytestmark = pytest.mark.slow
Tuned = tuple[TuneResult, list[Image.Image], list[tuple[int, int]]]


def product_photos() -> tuple[list[Image.Image], list[str]]:
    """Three 'products' (a red disc, a blue bar, a yellow triangle), 3 shots each."""
    rng = np.random.default_rng(1)
    images, labels = [], []
    for label, colour in (("disc", (200, 40, 40)), ("bar", (40, 40, 200)),
                          ("tri", (220, 200, 30))):
        for _ in range(3):
            background = tuple(int(v) for v in rng.integers(120, 250, 3))
            image = Image.new("RGB", (240, 180), background)
            draw = ImageDraw.Draw(image)
            x, y = (int(v) for v in rng.integers(20, 80, 2))
            if label == "disc":
                draw.ellipse((x, y, x + 90, y + 90), fill=colour)
            elif label == "bar":
                draw.rectangle((x, y, x + 120, y + 40), fill=colour)
            else:
                draw.polygon([(x, y + 90), (x + 50, y), (x + 100, y + 90)], fill=colour)
            images.append(image)
            labels.append(label)
    return images, labels


@pytest.fixture(scope="module")
def tuned(tmp_path_factory: pytest.TempPathFactory) -> Tuned:
    images, labels = product_photos()
    steps: list[tuple[int, int]] = []
    out = tmp_path_factory.mktemp("tuned")
    result = fine_tune(images, labels, out_dir=out, epochs=2,
                       batch_size=4, progress=lambda step, total, loss: steps.append(
                           (step, total)), head_out=out / "head.npz")
    return result, images, steps


def test_fine_tuning_writes_content_addressed_weights_that_change_the_vectors(tuned: Tuned
                                                                            ) -> None:
    result, images, steps = tuned
    assert result.path.is_file() and result.path.name == f"{result.digest}.pt"
    assert (result.products, result.photos, result.epochs) == (3, 9, 2)
    assert len(result.losses) == 2 and all(np.isfinite(result.losses))
    # 9 photos in batches of 4: 4, 4 and a last one of 1, skipped
    assert steps == [(step, 4) for step in range(1, 5)]
    base = ImageEncoder(views=("center",))
    mine = ImageEncoder(views=("center",), tuned=result.path)
    assert tuned_digest(mine.version) == result.digest and tuned_digest(base.version) is None
    assert mine.version.replace(f"+tuned-{result.digest}", "") == base.version
    a, b = base.encode(images[:3]), mine.encode(images[:3])
    assert a.shape == b.shape and np.allclose(np.linalg.norm(b, axis=1), 1, atol=1e-5)
    assert not np.allclose(a, b, atol=1e-3)  # the network did change
    # fine-tuning blinds the ImageNet classifier: ImageNet's Lite0 checks for screenshots
    page = Image.new("RGB", (400, 300), "white")
    ImageDraw.Draw(page).multiline_text((10, 10), "Order 1234\nTotal $25.00\nShip to: ...",
                                        fill="black")
    _, document = mine.analyse([page, images[0]])
    _, expected = base.analyse([page, images[0]])
    assert np.allclose(document, expected, atol=1e-6) and 0 <= document.min() <= 1


def test_the_product_classifier_is_kept_apart_from_the_weights_when_asked(tuned: Tuned
                                                                          ) -> None:
    from scripts.bench_vision_open import head_logits

    result, images, _ = tuned
    with np.load(result.path.parent / "head.npz", allow_pickle=False) as data:
        head = {f"head_{k}": data[k] for k in data.files}
    assert head["head_names"].tolist() == ["bar", "disc", "tri"]
    assert head["head_weight"].shape == (3, 1280) and head["head_bias"].shape == (3,)
    logits = head_logits(images, result.path, head, "lite0", 2)
    # the photos it learned from: each is its own product's, as the labels say
    predicted = head["head_names"][logits.argmax(axis=1)].tolist()
    assert predicted == product_photos()[1]


def test_fine_tuning_needs_several_photos_of_several_products(tmp_path: Path) -> None:
    images, labels = product_photos()
    with pytest.raises(ConfigError, match="two or more photos"):
        fine_tune(images[::3], labels[::3], out_dir=tmp_path)  # one photo per product
    with pytest.raises(ConfigError):
        fine_tune(images, labels[:-1], out_dir=tmp_path)
    with pytest.raises(ConfigError):
        fine_tune(images, labels, out_dir=tmp_path, model="resnet")
    assert not list(tmp_path.iterdir())  # nothing written


def test_weights_that_do_not_fit_are_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not weights")
    with pytest.raises(ModelUnavailable):
        ImageEncoder(tuned=junk).encode([Image.new("RGB", (64, 64))])
    with pytest.raises(ModelUnavailable):
        ImageEncoder(tuned=tmp_path / "missing.pt")


def test_the_current_weights_are_recorded_per_network(tuned: Tuned, tmp_path: Path) -> None:
    result, _, _ = tuned
    folder = result.path.parent
    assert current_tuned(folder, "lite0") is None  # nothing recorded yet
    record_current(result)
    assert current_tuned(folder, "lite0") == result.path
    assert current_tuned(folder, "lite2") is None  # tuned for another network
    stale = folder / ("0" * 16 + ".pt")
    stale.write_bytes(b"old")
    assert prune(folder, keep=result.path) == 1 and result.path.is_file()
    (tmp_path / "CURRENT.json").write_text("{not json")
    assert current_tuned(tmp_path, "lite0") is None
    (tmp_path / "CURRENT.json").write_text(json.dumps({"model": "lite0", "path": "gone.pt"}))
    assert current_tuned(tmp_path, "lite0") is None
    assert shrink(Image.new("L", (1000, 500)), "lite0").size == (516, 258)


def test_lookups_follow_an_index_built_with_new_weights(tuned: Tuned) -> None:
    result, images, _ = tuned
    mine = ImageEncoder(views=("center",), tuned=result.path)
    index = ImageIndex(dim=mine.dim, model_version=mine.version, threshold=0.9, floor=0.1)
    index.add(["disc", "bar", "tri"], ["a", "b", "c"], mine.encode(images[::3]))
    base = ImageEncoder(views=("center",))
    stale = VisualSearch(encoder=base, index=index).lookup(images[1])
    assert stale.status is Status.STALE_INDEX
    follows = VisualSearch(encoder=base, index=index,
                           encoder_for=lambda v: mine if v == mine.version else None)
    found = follows.lookup(images[1])
    assert found.status is not Status.STALE_INDEX and found.model_version == mine.version
    assert found.hits[0].product == "disc"
    asked: list[str] = []

    def wrong_encoder(version: str) -> ImageEncoder:
        asked.append(version)
        return base

    refuses = VisualSearch(encoder=base, index=index, encoder_for=wrong_encoder)
    assert refuses.lookup(images[1]).status is Status.STALE_INDEX  # versions must agree
    assert refuses.lookup(images[1]).status is Status.STALE_INDEX
    assert asked == [mine.version]  # not rebuilt at every lookup
