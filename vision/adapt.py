"""Light adaptation of the embedding to the shop's photos, and threshold calibration.

Both learn only from the shop's own product photos (several per product):
no labels beyond "these photos show the same product" are needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vision.errors import ConfigError


def _unit(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, np.float64)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def fit_projection(vectors: np.ndarray, labels: Sequence[str], *, shrinkage: float = 0.5,
                   dims: int | str | None = None) -> np.ndarray | None:
    """A linear map that whitens the variation between photos of the same product.

    Within-class whitening (the first step of LDA): directions along which
    photos of one product differ (lighting, background, angle) are shrunk,
    directions that tell products apart are kept. The within-class covariance
    is shrunk towards a multiple of the identity by ``shrinkage`` so a few
    photos per product are enough. With ``dims``, only the ``dims`` directions
    with the largest between-product variance after whitening are kept.

    Args:
        vectors: Photos' unit vectors, one row each.
        labels: The product of each row.
        shrinkage: 0 (pure whitening) to 1 (no change).
        dims: Output dimensions: ``None`` keeps all (whitening only), ``"lda"``
            keeps one fewer than the number of products (Fisher's linear
            discriminant), an integer keeps that many.

    Returns:
        A ``dim x out`` matrix, or ``None`` when fewer than two products have
        two or more photos (nothing to learn from).
    """
    if not 0 <= shrinkage <= 1 or not (dims is None or dims == "lda"
                                       or (isinstance(dims, int) and dims >= 1)):
        raise ConfigError("0 <= shrinkage <= 1, and dims None, 'lda' or >= 1 required")
    x = _unit(vectors)
    names, codes, counts = np.unique(np.asarray(labels), return_inverse=True,
                                     return_counts=True)
    if (counts >= 2).sum() < 2:
        return None
    means = np.zeros((len(names), x.shape[1]))
    np.add.at(means, codes, x)
    means /= counts[:, None]
    centred = x - means[codes]
    within = centred.T @ centred / max(len(x) - len(names), 1)
    scale = np.trace(within) / len(within)
    within = (1 - shrinkage) * within + shrinkage * scale * np.eye(len(within))
    values, vecs = np.linalg.eigh(within)
    whiten = vecs @ np.diag(1.0 / np.sqrt(np.maximum(values, 1e-12))) @ vecs.T
    if dims == "lda":
        dims = len(names) - 1
    if dims is None or not isinstance(dims, int) or dims >= x.shape[1]:
        return whiten.astype(np.float32)
    between = (means - means.mean(axis=0)) @ whiten
    _, _, vt = np.linalg.svd(between, full_matrices=False)
    return (whiten @ vt[:dims].T).astype(np.float32)


@dataclass(frozen=True)
class Calibration:
    """Score bounds for answering a photo, learned from the shop's own photos.

    Attributes:
        threshold: A photo whose decision score (:func:`decision_scores`) is at
            or above it is answered with its best product as a match.
        floor: A best score below it shows nothing; otherwise the closest
            products are shown as alternatives (the shop does not seem to
            sell what the photo shows).
        queries: How many leave-one-product-out queries the bounds rest on.
        decision: The rule of the score the threshold applies to
            (:func:`decision_scores`).
    """

    threshold: float
    floor: float
    queries: int
    decision: str = "score"


DECISIONS = ("ratio", "score")
#: the calibration quantile of each rule, for a network fine-tuned on the shop's photos
#: and for ImageNet's weights: chosen by ``make bench-vision``'s open-set protocol on
#: validation photos (the most right answers with at most 10% of photos of products not
#: sold answered as a match and 5% wrong); ``score`` keeps its earlier default
REJECT = {("ratio", True): 0.93, ("ratio", False): 0.80, ("score", True): 0.75,
          ("score", False): 0.75}


def _known(rule: str) -> str:
    if rule not in DECISIONS:
        raise ConfigError(f"decision rule {rule!r}: choose from {', '.join(DECISIONS)}")
    return rule


def default_reject(decision: str, *, tuned: bool) -> float:
    """The shipped calibration quantile for the rule ``decision`` (see :data:`REJECT`)."""
    return REJECT[(_known(decision), tuned)]


def decision_scores(best: np.ndarray, second: np.ndarray, *, rule: str = "ratio"
                    ) -> np.ndarray:
    """What a photo's answer is decided on, from the best and second-best products' scores.

    ``score``: the best score alone. ``ratio``: one minus the ratio of the two cosine
    distances, ``1 - (1 - best) / (1 - second)`` (Lowe's ratio test): near 1 when the
    photo is much closer to its best product than to any other, near 0 when it
    lies as close to two. A photo of a product the shop does not sell tends to land
    between related products (another apple variety: both apples score alike); one
    of a sold product lands on it, well ahead of the next. ``make bench-vision``'s
    open-set protocol chose it (``docs/benchmarks.md``).
    """
    _known(rule)
    best, second = np.asarray(best, np.float64), np.asarray(second, np.float64)
    if rule == "score":
        return best
    second = np.where(np.isfinite(second), second, -1.0)
    return 1.0 - (1.0 - best) / np.maximum(1.0 - second, 1e-6)


def unsold_pairs(vectors: np.ndarray, labels: Sequence[str], *, max_rows: int = 5000,
                 seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Each photo's best and second-best product scores once its whole product is
    removed from the catalog.

    This is what a photo of a product the shop does not sell scores, measured
    on the shop's own photos (leave one product out). Empty when the catalog
    has fewer than two products; the second score is ``-1`` with only two.
    """
    x = _unit(vectors)
    _, codes = np.unique(np.asarray(labels), return_inverse=True)
    if codes.max(initial=0) < 1:
        return np.zeros(0), np.zeros(0)
    rows = np.arange(len(x))
    if len(rows) > max_rows:
        rows = np.sort(np.random.default_rng(seed).choice(rows, max_rows, replace=False))
    sims = x[rows] @ x.T
    per_product = np.full((len(rows), codes.max() + 1), -np.inf)
    for code in range(codes.max() + 1):  # a product's score: its best photo's
        per_product[:, code] = sims[:, codes == code].max(axis=1)
    per_product[np.arange(len(rows)), codes[rows]] = -np.inf
    ordered = -np.sort(-per_product, axis=1)
    second = ordered[:, 1] if ordered.shape[1] > 2 else np.full(len(rows), -1.0)
    return ordered[:, 0], np.where(np.isfinite(second), second, -1.0)


def unsold_scores(vectors: np.ndarray, labels: Sequence[str], *, max_rows: int = 5000,
                  seed: int = 0) -> np.ndarray:
    """Each photo's best score once its whole product is removed from the catalog
    (see :func:`unsold_pairs`)."""
    return unsold_pairs(vectors, labels, max_rows=max_rows, seed=seed)[0]


def calibrate(vectors: np.ndarray, labels: Sequence[str], *, reject: float = 0.75,
              floor_reject: float = 0.10, decision: str = "score") -> Calibration | None:
    """Score bounds from how photos of products the shop does not sell would score.

    Scores of photos of sold products cannot be measured honestly on the
    catalog: a shop's photos of one product are near-duplicates of each other,
    far closer than a customer's photo taken elsewhere (on the Grocery Store
    data, leave-one-out put the threshold where only 7% of real shoppers'
    correct matches cleared it). Unsold products are simulated well by removing
    a product with all its photos. So the bounds are quantiles of those scores:
    ``threshold`` rejects the share ``reject`` of unsold-product photos (on
    their :func:`decision_scores` by the rule ``decision``), ``floor`` the share
    ``floor_reject`` (on their best score: what is close enough to be shown as
    an alternative).

    Catalog photos only stand in for customers' photos when products have
    several photos, taken in varied conditions. With one studio image per
    product, the images score high against each other (plain backgrounds) and
    customers' photos far lower: on the Grocery Store data such bounds left
    99.7% of shoppers' photos "nothing close". So at least two products need
    two or more photos; otherwise the caller's defaults apply.

    Returns:
        The bounds, or ``None`` when fewer than two products have two photos.
    """
    if not 0 <= floor_reject <= reject <= 1:
        raise ConfigError("0 <= floor_reject <= reject <= 1 required")
    _, counts = np.unique(np.asarray(labels), return_counts=True)
    if (counts >= 2).sum() < 2:
        return None
    best, second = unsold_pairs(vectors, labels)
    if not len(best):
        return None
    return Calibration(float(np.quantile(decision_scores(best, second, rule=decision), reject)),
                       float(np.quantile(best, floor_reject)), len(best), decision)
