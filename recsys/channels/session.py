"""Session recall: items that occur together in sessions (baskets, visits, chats)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from recsys.channels.base import (
    Channel,
    Query,
    keep_top_k,
    sparse_from_state,
    sparse_state,
)
from recsys.data import Dataset
from recsys.errors import ConfigError


class SessionCooccurrence(Channel):
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
        self.similarity = keep_top_k(np.zeros((0, 0)), 1)

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

    def item_scores(self, col: int) -> np.ndarray | None:
        return np.asarray(self.similarity[col].todense()).ravel()

    def state(self) -> dict[str, np.ndarray]:
        return sparse_state("sim", self.similarity)

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray],
                   config: dict[str, object]) -> SessionCooccurrence:
        model = cls(**config)  # type: ignore[arg-type]
        model.similarity = sparse_from_state("sim", state)
        model.n_items, model.fitted = model.similarity.shape[0], True
        return model
