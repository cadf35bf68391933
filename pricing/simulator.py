"""A demand simulator fitted to the real price/quantity variation in UCI Online Retail.

**Fitting** (:func:`fit_demand`). Products are grouped into categories by
keywords of their descriptions (:data:`CATEGORY_WORDS`; lines matching none
are left out). Sales are summed per product and ISO week, separately for
retail and bulk customers (a customer is *bulk* when the median quantity of
their order lines is above the median customer's). For each category and
group the price elasticity is the slope of a log-log regression of weekly
units on the week's average unit price, within products (each product's
means removed: a fixed-effects estimator), over products seen in at least
four weeks with some price variation. The demand level is the mean units per
order line at the category's prices. A group with too little price variation
in a category gets the category's overall elasticity. Caveat, stated in the benchmark's
documentation: the shop gives volume discounts, so part of the measured
elasticity is buyers of large quantities paying lower unit prices; the bulk
group's elasticities are the most affected.

**Simulation** (:class:`Market`). Each step, a customer asks for the price of
one of ``n_products`` products (drawn from the fitted categories with their
median prices). They buy ``Poisson(level * (price / list)^elasticity)`` units.
Unit costs are unknown in the data: each product's cost is a uniform share
(default 55% to 90%) of its list price, so some products are too thin to
discount. Scenarios:

- ``stationary``: one elasticity and level per category, whoever asks.
- ``contextual``: elasticity and level per category *and* customer group
  (retail or bulk, fitted), so the best price depends on who asks.
- ``shifts``: ``stationary`` with two unannounced changes, at one and two
  thirds of the horizon (every elasticity times 1.6, then times 0.5).
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pricing.config import PricingConfig
from pricing.context import Context
from pricing.errors import PricingError
from pricing.guardrails import Guardrails

#: Description keywords of each category (first match wins, in this order).
CATEGORY_WORDS: dict[str, tuple[str, ...]] = {
    "bags": ("BAG", "BAGS", "SHOPPER", "TOTE"),
    "jewellery": ("NECKLACE", "BRACELET", "RING", "EARRINGS", "CHARM", "BROOCH"),
    "candles": ("CANDLE", "CANDLES", "HOLDER", "LANTERN", "T-LIGHT", "TLIGHT", "INCENSE"),
    "kitchen": ("MUG", "MUGS", "BOWL", "PLATE", "PLATES", "CUP", "CUPS", "TEAPOT", "CAKE",
                "SPOON", "TRAY", "JAR", "BOTTLE", "TIN", "TINS", "LUNCH", "NAPKINS",
                "CAKESTAND", "BAKING"),
    "stationery": ("CARD", "CARDS", "PAPER", "WRAP", "NOTEBOOK", "PEN", "PENCIL", "PENCILS",
                   "STICKER", "STICKERS", "ENVELOPE", "TAPE"),
    "storage": ("BOX", "BOXES", "BASKET", "STORAGE", "DRAWER", "CASE"),
    "decorations": ("DECORATION", "SIGN", "HEART", "FLOWER", "FRAME", "CLOCK", "ORNAMENT",
                    "BUNTING", "GARLAND", "WREATH", "BAUBLE", "LIGHTS", "CUSHION", "DOORMAT"),
    "toys": ("TOY", "GAME", "DOLL", "PUZZLE", "SKIPPING", "SPACEBOY", "DOMINOES", "CRAYONS",
             "BALLOONS", "PLAYHOUSE"),
}
GROUPS = ("retail", "bulk")
SCENARIOS = ("stationary", "contextual", "shifts")
SHIFTS = ((1 / 3, 1.6), (2 / 3, 0.5))
_PRODUCT_CODE = re.compile(r"^\d{5}[A-Z]?$")


def category_of(description: str) -> str | None:
    """The category of a product description, or ``None`` when no keyword matches."""
    words = set(re.sub(r"[^A-Z\- ]", " ", description.upper()).split())
    for category, keys in CATEGORY_WORDS.items():
        if words.intersection(keys):
            return category
    return None


@dataclass(frozen=True)
class Elasticity:
    """A fitted price elasticity with its standard error and sample size."""

    value: float
    stderr: float
    observations: int
    products: int


@dataclass(frozen=True)
class CategoryDemand:
    """What the data say about one category's demand.

    Attributes:
        category: Category name.
        elasticity: All customers together.
        by_group: Per customer group (``retail``, ``bulk``).
        units_per_line: Mean units per order line, per group.
        bulk_share: Share of the category's order lines bought by bulk customers.
        median_price: Median unit price (GBP).
        prices: Median unit price of each product in the category.
    """

    category: str
    elasticity: Elasticity
    by_group: dict[str, Elasticity]
    units_per_line: dict[str, float]
    bulk_share: float
    median_price: float
    prices: tuple[float, ...] = field(repr=False, default=())


def _slope(series: dict[str, list[tuple[float, float]]], clip: tuple[float, float]
           ) -> Elasticity:
    xs, ys, products = [], [], 0
    for points in series.values():
        if len(points) < 4:
            continue
        a = np.asarray(points)
        if a[:, 1].std() < 1e-6:
            continue
        products += 1
        xs.append(a[:, 1] - a[:, 1].mean())
        ys.append(a[:, 0] - a[:, 0].mean())
    if not xs:
        raise PricingError("not enough price variation to fit an elasticity")
    x, y = np.concatenate(xs), np.concatenate(ys)
    slope = float(x @ y / (x @ x))
    resid = y - slope * x
    dof = max(len(x) - products - 1, 1)
    stderr = float(np.sqrt(resid @ resid / dof / (x @ x)))
    return Elasticity(float(np.clip(slope, *clip)), stderr, len(x), products)


def fit_demand(path: Path, *, progress: Callable[[int], None] | None = None,
               clip: tuple[float, float] = (-6.0, -0.3)) -> dict[str, CategoryDemand]:
    """Fit each category's demand to ``online_retail.csv`` (see the module docstring).

    Args:
        path: The UCI Online Retail CSV.
        progress: Called with the number of rows read so far, every 50,000 rows.
        clip: Bounds of a fitted elasticity.

    Raises:
        PricingError: If the file is missing or has the wrong columns.
    """
    if not path.is_file():
        raise PricingError(f"{path} not found (set DATASETS to the shared datasets folder)")
    rows: list[tuple[str, str, int, float, tuple[int, int]]] = []
    descriptions: dict[str, str] = {}
    quantities: dict[str, list[int]] = defaultdict(list)
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        reader = csv.DictReader(handle)
        need = {"InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate",
                "UnitPrice", "CustomerID"}
        missing = need - set(reader.fieldnames or ())
        if missing:
            raise PricingError(f"{path} lacks columns {sorted(missing)}")
        for i, row in enumerate(reader):
            if progress and i % 50_000 == 0:
                progress(i)
            code, customer = row["StockCode"].strip().upper(), row["CustomerID"].strip()
            if row["InvoiceNo"].startswith("C") or not customer or not _PRODUCT_CODE.match(code):
                continue
            try:
                quantity, price = int(row["Quantity"]), float(row["UnitPrice"])
                week = dt.date.fromisoformat(row["InvoiceDate"][:10]).isocalendar()[:2]
            except ValueError:
                continue
            if quantity <= 0 or price <= 0:
                continue
            if row["Description"]:
                descriptions[code] = row["Description"]
            quantities[customer].append(quantity)
            rows.append((code, customer, quantity, price, (week[0], week[1])))
    median_line = {c: float(np.median(q)) for c, q in quantities.items()}
    bulk_cut = float(np.median(list(median_line.values())))
    weekly: dict[tuple[str, str, str, tuple[int, int]], list[float]] = defaultdict(
        lambda: [0.0, 0.0])
    lines: dict[tuple[str, str], list[int]] = defaultdict(list)
    prices: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for code, customer, quantity, price, week in rows:
        category = category_of(descriptions.get(code, ""))
        if category is None:
            continue
        group = "bulk" if median_line[customer] > bulk_cut else "retail"
        for g in (group, "all"):
            cell = weekly[(category, g, code, week)]
            cell[0] += quantity
            cell[1] += quantity * price
        lines[(category, group)].append(quantity)
        prices[category][code].append(price)
    series: dict[tuple[str, str], dict[str, list[tuple[float, float]]]] = defaultdict(
        lambda: defaultdict(list))
    for (category, group, code, _week), (units, revenue) in weekly.items():
        series[(category, group)][code].append((np.log(units), np.log(revenue / units)))
    fitted = {}
    for category in CATEGORY_WORDS:
        if (category, "all") not in series:
            continue
        n_lines = {g: len(lines[(category, g)]) for g in GROUPS}
        overall = _slope(series[(category, "all")], clip)
        by_group = {}
        for g in GROUPS:
            try:
                by_group[g] = _slope(series[(category, g)], clip)
            except PricingError:  # one group never bought it often enough: use everyone's
                by_group[g] = overall
        product_prices = tuple(sorted(float(np.median(p)) for p in prices[category].values()))
        fitted[category] = CategoryDemand(
            category=category,
            elasticity=overall, by_group=by_group,
            units_per_line={g: float(np.mean(lines[(category, g)] or [0]))
                            for g in GROUPS},
            bulk_share=n_lines["bulk"] / max(sum(n_lines.values()), 1),
            median_price=float(np.median(product_prices)),
            prices=product_prices)
    return fitted


@dataclass
class Steps:
    """A horizon of customer questions for ``S`` seeds (arrays of shape ``(S, T)``)."""

    product: np.ndarray
    bulk: np.ndarray
    weekday: np.ndarray


class Market:
    """Simulated customers asking for prices, for ``S`` seeds at once.

    Args:
        demand: Fitted categories (:func:`fit_demand`).
        scenario: One of :data:`SCENARIOS`.
        actions: Price actions relative to list price.
        n_products: Products in the simulated shop.
        horizon: Steps per run.
        seeds: Random seeds (one run each).
        cost_share: Range of unit cost as a share of list price.
        guardrails: The shop's rules; every price action of every product goes
            through :class:`~pricing.guardrails.Guardrails` once, and policies and
            oracles alike sell at the guarded prices.
    """

    def __init__(self, demand: dict[str, CategoryDemand], *, scenario: str,
                 actions: Sequence[float], n_products: int = 40, horizon: int = 10_000,
                 seeds: Sequence[int] = tuple(range(50)), cost_share: tuple[float, float] = (
                     0.55, 0.9), guardrails: Guardrails | None = None) -> None:
        if scenario not in SCENARIOS:
            raise PricingError(f"unknown scenario {scenario!r}; choose from {SCENARIOS}")
        self.scenario, self.horizon, self.seeds = scenario, horizon, tuple(seeds)
        self.actions = np.asarray(actions)
        self.categories = tuple(demand)
        S, P = len(self.seeds), n_products
        # the shop (products, costs) is the same for every seed; the customers differ
        shop = np.random.default_rng(12345)
        self.category = shop.integers(0, len(self.categories), P)
        self.list_price = np.array([
            shop.choice(demand[self.categories[c]].prices) for c in self.category])
        self.cost = np.round(self.list_price * shop.uniform(*cost_share, P), 2)
        d = [demand[self.categories[c]] for c in self.category]
        self.elasticity = np.array([[x.elasticity.value] * 2 for x in d]) \
            if scenario != "contextual" else \
            np.array([[x.by_group[g].value for g in GROUPS] for x in d])
        units = np.array([[x.units_per_line[g] for g in GROUPS] for x in d])
        self.level = units if scenario == "contextual" else \
            np.repeat(units.mean(axis=1, keepdims=True), 2, axis=1)
        self.bulk_share = np.array([x.bulk_share for x in d])
        self.weekly_sales = units.mean(axis=1) * 7
        # guarded prices of each product and action, as multipliers of list price: (P, A)
        rails = guardrails or Guardrails(PricingConfig(actions=tuple(self.actions)))
        self.guardrails = rails
        self.multiplier = np.array([[
            rails.apply(lp * (1.0 + a), list_price=lp, cost=c).price / lp
            for a in self.actions] for lp, c in zip(self.list_price, self.cost, strict=True)])
        rngs = [np.random.default_rng(s) for s in self.seeds]
        product = np.stack([r.integers(0, P, horizon) for r in rngs])
        self.steps = Steps(
            product=product,
            bulk=np.stack([r.random(horizon) for r in rngs]) < self.bulk_share[product],
            weekday=np.stack([r.integers(0, 7, horizon) for r in rngs]))
        self._noise = np.random.default_rng([10_000, *self.seeds])
        self.n_seeds = S

    def elasticity_at(self, t: int) -> np.ndarray:
        """Every product's elasticity per group at step ``t``: ``(P, 2)``."""
        e = self.elasticity
        if self.scenario == "shifts":
            for at, factor in SHIFTS:
                if t >= at * self.horizon:
                    e = e * factor
        return e

    def expected(self, t: int) -> np.ndarray:
        """Expected profit of every action at step ``t`` for each seed: ``(S, A)``."""
        p = self.steps.product[:, t]
        g = self.steps.bulk[:, t].astype(int)
        e = self.elasticity_at(t)[p, g]
        m = self.multiplier[p]
        units = self.level[p, g][:, None] * m ** e[:, None]
        return units * (m * self.list_price[p][:, None] - self.cost[p][:, None])

    def sell(self, t: int, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Units bought and their profit when each seed quotes ``actions`` at step ``t``."""
        p = self.steps.product[:, t]
        g = self.steps.bulk[:, t].astype(int)
        m = self.multiplier[p, actions]
        mean = self.level[p, g] * m ** self.elasticity_at(t)[p, g]
        units = self._noise.poisson(mean)
        return units, units * (m * self.list_price[p] - self.cost[p])

    def price(self, t: int, actions: np.ndarray) -> np.ndarray:
        """The prices quoted at step ``t``."""
        p = self.steps.product[:, t]
        return self.multiplier[p, actions] * self.list_price[p]

    def context(self, s: int, t: int) -> Context:
        """What the shop knows at step ``t`` of seed ``s`` (not the elasticity)."""
        p = int(self.steps.product[s, t])
        day = dt.datetime(2011, 1, 3) + dt.timedelta(days=int(self.steps.weekday[s, t]))
        return Context(category=self.categories[self.category[p]],
                       weekly_sales=float(self.weekly_sales[p]), stock=100,
                       sensitivity=1.0 if self.steps.bulk[s, t] else 0.0, when=day,
                       margin=float(1.0 - self.cost[p] / self.list_price[p]))
