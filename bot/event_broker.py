"""Rasa's event broker for RabbitMQ that loses nothing while RabbitMQ is away.

Rasa 3.6's ``pika`` broker keeps events it could not publish in the process's memory
(gone with a restart), and a Rasa server whose RabbitMQ is down when it starts does
not start at all. :class:`SpooledEventBroker` publishes every event with publisher
confirms to a fanout exchange and a durable queue (as Rasa's broker declares them,
so the same consumers read them); an event it cannot publish goes to a spool table
in SQL (``spool_url``: the channels' database) and is counted, and a background task
reconnects and sends the spool, oldest first, as soon as RabbitMQ answers again. A
Rasa server starts with RabbitMQ down and publishes when it comes up.

In the endpoints file (``bot/endpoints-scaled.yml``)::

    event_broker:
      type: bot.event_broker.SpooledEventBroker
      url: amqp://guest:guest@127.0.0.1:5672/
      queues: [shop.events]
      spool_url: postgresql://postgres@127.0.0.1:5432/shop
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
from typing import Any, Deque, Dict, List

import sqlalchemy as sa
from rasa.core.brokers.broker import EventBroker

from bot.channels.sql import made, server_options

logger = logging.getLogger(__name__)

EXCHANGE = "rasa-exchange"  # Rasa's own: consumers of its pika broker read these too

_metadata = sa.MetaData()
spool = sa.Table(
    "event_spool", _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("body", sa.Text, nullable=False),
)


class SpooledEventBroker(EventBroker):
    """Publishes Rasa's events to RabbitMQ; keeps them in SQL while it cannot.

    Args:
        url: ``amqp://user:password@host:port/vhost``.
        queues: durable queues bound to the exchange (each gets every event).
        spool_url: SQLAlchemy URL of the spool table's database.
        exchange: the fanout exchange's name.
        retry_seconds: pause between two connection attempts.
        batch: events sent per look at the spool.
    """

    def __init__(self, url: str, *, queues: List[str], spool_url: str,
                 exchange: str = EXCHANGE, retry_seconds: float = 1.0,
                 batch: int = 200) -> None:
        self.url = url
        self.queues = list(queues) if isinstance(queues, (list, tuple)) else [str(queues)]
        self.exchange_name = exchange
        self.retry_seconds = float(retry_seconds)
        self.batch = int(batch)
        self._engine = sa.create_engine(spool_url, future=True, **server_options(spool_url))
        made(self._engine, _metadata)  # PostgreSQL away at start: made once it answers
        self._pending: Deque[Dict[str, Any]] = collections.deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._connection: Any = None
        self._exchange: Any = None
        self.published = 0
        self.spooled = 0  # events that waited in the spool since this process started

    @classmethod
    async def from_endpoint_config(cls, broker_config: Any,
                                   event_loop: Any = None) -> "SpooledEventBroker":
        """The broker of the endpoints file's ``event_broker`` entry, started.

        RabbitMQ down now is no reason not to start: events wait in the spool.
        """
        options = dict(broker_config.kwargs)
        options.pop("type", None)
        broker = cls(broker_config.url, **options)
        broker.start()
        await broker.wait_connected(timeout=5.0)
        return broker

    def start(self) -> None:
        """Start the task that connects and sends (on the running event loop)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    def publish(self, event: Dict[str, Any],
                headers: Dict[str, str] | None = None) -> None:
        """Queue ``event`` for RabbitMQ (Rasa calls this for every event of a turn)."""
        self._pending.append(event)
        self._wake.set()

    def is_ready(self) -> bool:
        """Whether RabbitMQ is connected right now (events are kept either way)."""
        return self._exchange is not None

    def unsent(self) -> int:
        """Events not yet confirmed by RabbitMQ: in the spool and in memory."""
        with self._engine.connect() as conn:
            kept = conn.execute(sa.select(sa.func.count()).select_from(spool)).scalar_one()
        return int(kept) + len(self._pending)

    async def wait_connected(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for a connection; whether there is one."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self._exchange is None and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        return self._exchange is not None

    async def close(self) -> None:
        """Stop sending; what is still in memory goes to the spool."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):  # closing anyway
                await self._task
            self._task = None
        await self._spool_pending()
        await self._disconnect()
        self._engine.dispose()

    async def _run(self) -> None:
        while True:
            try:
                if self._exchange is None:
                    await self._connect()
                await self._send_spool()
                await self._send_pending()
                self._wake.clear()
                if not self._pending:
                    await self._wake.wait()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure: keep, retry later
                if self._exchange is not None or self._pending:
                    logger.warning("RabbitMQ unavailable (%s): events are kept and sent "
                                   "when it answers", type(exc).__name__)
                try:
                    await self._spool_pending()
                except Exception as spool_error:  # noqa: BLE001 - kept in memory meanwhile
                    logger.warning("event spool unavailable (%s): %d events wait in memory",
                                   type(spool_error).__name__, len(self._pending))
                await self._disconnect()
                await asyncio.sleep(self.retry_seconds)

    async def _connect(self) -> None:
        import aio_pika

        connection = await aio_pika.connect(self.url, timeout=5)
        try:
            channel = await connection.channel(publisher_confirms=True)
            exchange = await channel.declare_exchange(
                self.exchange_name, type=aio_pika.ExchangeType.FANOUT)
            for name in self.queues:
                queue = await channel.declare_queue(name, durable=True)
                await queue.bind(exchange, "")
        except BaseException:
            await connection.close()
            raise
        self._connection, self._exchange = connection, exchange
        logger.info("RabbitMQ connected: publishing events to %s", self.queues)

    async def _disconnect(self) -> None:
        connection, self._connection, self._exchange = self._connection, None, None
        if connection is not None:
            with contextlib.suppress(Exception):  # it is gone either way
                await asyncio.wait_for(connection.close(), 2)

    async def _publish(self, body: str) -> None:
        import aio_pika

        await asyncio.wait_for(self._exchange.publish(aio_pika.Message(
            body.encode(), content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT), routing_key=""), 10)
        self.published += 1

    async def _send_spool(self) -> None:
        while True:
            rows = await asyncio.to_thread(self._oldest)
            if not rows:
                return
            for row_id, body in rows:
                await self._publish(body)
                await asyncio.to_thread(self._forget, row_id)

    async def _send_pending(self) -> None:
        while self._pending:
            event = self._pending[0]
            await self._publish(json.dumps(event))
            self._pending.popleft()

    async def _spool_pending(self) -> None:
        """Write what waits in memory to the spool; it leaves memory only once written
        (the spool's database away too: it stays here and is tried again)."""
        events = list(self._pending)
        if not events:
            return
        await asyncio.to_thread(self._keep, [json.dumps(e) for e in events])
        for _ in events:  # events published meanwhile were appended after these
            self._pending.popleft()
        self.spooled += len(events)

    def _keep(self, bodies: List[str]) -> None:
        with self._engine.begin() as conn:
            conn.execute(spool.insert(), [{"body": b} for b in bodies])

    def _oldest(self) -> List[Any]:
        with self._engine.connect() as conn:
            return list(conn.execute(sa.select(spool.c.id, spool.c.body)
                                     .order_by(spool.c.id).limit(self.batch)))

    def _forget(self, row_id: int) -> None:
        with self._engine.begin() as conn:
            conn.execute(spool.delete().where(spool.c.id == row_id))
