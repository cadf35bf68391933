"""Shared fixtures (actions environment): a generated demo shop, its graph,
its order service, and trackers for running actions."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from rasa_sdk import Tracker  # noqa: E402
from rasa_sdk.executor import CollectingDispatcher  # noqa: E402

AS_OF = dt.date(2026, 6, 15)


@pytest.fixture(scope="session")
def demo_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment of a freshly generated demo shop in a temporary data directory."""
    from actions.settings import load_settings
    from scripts.build_data import build
    from scripts.train_pricing import run as train_pricing
    from scripts.train_recsys import train

    data_dir = tmp_path_factory.mktemp("shop-data")
    env = {"SHOP_DATA_DIR": str(data_dir), "DEMO_AS_OF": AS_OF.isoformat(), "DEMO_SEED": "7",
           # embeddings are keyed by text: share the ones `make data` computed
           "EMBEDDING_CACHE": str(ROOT / "data" / "cache" / "product_embeddings.npz")}
    build(load_settings(env), data_dir / "nlu" / "catalog.yml")
    train(load_settings(env), quiet=True)
    train_pricing(load_settings(env), quiet=True)
    return env


@pytest.fixture()
def demo_settings(demo_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Point the action server's settings and services at the demo shop."""
    yield from use_shop(demo_env, monkeypatch)


def use_shop(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Point the action server's settings and services at the shop in ``env``."""
    from actions import services, settings

    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("CUSTOMER_ID_SECRET", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    caches = (settings.settings, services._graph, services._engine, services._orders,
              services.feedback_store, services._recommender, services._media, services._visual,
              services._sales, services._customers, services.pricing_ledger, services._pricing)
    for cached in caches:
        cached.cache_clear()
    yield settings.settings()
    for cached in caches:
        cached.cache_clear()


@pytest.fixture()
def fixed_clock(monkeypatch: pytest.MonkeyPatch, demo_settings: Any) -> dt.datetime:
    """Make the order service's "now" the demo shop's as-of date."""
    from actions import services
    from shop.db import make_engine, session_factory
    from shop.orders import LookupLimits, OrderService

    now = dt.datetime.combine(AS_OF, dt.time(12, 0))

    def orders() -> OrderService:
        # the tests share one database and sender id: failed guest look-ups are
        # limited in test_order_actions.py's own service
        return OrderService(session_factory(make_engine(demo_settings.database_url)),
                            return_window_days=30, clock=lambda: now,
                            limits=LookupLimits(per_conversation=10**6, per_client=10**6))

    monkeypatch.setattr(services, "order_service", orders)
    for module in ("actions.order_form", "actions.order_status", "actions.order_cancel",
                   "actions.order_return"):
        monkeypatch.setattr(f"{module}.order_service", orders, raising=False)
    return now


@pytest.fixture()
def graph(demo_settings: Any) -> Any:
    """The demo shop's product graph (default back end)."""
    from actions.services import product_graph

    return product_graph()


def make_tracker(
    text: str = "",
    *,
    intent: str | None = None,
    entities: list[dict[str, Any]] | None = None,
    slots: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    sender: str = "test-user",
) -> Tracker:
    """A rasa-sdk tracker whose latest message has the given intent and entities."""
    all_slots = {"language": "en"}
    all_slots.update(slots or {})
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 1.0},
        "entities": entities or [],
        "metadata": metadata or {},
    }
    return Tracker(sender, all_slots, latest, [], False, None, {}, "action_listen")


def verified(customer_id: str | None, client: str | None = None) -> dict[str, Any]:
    """Message metadata as a channel passes it on after checking the customer's signature."""
    return {"verified": {"customer_id": customer_id, "client": client, "channel": "rest"}}


def quoted(sender: str, sku: str) -> Any:
    """The audited quote of ``sku`` in conversation ``sender`` (the demo shop's ledger)."""
    from actions.services import pricing_ledger

    return pricing_ledger().find_quote(sender, sku, "quote")


def local_price(graph: Any, sku: str, currency: str, factor: float) -> str:
    """The price text of ``sku`` at ``factor`` times its list price in ``currency``."""
    from decimal import ROUND_HALF_UP, Decimal

    from actions.presentation import format_money

    base = graph.details(sku, currency=currency).price
    cent = Decimal(1) if currency == "CNY" and factor == 1.0 else Decimal("0.01")
    return format_money((base * Decimal(repr(factor))).quantize(cent, ROUND_HALF_UP), currency)


def entity(name: str, value: str, start: int = 0, role: str | None = None) -> dict[str, Any]:
    """An entity as Rasa puts it into a parsed message."""
    result: dict[str, Any] = {"entity": name, "value": value, "start": start,
                              "end": start + len(value)}
    if role:
        result["role"] = role
    return result


def run_action(action: Any, tracker: Tracker) -> tuple[list[dict[str, Any]], list[Any]]:
    """Run an action to completion; return (messages, events)."""
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, {}))
    return dispatcher.messages, events


def slot_events(events: list[Any]) -> dict[str, Any]:
    """The slot values an action set."""
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")


@pytest.fixture(scope="session")
def grocery_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A shop selling the real Grocery Store catalog, its photos indexed.

    The 81 iconic catalog images, plus two shelf photos (training split) for
    each of the first 12 products, attached with ``scripts.index_images add``.
    """
    from actions.settings import load_settings
    from knowledge_graph.importing import Mapping
    from knowledge_graph.sources.grocery_store import derive_catalog, write_catalog
    from scripts.build_data import build
    from scripts.index_images import add
    from shopctl.catalog import run_import
    from tests.knowledge_graph.test_grocery_store import GROCERY

    if not (GROCERY / "classes.csv").is_file():
        pytest.skip(f"Grocery Store dataset not found at {GROCERY} (set DATASETS)")
    data_dir = tmp_path_factory.mktemp("grocery-shop")
    env = {"SHOP_DATA_DIR": str(data_dir), "DEMO_AS_OF": AS_OF.isoformat(), "DEMO_SEED": "7",
           "EMBEDDING_CACHE": str(ROOT / "data" / "cache" / "product_embeddings.npz"),
           "VISION_VIEWS": "center,zoom", "VISION_RELOAD_SECONDS": "0"}
    settings = load_settings(env)
    build(settings, data_dir / "nlu" / "catalog.yml")
    catalog = data_dir / "grocery.csv"
    write_catalog(derive_catalog(GROCERY), catalog)
    run_import(settings, catalog, Mapping.load(ROOT / "knowledge_graph" / "mappings"
                                               / "grocery_store.yml"),
               nlu_out=data_dir / "nlu" / "catalog.yml")
    shelf = [(f"GS-{int(line.split(',')[1]):03d}", GROCERY / line.split(",")[0].strip())
             for line in (GROCERY / "train.txt").read_text().splitlines()
             if line.strip() and int(line.split(",")[1]) < 12
             and line.split(",")[0].strip().endswith(("_002.jpg", "_009.jpg"))]
    assert add(settings, shelf, quiet=True) == 0
    return env
