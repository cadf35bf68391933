"""Popularity recall: what sells now, for cold start and as a ranking feature."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from recsys.channels.base import Channel, Query, need
from recsys.data import DAY, Dataset
from recsys.errors import ConfigError


class Popularity(Channel):
    """Items ranked by time-decayed interaction weight.

    Args:
        half_life_days: Weight of an event halves every this many days before
            the latest event in the data; ``0`` counts all events equally.
    """

    name: ClassVar[str] = "popular"

    def __init__(self, *, half_life_days: float = 30.0) -> None:
        if half_life_days < 0:
            raise ConfigError("half_life_days must be >= 0")
        self.half_life_days = half_life_days
        self.scores_ = np.zeros(0)

    def fit(self, data: Dataset) -> Popularity:
        m = data.matrix.tocoo()
        weight = m.data.astype(np.float64)
        if self.half_life_days > 0:
            last = data.last_time.tocoo()
            age = (data.now - last.data) / DAY
            weight = weight * np.power(0.5, age / self.half_life_days)
        scores = np.zeros(data.n_items)
        np.add.at(scores, m.col, weight)
        total = scores.max()
        self.scores_ = scores / total if total > 0 else scores
        self.n_items, self.fitted = data.n_items, True
        return self

    def score(self, query: Query) -> np.ndarray | None:
        return self.scores_

    def state(self) -> dict[str, np.ndarray]:
        return {"scores": self.scores_}

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray], config: dict[str, object]) -> Popularity:
        model = cls(**config)  # type: ignore[arg-type]
        (model.scores_,) = need(state, "scores")
        model.n_items, model.fitted = len(model.scores_), True
        return model
