"""Idempotent REST messages: a client that sends a message again with the same
``message_id`` (its connection dropped, the server it reached died) gets the answer
once, and the message is processed once.

:meth:`Replays.claim` records that a conversation's ``message_id`` is being answered
(one conditional INSERT, so of two servers that get the same message at once only
one answers it). A repeat of a message that was answered gets the stored answer; a
repeat of one still being answered waits for it (``wait_seconds``); a repeat of one
whose answer never came (the server that took it died mid-turn, before the assistant
kept the turn) takes it over once it is older than ``stale_seconds``, again with one
conditional UPDATE. State lives in the channels' SQL database, shared by every
server; rows are pruned after two days.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List

import sqlalchemy as sa

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

    @property
    def mine(self) -> bool:
        """This request answers the message."""
        return self.answers is None


class Replays:
    """The REST channel's record of messages by ``message_id`` (module docstring).

    Args:
        url: SQLAlchemy URL of the channels' database.
        stale_seconds: How long after a server took a message another may take it
            over when no answer came (longer than a turn and the conversation lock's
            lease).
        wait_seconds: How long a repeat waits for the answer of a message another
            request is answering, before it gives up with ``None``.
        clock: Wall-clock seconds; injectable for tests.
    """

    def __init__(self, url: str, *, stale_seconds: float = 20.0, wait_seconds: float = 25.0,
                 clock: Callable[[], float] = time.time) -> None:
        options: Dict[str, Any] = {}
        if url.startswith("sqlite"):
            options = {"connect_args": {"check_same_thread": False, "timeout": 10}}
        self._engine = sa.create_engine(url, future=True, **options)
        _metadata.create_all(self._engine)
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
            return Claim() if taken == 1 else None

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
