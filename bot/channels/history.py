"""A conversation's message history, both ways (the customer's messages, the
assistant's, the agents' and the notices), kept so that any channel can send to it
at any time and a client can catch up.

Rasa answers a message while the request that brought it is open. A web page,
a support agent or a delayed job needs more: to put a message into an open
conversation later, and to let a page that reloads, a second tab or a client
that lost its connection fetch what it missed. :class:`MessageHistory` is that seam:

- :meth:`MessageHistory.append` stores a message (the customer's, the assistant's, an
  agent's or a notice) under a growing id and wakes everyone listening to the
  conversation in this process;
- :meth:`MessageHistory.since` returns what came after an id (history, catch-up);
- :meth:`MessageHistory.customer_message` stores a customer's message once per client
  message id: a message resent after a network drop is recognised, not
  processed twice;
- :meth:`MessageHistory.listen` is an async iterator of new entries. An entry appended
  in this process is handed to its listeners at once (no read of the table per
  open page); listeners re-read the table every ``poll_seconds``, so an entry
  written by another process (another Rasa worker, the agent desk) arrives too,
  and each entry is yielded once whichever way it came. With ``wakeups``
  (:mod:`bot.channels.wakeups`, Redis pub/sub) the process that wrote an entry tells
  the others, and the one holding the conversation's page reads it at once.

State lives in SQL (SQLite in the data directory by default, any SQLAlchemy URL
with ``CHANNEL_DB_URL``); the database calls run in a worker thread so the event
loop never waits on them.

**While the database is away** (scaled mode, ``REDIS_URL``), an entry it cannot take
is kept in a :class:`HistoryJournal` in Redis, shared by every process, and the
caller hears the database's error as before (the widget sends the answer to the open
page itself). The first use of the history once the database answers writes the
journal into it, in order, each entry once, marked ``late``: a page reloaded after
the outage shows those turns; a page that was open is not sent them again (it showed
them as they came).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import threading
import time
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Any, AsyncIterator, Callable, Dict, List, Tuple

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from bot.channels.sql import UNREACHABLE, made, server_options
from bot.channels.wakeups import Wakeups

logger = logging.getLogger(__name__)

ROLES = ("customer", "assistant", "agent", "notice")
#: The body's mark of an entry written from the journal after an outage.
LATE = "late"
#: After Redis failed, how long the history does not look for journaled entries.
QUIET_SECONDS = 5.0
_RELEASE = ("if redis.call('GET', KEYS[1]) == ARGV[1] then "
            "return redis.call('DEL', KEYS[1]) end return 0")

_metadata = sa.MetaData()
messages = sa.Table(
    "channel_messages", _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("conversation", sa.String(128), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("client_id", sa.String(64), nullable=True),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.UniqueConstraint("channel", "conversation", "client_id", name="uq_channel_client_id"),
    sa.Index("ix_channel_messages_conversation", "channel", "conversation", "id"),
)


class HistoryError(Exception):
    """Root of the message history's errors."""


@dataclass(frozen=True)
class Entry:
    """One stored message of a conversation.

    Attributes:
        id: Grows with every message of every conversation (a client's cursor).
        role: ``customer``, ``assistant``, ``agent`` or ``notice``.
        body: The message as the channel sends it (``text``, ``buttons``,
            ``custom``, ``image``, ...), plus ``author`` for agents.
        client_id: The id the customer's client gave the message, if any.
        created_at: Unix seconds.
        late: Written from the journal after the database was away (the pages open
            then showed it as it came).
    """

    id: int
    conversation: str
    role: str
    body: Dict[str, Any]
    client_id: str | None
    created_at: float
    late: bool = False

    def as_json(self) -> Dict[str, Any]:
        """The entry as a client receives it."""
        return {"id": self.id, "role": self.role, "ts": self.created_at,
                "client_id": self.client_id, **self.body}


def _entry(row: Any) -> Entry:
    body = json.loads(row.body)
    late = bool(body.pop(LATE, False)) if isinstance(body, dict) else False
    return Entry(id=int(row.id), conversation=str(row.conversation), role=str(row.role),
                 body=body, client_id=row.client_id, created_at=float(row.created_at),
                 late=late)


