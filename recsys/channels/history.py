"""Buy-again recall: the user's own items, by recency-weighted frequency."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from recsys.channels.base import Channel, Query
from recsys.data import Dataset
from recsys.errors import ConfigError


class History(Channel):
    """Scores each item the user already has by ``weight * 0.5 ** (age / half_life)``.

    Shops with repeat purchases (groceries, supplies, wholesale) sell mostly
    what customers bought before; the ranking stage learns how much to trust it.

    Args:
        half_life_days: Half-life of an event's weight.
    """

    name: ClassVar[str] = "history"

    def __init__(self, *, half_life_days: float = 60.0) -> None:
        if half_life_days <= 0:
            raise ConfigError("half_life_days must be > 0")
        self.half_life_days = half_life_days

    def fit(self, data: Dataset) -> History:
        self.n_items, self.fitted = data.n_items, True
        return self

    def score(self, query: Query) -> np.ndarray | None:
        if not len(query.history):
            return None
        scores = np.full(self.n_items, -np.inf)
        decayed = query.weights * np.power(0.5, np.maximum(query.ages, 0) / self.half_life_days)
        scores[query.history] = 0.0
        np.add.at(scores, query.history, decayed)
        return scores

    def state(self) -> dict[str, np.ndarray]:
        return {"n_items": np.asarray([self.n_items])}

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray], config: dict[str, object]) -> History:
        model = cls(**config)  # type: ignore[arg-type]
        model.n_items, model.fitted = int(state["n_items"][0]), True
        return model
