"""Item-to-item collaborative filtering: cosine similarity of co-occurrence."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from recsys.channels.base import Query, SimilarityChannel, keep_top_k
from recsys.data import Dataset
from recsys.errors import ConfigError


class ItemKNN(SimilarityChannel):
    """Items are similar when the same users have them (cosine with shrinkage).

    ``sim(i, j) = |U_i & U_j| / (sqrt(|U_i| |U_j|) + shrink)``, keeping the
    ``neighbours`` most similar items of each item; a user's score for ``j``
    sums the similarities of ``j`` to the user's items.

    Args:
        neighbours: Similar items kept per item.
        shrink: Shrinkage that damps similarities built on few users.
        binary: Count users (true) or sum weights (false).
    """

    name: ClassVar[str] = "itemknn"

    def __init__(self, *, neighbours: int = 100, shrink: float = 10.0,
                 binary: bool = True) -> None:
        if neighbours < 1 or shrink < 0:
            raise ConfigError("neighbours must be >= 1 and shrink >= 0")
        self.neighbours, self.shrink, self.binary = neighbours, shrink, binary

    def fit(self, data: Dataset) -> ItemKNN:
        x = data.matrix.astype(np.float32)
        if self.binary:
            x = x.copy()
            x.data[:] = 1.0
        co = (x.T @ x).tocsr()
        co.setdiag(0)
        co.eliminate_zeros()
        norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=0)).ravel())
        co = co.tocoo()
        co.data = co.data / (norms[co.row] * norms[co.col] + self.shrink)
        self.similarity = keep_top_k(co.tocsr(), self.neighbours)
        self.n_items, self.fitted = data.n_items, True
        return self

    def score(self, query: Query) -> np.ndarray | None:
        if not len(query.history):
            return None
        return np.asarray((query.vector(self.n_items) @ self.similarity).todense()).ravel()