class HistoryJournal:
    """History entries the channels' database could not take, kept in Redis (a list per
    database and channel, shared by every process) until it can.

    Args:
        redis_url: ``redis://host:port/db``.
        database: The channels' database URL: the journal is that database's.
        timeout: Seconds a Redis call may take.
    """

    def __init__(self, redis_url: str, *, database: str, timeout: float = 0.5) -> None:
        import redis

        self._redis = redis.Redis.from_url(redis_url, socket_timeout=timeout,
                                           socket_connect_timeout=timeout)
        self._errors = (redis.RedisError, OSError)
        self.prefix = f"shop:history-journal:{hashlib.sha1(database.encode()).hexdigest()[:12]}:"
        self._quiet_until = 0.0  # Redis failed lately: not asked on every history call

    def _key(self, channel: str) -> str:
        return f"{self.prefix}{channel}"

    def keep(self, channel: str, item: Dict[str, Any]) -> bool:
        """Keep one entry; ``False`` if Redis is away too (then it is lost)."""
        try:
            self._redis.rpush(self._key(channel), json.dumps(item, ensure_ascii=False))
        except self._errors as exc:
            logger.warning("history entry lost: the database and Redis are away (%s)",
                           type(exc).__name__)
            return False
        return True

    def pending(self, channel: str) -> bool:
        """Whether entries wait (``False`` when Redis cannot say: then it is not asked
        again for ``QUIET_SECONDS``, so that Redis away costs the history nothing)."""
        if time.monotonic() < self._quiet_until:
            return False
        try:
            return bool(self._redis.exists(self._key(channel)))
        except self._errors:
            self._quiet_until = time.monotonic() + QUIET_SECONDS
            return False

    def drain(self, channel: str, write: Callable[[Dict[str, Any]], None]) -> int:
        """``write`` every kept entry, oldest first, each removed once written; one
        process at a time (the others go on: the next call finishes the job). An entry
        ``write`` fails on stays, with those after it."""
        key, lock, token = self._key(channel), f"{self._key(channel)}:writing", uuid.uuid4().hex
        written = 0
        try:
            if not self._redis.set(lock, token, nx=True, px=30_000):
                return 0
            try:
                while (raw := self._redis.lindex(key, 0)) is not None:
                    write(json.loads(raw))
                    self._redis.lpop(key)
                    written += 1
            finally:
                with contextlib.suppress(*self._errors):
                    self._redis.eval(_RELEASE, 1, lock, token)
        except self._errors as exc:
            logger.warning("history journal not written yet (%s)", type(exc).__name__)
        if written:
            logger.info("wrote %d history entries kept while the database was away", written)
        return written


class _Listener:
    """One listening page: woken by appends, handed the entries appended in-process."""

    __slots__ = ("event", "pending")

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.pending: List[Entry] = []


