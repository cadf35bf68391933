"""The recommender as the assistant uses it: live model, live stock, rules, experiments."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum

from recsys.artifacts import ModelStore
from recsys.channels.base import Query
from recsys.errors import RecsysError
from recsys.experiments import Event, Experiment
from recsys.pipeline import Recommender, Scored
from recsys.rerank import Constraints, ItemInfo, Rules, rerank

OVERFETCH = 6


class Status(str, Enum):
    """How a recommendation request went."""

    OK = "ok"
    FALLBACK = "fallback"  # the product is unknown to the model: same-category sellers instead
    UNKNOWN_ITEM = "unknown_item"  # no such product
    NOTHING_LEFT = "nothing_left"  # candidates existed, the filters removed them all
    CONTRADICTORY = "contradictory"  # the customer's limits exclude each other
    NO_MODEL = "no_model"  # nothing trained yet


#: One recommended item and why (the re-ranked :class:`~recsys.pipeline.Scored`).
Recommendation = Scored


@dataclass(frozen=True)
class RecommendationList:
    """The answer to one request, with what is needed to log and explain it."""

    kind: str
    items: tuple[Recommendation, ...]
    status: Status
    request_id: str
    variant: str | None = None
    experiment: str | None = None
    model_version: str | None = None
    removed: Mapping[str, int] = field(default_factory=dict)


class RecommenderService:
    """Serves recommendation requests from the current model in a :class:`ModelStore`.

    Args:
        store: Where the trained versions live (hot-reloaded).
        inventory: Returns category, price, stock and availability of every
            product; called again after ``inventory_seconds``.
        accessories: Products linked as accessories of a product (catalog data).
        rules: Business rules of the re-ranking stage.
        experiment: Splits users between ``pipeline`` and ``popular`` variants.
        sink: Receives the events to log (shown, click).
        inventory_seconds: How long an inventory snapshot is trusted.
    """

    def __init__(self, *, store: ModelStore,
                 inventory: Callable[[], Mapping[str, ItemInfo]],
                 accessories: Callable[[str], Sequence[str]] | None = None,
                 rules: Rules = Rules(), experiment: Experiment | None = None,
                 sink: Callable[[list[Event]], None] | None = None,
                 inventory_seconds: float = 30.0) -> None:
        self.store, self.rules, self.experiment = store, rules, experiment
        self._inventory_source, self._accessories = inventory, accessories
        self._sink = sink
        self.inventory_seconds = inventory_seconds
        self._inventory: Mapping[str, ItemInfo] = {}
        self._inventory_at = float("-inf")
        self._lock = threading.Lock()

    # --- requests -------------------------------------------------------------------

    def for_user(self, user: str | None, *, visitor: str | None = None,
                 session: Sequence[str] = (), n: int = 5,
                 constraints: Constraints = Constraints(),
                 exclude: Iterable[str] = ()) -> RecommendationList:
        """Recommendations for ``user`` (``None``: anonymous) and this conversation's products.

        Users without history get session-based, then popular items. ``visitor``
        (default ``user``) identifies who is served, for the experiment and the log.
        """
        visitor = visitor or user or "anonymous"
        variant = self.experiment.assign(visitor) if self.experiment else None
        return self._serve("for_you", visitor, variant, constraints, n, lambda model: (
            self._popular(model, n * OVERFETCH, exclude) if variant == "popular" else
            model.recommend(user, n * OVERFETCH, session=session, exclude=exclude)))

    def similar(self, item: str, *, visitor: str | None = None, n: int = 5,
                constraints: Constraints = Constraints()) -> RecommendationList:
        """Products like ``item`` (behaviour and description)."""
        return self._around("similar", item, visitor, n, constraints,
                            lambda model: model.similar_items(item, n * OVERFETCH))

    def complements(self, item: str, *, visitor: str | None = None, n: int = 5,
                    constraints: Constraints = Constraints()) -> RecommendationList:
        """Products that go with ``item``: its accessories, then what is bought with it."""
        def pick(model: Recommender) -> list[Scored]:
            linked = [Scored(sku, 1.0, "accessory", item)
                      for sku in (self._accessories(item) if self._accessories else ())]
            seen = {s.item for s in linked} | {item}
            bought = [s for s in model.complements(item, n * OVERFETCH) if s.item not in seen]
            return linked + bought
        return self._around("complements", item, visitor, n, constraints, pick)

    def warm_up(self) -> bool:
        """Load the live model and the inventory now, so that the first customer after a
        start does not wait for them; whether a model is live. Logs nothing."""
        live = self.store.current()
        self.inventory()
        return live is not None

    def record(self, events: list[Event]) -> None:
        """Log events (e.g. a click on a recommended product)."""
        if self._sink and events:
            self._sink(events)

    # --- internals ------------------------------------------------------------------

    def _around(self, kind: str, item: str, visitor: str | None, n: int,
                constraints: Constraints,
                pick: Callable[[Recommender], list[Scored]]) -> RecommendationList:
        user = visitor or "anonymous"
        variant = self.experiment.assign(user) if self.experiment else None
        inventory = self.inventory()
        live = self.store.current()
        modelled = live is not None and item in live[0].dataset().item_index
        if item not in inventory and not modelled:
            return RecommendationList(kind, (), Status.UNKNOWN_ITEM, uuid.uuid4().hex, variant,
                                      self._name())
        # never the product itself in another colour or size
        avoid = frozenset({inventory[item].group} - {""}) if item in inventory else frozenset()
        if live is not None and not modelled:
            # a product newer than the model: best sellers of its category instead
            category = inventory[item].category
            same = replace(constraints, category=constraints.category or category or None)
            result = self._serve(kind, user, variant, same, n,
                                 lambda model: self._popular(model, len(inventory), [item]),
                                 avoid_groups=avoid)
            status = Status.FALLBACK if result.items else result.status
            return RecommendationList(kind, result.items, status, result.request_id, variant,
                                      result.experiment, result.model_version, result.removed)
        # a short list of similar products (the customer's limits left few: "cheaper than
        # the third one") is topped up with best sellers of the product's own category
        fill = inventory[item].category or None if kind == "similar" and item in inventory \
            else None
        return self._serve(kind, user, variant, constraints, n, pick, exclude=(item,),
                           avoid_groups=avoid, fill_category=fill)

    def _serve(self, kind: str, visitor: str, variant: str | None,
               constraints: Constraints, n: int,
               pick: Callable[[Recommender], list[Scored]],
               exclude: Sequence[str] = (),
               avoid_groups: frozenset[str] = frozenset(),
               fill_category: str | None = None) -> RecommendationList:
        request = uuid.uuid4().hex
        live = self.store.current()
        if live is None:
            return RecommendationList(kind, (), Status.NO_MODEL, request, variant, self._name())
        model, version = live
        if constraints.contradictory:
            return RecommendationList(kind, (), Status.CONTRADICTORY, request, variant,
                                      self._name(), version)
        inventory = self.inventory()
        candidates = [s for s in pick(model) if s.item not in exclude]
        pinned = [Scored(sku, float("inf"), "pinned") for sku in self.rules.pinned
                  if sku not in exclude] if kind == "for_you" else []
        result = rerank(candidates, inventory, n=n, rules=self.rules, constraints=constraints,
                        pinned=pinned, avoid_groups=avoid_groups)
        if len(result.items) < n and (kind == "for_you" or fill_category):
            # the filters (stock, the customer's limits) left too few: top up with the
            # catalog's best sellers that pass them (of ``fill_category`` if given),
            # scored below every candidate
            listed = {s.item for s in candidates}
            popular = [p for p in self._popular(model, model.dataset().n_items, exclude)
                       if p.item not in listed and (
                           fill_category is None or (p.item in inventory and
                                                     inventory[p.item].category == fill_category))]
            floor = min((s.score for s in candidates), default=0.0) - 1.0
            more = [Scored(p.item, floor - i * 1e-6, p.channel) for i, p in enumerate(popular)]
            result = rerank(candidates + more, inventory, n=n, rules=self.rules,
                            constraints=constraints, pinned=pinned, avoid_groups=avoid_groups)
        items = result.items
        status = Status.OK if items else Status.NOTHING_LEFT
        answer = RecommendationList(kind, items, status, request, variant, self._name(),
                                    version, dict(result.removed))
        self.record([Event(request, visitor, variant or "", r.item, "shown") for r in items])
        return answer

    @staticmethod
    def _popular(model: Recommender, n: int, exclude: Iterable[str]) -> list[Scored]:
        data = model.dataset()
        popular = model.channels.get("popular")
        if popular is None:
            return []
        cols, scores = popular.recommend(Query.anonymous(), n, data.columns(exclude))
        return [Scored(data.item_ids[c], float(s), "popular") for c, s in zip(cols, scores,
                                                                              strict=True)]

    def _name(self) -> str | None:
        return self.experiment.name if self.experiment else None

    def inventory(self) -> Mapping[str, ItemInfo]:
        """The latest inventory snapshot (refreshed after ``inventory_seconds``)."""
        with self._lock:
            now = time.monotonic()
            if now - self._inventory_at >= self.inventory_seconds:
                try:
                    self._inventory = dict(self._inventory_source())
                except Exception as exc:  # the shop database is down: keep the old snapshot
                    if not self._inventory:
                        raise RecsysError(f"inventory unavailable: {exc}") from exc
                self._inventory_at = now
            return self._inventory
