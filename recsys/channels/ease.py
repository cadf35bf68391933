"""EASE (Steck, 2019): a closed-form linear item-to-item model."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import scipy.sparse as sp

from recsys.channels.base import (
    Channel,
    Query,
    keep_top_k,
    sparse_from_state,
    sparse_state,
)
from recsys.data import Dataset
from recsys.errors import ConfigError


class EASE(Channel):
    """``B = I - P / diag(P)`` with ``P = (X'X + lambda I)^-1``, zero diagonal.

    The inverse is dense in the number of items, so catalogs above
    ``max_items`` skip this channel (the others cover them). The fitted
    weights are sparsified to the ``keep`` largest per item for storage and speed.

    Args:
        l2: Ridge regularisation ``lambda``.
        keep: Largest weights kept per item (0 keeps the dense matrix).
        max_items: Largest catalog this channel fits.
        binary: Fit on 0/1 (true) or on the summed weights.
    """

    name: ClassVar[str] = "ease"

    def __init__(self, *, l2: float = 250.0, keep: int = 0, max_items: int = 20_000,
                 binary: bool = True) -> None:
        if l2 <= 0 or keep < 0 or max_items < 1:
            raise ConfigError("l2 must be > 0, keep >= 0 and max_items >= 1")
        self.l2, self.keep, self.max_items, self.binary = l2, keep, max_items, binary
        self.weights: np.ndarray | sp.csr_matrix = np.zeros((0, 0), np.float32)
        self.skipped = False

    def fit(self, data: Dataset) -> EASE:
        self.n_items, self.fitted = data.n_items, True
        if data.n_items > self.max_items:
            self.skipped = True
            return self
        x = data.matrix.astype(np.float64)
        if self.binary:
            x = x.copy()
            x.data[:] = 1.0
        gram = (x.T @ x).toarray()
        gram[np.diag_indices_from(gram)] += self.l2
        p = np.linalg.inv(gram)
        b = -p / np.diag(p)
        b[np.diag_indices_from(b)] = 0.0
        self.weights = keep_top_k(b.T, self.keep).T.tocsr() if self.keep else \
            b.astype(np.float32)
        return self

    def score(self, query: Query) -> np.ndarray | None:
        if self.skipped or not len(query.history):
            return None
        x = query.vector(self.n_items)
        if self.binary:
            x.data[:] = 1.0
        out = x @ self.weights
        return np.asarray(out.todense() if sp.issparse(out) else out).ravel()

    def item_scores(self, col: int) -> np.ndarray | None:
        if self.skipped:
            return None
        row = self.weights[col]
        return np.asarray(row.todense() if sp.issparse(row) else row).ravel()

    def similarity_to(self, col: int, pool: np.ndarray) -> np.ndarray | None:
        if self.skipped:
            return None
        block = self.weights[pool][:, col]
        return np.asarray(block.todense() if sp.issparse(block) else block).ravel()

    def state(self) -> dict[str, np.ndarray]:
        if sp.issparse(self.weights):
            return {"n_items": np.asarray([self.n_items]), **sparse_state("b", self.weights)}
        return {"n_items": np.asarray([self.n_items]), "b": np.asarray(self.weights)}

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray], config: dict[str, object]) -> EASE:
        model = cls(**config)  # type: ignore[arg-type]
        model.n_items, model.fitted = int(state["n_items"][0]), True
        if "b" in state:
            model.weights = state["b"]
        elif "b_data" in state:
            model.weights = sparse_from_state("b", state)
        else:
            model.skipped = True
        return model
