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
- :meth:`Inbox.pending` lists what a stopped process left unanswered, for the
  next one to process when it starts.

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

KEEP_SECONDS = 2 * 86400

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
    sa.UniqueConstraint("channel", "key", name="uq_channel_inbox_key"),
    sa.Index("ix_channel_inbox_pending", "channel", "done_at", "id"),
)


@dataclass(frozen=True)
class Item:
    """One stored item of a delivery."""

    id: int
    conversation: str
    body: Dict[str, Any]


class Inbox:
    """A channel's received, not yet answered items (see the module docstring).

    Args:
        url: SQLAlchemy URL of the channels' database.
        channel: The channel's name.
    """

    def __init__(self, url: str, *, channel: str) -> None:
        options: Dict[str, Any] = {}
        if url.startswith("sqlite"):
            options = {"connect_args": {"check_same_thread": False, "timeout": 10}}
        self._engine = sa.create_engine(url, future=True, **options)
        _metadata.create_all(self._engine)
        self.channel = channel

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
                    body=json.dumps(body, ensure_ascii=False), received_at=now))
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

    def pending(self) -> List[Item]:
        """Items stored but never marked done, oldest first."""
        with self._engine.connect() as db:
            rows = db.execute(sa.select(items).where(
                items.c.channel == self.channel, items.c.done_at.is_(None)
            ).order_by(items.c.id)).all()
        return [Item(int(r.id), str(r.conversation), json.loads(r.body)) for r in rows]
