"""The conversation stream's consumer on the machine's RabbitMQ (127.0.0.1:5672) and a
shop database: every event taken once, whatever RabbitMQ delivers twice, strangers'
bytes refused, known customers' products kept as views for the recommender, and
nothing lost while the consumer is away."""

from __future__ import annotations

import json
import shutil
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pika
import pytest
import sqlalchemy as sa

from shop.db import make_engine, sqlite_url
from shop.feedback import record_chat_view
from shop.models import Customer, Interaction, Product
from stream.consumer import Consumer, wait_for
from stream.store import StreamStore
from tests.stream.test_facts import conversation

URL = "amqp://guest:guest@127.0.0.1:5672/"


@pytest.fixture
def queue() -> Iterator[str]:
    name = f"test-stream-{uuid.uuid4().hex[:8]}"
    yield name
    connection = pika.BlockingConnection(pika.URLParameters(URL))
    connection.channel().queue_delete(name)
    connection.close()


def publish(queue: str, bodies: list[bytes]) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(URL))
    channel = connection.channel()
    channel.queue_declare(queue, durable=True)
    for body in bodies:
        channel.basic_publish("", queue, body, pika.BasicProperties(delivery_mode=2))
    connection.close()


def shop(tmp_path: Path, demo_env: dict[str, str]) -> tuple[sa.Engine, str, str]:
    """A copy of the demo shop's database; one of its customers and products."""
    copy = tmp_path / "shop.db"
    shutil.copy(Path(demo_env["SHOP_DATA_DIR"]) / "shop.db", copy)
    engine = make_engine(sqlite_url(copy))
    with engine.connect() as conn:
        customer = conn.execute(sa.select(Customer.id).limit(1)).scalar_one()
        sku = conn.execute(sa.select(Product.sku).limit(1)).scalar_one()
    return engine, customer, sku


def with_customer(events: list[dict[str, Any]], customer: str, sku: str
                  ) -> list[dict[str, Any]]:
    """The conversation of ``test_facts`` with the shop's own customer and product."""
    for event in events:
        if (event.get("metadata") or {}).get("verified"):
            event["metadata"]["verified"]["customer_id"] = customer
        if event.get("name") == "product":
            event["value"] = sku
    return events


def start(consumer: Consumer) -> threading.Thread:
    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    return thread


def test_every_event_is_taken_once_and_known_customers_views_reach_the_shop(
        tmp_path: Path, queue: str, demo_env: dict[str, str]) -> None:
    engine, customer, sku = shop(tmp_path, demo_env)
    with engine.connect() as conn:
        before = conn.execute(sa.select(sa.func.count()).select_from(Interaction)).scalar()
    bodies = [json.dumps(e).encode() for e in
              with_customer(conversation("s1") + conversation("s2"), customer, sku)]
    # RabbitMQ delivers at least once: the broker's resends after a lost confirmation
    publish(queue, bodies[:4] + bodies[:4] + bodies[4:] + [b"\xff\xfe not json",
                                                          b'{"event": "user"}'])
    store = StreamStore(engine, record_view=lambda conn, v: record_chat_view(
        conn, v.customer_id, v.sku, v.timestamp))
    consumer = Consumer(URL, queue, store)
    thread = start(consumer)
    try:
        assert wait_for(lambda: consumer.counts.as_dict()["taken"] == len(bodies), 30)
        assert wait_for(lambda: consumer.counts.as_dict()["refused"] == 2, 5)
    finally:
        consumer.stop()
        thread.join(10)
    assert consumer.counts.as_dict()["duplicates"] == 4
    facts = {f.sender_id: f for f in store.conversations()}
    assert set(facts) == {"s1", "s2"}
    assert all((f.customer_messages, f.fallbacks, f.handoffs) == (3, 1, 1)
               for f in facts.values())
    with engine.connect() as conn:
        views = conn.execute(sa.select(Interaction.customer_id, Interaction.product_sku,
                                       Interaction.kind).where(Interaction.session_id == "chat")
                             ).all()
        after = conn.execute(sa.select(sa.func.count()).select_from(Interaction)).scalar()
    assert views == [(customer, sku, "view")] * 2  # one per conversation
    assert after == before + 2


def test_events_wait_in_the_queue_while_no_consumer_runs_and_a_new_one_takes_them(
        tmp_path: Path, queue: str, demo_env: dict[str, str]) -> None:
    engine, _, _ = shop(tmp_path, demo_env)
    store = StreamStore(engine)
    first = Consumer(URL, queue, store)
    thread = start(first)
    bodies = [json.dumps(e).encode() for e in conversation("s3")]
    publish(queue, bodies[:5])
    assert wait_for(lambda: first.counts.as_dict()["taken"] == 5, 30)
    first.stop()
    thread.join(10)
    publish(queue, bodies[5:])  # while nobody consumes
    second = Consumer(URL, queue, store)
    thread = start(second)
    try:
        assert wait_for(lambda: second.counts.as_dict()["taken"] == len(bodies) - 5, 30)
    finally:
        second.stop()
        thread.join(10)
    (facts,) = store.conversations()
    assert (facts.customer_messages, facts.assistant_messages, facts.handoffs) == (3, 2, 1)
