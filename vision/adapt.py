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
        threshold: A top match at or above it is shown as a match.
        floor: Below it nothing is shown ("nothing close"); between the two,
            the closest products are shown as a guess.
        queries: How many leave-one-product-out queries the bounds rest on.
    """

    threshold: float
    floor: float
    queries: int


def unsold_scores(vectors: np.ndarray, labels: Sequence[str], *, max_rows: int = 5000,
                  seed: int = 0) -> np.ndarray:
    """Each photo's best score once its whole product is removed from the catalog.

    This is what a photo of a product the shop does not sell scores, measured
    on the shop's own photos (leave one product out). Empty when the catalog
    has fewer than two products.
    """
    x = _unit(vectors)
    _, codes = np.unique(np.asarray(labels), return_inverse=True)
    if codes.max(initial=0) < 1:
        return np.zeros(0)
    rows = np.arange(len(x))
    if len(rows) > max_rows:
        rows = np.sort(np.random.default_rng(seed).choice(rows, max_rows, replace=False))
    sims = x[rows] @ x.T
    sims[codes[rows][:, None] == codes[None, :]] = -np.inf
    return np.max(sims, axis=1)


def calibrate(vectors: np.ndarray, labels: Sequence[str], *, reject: float = 0.75,
              floor_reject: float = 0.10) -> Calibration | None:
    """Score bounds from how photos of products the shop does not sell would score.

    Scores of photos of sold products cannot be measured honestly on the
    catalog: a shop's photos of one product are near-duplicates of each other,
    far closer than a customer's photo taken elsewhere (on the Grocery Store
    data, leave-one-out put the threshold where only 7% of real shoppers'
    correct matches cleared it). Unsold products are simulated well by removing
    a product with all its photos. So the bounds are quantiles of those scores:
    ``threshold`` rejects the share ``reject`` of unsold-product photos,
    ``floor`` the share ``floor_reject``.

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
    scores = unsold_scores(vectors, labels)
    if not len(scores):
        return None
    return Calibration(float(np.quantile(scores, reject)),
                       float(np.quantile(scores, floor_reject)), len(scores))
