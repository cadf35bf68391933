"""Session recall: items that occur together in sessions (baskets, visits, chats)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from recsys.channels.base import Query, SimilarityChannel, keep_top_k
from recsys.data import Dataset
from recsys.errors import ConfigError


class SessionCooccurrence(SimilarityChannel):
    """Recalls what goes with the items of the current session.

    Similarity is the cosine of item co-occurrence within sessions (not
    across a user's whole history), so it captures "bought together" and
    "viewed together". A query's score sums the similarities to its session
    items, the most recent weighted most (``decay`` per step back). This is
    also the co-purchase signal of complementary ("goes with") recommendations.

    Args:
        neighbours: Similar items kept per item.
        shrink: Shrinkage of the cosine.
        decay: Weight of each older session item relative to the next newer one.
    """

    name: ClassVar[str] = "session"

    def __init__(self, *, neighbours: int = 100, shrink: float = 5.0,
                 decay: float = 0.8) -> None:
        if neighbours < 1 or shrink < 0 or not 0 < decay <= 1:
            raise ConfigError("neighbours >= 1, shrink >= 0 and 0 < decay <= 1 required")
        self.neighbours, self.shrink, self.decay = neighbours, shrink, decay

    def fit(self, data: Dataset) -> SessionCooccurrence:
        x = data.baskets
        co = (x.T @ x).tocsr()
        co.setdiag(0)
        co.eliminate_zeros()
        counts = np.asarray(x.sum(axis=0)).ravel()
        co = co.tocoo()
        co.data = co.data / (np.sqrt(counts[co.row] * counts[co.col]) + self.shrink)
        self.similarity = keep_top_k(co.tocsr(), self.neighbours)
        self.n_items, self.fitted = data.n_items, True
        return self

    def score(self, query: Query) -> np.ndarray | None:
        items = query.session
        if not len(items):
            return None
        weights = np.power(self.decay, np.arange(len(items))[::-1]).astype(np.float32)
        return np.asarray(weights @ self.similarity[items].toarray()).ravel()
