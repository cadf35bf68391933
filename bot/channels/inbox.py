"""Platform deliveries kept until they are answered (part of the shared seam).

A platform that retries slow webhooks (Messenger) must be acknowledged at once,
before the assistant answers. Between the acknowledgement and the answer the
delivery would live only in the process's memory: a restart would lose it, and
the platform never sends an acknowledged delivery again. :class:`Inbox` closes
that gap:

- :meth:`Inbox.put` stores a delivery's items in one transaction *before* the
  webhook acknowledges it, once per platform message id (a retried delivery
  adds nothing: de-duplication at the door);
- :meth:`Inbox.done` marks an item answered (or given up);
- every stored item carries a **lease** (``lease_until``): the process that stored
  or took it renews it while the item waits or is answered (:meth:`Inbox.renew`);
- :meth:`Inbox.claim_expired` takes, one conditional UPDATE per item, only items
  whose lease ran out: what a stopped or killed process left unanswered. Several
  servers share one database: a server that starts, or looks every few seconds,
  never takes an item another live server is answering, and one killed mid-turn
  has its items answered by the others within a lease.

- :meth:`Inbox.wait_for_earlier` holds an item back while an earlier item of the
  same conversation is still being answered by another live process: a customer's
  messages that reached two servers are answered in the order they were stored.

Rows are kept two days after they are done (so a late retry is still
recognised), then pruned. State lives in the channels' SQL database.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Sequence, Tuple

import sqlalchemy as sa

from bot.channels.sql import UNREACHABLE, channel_engine

KEEP_SECONDS = 2 * 86400
LEASE_SECONDS = 30.0  # an item's lease; its process renews it every third of that

_metadata = sa.MetaData()
items = sa.Table(
    "channel_inbox", _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("key", sa.String(128), nullable=False),
    sa.Column("conversation", sa.String(128), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("received_at", sa.Float, nullable=False),
    sa.Column("done_at", sa.Float, nullable=True),
    sa.Column("lease_until", sa.Float, nullable=True),
    sa.UniqueConstraint("channel", "key", name="uq_channel_inbox_key"),
    sa.Index("ix_channel_inbox_pending", "channel", "done_at", "id"),
)


@dataclass(frozen=True)
class Item:
    """One stored item of a delivery."""

    id: int
    conversation: str
    body: Dict[str, Any]


def _add_lease_column(engine: sa.engine.Engine) -> None:
    """A database made before leases gets the column (its items count as expired)."""
    columns = {c["name"] for c in sa.inspect(engine).get_columns(items.name)}
    if "lease_until" in columns:
        return
    try:
        with engine.begin() as db:
            db.execute(sa.text(f"ALTER TABLE {items.name} ADD COLUMN lease_until FLOAT"))
    except UNREACHABLE:
        raise
    except sa.exc.SQLAlchemyError:  # another process added it a moment before
        columns = {c["name"] for c in sa.inspect(engine).get_columns(items.name)}
        if "lease_until" not in columns:
            raise


class Inbox:
    """A channel's received, not yet answered items (see the module docstring).

    Args:
        url: SQLAlchemy URL of the channels' database.
        channel: The channel's name.
        lease_seconds: How long an item stays with the process that holds it
            without being renewed.
    """

    def __init__(self, url: str, *, channel: str, lease_seconds: float = LEASE_SECONDS) -> None:
        self._engine = channel_engine(url, _metadata, then=_add_lease_column)
        self.channel = channel
        self.lease_seconds = lease_seconds

    def _put(self, entries: Sequence[Tuple[str, str, Dict[str, Any]]]) -> List[Item]:
        now = time.time()
        keys = [key[:128] for key, _, _ in entries]
        with self._engine.begin() as db:
            known = {row.key for row in db.execute(sa.select(items.c.key).where(
                items.c.channel == self.channel, items.c.key.in_(keys)))}
            stored = []
            for key, conversation, body in entries:
                short = key[:128]
                if short in known:
                    continue  # delivered before: a retry
                known.add(short)
                result = db.execute(items.insert().values(
                    channel=self.channel, key=short, conversation=conversation,
                    body=json.dumps(body, ensure_ascii=False), received_at=now,
                    lease_until=now + self.lease_seconds))
                stored.append(Item(int(result.inserted_primary_key[0]), conversation, body))
        return stored

    async def put(self, entries: Sequence[Tuple[str, str, Dict[str, Any]]]) -> List[Item]:
        """Store ``(key, conversation, item)`` entries; the ones not stored before.

        Raises:
            sqlalchemy.exc.SQLAlchemyError: The store failed: acknowledge nothing.
        """
        try:
            return await asyncio.to_thread(self._put, entries)
        except sa.exc.IntegrityError:  # another process stored the same item meanwhile
            return await asyncio.to_thread(self._put, entries)

    def _done(self, item_id: int) -> None:
        now = time.time()
        with self._engine.begin() as db:
            db.execute(items.update().where(items.c.id == item_id).values(done_at=now))
            db.execute(items.delete().where(items.c.channel == self.channel,
                                            items.c.done_at < now - KEEP_SECONDS))

    async def done(self, item_id: int) -> None:
        """The item was answered (or given up on)."""
        await asyncio.to_thread(self._done, item_id)

    def _renew(self, item_ids: Sequence[int]) -> None:
        with self._engine.begin() as db:
            db.execute(items.update().where(
                items.c.id.in_(list(item_ids)), items.c.done_at.is_(None)
            ).values(lease_until=time.time() + self.lease_seconds))

    async def renew(self, item_ids: Sequence[int]) -> None:
        """This process still holds these items (waiting or being answered)."""
        if item_ids:
            await asyncio.to_thread(self._renew, item_ids)

    def claim_expired(self) -> List[Item]:
        """Take the unanswered items whose lease ran out, oldest first: each with one
        conditional UPDATE, so two processes never take the same item."""
        now = time.time()
        expired = sa.or_(items.c.lease_until.is_(None), items.c.lease_until < now)
        with self._engine.connect() as db:
            rows = db.execute(sa.select(items).where(
                items.c.channel == self.channel, items.c.done_at.is_(None), expired
            ).order_by(items.c.id)).all()
        taken = []
        for row in rows:
            with self._engine.begin() as db:
                won = db.execute(items.update().where(
                    items.c.id == row.id, items.c.done_at.is_(None), expired
                ).values(lease_until=now + self.lease_seconds)).rowcount
            if won == 1:
                taken.append(Item(int(row.id), str(row.conversation), json.loads(row.body)))
        return taken

    def _earlier(self, item: Item, mine: Sequence[int]) -> int:
        now = time.time()
        query = sa.select(sa.func.count()).select_from(items).where(
            items.c.channel == self.channel, items.c.conversation == item.conversation,
            items.c.id < item.id, items.c.done_at.is_(None),
            # held by a live process: one whose lease ran out is claimed by someone,
            # maybe into this process's queue behind this item
            items.c.lease_until >= now)
        if mine:
            query = query.where(items.c.id.not_in(list(mine)))
        with self._engine.connect() as db:
            return int(db.execute(query).scalar() or 0)

    async def wait_for_earlier(self, item: Item, mine: Sequence[int], *, timeout: float,
                               step: float = 0.05) -> bool:
        """Wait while another live process answers an earlier item of ``item``'s
        conversation (``mine``: the items this process holds, queued in order here
        already); ``False`` when ``timeout`` passed first (the item is answered
        anyway: order gives way to an answer)."""
        deadline = time.monotonic() + timeout
        while await asyncio.to_thread(self._earlier, item, mine):
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(step)
        return True

    def pending(self) -> List[Item]:
        """Items stored but never marked done, oldest first (whoever holds them)."""
        with self._engine.connect() as db:
            rows = db.execute(sa.select(items).where(
                items.c.channel == self.channel, items.c.done_at.is_(None)
            ).order_by(items.c.id)).all()
        return [Item(int(r.id), str(r.conversation), json.loads(r.body)) for r in rows]
