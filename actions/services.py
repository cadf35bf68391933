"""The domain services the actions call, built once on first use."""

from __future__ import annotations

import threading
from functools import lru_cache

from actions.settings import Settings, settings
from knowledge_graph.backends import open_backend
from knowledge_graph.graph import ProductGraph
from recsys.artifacts import ModelStore
from recsys.experiments import Event, Experiment
from recsys.rerank import ItemInfo, Rules
from recsys.service import RecommenderService
from shop.db import make_engine, session_factory
from shop.feedback import FeedbackEvent, FeedbackStore, local_prices
from shop.orders import OrderService
from vision.encoder import ImageEncoder
from vision.images import Limits
from vision.index import IndexStore
from vision.media import MediaStore
from vision.search import VisualSearch

_lock = threading.Lock()


@lru_cache(maxsize=1)
def _graph() -> ProductGraph:
    s = settings()
    if s.graph_backend == "remote" and s.graph_endpoint:
        return ProductGraph(open_backend(s.graph_endpoint, "remote"))
    return ProductGraph.from_file(s.graph_path, backend=s.graph_backend)


@lru_cache(maxsize=1)
def _engine():  # type: ignore[no-untyped-def]
    return make_engine(settings().database_url)


@lru_cache(maxsize=1)
def _orders() -> OrderService:
    return OrderService(session_factory(_engine()),
                        return_window_days=settings().return_window_days)


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
        prices = local_prices(sessions)
        return {p.sku: ItemInfo(p.category, frozenset(p.categories), p.price,
                                prices.get(p.sku, {}), p.stock > 0, p.available, p.image,
                                p.group)
                for p in store.products()}

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


def image_encoder(s: Settings) -> ImageEncoder:
    """The photo encoder configured by ``s`` (the index and the lookups must agree)."""
    return ImageEncoder(views=s.vision_views, threads=s.vision_threads,
                        color_weight=s.vision_color)


@lru_cache(maxsize=1)
def _media() -> MediaStore:
    s = settings()
    return MediaStore(s.media_dir, limits=upload_limits(s))


@lru_cache(maxsize=1)
def _visual() -> VisualSearch:
    s = settings()
    return VisualSearch(encoder=image_encoder(s),
                        store=IndexStore(s.vision_dir, check_seconds=s.vision_reload_seconds),
                        threshold=s.vision_threshold, floor=s.vision_floor,
                        document_limit=s.vision_document_limit,
                        limits=_media().limits)


def product_graph() -> ProductGraph:
    """The product graph, loaded on first use."""
    with _lock:
        return _graph()


def order_service() -> OrderService:
    """The order service, connected on first use."""
    with _lock:
        return _orders()


def recommender() -> RecommenderService:
    """The recommender (hot-reloads new model versions), built on first use."""
    with _lock:
        return _recommender()


def media_store() -> MediaStore:
    """Customers' uploaded photos (the folder the REST channel writes)."""
    with _lock:
        return _media()


def visual_search() -> VisualSearch:
    """Photo-to-product lookup (hot-reloads new index versions), built on first use."""
    with _lock:
        return _visual()
