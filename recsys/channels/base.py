"""The interface every recall channel implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from recsys.data import Dataset
from recsys.errors import ArtifactError, NotFittedError


@dataclass(frozen=True)
class Query:
    """Who a recommendation is for, as the channels see it.

    Attributes:
        row: The user's row in the training matrix, or ``None`` for a user
            the model has not seen (anonymous, new).
        history: Item columns the user interacted with (training history plus
            anything newer, e.g. this conversation).
        weights: Strength of each history item (same length as ``history``).
        ages: Days since the user last interacted with each history item.
        session: Item columns of the current session, most recent last.
    """

    row: int | None
    history: np.ndarray
    weights: np.ndarray
    ages: np.ndarray
    session: np.ndarray

    @classmethod
    def anonymous(cls, session: np.ndarray | None = None) -> Query:
        """A user known only by this session's items."""
        s = np.zeros(0, np.int64) if session is None else np.asarray(session, np.int64)
        s = np.asarray(list(dict.fromkeys(s.tolist())), np.int64)
        return cls(None, s, np.ones(len(s), np.float32), np.zeros(len(s)), s)

    def vector(self, n_items: int) -> sp.csr_matrix:
        """The history as a 1 x n_items sparse row."""
        return sp.csr_matrix((self.weights.astype(np.float32),
                              (np.zeros(len(self.history), np.int64), self.history)),
                             shape=(1, n_items))


def top_n(scores: np.ndarray, n: int, exclude: np.ndarray | None = None
          ) -> tuple[np.ndarray, np.ndarray]:
    """The ``n`` best columns of ``scores`` (ties broken by column), skipping ``exclude``.

    Returns:
        Column indices and their scores, best first. Columns scored ``-inf``
        or ``nan`` are never returned.
    """
    scores = np.asarray(scores, dtype=np.float64)
    if exclude is not None and len(exclude):
        scores = scores.copy()
        scores[exclude] = -np.inf
    valid = np.isfinite(scores)
    n = min(n, int(valid.sum()))
    if n <= 0:
        return np.zeros(0, np.int64), np.zeros(0)
    candidates = np.flatnonzero(valid)
    if n < len(candidates):
        part = np.argpartition(-scores[candidates], n - 1)[:n]
        candidates = candidates[part]
    order = np.lexsort((candidates, -scores[candidates]))
    best = candidates[order]
    return best.astype(np.int64), scores[best]


class Channel:
    """A recall channel: fit on a :class:`Dataset`, score every item for a :class:`Query`.

    Subclasses implement :meth:`fit`, :meth:`score`, :meth:`item_scores`,
    :meth:`state` and :meth:`from_state`; ids, exclusions and top-n selection
    are shared.
    """

    name: ClassVar[str] = "channel"
    n_items: int = 0
    fitted: bool = False

    def fit(self, data: Dataset) -> Channel:
        raise NotImplementedError

    def score(self, query: Query) -> np.ndarray | None:
        """A score per item column for ``query``, or ``None`` when the channel has nothing."""
        raise NotImplementedError

    def item_scores(self, col: int) -> np.ndarray | None:
        """A similarity per item column to item ``col``, or ``None`` when unsupported."""
        return None

    def similarity_to(self, col: int, pool: np.ndarray) -> np.ndarray | None:
        """How strongly each item of ``pool`` points to item ``col`` (for explanations)."""
        scores = self.item_scores(col)
        return None if scores is None else scores[pool]

    def recommend(self, query: Query, n: int = 10, exclude: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
        """The ``n`` best item columns for ``query`` and their scores."""
        self._check()
        scores = self.score(query)
        if scores is None:
            return np.zeros(0, np.int64), np.zeros(0)
        return top_n(scores, n, exclude)

    def similar_items(self, col: int, n: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """The ``n`` items most similar to item ``col`` (never itself) and their scores."""
        self._check()
        if not 0 <= col < self.n_items:
            return np.zeros(0, np.int64), np.zeros(0)
        scores = self.item_scores(col)
        if scores is None:
            return np.zeros(0, np.int64), np.zeros(0)
        best, values = top_n(scores, n, np.array([col]))
        keep = values > 0
        return best[keep], values[keep]

    def state(self) -> dict[str, np.ndarray]:
        """The fitted model as named arrays (saved without pickle)."""
        raise NotImplementedError

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray], config: dict[str, object]) -> Channel:
        raise NotImplementedError

    def _check(self) -> None:
        if not self.fitted:
            raise NotFittedError(f"the {self.name} channel is not fitted")


