"""Matrix factorisation with implicit's alternating least squares (Hu et al., 2008)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from recsys.channels.base import Channel, Query, need
from recsys.data import Dataset
from recsys.errors import ConfigError


class ALS(Channel):
    """Implicit-feedback ALS; users not in the training data are folded in from their items.

    Args:
        factors: Latent dimensions.
        regularization: L2 weight ``lambda``.
        alpha: Confidence per unit of interaction weight.
        iterations: ALS sweeps.
        seed: Random seed of the initial factors.
        threads: CPU threads (0: all).
    """

    name: ClassVar[str] = "als"

    def __init__(self, *, factors: int = 64, regularization: float = 0.05, alpha: float = 2.0,
                 iterations: int = 15, seed: int = 42, threads: int = 0) -> None:
        if factors < 1 or regularization < 0 or alpha <= 0 or iterations < 1:
            raise ConfigError("factors and iterations must be >= 1, alpha > 0, "
                              "regularization >= 0")
        self.factors, self.regularization, self.alpha = factors, regularization, alpha
        self.iterations, self.seed, self.threads = iterations, seed, threads
        self.user_factors = np.zeros((0, factors), np.float32)
        self.item_factors = np.zeros((0, factors), np.float32)
        self._gram = np.zeros((factors, factors))
        self._norms = np.zeros(0, np.float32)

    def fit(self, data: Dataset) -> ALS:
        from implicit.cpu.als import AlternatingLeastSquares  # heavy: load on use
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1, "blas"):  # implicit's own threads do the work
            model = AlternatingLeastSquares(
                factors=self.factors, regularization=self.regularization, alpha=self.alpha,
                iterations=self.iterations, random_state=self.seed, num_threads=self.threads,
                calculate_training_loss=False)
            model.fit(data.matrix.astype(np.float32), show_progress=False)
        self.user_factors = np.asarray(model.user_factors, np.float32)
        self.item_factors = np.asarray(model.item_factors, np.float32)
        self._prepare()
        return self

    def _prepare(self) -> None:
        y = self.item_factors.astype(np.float64)
        self._gram = y.T @ y + self.regularization * np.eye(y.shape[1])
        norms = np.linalg.norm(self.item_factors, axis=1)
        self._norms = np.where(norms > 0, norms, 1.0).astype(np.float32)
        self.n_items, self.fitted = len(self.item_factors), True

    def user_vector(self, query: Query) -> np.ndarray | None:
        """The user's factors: learned ones, or folded in from ``query.history``."""
        extra = len(query.session) and query.row is not None
        if query.row is not None and not extra and query.row < len(self.user_factors):
            return self.user_factors[query.row]
        if not len(query.history):
            return None
        y = self.item_factors[query.history].astype(np.float64)
        confidence = self.alpha * query.weights.astype(np.float64)
        a = self._gram + (y * (confidence - 1.0)[:, None]).T @ y
        b = (y * confidence[:, None]).sum(axis=0)
        return np.linalg.solve(a, b).astype(np.float32)

    def score(self, query: Query) -> np.ndarray | None:
        user = self.user_vector(query)
        return None if user is None else self.item_factors @ user

    def item_scores(self, col: int) -> np.ndarray | None:
        return (self.item_factors @ self.item_factors[col]) / (self._norms * self._norms[col])

    def state(self) -> dict[str, np.ndarray]:
        return {"user_factors": self.user_factors, "item_factors": self.item_factors}

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray], config: dict[str, object]) -> ALS:
        model = cls(**config)  # type: ignore[arg-type]
        model.user_factors, model.item_factors = need(state, "user_factors", "item_factors")
        model._prepare()
        return model
