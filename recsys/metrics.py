"""Top-k ranking metrics (binary relevance), as in Microsoft Recommenders."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np


def recall_at_k(ranked: Sequence[str], relevant: set[str], k: int = 10) -> float:
    """Share of the relevant items found in the top ``k``."""
    if not relevant:
        return 0.0
    return sum(1 for it in ranked[:k] if it in relevant) / len(relevant)


def ndcg_at_k(ranked: Sequence[str], relevant: set[str], k: int = 10) -> float:
    """Normalised discounted cumulative gain of the top ``k`` (binary gains)."""
    if not relevant:
        return 0.0
    gains = [1.0 / np.log2(i + 2) for i, it in enumerate(ranked[:k]) if it in relevant]
    ideal = sum(1.0 / np.log2(i + 2) for i in range(min(k, len(relevant))))
    return float(sum(gains) / ideal)


def precision_at_k(ranked: Sequence[str], relevant: set[str], k: int = 10) -> float:
    """Share of the top ``k`` that is relevant (divided by ``k``, as MS Recommenders)."""
    return sum(1 for it in ranked[:k] if it in relevant) / k


def evaluate(rankings: Mapping[str, Sequence[str]], targets: Mapping[str, set[str]], *,
             k: int = 10, n_items: int | None = None) -> dict[str, float]:
    """Mean Recall@k, NDCG@k and Precision@k over the users in ``targets``, and coverage.

    Users without a ranking count as zero. Coverage is the share of the
    ``n_items`` catalog that appears in at least one top-``k`` list.
    """
    users = [u for u in targets if targets[u]]
    recalls, ndcgs, precisions = [], [], []
    shown: set[str] = set()
    for user in users:
        ranked = list(rankings.get(user, ()))[:k]
        shown.update(ranked)
        recalls.append(recall_at_k(ranked, targets[user], k))
        ndcgs.append(ndcg_at_k(ranked, targets[user], k))
        precisions.append(precision_at_k(ranked, targets[user], k))
    out = {
        "recall": float(np.mean(recalls)) if users else 0.0,
        "ndcg": float(np.mean(ndcgs)) if users else 0.0,
        "precision": float(np.mean(precisions)) if users else 0.0,
        "users": float(len(users)),
    }
    if n_items:
        out["coverage"] = len(shown) / n_items
    return out


def mean_of(values: Iterable[float]) -> float:
    """Mean of ``values`` (0 when empty)."""
    items = list(values)
    return float(np.mean(items)) if items else 0.0
