"""Content recall: text embeddings of the products, searched with faiss."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np

from recsys.channels.base import Channel, Query, need
from recsys.data import Dataset
from recsys.errors import ConfigError

if TYPE_CHECKING:
    import faiss


class Content(Channel):
    """Items close in a text-embedding space (names and descriptions, any language).

    The embeddings come from outside (see :mod:`recsys.embeddings`), one row per
    item column of the dataset, L2-normalised here. Users are represented by
    the recency-weighted mean of their items' embeddings.

    Args:
        vectors: Item embeddings, rows aligned with the dataset's ``item_ids``.
        half_life_days: Half-life of a history item's weight in the user profile.
    """

    name: ClassVar[str] = "content"

    def __init__(self, *, vectors: np.ndarray | None = None,
                 half_life_days: float = 60.0) -> None:
        if half_life_days <= 0:
            raise ConfigError("half_life_days must be > 0")
        self.half_life_days = half_life_days
        self.vectors = np.zeros((0, 0), np.float32) if vectors is None else \
            _normalise(np.asarray(vectors, np.float32))
        self._index: faiss.Index | None = None

    def fit(self, data: Dataset) -> Content:
        if len(self.vectors) != data.n_items:
            raise ConfigError(f"content vectors have {len(self.vectors)} rows for "
                              f"{data.n_items} items")
        self._build()
        return self

    def _build(self) -> None:
        import faiss  # heavy: load on use

        index = faiss.IndexFlatIP(self.vectors.shape[1])
        index.add(self.vectors)
        self._index = index
        self.n_items, self.fitted = len(self.vectors), True

    def profile(self, query: Query) -> np.ndarray | None:
        """The user's point in the embedding space, or ``None`` without history."""
        if not len(query.history):
            return None
        weights = query.weights * np.power(0.5, np.maximum(query.ages, 0) / self.half_life_days)
        if len(query.session):  # this session counts like the most recent history
            weights = weights.copy()
            weights[np.isin(query.history, query.session)] += weights.max()
        vector = weights.astype(np.float32) @ self.vectors[query.history]
        norm = np.linalg.norm(vector)
        return vector / norm if norm > 0 else None

    def score(self, query: Query) -> np.ndarray | None:
        user = self.profile(query)
        return None if user is None else self.vectors @ user

    def score_items(self, query: Query, cols: np.ndarray) -> np.ndarray | None:
        user = self.profile(query)
        return None if user is None else self.vectors[cols] @ user

    def recommend(self, query: Query, n: int = 10, exclude: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
        self._check()
        user = self.profile(query)
        if user is None:
            return np.zeros(0, np.int64), np.zeros(0)
        return self._search(user, n, exclude)

    def similar_items(self, col: int, n: int = 10) -> tuple[np.ndarray, np.ndarray]:
        self._check()
        if not 0 <= col < self.n_items:
            return np.zeros(0, np.int64), np.zeros(0)
        return self._search(self.vectors[col], n, np.array([col]))

    def item_scores(self, col: int) -> np.ndarray | None:
        return self.vectors @ self.vectors[col]

    def similarity_to(self, col: int, pool: np.ndarray) -> np.ndarray | None:
        return self.vectors[pool] @ self.vectors[col]

    def _search(self, vector: np.ndarray, n: int, exclude: np.ndarray | None
                ) -> tuple[np.ndarray, np.ndarray]:
        assert self._index is not None
        extra = 0 if exclude is None else len(exclude)
        k = min(self.n_items, n + extra)
        scores, cols = self._index.search(vector[None, :].astype(np.float32), k)
        cols, scores = cols[0], scores[0]
        keep = cols >= 0
        if exclude is not None and extra:
            keep &= ~np.isin(cols, exclude)
        return cols[keep][:n].astype(np.int64), scores[keep][:n].astype(np.float64)

    def state(self) -> dict[str, np.ndarray]:
        return {"vectors": self.vectors}

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray], config: dict[str, object]) -> Content:
        (vectors,) = need(state, "vectors")
        model = cls(vectors=vectors, **config)  # type: ignore[arg-type]
        model._build()
        return model


def _normalise(vectors: np.ndarray) -> np.ndarray:
    if vectors.ndim != 2:
        raise ConfigError("content vectors must be a 2-d array")
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)
