"""Outgoing messages as a delivery pipeline: every message pushed into a conversation
(an agent's reply, a notice, the assistant's greeting back) is stored with a status,
sent by one dispatcher with one retry policy, and can be sent again from the desk.

- :meth:`Dispatcher.send` stores the message ``pending``, hands it to the channel's
  sender (:func:`bot.channels.sending.register_pusher`: the platform's own send, with
  its limits and its messaging window), and records the outcome: ``sent`` (the
  platform took it; the stored message's id), ``expired`` (the platform's window is
  closed: a reply needs the customer to write first; never retried by itself) or
  ``failed`` (the platform or the network refused it: retried by itself after
  :data:`RETRY_DELAYS`, then left ``failed`` for a person to retry).
- :meth:`Dispatcher.retry` sends a failed or expired message again (the desk's
  retry button), :meth:`Dispatcher.run` retries what is due (and what a stopped
  server left ``pending``).
- Each message that reaches the customer is announced once to ``on_sent`` (the Rasa
  server writes an agent's message into the conversation's history then), so a
  message sent by a later retry is in the history too.

State lives in SQL beside the channels' messages (``CHANNEL_DB_URL``), so the desk
reads what reached whom after any restart; no Rasa imports.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, List

import sqlalchemy as sa

from bot.channels.sql import channel_engine
from telemetry import metrics

logger = logging.getLogger(__name__)

PENDING, SENT, FAILED, EXPIRED = "pending", "sent", "failed", "expired"
#: seconds before each automatic retry of a failed message (then a person retries)
RETRY_DELAYS = (5.0, 30.0, 120.0)
MAX_ERROR = 300

_metadata = sa.MetaData()
deliveries = sa.Table(
    "channel_deliveries", _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("conversation", sa.String(128), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("error", sa.String(MAX_ERROR), nullable=True),
    sa.Column("entry_id", sa.Integer, nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("retry_at", sa.Float, nullable=True),
    sa.Index("ix_deliveries_conversation", "channel", "conversation", "id"),
    sa.Index("ix_deliveries_due", "status", "retry_at"),
)


class Refused(Exception):
    """A channel's sender could not deliver a message.

    Attributes:
        expired: The platform's messaging window is closed (no automatic retry).
    """

    def __init__(self, reason: str, *, expired: bool = False) -> None:
        super().__init__(reason)
        self.expired = expired


@dataclass(frozen=True)
class Delivery:
    """One outgoing message and what became of it.

    Attributes:
        id: The delivery's number.
        channel, conversation: Where it goes.
        role: ``agent``, ``notice`` or ``assistant``.
        body: The message (``text``, ``buttons``, ``custom``, ``author`` ...).
        status: ``pending``, ``sent``, ``failed`` or ``expired``.
        attempts: How many times it was handed to the platform.
        error: Why the last attempt failed, in words an agent can read.
        entry_id: The stored message's id once sent.
        retry_at: When it is retried by itself (None: not).
    """

    id: int
    channel: str
    conversation: str
    role: str
    body: Dict[str, Any]
    status: str
    attempts: int
    error: str | None
    entry_id: int | None
    created_at: float
    updated_at: float
    retry_at: float | None

    def as_json(self) -> Dict[str, Any]:
        """What the desk gets."""
        return {"id": self.id, "channel": self.channel, "conversation": self.conversation,
                "role": self.role, "text": self.body.get("text"),
                "author": self.body.get("author"), "status": self.status,
                "attempts": self.attempts, "error": self.error, "entry_id": self.entry_id,
                "at": self.created_at, "retry_at": self.retry_at}


def _delivery(row: Any) -> Delivery:
    return Delivery(id=int(row.id), channel=row.channel, conversation=row.conversation,
                    role=row.role, body=json.loads(row.body), status=row.status,
                    attempts=int(row.attempts), error=row.error, entry_id=row.entry_id,
                    created_at=float(row.created_at), updated_at=float(row.updated_at),
                    retry_at=row.retry_at)


Sender = Callable[[str, str, Dict[str, Any], str], Awaitable[int]]
OnSent = Callable[[Delivery], Awaitable[None]]


class Dispatcher:
    """The one sender of pushed messages (see the module docstring).

    Args:
        url: SQLAlchemy URL of the channels' database.
        send: ``send(channel, conversation, message, role)`` hands a message to its
            channel's platform; the stored message's id, or :class:`Refused`.
        on_sent: Called once for each message that reached the customer.
        clock: Unix seconds now (tests pass their own).
    """

    def __init__(self, url: str, *, send: Sender, on_sent: OnSent | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self._engine = channel_engine(url, _metadata, timeout=15)
        self._send = send
        self.on_sent = on_sent
        self._clock = clock

    # --- the record ---------------------------------------------------------------------

    def _get(self, delivery_id: int) -> Delivery:
        with self._engine.connect() as conn:
            row = conn.execute(sa.select(deliveries).where(
                deliveries.c.id == delivery_id)).first()
        if row is None:
            raise KeyError(delivery_id)
        return _delivery(row)

    def _store(self, channel: str, conversation: str, role: str,
               body: Dict[str, Any]) -> int:
        now = self._clock()
        with self._engine.begin() as conn:
            result = conn.execute(deliveries.insert().values(
                channel=channel, conversation=conversation, role=role,
                body=json.dumps(body, ensure_ascii=False), status=PENDING, attempts=0,
                created_at=now, updated_at=now))
            key = result.inserted_primary_key
            assert key is not None
            return int(key[0])

    def _claim(self, delivery_id: int, statuses: tuple[str, ...]) -> bool:
        """Take a delivery for one attempt (exactly one caller wins)."""
        with self._engine.begin() as conn:
            result = conn.execute(deliveries.update().where(
                deliveries.c.id == delivery_id, deliveries.c.status.in_(statuses)).values(
                status=PENDING, attempts=deliveries.c.attempts + 1, retry_at=None,
                updated_at=self._clock()))
            return result.rowcount == 1

    def _outcome(self, delivery_id: int, status: str, *, error: str | None = None,
                 entry_id: int | None = None, retry_at: float | None = None) -> None:
        with self._engine.begin() as conn:
            conn.execute(deliveries.update().where(deliveries.c.id == delivery_id).values(
                status=status, error=(error or None) and error[:MAX_ERROR], entry_id=entry_id,
                retry_at=retry_at, updated_at=self._clock()))

    def get(self, delivery_id: int) -> Delivery:
        """One delivery (:class:`KeyError` when there is none)."""
        return self._get(delivery_id)

    def of(self, channel: str, conversation: str, *, limit: int = 200) -> List[Delivery]:
        """A conversation's deliveries, oldest first."""
        with self._engine.connect() as conn:
            rows = conn.execute(sa.select(deliveries).where(
                deliveries.c.channel == channel, deliveries.c.conversation == conversation
            ).order_by(deliveries.c.id.desc()).limit(limit))
            return [_delivery(r) for r in reversed(list(rows))]

    def due(self, *, limit: int = 50) -> List[Delivery]:
        """Failed deliveries whose automatic retry is due, oldest first."""
        with self._engine.connect() as conn:
            rows = conn.execute(sa.select(deliveries).where(
                deliveries.c.status == FAILED, deliveries.c.retry_at.is_not(None),
                deliveries.c.retry_at <= self._clock()).order_by(deliveries.c.id).limit(limit))
            return [_delivery(r) for r in rows]

    # --- sending ------------------------------------------------------------------------

    async def send(self, channel: str, conversation: str, message: Dict[str, Any], *,
                   role: str) -> Delivery:
        """Store a message and send it now; the delivery as it stands after the try."""
        delivery_id = await asyncio.to_thread(self._store, channel, conversation, role,
                                              message)
        await asyncio.to_thread(self._claim, delivery_id, (PENDING,))
        return await self._attempt(delivery_id)

    async def retry(self, delivery_id: int) -> Delivery:
        """Send a failed or expired message again (a person asked); as it stands after."""
        if not await asyncio.to_thread(self._claim, delivery_id, (FAILED, EXPIRED)):
            return await asyncio.to_thread(self._get, delivery_id)  # sent, or being sent
        return await self._attempt(delivery_id)

    async def _attempt(self, delivery_id: int) -> Delivery:
        delivery = await asyncio.to_thread(self._get, delivery_id)
        try:
            entry_id = await self._send(delivery.channel, delivery.conversation,
                                        delivery.body, delivery.role)
        except Refused as exc:
            if exc.expired:
                metrics.DELIVERIES_FAILED.labels(delivery.channel).inc()
                await asyncio.to_thread(self._outcome, delivery_id, EXPIRED, error=str(exc))
            else:
                delay = (RETRY_DELAYS[delivery.attempts - 1]
                         if 0 < delivery.attempts <= len(RETRY_DELAYS) else None)
                if delay is None:  # no automatic retry left: a person retries
                    metrics.DELIVERIES_FAILED.labels(delivery.channel).inc()
                await asyncio.to_thread(self._outcome, delivery_id, FAILED, error=str(exc),
                                        retry_at=None if delay is None
                                        else self._clock() + delay)
            return await asyncio.to_thread(self._get, delivery_id)
        except Exception as exc:  # noqa: BLE001 - a sender's bug: failed, kept, logged
            logger.exception("delivery %d failed", delivery_id)
            metrics.DELIVERIES_FAILED.labels(delivery.channel).inc()
            await asyncio.to_thread(self._outcome, delivery_id, FAILED,
                                    error=f"not delivered ({type(exc).__name__})")
            return await asyncio.to_thread(self._get, delivery_id)
        await asyncio.to_thread(self._outcome, delivery_id, SENT, entry_id=entry_id)
        sent = await asyncio.to_thread(self._get, delivery_id)
        if self.on_sent is not None:
            try:
                await self.on_sent(sent)
            except Exception:  # noqa: BLE001 - delivered; the history missed it
                logger.exception("delivery %d sent but not recorded", delivery_id)
        return sent

    def waiting(self) -> int:
        """Deliveries not sent yet that will be tried again by themselves."""
        with self._engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(deliveries).where(
                sa.or_(deliveries.c.status == PENDING, sa.and_(
                    deliveries.c.status == FAILED, deliveries.c.retry_at.is_not(None))))
            ).scalar() or 0)

    async def run(self, *, poll_seconds: float = 2.0) -> None:
        """Retry what is due until cancelled."""
        while True:
            try:
                metrics.DELIVERIES_PENDING.set(await asyncio.to_thread(self.waiting))
                for delivery in await asyncio.to_thread(self.due):
                    if await asyncio.to_thread(self._claim, delivery.id, (FAILED,)):
                        await self._attempt(delivery.id)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the loop goes on after a hiccup
                logger.exception("retrying deliveries failed")
            await asyncio.sleep(poll_seconds)
