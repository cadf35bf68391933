"""The image index: several photos per product, incremental updates, saved and reloaded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vision.adapt import calibrate, fit_projection, unsold_scores
from vision.errors import ConfigError, IndexFormatError
from vision.index import ImageIndex, IndexStore


def vectors(rng: np.random.Generator, centre: np.ndarray, n: int, noise: float) -> np.ndarray:
    v = centre + noise * rng.standard_normal((n, len(centre)))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.fixture
def catalog() -> tuple[ImageIndex, dict[str, np.ndarray]]:
    rng = np.random.default_rng(0)
    centres = {f"P{i}": rng.standard_normal(16) for i in range(5)}
    index = ImageIndex(dim=16, model_version="test")
    for product, centre in centres.items():
        vs = vectors(rng, centre, 3, 0.1)
        index.add([product] * 3, [f"{product}-{k}.jpg" for k in range(3)], vs)
    return index, centres


def test_search_returns_each_product_once_with_its_best_image(catalog) -> None:
    index, centres = catalog
    hits = index.search(centres["P3"][None, :], k=3)[0]
    assert [h.product for h in hits][0] == "P3" and len({h.product for h in hits}) == 3
    assert hits[0].image.startswith("P3-") and hits[0].score > 0.9
    assert hits[0].score >= hits[1].score >= hits[2].score


def test_adding_the_same_photo_again_replaces_it_and_removal_is_incremental(catalog) -> None:
    index, centres = catalog
    assert len(index) == 15
    index.add(["P0"], ["P0-0.jpg"], centres["P0"][None, :])
    assert len(index) == 15
    assert index.remove(products=["P3"]) == 3 and "P3" not in index.products()
    assert all(h.product != "P3" for h in index.search(centres["P3"][None, :], k=4)[0])
    assert index.remove(images=["P1-0.jpg"]) == 1 and len(index) == 11
    assert index.remove(pairs=[("P2", "P2-1.jpg"), ("P2", "missing")]) == 1


def test_saved_index_reloads_identically_and_bad_folders_fail_clearly(tmp_path: Path,
                                                                       catalog) -> None:
    index, centres = catalog
    index.threshold = 0.5
    store = IndexStore(tmp_path, check_seconds=0)
    assert store.current() is None
    first = store.publish(index)
    loaded = store.current()
    assert loaded is not None and loaded.entries() == index.entries()
    assert loaded.threshold == 0.5 and loaded.model_version == "test"
    query = centres["P1"][None, :]
    assert loaded.search(query, 3) == index.search(query, 3)
    index.remove(products=["P1"])
    store.publish(index)
    assert "P1" not in store.current().products()  # hot reload
    (tmp_path / first / "vectors.npz").write_bytes(b"broken")
    with pytest.raises(IndexFormatError):
        ImageIndex.load(tmp_path / first)


def test_an_empty_index_finds_nothing_and_bad_queries_are_refused() -> None:
    index = ImageIndex(dim=8, model_version="test")
    assert index.search(np.ones((2, 8)), 3) == [[], []]
    with pytest.raises(ConfigError):
        index.search(np.ones((1, 7)), 3)
    with pytest.raises(ConfigError):
        index.add(["P"], ["a", "b"], np.ones((1, 8)))


def test_projection_separates_products_that_share_a_nuisance_direction() -> None:
    rng = np.random.default_rng(1)
    dim = 12
    nuisance = np.zeros(dim)
    nuisance[0] = 1.0  # lighting: large, shared by every product
    centres = {f"P{i}": np.r_[0.0, 0.5 * rng.standard_normal(dim - 1)] for i in range(6)}
    labels, rows = [], []
    for product, centre in centres.items():
        for _ in range(6):
            rows.append(centre + 3.0 * rng.standard_normal() * nuisance
                        + 0.05 * rng.standard_normal(dim))
            labels.append(product)
    x = np.asarray(rows)
    projection = fit_projection(x, labels, shrinkage=0.1)
    assert projection is not None
    plain = ImageIndex(dim=dim, model_version="t")
    adapted = ImageIndex(dim=dim, model_version="t", projection=projection)
    for index in (plain, adapted):
        index.add(labels[::2], [f"{i}" for i in range(0, len(x), 2)], x[::2])
    queries, truth = x[1::2], labels[1::2]
    accuracy = {name: np.mean([hits[0].product == t for hits, t in
                               zip(index.search(queries, 1), truth, strict=True)])
                for name, index in (("plain", plain), ("adapted", adapted))}
    assert accuracy["adapted"] > accuracy["plain"] and accuracy["adapted"] >= 0.9
    assert fit_projection(x[:3], ["a", "b", "c"]) is None  # one photo each: nothing to learn


def test_calibrated_bounds_are_quantiles_of_unsold_product_scores() -> None:
    rng = np.random.default_rng(2)
    labels, rows = [], []
    for i in range(8):
        centre = rng.standard_normal(32)
        for v in vectors(rng, centre, 4, 0.15):
            rows.append(v)
            labels.append(f"P{i}")
    x = np.asarray(rows)
    unsold = unsold_scores(x, labels)
    same = max(float(x[0] @ x[j]) for j in range(1, 4))  # P0's own photos
    assert len(unsold) == 32 and unsold.max() < same  # other products score lower
    bounds = calibrate(x, labels, reject=0.75, floor_reject=0.1)
    assert bounds is not None and bounds.queries == 32
    assert np.mean(unsold >= bounds.threshold) == pytest.approx(0.25, abs=0.04)
    assert np.mean(unsold < bounds.floor) == pytest.approx(0.1, abs=0.04)
    assert bounds.floor <= bounds.threshold < same
    assert calibrate(x[:3], ["a", "a", "a"]) is None  # one product: nothing to compare
    assert calibrate(x[::4], labels[::4]) is None  # one photo per product: defaults apply
    with pytest.raises(ConfigError):
        calibrate(x, labels, reject=0.1, floor_reject=0.5)


def test_a_product_with_many_photos_does_not_crowd_out_the_others() -> None:
    rng = np.random.default_rng(3)
    centre = rng.standard_normal(16)
    index = ImageIndex(dim=16, model_version="test")
    index.add(["BIG"] * 200, [f"big-{i}" for i in range(200)], vectors(rng, centre, 200, 0.01))
    index.add(["A", "B", "C"], ["a", "b", "c"], rng.standard_normal((3, 16)))
    hits = index.search(centre[None, :], k=4)[0]
    assert [h.product for h in hits][0] == "BIG" and {h.product for h in hits} == {
        "BIG", "A", "B", "C"}


def test_a_photo_between_two_close_products_is_not_answered_as_either() -> None:
    """The ratio rule: a photo of an unsold relative of two sold products (another
    apple variety) scores high on both; one of a sold product stands out from the next."""
    from vision.adapt import decision_scores, unsold_pairs
    from vision.search import Status, VisualSearch

    rng = np.random.default_rng(5)
    apple = rng.standard_normal(32)
    red, green = apple + 0.4 * rng.standard_normal(32), apple + 0.4 * rng.standard_normal(32)
    others = [rng.standard_normal(32) for _ in range(6)]
    labels, rows = [], []
    for name, centre in [("RED", red), ("GREEN", green)] + [
            (f"P{i}", c) for i, c in enumerate(others)]:
        for v in vectors(rng, centre, 5, 0.1):
            rows.append(v)
            labels.append(name)
    x = np.asarray(rows)
    best, second = unsold_pairs(x, labels)
    assert len(best) == len(second) == len(x) and np.all(best >= second)
    # a removed RED photo's best remaining product is GREEN, well ahead of the rest
    assert best[0] > second[0]
    assert decision_scores(np.asarray([0.8]), np.asarray([0.7]))[0] == pytest.approx(1 / 3)
    assert decision_scores(np.asarray([0.8]), np.asarray([0.7]), rule="score")[0] == 0.8
    with pytest.raises(ConfigError):
        decision_scores(np.asarray([0.8]), np.asarray([0.7]), rule="vibes")

    class Fixed:  # an encoder that returns the vector it is given
        version, dim = "test", 32

        def analyse(self, images: list) -> tuple[np.ndarray, np.ndarray]:
            return np.asarray(images), np.zeros(len(images))

    def index(decision: str, threshold: float) -> ImageIndex:
        built = ImageIndex(dim=32, model_version="test", threshold=threshold, floor=0.0,
                           decision=decision)
        built.add(labels, [f"img-{i}" for i in range(len(labels))], x)
        return built

    between = apple / np.linalg.norm(apple)  # neither variety: close to both
    sold = red / np.linalg.norm(red)
    plain = index("score", 0.8)
    top = plain.search(np.stack([between, sold]), 2)
    assert top[0][0].score > 0.8  # the best score alone would answer it as a match
    ratios = [float(decision_scores(np.asarray([h[0].score]), np.asarray([h[1].score]))[0])
              for h in top]
    threshold = float(np.mean(ratios))
    assert ratios[0] < threshold < ratios[1]
    ruled = VisualSearch(encoder=Fixed(), index=index("ratio", threshold))  # type: ignore[arg-type]
    unsold_answer = ruled.lookup(between, k=3)  # type: ignore[arg-type]
    sold_answer = ruled.lookup(sold, k=3)  # type: ignore[arg-type]
    assert unsold_answer.status is Status.UNSURE and not unsold_answer.confident
    assert {h.product for h in unsold_answer.plausible[:2]} == {"RED", "GREEN"}
    assert sold_answer.status is Status.MATCHED
    assert [h.product for h in sold_answer.confident] == ["RED"]


def test_the_decision_rule_is_saved_with_the_index_and_checked_on_load(tmp_path: Path) -> None:
    import json


    index = ImageIndex(dim=4, model_version="test", threshold=0.4, floor=0.3, decision="ratio")
    index.add(["A", "B"], ["a", "b"], np.eye(4)[:2])
    loaded = ImageIndex.load(index.save(tmp_path / "v1"))
    assert (loaded.decision, loaded.threshold, loaded.floor) == ("ratio", 0.4, 0.3)
    manifest = json.loads((tmp_path / "v1" / "manifest.json").read_text())
    (tmp_path / "v1" / "manifest.json").write_text(json.dumps({**manifest, "decision": "vibes"}))
    with pytest.raises(IndexFormatError):
        ImageIndex.load(tmp_path / "v1")
    del manifest["decision"]  # written before the rule existed: the best score alone
    (tmp_path / "v1" / "manifest.json").write_text(json.dumps(manifest))
    assert ImageIndex.load(tmp_path / "v1").decision == "score"