class MessageHistory:
    """Messages of one channel's conversations (see the module docstring).

    Args:
        url: SQLAlchemy database URL.
        channel: The channel whose conversations these are.
        poll_seconds: How often a listener re-reads the table for entries
            written by other processes.
        wakeups: Tells the shop's other processes of new entries, and hears theirs.
        journal: Keeps the entries the database could not take (module docstring).
    """

    def __init__(self, url: str, *, channel: str, poll_seconds: float = 2.0,
                 wakeups: Wakeups | None = None, journal: HistoryJournal | None = None
                 ) -> None:
        self.channel = channel
        self.poll_seconds = poll_seconds
        self._wakeups = wakeups
        self._journal = journal
        options = server_options(url)
        if url.startswith("sqlite"):
            # SQLAlchemy 1.4 (Rasa's) opens a new SQLite connection per use by default:
            # 3 ms per message idle, 7-15 ms on a busy machine (the pragmas below run
            # each time); a pool keeps connections open for the worker threads
            in_memory = url in ("sqlite://", "sqlite:///:memory:")
            options = {"connect_args": {"check_same_thread": False},
                       "poolclass": sa.pool.StaticPool if in_memory else sa.pool.QueuePool}
        self._engine = sa.create_engine(url, future=True, **options)
        if url.startswith("sqlite"):
            @sa.event.listens_for(self._engine, "connect")
            def _pragmas(connection: Any, _record: Any) -> None:  # pragma: no cover - sqlite
                cursor = connection.cursor()
                cursor.execute("PRAGMA journal_mode=WAL")
                # WAL with NORMAL sync: no fsync per commit (a power cut may lose the
                # last messages, never corrupt the file); a turn stores several
                cursor.execute("PRAGMA synchronous=NORMAL")
                cursor.execute("PRAGMA busy_timeout=5000")
                cursor.close()
        made(self._engine, _metadata)
        self._listeners: Dict[str, List[_Listener]] = defaultdict(list)
        self._lock = threading.Lock()

    # --- storing -------------------------------------------------------------------------

    def _caught_up(self) -> None:
        """Write the journal's entries, if any, before anything else is read or stored."""
        if self._journal is not None and self._journal.pending(self.channel):
            self._journal.drain(self.channel, self._write_late)

    def _write_late(self, item: Dict[str, Any]) -> None:
        """One journaled entry, once: a second write of it (a process that died between
        writing and removing it) finds the first."""
        where = (messages.c.channel == self.channel,
                 messages.c.conversation == item["conversation"],
                 messages.c.role == item["role"], messages.c.created_at == item["created_at"])
        with self._engine.begin() as db:
            if db.execute(sa.select(messages.c.id).where(*where)).first() is not None:
                return
            try:
                with db.begin_nested():
                    db.execute(messages.insert().values(
                        channel=self.channel, conversation=item["conversation"],
                        role=item["role"], client_id=item.get("client_id"),
                        body=json.dumps({**item["body"], LATE: True}, ensure_ascii=False),
                        created_at=item["created_at"]))
            except IntegrityError:  # the customer's message was stored after all
                pass

    def _insert(self, conversation: str, role: str, body: Dict[str, Any],
                client_id: str | None) -> Entry:
        if role not in ROLES:
            raise HistoryError(f"unknown role {role!r}")
        now = time.time()
        try:
            self._caught_up()
            with self._engine.begin() as db:
                result = db.execute(messages.insert().values(
                    channel=self.channel, conversation=conversation, role=role,
                    client_id=client_id, body=json.dumps(body, ensure_ascii=False),
                    created_at=now))
                new_id = int(result.inserted_primary_key[0])
        except UNREACHABLE:
            if self._journal is not None:  # kept for when the database is back
                self._journal.keep(self.channel, {
                    "conversation": conversation, "role": role, "body": body,
                    "client_id": client_id, "created_at": now})
            raise
        return Entry(new_id, conversation, role, body, client_id, now)

    def _find_client_id(self, conversation: str, client_id: str) -> Entry | None:
        with self._engine.connect() as db:
            row = db.execute(sa.select(messages).where(
                messages.c.channel == self.channel, messages.c.conversation == conversation,
                messages.c.client_id == client_id)).first()
        return _entry(row) if row else None

    async def append(self, conversation: str, role: str, body: Dict[str, Any]) -> Entry:
        """Store a message and wake the conversation's listeners in this process."""
        entry = await asyncio.to_thread(self._insert, conversation, role, body, None)
        self._wake(entry)
        self._tell_others(conversation)
        return entry

    async def customer_message(self, conversation: str, client_id: str,
                               body: Dict[str, Any]) -> Tuple[Entry, bool]:
        """Store a customer's message once per ``client_id``.

        Returns:
            The entry and ``True``, or the entry stored before under the same
            client id and ``False`` (a resend: do not process it again).
        """
        def store() -> Tuple[Entry, bool]:
            try:
                return self._insert(conversation, "customer", body, client_id), True
            except IntegrityError:
                found = self._find_client_id(conversation, client_id)
                if found is None:  # pragma: no cover - a constraint with no row
                    raise
                return found, False

        entry, new = await asyncio.to_thread(store)
        if new:
            self._wake(entry)
            self._tell_others(conversation)
        return entry, new

    # --- reading -------------------------------------------------------------------------

    def _latest(self, conversation: str, roles: Tuple[str, ...], limit: int) -> List[Entry]:
        with self._engine.connect() as db:
            rows = db.execute(sa.select(messages).where(
                messages.c.channel == self.channel, messages.c.conversation == conversation,
                messages.c.role.in_(roles)).order_by(messages.c.id.desc()).limit(limit)).all()
        return [_entry(row) for row in rows]

    async def latest(self, conversation: str, roles: Tuple[str, ...], *,
                     limit: int = 1) -> List[Entry]:
        """The conversation's last ``limit`` entries of these roles, newest first."""
        return await asyncio.to_thread(self._latest, conversation, roles, limit)

    async def language(self, conversation: str, *, default: str) -> str:
        """The language of the customer's latest messages that have words, else
        ``default`` (a photo or an event says nothing)."""
        from bot.components.language import detect_language

        for entry in await self.latest(conversation, ("customer",), limit=5):
            if (lang := detect_language(str(entry.body.get("text") or ""))) is not None:
                return lang
        return default

    def _since(self, conversation: str, after: int, limit: int) -> List[Entry]:
        self._caught_up()
        with self._engine.connect() as db:
            rows = db.execute(sa.select(messages).where(
                messages.c.channel == self.channel, messages.c.conversation == conversation,
                messages.c.id > after).order_by(messages.c.id).limit(limit)).all()
        return [_entry(row) for row in rows]

    async def since(self, conversation: str, after: int = 0, *, limit: int = 200) -> List[Entry]:
        """Entries after id ``after``, oldest first; the last ``limit`` when
        ``after`` is 0 (a fresh page gets the recent history)."""
        if after <= 0:
            return await asyncio.to_thread(self._recent, conversation, limit)
        return await asyncio.to_thread(self._since, conversation, after, limit)

    def _recent(self, conversation: str, limit: int) -> List[Entry]:
        self._caught_up()
        with self._engine.connect() as db:
            rows = db.execute(sa.select(messages).where(
                messages.c.channel == self.channel, messages.c.conversation == conversation,
            ).order_by(messages.c.id.desc()).limit(limit)).all()
        return [_entry(row) for row in reversed(rows)]

    # --- listening -----------------------------------------------------------------------

    def _tell_others(self, conversation: str) -> None:
        if self._wakeups is not None:
            self._wakeups.publish(self.channel, conversation)

    def _listeners_of(self, conversation: str) -> List[_Listener]:
        with self._lock:
            return list(self._listeners.get(conversation, ()))

    def poke(self, conversation: str) -> None:
        """Another process wrote to ``conversation``: its listeners here read the table."""
        for listener in self._listeners_of(conversation):
            listener.event.set()

    def _wake(self, entry: Entry) -> None:
        for listener in self._listeners_of(entry.conversation):
            listener.pending.append(entry)
            listener.event.set()

    async def listen(self, conversation: str, after: int) -> AsyncIterator[Entry]:
        """New entries of ``conversation`` after id ``after``, as they come (forever).

        Entries appended in this process arrive at once; entries written by
        other processes within ``poll_seconds``. Each entry is yielded once.
        """
        listener = _Listener()
        with self._lock:
            self._listeners[conversation].append(listener)
        if self._wakeups is not None:
            self._wakeups.follow(self.channel, self.poke)
        cursor = after  # the table has been read up to here
        recent: deque[int] = deque(maxlen=1024)  # ids yielded lately, whichever way
        yielded: set[int] = set()

        def first_time(entry: Entry) -> bool:
            if entry.id <= after or entry.id in yielded:
                return False
            if len(recent) == recent.maxlen:
                yielded.discard(recent[0])
            recent.append(entry.id)
            yielded.add(entry.id)
            return True

        try:
            read_table = True
            while True:
                listener.event.clear()  # before reading: an append meanwhile sets it again
                if read_table:
                    for entry in await asyncio.to_thread(self._since, conversation, cursor, 200):
                        cursor = max(cursor, entry.id)
                        # an entry written late was shown as it came to the pages open
                        if first_time(entry) and not entry.late:
                            yield entry
                pending, listener.pending = listener.pending, []
                for entry in sorted(pending, key=lambda e: e.id):
                    if first_time(entry):
                        yield entry
                if listener.pending:
                    read_table = False
                    continue  # appended while the entries above were being sent
                try:
                    await asyncio.wait_for(listener.event.wait(), timeout=self.poll_seconds)
                    read_table = not listener.pending  # woken without an entry: look
                except asyncio.TimeoutError:
                    read_table = True  # other processes' entries
        finally:
            with self._lock:
                listeners = self._listeners.get(conversation, [])
                if listener in listeners:
                    listeners.remove(listener)
                if not listeners:
                    self._listeners.pop(conversation, None)

    def listening(self, conversation: str) -> int:
        """How many listeners of this process follow ``conversation`` (open pages)."""
        with self._lock:
            return len(self._listeners.get(conversation, ()))


_journals: Dict[Tuple[str, str], HistoryJournal] = {}


def journal_for(redis_url: str | None, database: str) -> HistoryJournal | None:
    """This process's :class:`HistoryJournal` of the channels' ``database`` on
    ``redis_url`` (``None`` without Redis, and for SQLite: an embedded file is not
    away while its process runs)."""
    if not redis_url or database.startswith("sqlite"):
        return None
    if (redis_url, database) not in _journals:
        _journals[redis_url, database] = HistoryJournal(redis_url, database=database)
    return _journals[redis_url, database]
