"""Reads the conversation stream from RabbitMQ into :class:`~stream.store.StreamStore`.

A message is acknowledged only after its event is in the database, so a consumer
that dies mid-way leaves it for the next one (RabbitMQ redelivers it; the store
takes it once). A message that is not an event is acknowledged and counted, never
retried for ever. While RabbitMQ or the database is away it tries again every
``retry_seconds``; the events wait in the durable queue.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from stream.facts import StreamError
from stream.store import StreamStore

logger = logging.getLogger(__name__)


@dataclass
class Counts:
    """What the consumer has done since it started (its health route shows them)."""

    taken: int = 0
    duplicates: int = 0
    refused: int = 0
    connected: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def as_dict(self) -> dict[str, Any]:
        """The counts as JSON."""
        with self.lock:
            return {"taken": self.taken, "duplicates": self.duplicates,
                    "refused": self.refused, "connected": self.connected}


class Consumer:
    """Consumes ``queue`` at ``url`` (declared durable, as the Rasa servers declare it).

    Args:
        url: ``amqp://user:password@host:port/vhost``.
        queue: The durable queue of this shop's events.
        store: Where events go.
        prefetch: Unacknowledged messages RabbitMQ hands over at once.
        retry_seconds: Pause before reconnecting after a failure.
    """

    def __init__(self, url: str, queue: str, store: StreamStore, *, prefetch: int = 50,
                 retry_seconds: float = 1.0) -> None:
        self.url = url
        self.queue = queue
        self.store = store
        self.prefetch = prefetch
        self.retry_seconds = retry_seconds
        self.counts = Counts()
        self._stopping = threading.Event()

    def handle(self, body: bytes) -> None:
        """Take one message's event (counted as taken, a duplicate or refused).

        Raises:
            sqlalchemy.exc.SQLAlchemyError: The database failed; the message stays
                unacknowledged and comes again.
        """
        try:
            event = json.loads(body.decode("utf-8"))
            fresh = self.store.take(event, digest=hashlib.sha256(body).hexdigest())
        except (UnicodeDecodeError, json.JSONDecodeError, StreamError) as exc:
            logger.warning("refused a message of the stream: %s", exc)
            with self.counts.lock:
                self.counts.refused += 1
            return
        with self.counts.lock:
            if fresh:
                self.counts.taken += 1
            else:
                self.counts.duplicates += 1

    def run(self) -> None:
        """Consume until :meth:`stop`, reconnecting after every failure."""
        import pika

        while not self._stopping.is_set():
            try:
                connection = pika.BlockingConnection(pika.URLParameters(self.url))
            except pika.exceptions.AMQPError as exc:
                logger.warning("RabbitMQ is away (%s); trying again", type(exc).__name__)
                self._stopping.wait(self.retry_seconds)
                continue
            try:
                self._consume(connection)
            except Exception as exc:  # noqa: BLE001 - RabbitMQ or the database failed
                logger.warning("the stream stopped (%s); reconnecting", type(exc).__name__)
                self._stopping.wait(self.retry_seconds)
            finally:
                with self.counts.lock:
                    self.counts.connected = False
                if connection.is_open:
                    with contextlib.suppress(Exception):  # already broken
                        connection.close()

    def _consume(self, connection: Any) -> None:
        channel = connection.channel()
        channel.queue_declare(self.queue, durable=True)
        channel.basic_qos(prefetch_count=self.prefetch)
        with self.counts.lock:
            self.counts.connected = True
        while not self._stopping.is_set():
            method, _properties, body = channel.basic_get(self.queue, auto_ack=False)
            if method is None:
                connection.process_data_events(time_limit=0.2)
                continue
            self.handle(body)  # a database failure raises: the message comes again
            channel.basic_ack(method.delivery_tag)

    def stop(self) -> None:
        """Stop after the message in hand."""
        self._stopping.set()


def wait_for(predicate: Any, timeout: float, step: float = 0.1) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` passes (tests, the CLI)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())
