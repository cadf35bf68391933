"""Idempotent REST messages: a client that sends a message again with the same
``message_id`` (its connection dropped, the server it reached died) gets the answer
once, and the message is processed once.

:meth:`Replays.claim` records that a conversation's ``message_id`` is being answered
(one conditional INSERT, so of two servers that get the same message at once only
one answers it). A repeat of a message that was answered gets the stored answer; a
repeat of one still being answered waits for it (``wait_seconds``); a repeat of one
whose answer never came (the server that took it died mid-turn) takes it over once
nobody has renewed it for ``stale_seconds``, again with one conditional UPDATE; the
claim says so (``taken_over``), and the channel then looks for the turn in the
tracker first (:func:`bot.channels.pipeline.kept_turn`): a server that died after
the assistant kept the turn, before it recorded the answer here, had answered it.
The request answering a message renews it while the turn runs (:meth:`Replays.held`),
so a slow turn is never taken over, and a dead server's message waits no longer than
the conversation's lock does. State lives in the channels' SQL database, shared by
every server; rows are pruned after two days.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass
from typing import Any, AsyncIterator, Callable, Dict, List

import sqlalchemy as sa

from bot.channels.sql import channel_engine

KEEP_SECONDS = 2 * 86400

_metadata = sa.MetaData()
requests = sa.Table(
    "rest_requests", _metadata,
    sa.Column("conversation", sa.String(128), primary_key=True),
    sa.Column("message_id", sa.String(64), primary_key=True),
    sa.Column("taken_at", sa.Float, nullable=False),
    sa.Column("answers", sa.Text, nullable=True),  # JSON, once answered
)


@dataclass(frozen=True)
class Claim:
    """What to do with a message: answer it (``answers`` is None) or send ``answers``
    again (it was answered before)."""

    answers: List[Dict[str, Any]] | None = None
    taken_over: bool = False  # another server took it and stopped renewing it

    @property
    def mine(self) -> bool:
        """This request answers the message."""
        return self.answers is None


class Replays:
    """The REST channel's record of messages by ``message_id`` (module docstring).

    Args:
        url: SQLAlchemy URL of the channels' database.
        stale_seconds: How long a message nobody renews (its server died) stays with
            the server that took it; renewed every third of that while its turn runs.
        wait_seconds: How long a repeat waits for the answer of a message another
            request is answering, before it gives up with ``None``.
        clock: Wall-clock seconds; injectable for tests.
    """

    def __init__(self, url: str, *, stale_seconds: float = 6.0, wait_seconds: float = 25.0,
                 clock: Callable[[], float] = time.time) -> None:
        self._engine = channel_engine(url, _metadata)
        self.stale_seconds = stale_seconds
        self.wait_seconds = wait_seconds
        self._clock = clock
        self._pruned = 0.0

    def _try(self, conversation: str, message_id: str) -> Claim | None:
        """One look: the claim, or ``None`` while another request answers it."""
        now = self._clock()
        key = {"conversation": conversation, "message_id": message_id}
        with contextlib.suppress(sa.exc.IntegrityError), self._engine.begin() as db:
            db.execute(requests.insert().values(**key, taken_at=now, answers=None))
            return Claim()
        with self._engine.begin() as db:
            row = db.execute(sa.select(requests.c.taken_at, requests.c.answers).filter_by(
                **key)).first()
            if row is None:  # pruned meanwhile: a new message after all
                db.execute(requests.insert().values(**key, taken_at=now, answers=None))
                return Claim()
            if row.answers is not None:
                return Claim(answers=json.loads(row.answers))
            taken = db.execute(requests.update().filter_by(**key).where(
                requests.c.answers.is_(None),
                requests.c.taken_at < now - self.stale_seconds).values(taken_at=now)).rowcount
            return Claim(taken_over=True) if taken == 1 else None

    async def claim(self, conversation: str, message_id: str, *,
                    step: float = 0.2) -> Claim | None:
        """Whether this request answers ``message_id`` or replays its answer; ``None``
        when another request is still answering it after ``wait_seconds``."""
        deadline = time.monotonic() + self.wait_seconds
        while True:
            claim = await asyncio.to_thread(self._try, conversation, message_id)
            if claim is not None or time.monotonic() >= deadline:
                return claim
            await asyncio.sleep(step)

    def _renew(self, conversation: str, message_id: str) -> None:
        with self._engine.begin() as db:
            db.execute(requests.update().filter_by(
                conversation=conversation, message_id=message_id).where(
                requests.c.answers.is_(None)).values(taken_at=self._clock()))

    @contextlib.asynccontextmanager
    async def held(self, conversation: str, message_id: str) -> AsyncIterator[None]:
        """While the block runs (the turn), this server still answers the message."""
        async def renew() -> None:
            while True:
                await asyncio.sleep(self.stale_seconds / 3)
                with contextlib.suppress(sa.exc.SQLAlchemyError):
                    await asyncio.to_thread(self._renew, conversation, message_id)

        keeper = asyncio.get_running_loop().create_task(renew())
        try:
            yield
        finally:
            keeper.cancel()

    def _answered(self, conversation: str, message_id: str,
                  answers: List[Dict[str, Any]]) -> None:
        now = self._clock()
        with self._engine.begin() as db:
            db.execute(requests.update().filter_by(
                conversation=conversation, message_id=message_id).values(
                answers=json.dumps(answers, ensure_ascii=False)))
            if now - self._pruned > 3600:
                db.execute(requests.delete().where(requests.c.taken_at < now - KEEP_SECONDS))
                self._pruned = now

    async def answered(self, conversation: str, message_id: str,
                       answers: List[Dict[str, Any]]) -> None:
        """Keep the answer a repeat of the message gets."""
        await asyncio.to_thread(self._answered, conversation, message_id, answers)
