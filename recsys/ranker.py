"""The ranking stage: a learned model that orders the recalled candidates."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from recsys.errors import ArtifactError, ConfigError

if TYPE_CHECKING:
    import lightgbm


class Ranker:
    """LightGBM LambdaRank over candidate features, or rank fusion before it is trained.

    Until :meth:`fit` sees a group with a positive label (a new shop with no
    sales), :meth:`predict` falls back to reciprocal-rank fusion of the recall
    channels, so the stage always ranks.

    Args:
        trees: Boosting rounds.
        learning_rate: Shrinkage per round.
        leaves: Leaves per tree.
        min_leaf: Fewest samples in a leaf.
        threads: CPU threads.
        seed: Random seed.
        objective: ``lambdarank`` (listwise) or ``binary`` (pointwise logistic).
    """

    def __init__(self, *, trees: int = 300, learning_rate: float = 0.05, leaves: int = 31,
                 min_leaf: int = 50, threads: int = 2, seed: int = 42,
                 objective: str = "lambdarank") -> None:
        if trees < 1 or not 0 < learning_rate <= 1 or leaves < 2 or min_leaf < 1 \
                or objective not in ("lambdarank", "binary"):
            raise ConfigError("trees >= 1, 0 < learning_rate <= 1, leaves >= 2, "
                              "min_leaf >= 1 and objective lambdarank|binary required")
        self.params = {"objective": objective, "learning_rate": learning_rate,
                       "num_leaves": leaves, "min_data_in_leaf": min_leaf,
                       "num_threads": threads, "seed": seed, "deterministic": True,
                       "force_row_wise": True, "lambdarank_truncation_level": 20,
                       "feature_fraction": 0.9, "bagging_fraction": 0.8, "bagging_freq": 1,
                       "verbose": -1}
        self.trees, self.seed = trees, seed
        self.booster: lightgbm.Booster | None = None
        self.rank_columns: list[int] = []

    @property
    def trained(self) -> bool:
        return self.booster is not None

    def fit(self, features: np.ndarray, labels: np.ndarray, groups: np.ndarray,
            *, names: list[str]) -> Ranker:
        """Train on candidate rows grouped per user (``groups`` holds the group sizes)."""
        self.rank_columns = [i for i, n in enumerate(names) if n.endswith("_rank")]
        if not len(groups) or labels.max(initial=0) <= 0:
            self.booster = None
            return self
        import lightgbm  # heavy: load on use

        # a fifth of the groups (users) decides when to stop adding trees
        rng = np.random.default_rng(self.seed)
        held = rng.random(len(groups)) < 0.2 if len(groups) >= 10 else np.zeros(len(groups), bool)
        rows = np.repeat(held, groups)
        train = lightgbm.Dataset(features[~rows], labels[~rows], group=groups[~held],
                                 feature_name=names, free_raw_data=True)
        callbacks: list[Any] = []
        valid: list[Any] = []
        if held.any():
            valid = [lightgbm.Dataset(features[rows], labels[rows], group=groups[held],
                                      reference=train)]
            callbacks = [lightgbm.early_stopping(30, verbose=False)]
        params = {**self.params, "metric": "ndcg", "eval_at": [10]}
        self.booster = lightgbm.train(params, train, num_boost_round=self.trees,
                                      valid_sets=valid, callbacks=callbacks)
        return self

    def predict(self, features: np.ndarray) -> np.ndarray:
        """A score per candidate row (higher is better)."""
        if self.booster is not None:
            return np.asarray(self.booster.predict(features, num_threads=1))
        ranks = features[:, self.rank_columns] if self.rank_columns else \
            np.zeros((len(features), 0))
        return np.nansum(1.0 / (60.0 + ranks), axis=1)

    def importance(self, names: list[str]) -> dict[str, float]:
        """Share of the total gain per feature (empty before training)."""
        if self.booster is None:
            return {}
        gain = self.booster.feature_importance("gain")
        total = gain.sum() or 1.0
        return {n: float(g / total) for n, g in zip(names, gain, strict=True)}

    def to_text(self) -> str:
        """The model in LightGBM's text format ("" before training)."""
        return "" if self.booster is None else self.booster.model_to_string()

    @classmethod
    def from_text(cls, text: str, *, rank_columns: list[int]) -> Ranker:
        """Load a model :meth:`to_text` wrote."""
        ranker = cls()
        ranker.rank_columns = rank_columns
        if text:
            import lightgbm

            try:
                ranker.booster = lightgbm.Booster(model_str=text)
            except lightgbm.basic.LightGBMError as exc:
                raise ArtifactError(f"unreadable ranking model: {exc}") from exc
        return ranker
