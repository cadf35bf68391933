"""Rasa's SQL tracker store for scaled mode that keeps a conversation's turns while
PostgreSQL is away.

Rasa wraps every tracker store in its ``FailSafeTrackerStore``: when the database
fails, the turn is answered from a per-process in-memory store, and those turns are
never written to the database (``make chaos`` counted them lost). Here, a turn that
cannot reach the database is kept in a **journal in Redis**, which every Rasa server
shares: the events of the turn, in order, per conversation. While the database is
away, the conversation is read back from its journal (the assistant has lost the
earlier context, not the outage's turns), on whichever server its next message lands.
When the database answers again, the journal is written to it, in order, before the
conversation's next turn is read (that turn holds the conversation's lock, so nothing
else writes it meanwhile); journals of conversations that stay quiet are written by a
background task once nobody has touched them for ``idle_seconds`` (longer than any
turn). A journal being written is guarded by a short lock in Redis, so two servers
never write it twice.

In the endpoints file (``bot/endpoints-scaled.yml``), beside Rasa's own SQL settings::

    tracker_store:
      type: bot.tracker_store.JournaledSQLTrackerStore
      dialect: postgresql
      url: 127.0.0.1
      db: shop
      journal_url: redis://127.0.0.1:6379/0
      key_prefix: "shop:lock:"
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import time
import uuid
from typing import Any, Dict, Iterator, List

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.trackers import DialogueStateTracker

from bot.channels.sql import UNREACHABLE

logger = logging.getLogger(__name__)

_RELEASE = ("if redis.call('GET', KEYS[1]) == ARGV[1] then "
            "return redis.call('DEL', KEYS[1]) end return 0")


class JournaledSQLTrackerStore(SQLTrackerStore):
    """Rasa's :class:`SQLTrackerStore`, with a journal in Redis for turns the database
    could not take (module docstring).

    Args:
        journal_url: Redis URL of the journal (the lock store's Redis).
        key_prefix: Prefix of the journal's keys.
        idle_seconds: A journal untouched this long is written by the background task.
        sweep_seconds: Pause between two looks for such journals.
        **kwargs: Rasa's SQL tracker store's settings.
    """

    def __init__(self, *args: Any, journal_url: str, key_prefix: str = "shop:",
                 idle_seconds: float = 60.0, sweep_seconds: float = 5.0,
                 **kwargs: Any) -> None:
        import redis

        super().__init__(*args, **kwargs)
        # a connection the database dropped (a restart, an outage) is replaced before
        # use, not failed on: Rasa's engine has no pre-ping, so after an outage each
        # stale pooled connection would send one more turn to the journal and hide the
        # conversation's turns from a look at the tracker (a message taken over)
        dropped = self.engine
        self.engine = sa.create_engine(dropped.url, pool_pre_ping=True,
                                       **create_engine_kwargs(dropped.url))
        self.sessionmaker.configure(bind=self.engine)
        dropped.dispose()
        self.redis = redis.Redis.from_url(journal_url, socket_timeout=2,
                                          socket_connect_timeout=2)
        self.prefix = f"{key_prefix}journal:"
        self.idle_seconds = float(idle_seconds)
        self.sweep_seconds = float(sweep_seconds)
        # events the turn's tracker was read with, per conversation, and from where:
        # ("sql" | "journal", count); a turn's save pops its entry
        self._base: collections.OrderedDict[str, tuple[str, int]] = collections.OrderedDict()
        self.journaled = 0  # events kept in the journal since this process started
        self.replayed = 0   # and written from it to the database
        self._sweeper: asyncio.Task | None = None

    # --- keys -------------------------------------------------------------------------

    def _key(self, sender: str) -> str:
        return f"{self.prefix}{sender}"

    @property
    def _senders(self) -> str:  # sender -> when its journal was last touched (ms)
        return f"{self.prefix}senders"

    def _remember(self, sender: str, where: str, count: int) -> None:
        self._base[sender] = (where, count)
        self._base.move_to_end(sender)
        while len(self._base) > 10_000:
            self._base.popitem(last=False)

    # --- the journal ------------------------------------------------------------------

    def _journal(self, sender: str) -> List[Dict[str, Any]]:
        return [json.loads(raw) for raw in self.redis.lrange(self._key(sender), 0, -1)]

    def _append(self, sender: str, events: List[Dict[str, Any]]) -> None:
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.rpush(self._key(sender), *[json.dumps(e) for e in events])
            pipe.hset(self._senders, sender, int(time.time() * 1000))
            pipe.execute()
        self.journaled += len(events)

    @contextlib.contextmanager
    def _writing(self, sender: str, wait: float) -> Iterator[bool]:
        """Hold the journal's write lock (``False``: another server holds it)."""
        key, token = f"{self._key(sender)}:writing", uuid.uuid4().hex
        deadline = time.monotonic() + wait
        while not self.redis.set(key, token, nx=True, px=15_000):
            if time.monotonic() >= deadline:
                yield False
                return
            time.sleep(0.05)
        try:
            yield True
        finally:
            with contextlib.suppress(Exception):
                self.redis.eval(_RELEASE, 1, key, token)

    def _replay(self, sender: str, *, wait: float = 5.0) -> int:
        """Write ``sender``'s journal, if any, to the database, in order; the events
        written. Raises :data:`UNREACHABLE` when the database is still away."""
        if not self.redis.exists(self._key(sender)):
            return 0
        with self._writing(sender, wait) as mine:
            if not mine:
                raise sa.exc.OperationalError("journal", {}, TimeoutError(
                    "another server is writing this conversation's journal"))
            events = self._journal(sender)
            if events:
                with self.session_scope() as session:
                    for data in events:
                        session.add(self._row(sender, data))
                    session.commit()
            with self.redis.pipeline(transaction=True) as pipe:
                pipe.ltrim(self._key(sender), len(events), -1)
                pipe.hdel(self._senders, sender)
                pipe.execute()
        self.replayed += len(events)
        logger.warning("wrote %d events of conversation %s from the journal to the "
                       "database", len(events), sender)
        return len(events)

    def _row(self, sender: str, data: Dict[str, Any]) -> Any:
        return self.SQLEvent(
            sender_id=sender, type_name=data.get("event"), timestamp=data.get("timestamp"),
            intent_name=(data.get("parse_data") or {}).get("intent", {}).get("name"),
            action_name=data.get("name"), data=json.dumps(data))

    def sweep(self) -> int:
        """Write every journal nobody touched for ``idle_seconds``; the events written."""
        written = 0
        cutoff = (time.time() - self.idle_seconds) * 1000
        for raw, touched in self.redis.hgetall(self._senders).items():
            if float(touched) <= cutoff:
                try:
                    written += self._replay(raw.decode(), wait=0)
                except UNREACHABLE:
                    continue  # being written by another server, or the database away
        return written

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_seconds)
            with contextlib.suppress(Exception):  # the database or Redis still away
                await asyncio.to_thread(self.sweep)

    def _start_sweeper(self) -> None:
        if self._sweeper is None:
            with contextlib.suppress(RuntimeError):  # no running loop (a script)
                self._sweeper = asyncio.get_running_loop().create_task(self._sweep_forever())

    # --- Rasa's interface -------------------------------------------------------------

    async def _retrieve(self, sender_id: str, fetch_events_from_all_sessions: bool
                        ) -> DialogueStateTracker | None:
        import redis

        self._start_sweeper()
        try:
            try:
                self._replay(sender_id)
            except redis.RedisError:  # no journal to read: the database serves alone
                logger.exception("the tracker journal could not be read")
            tracker = await super()._retrieve(sender_id, fetch_events_from_all_sessions)
        except UNREACHABLE as exc:
            logger.warning("the tracker database is away (%s): conversation %s is read "
                           "from its journal", type(exc).__name__, sender_id)
            events = self._journal(sender_id)
            self._remember(sender_id, "journal", len(events))
            if not events or self.domain is None:
                return None
            return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        if not fetch_events_from_all_sessions:
            self._remember(sender_id, "sql", len(tracker.events) if tracker else 0)
        return tracker

    async def stream_events(self, tracker: DialogueStateTracker) -> None:
        """Publish the turn's new events (those after what it was read with)."""
        where, count = self._base.get(tracker.sender_id, ("", -1))
        if count < 0 or self.event_broker is None:
            return await super().stream_events(tracker)
        await self._stream_new_events(self.event_broker, list(tracker.events)[count:],
                                      tracker.sender_id)
        return None

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Write the turn to the database; to the journal when it is away, or when the
        turn was read from the journal (its events follow the journal's)."""
        sender = tracker.sender_id
        where, count = self._base.get(sender, ("", -1))
        if where != "journal":
            try:
                await super().save(tracker)
                self._remember(sender, "sql", len(tracker.events))
                return
            except UNREACHABLE as exc:
                if count < 0:
                    raise
                logger.warning("the tracker database is away (%s): the turn of %s goes to "
                               "the journal", type(exc).__name__, sender)
        else:
            await self.stream_events(tracker)
        events = [event.as_dict() for event in list(tracker.events)[count:]]
        if events:
            self._append(sender, events)
        self._remember(sender, "journal", len(tracker.events))
