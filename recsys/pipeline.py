"""Recall from several channels, then rank the candidates with a learned model."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from recsys.channels.als import ALS
from recsys.channels.base import Channel, Query, top_n
from recsys.channels.content import Content
from recsys.channels.ease import EASE
from recsys.channels.history import History
from recsys.channels.itemknn import ItemKNN
from recsys.channels.popularity import Popularity
from recsys.channels.session import SessionCooccurrence
from recsys.data import DAY, Dataset, Interactions, random_split_per_user
from recsys.errors import ConfigError, NotFittedError
from recsys.metrics import ndcg_at_k
from recsys.ranker import Ranker

CHANNEL_TYPES: dict[str, type[Channel]] = {
    c.name: c for c in (History, ItemKNN, EASE, ALS, Content, SessionCooccurrence, Popularity)
}
DEFAULT_CHANNELS: dict[str, dict[str, Any]] = {
    "history": {}, "itemknn": {}, "ease": {}, "als": {}, "content": {}, "session": {},
    "popular": {},
}
#: Channels whose similarity explains a recommendation by one of the user's items.
ITEM_BASED = ("session", "itemknn", "content", "ease")
#: Channel name of a never-sold product placed by ``fresh_slots``.
NEW = "new"


@dataclass(frozen=True)
class Catalog:
    """What the recommender knows about each item besides interactions.

    Attributes:
        item_ids: Every recommendable item (interactions on others are ignored).
        categories: Category of each item ("" when unknown).
        prices: Price of each item (``nan`` when unknown).
        vectors: Text embeddings of each item (``None``: no content channel).
    """

    item_ids: list[str]
    categories: list[str] = field(default_factory=list)
    prices: np.ndarray = field(default_factory=lambda: np.zeros(0))
    vectors: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.item_ids)
        if self.categories and len(self.categories) != n:
            raise ConfigError("categories must have one entry per item")
        if len(self.prices) and len(self.prices) != n:
            raise ConfigError("prices must have one entry per item")
        if self.vectors is not None and len(self.vectors) != n:
            raise ConfigError("vectors must have one row per item")


@dataclass(frozen=True)
class Scored:
    """One ranked item with why it was recalled.

    Attributes:
        item: Item id.
        score: Ranking score (higher is better; comparable within one list).
        channel: The recall channel that ranked it highest (``history``,
            ``itemknn``, ``ease``, ``als``, ``content``, ``session``, ``popular``),
            or what put it in the list (``accessory``, ``pinned``, ``new``: a
            never-sold product in a place kept for one).
        related: The user's item that explains it, for item-based channels.
    """

    item: str
    score: float
    channel: str
    related: str | None = None


class Recommender:
    """Multi-channel recall, learned ranking; ids in, ids and scores out.

    Args:
        channels: Channel name to its keyword arguments (see ``CHANNEL_TYPES``);
            default: all of them.
        candidates: Candidates each channel contributes per request.
        ranker: Keyword arguments of :class:`~recsys.ranker.Ranker`.
        validation: How :meth:`fit` holds out data to train the ranker:
            ``time`` (the last ``validation_days``) or ``random`` (a share
            ``1 - validation_ratio`` of each user's events).
        validation_days: Length of the held-out period for ``time``.
        validation_ratio: Share kept for fitting the channels with ``random``.
        exclude_seen: Never recommend items the user already has (for catalogs
            where nobody buys twice, e.g. films); the ``history`` channel is
            then ignored.
        max_train_users: Users sampled to train the ranker.
        fresh_slots: Places at the end of each list kept for products nobody
            has bought yet (cold items), filled with the candidates of that kind
            the content channel finds closest to the customer's products; the
            ranker, trained on sales, would otherwise never show them.
        check_ranker: Before fitting, hold out data once more (the same way as
            ``validation``), fit the whole pipeline on the rest and compare, on
            the held-out events, the learned ranking with each channel's own
            order; when a channel alone wins, rank by it (``ranked_by``). Guards
            against a ranker that helps on its training split but not after
            the channels are refitted on everything.
        seed: Random seed.
    """

    def __init__(self, *, channels: Mapping[str, Mapping[str, Any]] | None = None,
                 candidates: int = 50, ranker: Mapping[str, Any] | None = None,
                 validation: str = "time", validation_days: float = 30.0,
                 validation_ratio: float = 0.8, exclude_seen: bool = False,
                 max_train_users: int = 5000, fresh_slots: int = 1,
                 check_ranker: bool = True, seed: int = 42) -> None:
        config = dict(DEFAULT_CHANNELS if channels is None else channels)
        unknown = sorted(set(config) - set(CHANNEL_TYPES))
        if unknown:
            raise ConfigError(f"unknown recall channels: {', '.join(unknown)}")
        if exclude_seen:
            config.pop("history", None)
        if candidates < 1 or validation not in ("time", "random") or validation_days <= 0 \
                or not 0 < validation_ratio < 1 or max_train_users < 1:
            raise ConfigError("candidates >= 1, validation time|random, validation_days > 0, "
                              "0 < validation_ratio < 1 and max_train_users >= 1 required")
        self.channel_config = {k: dict(v) for k, v in config.items()}
        self.candidates, self.exclude_seen = candidates, exclude_seen
        self.ranker_config = dict(ranker or {})
        self.validation, self.validation_days = validation, validation_days
        self.validation_ratio, self.max_train_users, self.seed = \
            validation_ratio, max_train_users, seed
        self.check_ranker = check_ranker
        self.fresh_slots = max(0, int(fresh_slots))
        #: "ranker", or the channel whose own scores order the candidates
        self.ranked_by = "ranker"
        #: NDCG@10 of the ranker and each channel in the check (empty: not run)
        self.check_scores: dict[str, float] = {}
        self.channels: dict[str, Channel] = {}
        self.ranker = Ranker(**self.ranker_config)
        self.data: Dataset | None = None
        self.catalog: Catalog | None = None
        self.feature_names: list[str] = []
        self._category_codes = np.zeros(0, np.int64)
        self._item_users = np.zeros(0)

    # --- training -------------------------------------------------------------------

    def fit(self, log: Interactions, *, catalog: Catalog | None = None,
            progress: Callable[[str], None] | None = None) -> Recommender:
        """Fit the channels, learn the ranker on held-out events, refit on everything.

        Args:
            log: Interactions to learn from.
            catalog: Items and their attributes (default: the items in ``log``).
            progress: Called with the name of each step as it starts.
        """
        say = progress or (lambda _step: None)
        catalog = catalog or Catalog(sorted(set(log.items.tolist())))
        self.ranked_by, self.check_scores = "ranker", {}
        if self.check_ranker:
            say("ranker check")
            self._check(log, catalog)
        self.catalog = catalog
        self._set_catalog(catalog)
        early, late = self._split(log, self.seed)
        say("recall channels (held-out fit)")
        self._fit_channels(Dataset.build(early, item_ids=catalog.item_ids))
        say("ranking features")
        features, labels, groups = self._training_rows(late)
        say("ranker")
        self.ranker = Ranker(**self.ranker_config).fit(features, labels, groups,
                                                       names=self.feature_names)
        say("recall channels (full fit)")
        self._fit_channels(Dataset.build(log, item_ids=catalog.item_ids))
        return self

    def _split(self, log: Interactions, seed: int) -> tuple[Interactions, Interactions]:
        if self.validation == "time" and len(log):
            cut = float(log.times.max()) - self.validation_days * DAY
            return log.before(cut), log.since(cut)
        return random_split_per_user(log, ratio=self.validation_ratio, seed=seed)

    def _check(self, log: Interactions, catalog: Catalog, k: int = 10) -> None:
        """Set ``ranked_by``: the ranker, unless a channel alone orders held-out events better."""
        fit_part, held_out = self._split(log, self.seed + 1)
        trial = Recommender(channels=self.channel_config, candidates=self.candidates,
                            ranker=self.ranker_config, validation=self.validation,
                            validation_days=self.validation_days,
                            validation_ratio=self.validation_ratio,
                            exclude_seen=self.exclude_seen,
                            max_train_users=self.max_train_users, fresh_slots=0,
                            check_ranker=False, seed=self.seed)
        if not len(fit_part) or not len(held_out):
            return
        trial.fit(fit_part, catalog=catalog)
        if not trial.ranker.trained:
            return
        targets, users = trial._held_out_targets(held_out, self.seed + 1)
        if not users:
            return
        names = list(trial.channels)
        totals = dict.fromkeys(["ranker", *names], 0.0)
        for user in users:
            query = trial.query(user)
            cols, feats, _ = trial._candidates(query, exclude=trial._exclusions(query))
            if not len(cols):
                continue
            relevant = {c for c in targets[user] if not trial.exclude_seen
                        or c not in set(query.history.tolist())}
            ranked = trial.ranker.predict(feats)
            for name in ["ranker", *names]:
                scores = trial._order(feats, name, ranked)
                top = cols[np.lexsort((cols, -scores))[:k]].tolist()
                totals[name] += ndcg_at_k([str(c) for c in top], {str(c) for c in relevant}, k)
        self.check_scores = {name: total / len(users) for name, total in totals.items()}
        best = max(names, key=lambda n: (self.check_scores[n], n), default=None)
        if best is not None and self.check_scores[best] > self.check_scores["ranker"]:
            self.ranked_by = best

    def _with_fresh(self, order: np.ndarray, cols: np.ndarray, feats: np.ndarray,
                    n: int) -> tuple[np.ndarray, set[int]]:
        """The top ``n`` of ``order``, its last ``fresh_slots`` places given to never-sold
        candidates by content similarity (when there are such candidates); and which
        positions in ``cols`` those are."""
        slots = min(self.fresh_slots, n - 1) if n > 1 else 0
        if slots <= 0 or "content" not in self.channels:
            return order[:n], set()
        content = feats[:, 2 * list(self.channels).index("content")]
        cold = np.flatnonzero((self._item_users[cols] == 0) & np.isfinite(content))
        if not len(cold):
            return order[:n], set()
        fresh = cold[np.argsort(-content[cold], kind="stable")][:slots].tolist()
        head = [i for i in order.tolist() if i not in set(fresh)][:n - len(fresh)]
        return np.asarray(head + fresh, dtype=np.int64), set(fresh)

    def _order(self, feats: np.ndarray, by: str, ranked: np.ndarray | None = None
               ) -> np.ndarray:
        """Candidate scores: the ranker's (``ranked`` when already computed), or channel
        ``by``'s own scores first, the ranker ordering the ones it did not score below."""
        scores = np.asarray(self.ranker.predict(feats) if ranked is None else ranked,
                            dtype=np.float64)
        if by not in self.channels:
            return scores
        own = feats[:, 2 * list(self.channels).index(by)].astype(np.float64)
        scored = np.isfinite(own)
        if not scored.any():
            return scores
        lift = float(scores.max() - own[scored].min()) + 1.0
        return np.where(scored, own + lift, scores)

    def _set_catalog(self, catalog: Catalog) -> None:
        names = sorted({c for c in catalog.categories if c})
        codes = {c: i for i, c in enumerate(names)}
        self._category_codes = np.asarray([codes.get(c, -1) for c in catalog.categories]
                                          or [-1] * len(catalog.item_ids), np.int64)

    def _fit_channels(self, data: Dataset) -> None:
        assert self.catalog is not None
        self.data = data
        self.channels = {}
        for name, kwargs in self.channel_config.items():
            if name == "content":
                if self.catalog.vectors is None:
                    continue
                self.channels[name] = Content(vectors=self.catalog.vectors, **kwargs).fit(data)
            elif name == "session" and data.baskets.shape[0] == 0:
                continue
            else:
                self.channels[name] = CHANNEL_TYPES[name](**kwargs).fit(data)
        self._item_users = np.diff(data.matrix.tocsc().indptr).astype(np.float64)
        self.feature_names = [f"{c}_{kind}" for c in self.channels for kind in ("score", "rank")]
        self.feature_names += ["n_channels", "ui_count", "ui_days", "item_users",
                               "item_age_days", "item_idle_days", "user_items",
                               "user_idle_days", "log_price", "price_ratio", "category_share"]

    def _held_out_targets(self, events: Interactions, seed: int
                          ) -> tuple[dict[str, set[int]], list[str]]:
        """Each known user's held-out item columns, and the users to score (at most
        ``max_train_users``, sampled with ``seed``)."""
        data = self.dataset()
        targets: dict[str, set[int]] = {}
        for user, item in zip(events.users, events.items, strict=True):
            col = data.item_index.get(item)
            if col is not None and user in data.user_index:
                targets.setdefault(user, set()).add(col)
        users = sorted(targets)
        rng = np.random.default_rng(seed)
        if len(users) > self.max_train_users:
            users = sorted(rng.choice(users, self.max_train_users, replace=False).tolist())
        return targets, users

    def _training_rows(self, late: Interactions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        targets, users = self._held_out_targets(late, self.seed)
        blocks, labels, groups = [], [], []
        for user in users:
            query = self.query(user)
            cols, feats, _ = self._candidates(query, exclude=self._exclusions(query))
            if not len(cols):
                continue
            y = np.fromiter((c in targets[user] for c in cols), dtype=np.float32,
                            count=len(cols))
            if y.sum() == 0:
                continue
            blocks.append(feats)
            labels.append(y)
            groups.append(len(cols))
        if not blocks:
            return np.zeros((0, len(self.feature_names))), np.zeros(0), np.zeros(0, np.int64)
        return np.vstack(blocks), np.concatenate(labels), np.asarray(groups)

    # --- serving --------------------------------------------------------------------

    def query(self, user: str | None, session: Sequence[str] = ()) -> Query:
        """The channels' view of ``user`` (history from training) plus this ``session``."""
        data = self.dataset()
        session_cols = data.columns(session)
        row = data.user_row(user) if user is not None else None
        if row is None:
            return Query.anonymous(session_cols)
        start, end = data.matrix.indptr[row], data.matrix.indptr[row + 1]
        cols = data.matrix.indices[start:end]
        weights = data.matrix.data[start:end]
        ages = (data.now - data.last_time.data[start:end]) / DAY
        extra = session_cols[~np.isin(session_cols, cols)]
        if len(extra):
            cols = np.r_[cols, extra]
            weights = np.r_[weights, np.ones(len(extra), np.float32)]
            ages = np.r_[ages, np.zeros(len(extra))]
        return Query(row, cols.astype(np.int64), weights.astype(np.float32), ages,
                     np.asarray(list(dict.fromkeys(session_cols.tolist())), np.int64))

    def _exclusions(self, query: Query, extra: Iterable[str] = ()) -> np.ndarray:
        data = self.dataset()
        cols = data.columns(extra)
        return np.unique(np.r_[cols, query.history]) if self.exclude_seen else np.unique(cols)

    def recommend(self, user: str | None, n: int = 10, *, session: Sequence[str] = (),
                  exclude: Iterable[str] = ()) -> list[Scored]:
        """The ``n`` best items for ``user`` (``None``: anonymous) given this ``session``.

        Unknown users are served from their session, then from popularity;
        ``exclude`` lists items never to return.
        """
        data = self.dataset()
        query = self.query(user, session)
        cols, feats, origin = self._candidates(query, exclude=self._exclusions(query, exclude))
        if not len(cols):
            return []
        scores = self._order(feats, self.ranked_by)
        order, fresh = self._with_fresh(np.lexsort((cols, -scores)), cols, feats, n)
        out = []
        for i in order.tolist():
            # a never-sold product in a kept place: "new", explained like content recall
            channel = NEW if i in fresh else origin[i]
            related = self._related(query, int(cols[i]), "content" if i in fresh else channel)
            out.append(Scored(data.item_ids[cols[i]], float(scores[i]), channel, related))
        return out

    def similar_items(self, item: str, n: int = 10) -> list[Scored]:
        """Items like ``item``: behaviour (co-occurrence, factors) blended with content.

        Each channel's similarities are ranked and fused by reciprocal rank, so
        a product nobody bought yet still gets content neighbours.
        """
        return self._item_neighbours(item, n, ("itemknn", "als", "content", "ease"))

    def complements(self, item: str, n: int = 10) -> list[Scored]:
        """Items bought together with ``item`` (session co-occurrence, then item-kNN)."""
        return self._item_neighbours(item, n, ("session", "itemknn"))

    def _item_neighbours(self, item: str, n: int, names: Sequence[str]) -> list[Scored]:
        data = self.dataset()
        col = data.item_index.get(item)
        if col is None:
            return []
        fused: dict[int, float] = {}
        best: dict[int, tuple[float, str]] = {}
        for name in names:
            channel = self.channels.get(name)
            if channel is None:
                continue
            cols, _ = channel.similar_items(col, max(n * 3, 30))
            for rank, c in enumerate(cols.tolist()):
                fused[c] = fused.get(c, 0.0) + 1.0 / (10.0 + rank)
                if c not in best or rank < best[c][0]:
                    best[c] = (rank, name)
        ranked = sorted(fused, key=lambda c: (-fused[c], c))[:n]
        return [Scored(data.item_ids[c], fused[c], best[c][1], item) for c in ranked]

    # --- candidates and features ------------------------------------------------------

    def _candidates(self, query: Query, *, exclude: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, list[str]]:
        self.dataset()
        dense: dict[str, np.ndarray | None] = {}
        lists: dict[str, np.ndarray] = {}
        for name, channel in self.channels.items():
            if isinstance(channel, Content):
                cols, _ = channel.recommend(query, self.candidates, exclude)
                dense[name] = None
            else:
                scores = channel.score(query)
                dense[name] = scores
                if scores is None:
                    continue
                cols, _ = top_n(scores, self.candidates, exclude)
            lists[name] = cols
        if not lists:
            return np.zeros(0, np.int64), np.zeros((0, len(self.feature_names))), []
        cand = np.unique(np.concatenate(list(lists.values())))
        n = len(cand)
        feats = np.full((n, len(self.feature_names)), np.nan, np.float32)
        best_rank = np.full(n, np.inf)
        origin = ["popular"] * n
        for j, (name, channel) in enumerate(self.channels.items()):
            scores = dense.get(name)
            if isinstance(channel, Content):
                values = channel.score_items(query, cand)
            else:
                values = None if scores is None else scores[cand]
            if values is not None:  # scaled per request: channels' scales drift with the data
                finite = values[np.isfinite(values)]
                top = float(np.max(np.abs(finite))) if len(finite) else 0.0
                feats[:, 2 * j] = values / top if top > 0 else values
            recalled = lists.get(name)
            if recalled is not None and len(recalled):
                position = {c: r for r, c in enumerate(recalled.tolist())}
                ranks = np.array([position.get(c, np.nan) for c in cand.tolist()])
                feats[:, 2 * j + 1] = ranks
                better = np.nan_to_num(ranks, nan=np.inf) < best_rank
                best_rank = np.where(better, ranks, best_rank)
                for i in np.flatnonzero(better):
                    origin[i] = name
        k = 2 * len(self.channels)
        feats[:, k] = np.sum(~np.isnan(feats[:, 1:k:2]), axis=1)
        self._user_item_features(query, cand, feats[:, k + 1:])
        return cand, feats, origin

    def _user_item_features(self, query: Query, cand: np.ndarray, out: np.ndarray) -> None:
        data, catalog = self.dataset(), self.catalog
        assert catalog is not None
        if len(query.history):
            count = np.zeros(data.n_items, np.float32)
            count[query.history] = query.weights
            age = np.full(data.n_items, np.nan)
            age[query.history] = query.ages
            out[:, 0] = count[cand]
            out[:, 1] = age[cand]
        out[:, 2] = np.log1p(self._item_users[cand])
        out[:, 3] = (data.now - data.item_first_time[cand]) / DAY
        out[:, 4] = (data.now - data.item_last_time[cand]) / DAY
        out[:, 5] = np.log1p(len(query.history))
        out[:, 6] = np.min(query.ages) if len(query.ages) else np.nan
        if len(catalog.prices):
            prices = catalog.prices[cand]
            out[:, 7] = np.log1p(prices)
            paid = catalog.prices[query.history] if len(query.history) else np.zeros(0)
            paid = paid[np.isfinite(paid)]
            if len(paid):
                out[:, 8] = prices / max(float(np.mean(paid)), 1e-6)
        codes = self._category_codes
        if len(query.history) and codes.max(initial=-1) >= 0:
            mine = codes[query.history]
            mine = mine[mine >= 0]
            if len(mine):
                share = np.bincount(mine, minlength=codes.max() + 1) / len(mine)
                cat = codes[cand]
                out[:, 9] = np.where(cat >= 0, share[np.maximum(cat, 0)], np.nan)

    def _related(self, query: Query, col: int, channel: str) -> str | None:
        """The user's item most similar to ``col`` under ``channel`` (the "because")."""
        data = self.dataset()
        if channel not in ITEM_BASED or not len(query.history):
            return None
        pool = query.session if channel == "session" and len(query.session) else query.history
        pool = pool[pool != col]
        if not len(pool):
            return None
        sims = self.channels[channel].similarity_to(col, pool)
        if sims is None:
            return None
        best = int(np.argmax(sims))
        return data.item_ids[int(pool[best])] if sims[best] > 0 else None

    def dataset(self) -> Dataset:
        """The interactions the fitted model serves from.

        Raises:
            NotFittedError: Before :meth:`fit` (or loading).
        """
        if self.data is None:
            raise NotFittedError("the recommender is not fitted")
        return self.data
