"""Interaction logs as sparse user-item matrices, and the splits benchmarks use."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from recsys.errors import RecsysError

DAY = 86_400.0


@dataclass(frozen=True)
class Interactions:
    """A log of (user, item, weight, time) events, one array per column.

    Attributes:
        users: User ids (strings).
        items: Item ids (strings).
        weights: Strength of each event (a purchase counts more than a view).
        times: Unix time of each event, in seconds.
        sessions: Session (visit, basket, conversation) of each event; items
            in one session are "bought or viewed together".
    """

    users: np.ndarray
    items: np.ndarray
    weights: np.ndarray
    times: np.ndarray
    sessions: np.ndarray | None = None

    @classmethod
    def from_records(
        cls, records: Iterable[tuple[str, str, float, float, str]]
    ) -> Interactions:
        """Build from ``(user, item, weight, unix_time, session)`` tuples."""
        rows = list(records)
        if not rows:
            empty = np.array([], dtype=object)
            return cls(empty, empty, np.zeros(0, np.float32), np.zeros(0, np.float64), empty)
        users, items, weights, times, sessions = zip(*rows, strict=True)
        return cls(np.asarray(users, dtype=object), np.asarray(items, dtype=object),
                   np.asarray(weights, dtype=np.float32), np.asarray(times, dtype=np.float64),
                   np.asarray(sessions, dtype=object))

    def __len__(self) -> int:
        return len(self.users)

    def select(self, mask: np.ndarray) -> Interactions:
        """The events where ``mask`` is true."""
        return Interactions(self.users[mask], self.items[mask], self.weights[mask],
                            self.times[mask],
                            None if self.sessions is None else self.sessions[mask])

    def before(self, cutoff: float) -> Interactions:
        """Events strictly before ``cutoff`` (unix time)."""
        return self.select(self.times < cutoff)

    def since(self, cutoff: float) -> Interactions:
        """Events at or after ``cutoff`` (unix time)."""
        return self.select(self.times >= cutoff)


@dataclass
class Dataset:
    """Interactions indexed for training: ids to rows and columns, and matrices.

    ``matrix`` sums the weights of each (user, item) pair; ``counts`` counts
    the events; ``last_time`` is the latest event of the pair. ``item_ids``
    may list items nobody interacted with (the whole catalog).

    Attributes:
        user_ids: Row ids.
        item_ids: Column ids.
        matrix: Users x items, summed weights (CSR, float32).
        counts: Users x items, number of events (CSR, float32).
        last_time: Users x items, unix time of the latest event (CSR, float64).
        item_last_time: Per item, latest event (0 when none).
        item_first_time: Per item, first event (``inf`` when none).
        now: The latest event time in the log ("today" for recency features).
        baskets: Sessions x items, 1 where the item occurs in the session
            (empty when the log has no sessions).
    """

    user_ids: list[str]
    item_ids: list[str]
    matrix: sp.csr_matrix
    counts: sp.csr_matrix
    last_time: sp.csr_matrix
    item_last_time: np.ndarray
    item_first_time: np.ndarray
    now: float
    baskets: sp.csr_matrix
    user_index: dict[str, int] = field(init=False)
    item_index: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.user_index = {u: i for i, u in enumerate(self.user_ids)}
        self.item_index = {it: i for i, it in enumerate(self.item_ids)}

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @classmethod
    def build(cls, log: Interactions, *, item_ids: Sequence[str] | None = None,
              now: float | None = None) -> Dataset:
        """Index ``log``; ``item_ids`` fixes the columns (events on other items are dropped)."""
        if item_ids is None:
            item_ids = sorted(set(log.items.tolist()))
        item_ids = list(dict.fromkeys(item_ids))
        item_index = {it: i for i, it in enumerate(item_ids)}
        cols = np.fromiter((item_index.get(it, -1) for it in log.items), dtype=np.int64,
                           count=len(log))
        keep = cols >= 0
        log, cols = log.select(keep), cols[keep]
        user_ids = sorted(set(log.users.tolist()))
        user_index = {u: i for i, u in enumerate(user_ids)}
        rows = np.fromiter((user_index[u] for u in log.users), dtype=np.int64, count=len(log))
        shape = (len(user_ids), len(item_ids))
        matrix = sp.csr_matrix((log.weights.astype(np.float32), (rows, cols)), shape=shape)
        counts = sp.csr_matrix((np.ones(len(log), np.float32), (rows, cols)), shape=shape)
        last = _pairwise_max(rows, cols, log.times, shape)
        item_last = np.zeros(len(item_ids))
        np.maximum.at(item_last, cols, log.times)
        item_first = np.full(len(item_ids), np.inf)
        np.minimum.at(item_first, cols, log.times)
        if now is None:
            now = float(log.times.max()) if len(log) else 0.0
        baskets = sp.csr_matrix((0, len(item_ids)), dtype=np.float32)
        if log.sessions is not None and len(log):
            _, srows = np.unique(log.sessions.astype(str), return_inverse=True)
            baskets = sp.csr_matrix((np.ones(len(log), np.float32), (srows, cols)),
                                    shape=(int(srows.max()) + 1, len(item_ids)))
            baskets.sum_duplicates()
            baskets.data[:] = 1.0
        for m in (matrix, counts, last):
            m.sum_duplicates()
            m.sort_indices()
        return cls(user_ids, item_ids, matrix, counts, last, item_last, item_first, now,
                   baskets)

    def user_row(self, user: str) -> int | None:
        """The row of ``user``, or ``None`` for a user with no history."""
        return self.user_index.get(user)

    def items_of(self, row: int) -> np.ndarray:
        """Column indices of the items user ``row`` interacted with."""
        return self.matrix.indices[self.matrix.indptr[row]:self.matrix.indptr[row + 1]]

    def columns(self, items: Iterable[str]) -> np.ndarray:
        """Column indices of the known ``items`` (unknown ones are skipped)."""
        found = [self.item_index[it] for it in items if it in self.item_index]
        return np.asarray(found, dtype=np.int64)


def _pairwise_max(rows: np.ndarray, cols: np.ndarray, values: np.ndarray,
                  shape: tuple[int, int]) -> sp.csr_matrix:
    """A CSR matrix holding, per (row, col), the largest of ``values``."""
    if len(rows) == 0:
        return sp.csr_matrix(shape, dtype=np.float64)
    key = rows * shape[1] + cols
    order = np.lexsort((values, key))
    key, values = key[order], values[order]
    last = np.r_[key[1:] != key[:-1], True]
    key, values = key[last], values[last]
    return sp.csr_matrix((values, (key // shape[1], key % shape[1])), shape=shape)


def random_split_per_user(log: Interactions, *, ratio: float = 0.75,
                          seed: int = 42) -> tuple[Interactions, Interactions]:
    """Each user's events split at random, ``ratio`` of them into training.

    This is Microsoft Recommenders' ``python_stratified_split``: every user
    keeps ``round(ratio * n)`` events in training and the rest in test.
    """
    if not 0.0 < ratio < 1.0:
        raise RecsysError(f"ratio must be between 0 and 1, got {ratio}")
    rng = np.random.default_rng(seed)
    order = np.lexsort((rng.random(len(log)), log.users.astype(str)))
    users = log.users[order].astype(str)
    starts = np.r_[0, np.flatnonzero(users[1:] != users[:-1]) + 1]
    sizes = np.diff(np.r_[starts, len(users)])
    position = np.arange(len(users)) - np.repeat(starts, sizes)
    in_train = position < np.repeat(np.round(ratio * sizes), sizes)
    train = np.zeros(len(log), bool)
    train[order[in_train]] = True
    return log.select(train), log.select(~train)


def targets_by_user(log: Interactions) -> dict[str, set[str]]:
    """The distinct items each user has in ``log``."""
    out: dict[str, set[str]] = {}
    for user, item in zip(log.users, log.items, strict=True):
        out.setdefault(user, set()).add(item)
    return out
