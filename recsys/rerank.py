"""The re-ranking stage: stock, business rules, the customer's limits, diversity."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from recsys.errors import ConfigError
from recsys.pipeline import Scored


@dataclass(frozen=True)
class ItemInfo:
    """What re-ranking needs to know about an item right now.

    Attributes:
        category: Category key ("" when unknown); diversity is counted on it.
        categories: The category and every category above it (a customer asking
            for "shoes" accepts running shoes); empty means just ``category``.
        price: Price in the shop's base currency (``None``: price on request).
        prices: Price per currency code, where the shop quotes other currencies.
        in_stock: Units are available to sell.
        available: Still sold (false for discontinued products).
        image: Picture to show with it (URL or path), if any.
        group: Product group: colour and size variants of one product share it,
            and a list shows at most one of them ("" when the item stands alone).
        brand: Brand key ("" when unknown).
        color: Colour key ("" when unknown).
    """

    category: str = ""
    categories: frozenset[str] = frozenset()
    price: float | None = None
    prices: Mapping[str, float] = field(default_factory=dict)
    in_stock: bool = True
    available: bool = True
    image: str | None = None
    group: str = ""
    brand: str = ""
    color: str = ""


@dataclass(frozen=True)
class Constraints:
    """Limits a customer gave in the conversation ("under 50", "a phone", "from JBL",
    "in black").

    Prices are in ``currency`` (``None``: the shop's base currency).
    """

    min_price: float | None = None
    max_price: float | None = None
    category: str | None = None
    currency: str | None = None
    brand: str | None = None
    color: str | None = None

    @property
    def contradictory(self) -> bool:
        """True when no price can satisfy both limits (e.g. over 500 and under 50)."""
        return (self.min_price is not None and self.max_price is not None
                and self.min_price > self.max_price)


@dataclass(frozen=True)
class Rules:
    """Business rules from configuration.

    Attributes:
        pinned: Items placed first whenever they pass the filters (promotions).
        excluded: Items never recommended.
        diversity: MMR trade-off in [0, 1]: 0 ranks by score only; higher values
            penalise repeating a category already in the list.
        max_per_category: At most this many items of one category (0: no limit).
        in_stock_only: Leave out items that cannot be sold now.
    """

    pinned: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()
    diversity: float = 0.3
    max_per_category: int = 0
    in_stock_only: bool = True

    def __post_init__(self) -> None:
        if not 0.0 <= self.diversity <= 1.0 or self.max_per_category < 0:
            raise ConfigError("diversity must be in [0, 1] and max_per_category >= 0")


@dataclass(frozen=True)
class Reranked:
    """The final list and how many candidates each filter removed."""

    items: tuple[Scored, ...]
    removed: Mapping[str, int] = field(default_factory=dict)


def rerank(candidates: Sequence[Scored], info: Mapping[str, ItemInfo], *, n: int,
           rules: Rules = Rules(), constraints: Constraints = Constraints(),
           pinned: Sequence[Scored] = (), avoid_groups: frozenset[str] = frozenset()
           ) -> Reranked:
    """Filter, pin and diversify ``candidates`` (best first) into at most ``n`` items.

    Items missing from ``info`` are treated as discontinued. ``pinned`` carries
    the pinned items as :class:`Scored` (channel ``pinned``); they go first, in
    rule order, when they pass the same filters. Only the best variant of each
    product group is kept, and none of ``avoid_groups`` (the product a
    "similar" list is about).
    """
    removed: dict[str, int] = {}
    groups = set(avoid_groups)

    def passes(item: Scored) -> bool:
        meta = info.get(item.item)
        reason = None
        if meta is None or not meta.available:
            reason = "discontinued"
        elif meta.group and meta.group in groups:
            reason = "same_product"
        elif item.item in rules.excluded:
            reason = "excluded"
        elif rules.in_stock_only and not meta.in_stock:
            reason = "out_of_stock"
        elif constraints.category and \
                constraints.category not in (meta.categories or {meta.category}):
            reason = "category"
        elif constraints.brand and meta.brand != constraints.brand:
            reason = "brand"
        elif constraints.color and meta.color != constraints.color:
            reason = "color"
        elif constraints.min_price is not None or constraints.max_price is not None:
            price = meta.prices.get(constraints.currency, meta.price) if constraints.currency \
                else meta.price
            if price is None or (constraints.min_price is not None
                                 and price < constraints.min_price) \
                    or (constraints.max_price is not None and price > constraints.max_price):
                reason = "price"
        if reason:
            removed[reason] = removed.get(reason, 0) + 1
        elif meta is not None and meta.group:
            groups.add(meta.group)
        return reason is None

    if constraints.contradictory:
        return Reranked((), {"contradictory": len(candidates)})
    chosen: list[Scored] = [p for p in pinned if passes(p)][:n]
    seen = {c.item for c in chosen}
    pool = [c for c in candidates if c.item not in seen and passes(c)]
    # a never-sold product keeps the last place it was given (new products get shown)
    fresh = [c for c in pool if c.channel == "new"][:max(0, n - len(chosen) - 1)]
    pool = [c for c in pool if c.channel != "new"]
    body = _mmr(pool, info, n - len(chosen) - len(fresh), rules)
    return Reranked(tuple(chosen + body + fresh), removed)


def _mmr(pool: list[Scored], info: Mapping[str, ItemInfo], n: int,
         rules: Rules) -> list[Scored]:
    """Maximal marginal relevance over categories, with an optional per-category cap."""
    if n <= 0 or not pool:
        return []
    top, bottom = pool[0].score, pool[-1].score
    span = (top - bottom) or 1.0
    relevance = [(c.score - bottom) / span for c in pool]
    counts: dict[str, int] = {}
    chosen: list[Scored] = []
    left = list(range(len(pool)))
    while left and len(chosen) < n:
        best, best_value = -1, float("-inf")
        for i in left:
            category = info[pool[i].item].category
            if rules.max_per_category and category and \
                    counts.get(category, 0) >= rules.max_per_category:
                continue
            repeat = 1.0 if category and counts.get(category) else 0.0
            value = (1 - rules.diversity) * relevance[i] - rules.diversity * repeat
            if value > best_value:
                best, best_value = i, value
        if best < 0:
            break
        left.remove(best)
        chosen.append(pool[best])
        category = info[pool[best].item].category
        counts[category] = counts.get(category, 0) + 1
    return chosen
