"""The domain services the actions call, built once on first use."""

from __future__ import annotations

import threading
from functools import lru_cache

from actions.settings import settings
from knowledge_graph.backends import open_backend
from knowledge_graph.graph import ProductGraph
from shop.db import make_engine, session_factory
from shop.orders import OrderService

_lock = threading.Lock()


@lru_cache(maxsize=1)
def _graph() -> ProductGraph:
    s = settings()
    if s.graph_backend == "remote" and s.graph_endpoint:
        return ProductGraph(open_backend(s.graph_endpoint, "remote"))
    return ProductGraph.from_file(s.graph_path, backend=s.graph_backend)


@lru_cache(maxsize=1)
def _orders() -> OrderService:
    s = settings()
    engine = make_engine(s.database_url)
    return OrderService(session_factory(engine), return_window_days=s.return_window_days)


def product_graph() -> ProductGraph:
    """The product graph, loaded on first use."""
    with _lock:
        return _graph()


def order_service() -> OrderService:
    """The order service, connected on first use."""
    with _lock:
        return _orders()
