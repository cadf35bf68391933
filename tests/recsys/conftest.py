"""Small interaction logs with a known structure."""

from __future__ import annotations

import numpy as np
import pytest

from recsys.data import DAY, Interactions
from recsys.pipeline import Catalog

# two tastes: users 0-19 buy from the "a" items, users 20-39 from the "b" items;
# a1+a2 and b1+b2 are always bought together in one basket
A = ["a1", "a2", "a3", "a4", "a5"]
B = ["b1", "b2", "b3", "b4", "b5"]


def make_log(seed: int = 0, users: int = 40, days: int = 90) -> Interactions:
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(users):
        items = A if u < users // 2 else B
        for visit in range(6):
            t = float(rng.uniform(0, days)) * DAY + 1_700_000_000
            basket = [items[0], items[1]] if visit % 2 == 0 else \
                list(rng.choice(items[2:], 2, replace=False))
            for it in basket:
                rows.append((f"u{u}", str(it), 1.0, t, f"u{u}-{visit}"))
    return Interactions.from_records(rows)


@pytest.fixture()
def log() -> Interactions:
    return make_log()


@pytest.fixture()
def catalog() -> Catalog:
    items = A + B + ["c1"]  # c1: in the catalog, never bought
    vectors = np.zeros((len(items), 4), np.float32)
    for i, it in enumerate(items):
        vectors[i, 0 if it.startswith("a") else 1 if it.startswith("b") else 2] = 1.0
        vectors[i, 3] = 0.1 * i
    return Catalog(items, categories=[it[0] for it in items],
                   prices=np.arange(1, len(items) + 1, dtype=float) * 10, vectors=vectors)