class SimilarityChannel(Channel):
    """A channel whose model is a sparse item-to-item similarity matrix (rows: from)."""

    similarity: sp.csr_matrix = sp.csr_matrix((0, 0), dtype=np.float32)

    def item_scores(self, col: int) -> np.ndarray | None:
        return np.asarray(self.similarity[col].todense()).ravel()

    def similarity_to(self, col: int, pool: np.ndarray) -> np.ndarray | None:
        return np.asarray(self.similarity[pool][:, col].todense()).ravel()

    def state(self) -> dict[str, np.ndarray]:
        return sparse_state("sim", self.similarity)

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray],
                   config: dict[str, object]) -> SimilarityChannel:
        model = cls(**config)
        model.similarity = sparse_from_state("sim", state)
        model.n_items, model.fitted = model.similarity.shape[0], True
        return model


def need(state: dict[str, np.ndarray], *keys: str) -> list[np.ndarray]:
    """The arrays ``keys`` of ``state``, or :class:`ArtifactError` naming the missing one."""
    missing = [k for k in keys if k not in state]
    if missing:
        raise ArtifactError(f"saved model lacks {', '.join(missing)}")
    return [state[k] for k in keys]


def sparse_state(prefix: str, m: sp.csr_matrix) -> dict[str, np.ndarray]:
    """A CSR matrix as plain arrays."""
    return {f"{prefix}_data": m.data, f"{prefix}_indices": m.indices,
            f"{prefix}_indptr": m.indptr, f"{prefix}_shape": np.asarray(m.shape)}


def sparse_from_state(prefix: str, state: dict[str, np.ndarray]) -> sp.csr_matrix:
    """The CSR matrix :func:`sparse_state` saved."""
    data, indices, indptr, shape = need(state, f"{prefix}_data", f"{prefix}_indices",
                                        f"{prefix}_indptr", f"{prefix}_shape")
    return sp.csr_matrix((data, indices, indptr), shape=tuple(int(s) for s in shape))


def keep_top_k(m: sp.spmatrix | np.ndarray, k: int, *, block: int = 256) -> sp.csr_matrix:
    """Keep the ``k`` largest positive entries of every row (rows taken ``block`` at a time)."""
    n_rows, n_cols = m.shape
    k = max(1, min(k, n_cols))
    src: Any = m.tocsr() if sp.issparse(m) else np.asarray(m)  # type: ignore[union-attr]
    rows, cols, vals = [], [], []
    for start in range(0, n_rows, block):
        chunk = src[start:start + block]
        dense = chunk.toarray() if sp.issparse(chunk) else np.asarray(chunk)
        idx = np.argpartition(-dense, k - 1, axis=1)[:, :k]
        v = np.take_along_axis(dense, idx, axis=1)
        rows.append(np.repeat(np.arange(start, start + dense.shape[0]), k))
        cols.append(idx.ravel())
        vals.append(v.ravel())
    data = np.concatenate(vals) if vals else np.zeros(0)
    data[data < 0] = 0
    out = sp.csr_matrix((data, (np.concatenate(rows) if rows else np.zeros(0, np.int64),
                                np.concatenate(cols) if cols else np.zeros(0, np.int64))),
                        shape=(n_rows, n_cols))
    out.eliminate_zeros()
    out.sort_indices()
    return out.astype(np.float32)
