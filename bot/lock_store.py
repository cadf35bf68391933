"""A conversation lock for several Rasa servers: an atomic ticket lock in Redis, with leases.

Rasa handles one message of a conversation at a time under its lock store's lock. The
in-memory store is one process's; Rasa 3.6's open-source ``RedisLockStore`` shares the
lock but is not atomic: issuing a ticket is GET, change, SET, so two servers that take
a ticket at the same moment both get the same number, both hold the lock and write the
conversation at once (the atomic version was reverted from open source: RasaHQ/rasa
#11256 → #11428, issue #9213). A ticket also lives its whole lifetime (60 s): a server
killed mid-turn blocks its customer that long.

Here every step is one Lua script, run by Redis alone:

- **issue**: ``INCR`` gives the next number, the ticket joins the conversation's queue
  (a sorted set) with a lease (its expiry, by Redis's own clock);
- **acquire**: expired tickets leave the queue; the caller holds the lock when its ticket
  is first; a ticket that is gone (expired, or Redis lost its data) is said so;
- **refresh**: a live process renews its ticket's lease every third of the lease,
  waiting or holding; a killed one stops, and its ticket lapses within one lease
  (``lease_seconds``, 6 s by default) instead of Rasa's 60;
- **release**: the ticket leaves; the last one out deletes the keys.

Every key of a conversation expires after three leases without a call, so nothing is
left behind. Tickets are served in the order they were issued (a customer's messages
are answered in the order they arrived). A wait or a hold never outlasts Rasa's lock
lifetime: a turn still running then loses its lease, and a waiter gives up with
Rasa's ``LockError``.

Used by ``bot/endpoints-scaled.yml``::

    lock_store:
      type: bot.lock_store.AtomicRedisLockStore
      url: ${REDIS_URL}
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections.abc import AsyncGenerator
from typing import Any

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, LockStore

logger = logging.getLogger(__name__)

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[1])
local function keep()
  for i = 1, #KEYS do redis.call('PEXPIRE', KEYS[i], lease * 3) end
end
"""
# KEYS: next, queue, leases. ARGV: lease ms. Returns the ticket.
_ISSUE = _NOW + """
local n = redis.call('INCR', KEYS[1])
redis.call('ZADD', KEYS[2], n, n)
redis.call('HSET', KEYS[3], n, now + lease)
keep()
return n
"""
# ARGV: lease ms, ticket. Returns 1 held, 0 waiting, -1 the ticket is gone.
_ACQUIRE = _NOW + """
local leases = redis.call('HGETALL', KEYS[3])
for i = 1, #leases, 2 do
  if tonumber(leases[i + 1]) < now then
    redis.call('HDEL', KEYS[3], leases[i])
    redis.call('ZREM', KEYS[2], leases[i])
  end
end
if redis.call('HEXISTS', KEYS[3], ARGV[2]) == 0 then return -1 end
redis.call('HSET', KEYS[3], ARGV[2], now + lease)
keep()
if redis.call('ZRANGE', KEYS[2], 0, 0)[1] == ARGV[2] then return 1 end
return 0
"""
# ARGV: lease ms, ticket, holding (1/0). Returns 1 renewed, 0 gone; a holder whose
# ticket is gone (Redis restarted without its data) takes the head of the queue again.
_REFRESH = _NOW + """
if redis.call('HEXISTS', KEYS[3], ARGV[2]) == 1 then
  redis.call('HSET', KEYS[3], ARGV[2], now + lease)
  keep()
  return 1
end
if ARGV[3] == '1' then
  redis.call('ZADD', KEYS[2], 0, ARGV[2])
  redis.call('HSET', KEYS[3], ARGV[2], now + lease)
  keep()
end
return 0
"""
# ARGV: lease ms, ticket.
_RELEASE = _NOW + """
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('HDEL', KEYS[3], ARGV[2])
if redis.call('ZCARD', KEYS[2]) == 0 then
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
end
return 1
"""


class AtomicRedisLockStore(LockStore):
    """Rasa's conversation lock shared by every Rasa server through one Redis.

    Args:
        endpoint_config: Rasa's ``lock_store`` entry (``url`` and the keyword
            arguments below, given there).
        url: ``redis://host:port/db`` (default ``redis://127.0.0.1:6379/0``).
        key_prefix: Prefix of every key.
        lease_seconds: A ticket's lease; a killed server's ticket lapses within it.
        poll_seconds: Longest pause between two looks at the queue while waiting.
        socket_timeout: Seconds per Redis call.
        connect_timeout: Seconds to open a connection to Redis.
        local_seconds: When Redis cannot be reached, this process serves each
            conversation's messages in order under its own lock for this long, then
            tries Redis again: customers are answered while Redis is away, at the cost
            of two servers possibly taking one conversation's messages at once
            meanwhile. ``0``: no such fallback; Rasa's ``LockError`` instead.
    """

    def __init__(self, endpoint_config: Any = None, *, url: str | None = None,
                 key_prefix: str = "shop:lock:", lease_seconds: float = 6.0,
                 poll_seconds: float = 0.05, socket_timeout: float = 5.0,
                 connect_timeout: float = 0.5, local_seconds: float = 5.0) -> None:
        options = dict(getattr(endpoint_config, "kwargs", None) or {})
        self.url = url or getattr(endpoint_config, "url", None) or "redis://127.0.0.1:6379/0"
        self.key_prefix = str(options.get("key_prefix", key_prefix))
        self.lease_ms = int(float(options.get("lease_seconds", lease_seconds)) * 1000)
        self.poll_seconds = float(options.get("poll_seconds", poll_seconds))
        self.socket_timeout = float(options.get("socket_timeout", socket_timeout))
        self.connect_timeout = float(options.get("connect_timeout", connect_timeout))
        self.local_seconds = float(options.get("local_seconds", local_seconds))
        if self.lease_ms < 300:
            raise ValueError("lease_seconds must be at least 0.3")
        self._clients: dict[int, Any] = {}
        self._local_until = 0.0
        self._local_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = \
            weakref.WeakValueDictionary()

    # the client belongs to the event loop it was made in (Sanic's, a test's)
    def _redis(self) -> Any:
        import redis.asyncio as aioredis

        loop = asyncio.get_running_loop()
        client = self._clients.get(id(loop))
        if client is None:
            client = aioredis.Redis.from_url(self.url, socket_timeout=self.socket_timeout,
                                             socket_connect_timeout=self.connect_timeout)
            self._clients = {id(loop): client}
        return client

    def _keys(self, conversation_id: str) -> list[str]:
        base = f"{self.key_prefix}{conversation_id}"
        return [f"{base}:next", f"{base}:queue", f"{base}:leases"]

    async def _call(self, script: str, conversation_id: str, *args: object) -> int:
        # shielded: a call cancelled half-way would leave its connection holding a reply
        # that the next command on it would read as its own
        from redis.exceptions import ConnectionError as Dropped

        for attempt in (1, 2):
            call = self._redis().eval(script, 3, *self._keys(conversation_id), self.lease_ms,
                                      *args)
            try:
                return int(await asyncio.shield(call))
            except Dropped as exc:
                if attempt == 1:
                    continue  # a pooled connection Redis (or the network) closed: a new one
                raise LockError(f"lock store unavailable: {exc}") from exc
            except Exception as exc:  # Redis down or refusing: Rasa's own error for a lock
                raise LockError(f"lock store unavailable: {exc}") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    async def _keep_alive(self, conversation_id: str, ticket: int, holding: asyncio.Event,
                          done: asyncio.Event, until: float) -> None:
        """Renew the ticket's lease while this process lives, up to Rasa's lifetime."""
        while time.monotonic() < until:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(done.wait(), self.lease_ms / 3000)
                return
            with contextlib.suppress(LockError):  # the next try or the waiter says it
                renewed = await self._call(_REFRESH, conversation_id, ticket,
                                           int(holding.is_set()))
                if not renewed and holding.is_set():
                    logger.warning("lock of %s was lost (Redis without its data?): taken "
                                   "again", conversation_id)

    @contextlib.asynccontextmanager
    async def lock(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME,
                   wait_time_in_seconds: float = 1) -> AsyncGenerator[TicketLock, None]:
        """Hold the conversation's lock: wait for this process's turn, in ticket order.

        Raises:
            LockError: Redis cannot be reached (and ``local_seconds`` is 0), the ticket
                lapsed while waiting, or the turn did not come within ``lock_lifetime``
                seconds.
        """
        # one conversation's turns in this process wait here first, in arrival order,
        # whichever way the processes are then kept apart (Redis, or this lock alone
        # while Redis is away): a turn under a Redis ticket and one under the fallback
        # never run side by side in one process
        async with self._local(conversation_id), self._across_processes(
                conversation_id, lock_lifetime, wait_time_in_seconds) as lock:
            yield lock

    @contextlib.asynccontextmanager
    async def _across_processes(self, conversation_id: str, lock_lifetime: float,
                                wait_time_in_seconds: float
                                ) -> AsyncGenerator[TicketLock, None]:
        ticket: int | None = None
        if time.monotonic() >= self._local_until:
            try:
                ticket = await self._call(_ISSUE, conversation_id)
            except LockError as exc:
                if self.local_seconds <= 0:
                    raise
                logger.warning("%s: this process serves conversations under its own lock "
                               "for %.0f s", exc, self.local_seconds)
                self._local_until = time.monotonic() + self.local_seconds
        if ticket is None:  # Redis away: answered all the same, in order in this process
            yield TicketLock(conversation_id)
            return
        holding, done = asyncio.Event(), asyncio.Event()
        until = time.monotonic() + lock_lifetime
        keeper = asyncio.create_task(
            self._keep_alive(conversation_id, ticket, holding, done, until))
        try:
            pause = min(0.005, self.poll_seconds)
            cap = min(self.poll_seconds, max(wait_time_in_seconds, 0.001))
            while True:
                state = await self._call(_ACQUIRE, conversation_id, ticket)
                if state == 1:
                    break
                if state == -1:
                    raise LockError(f"ticket {ticket} of '{conversation_id}' lapsed")
                if time.monotonic() >= until:
                    raise LockError(f"could not lock '{conversation_id}' "
                                    f"within {lock_lifetime} s")
                await asyncio.sleep(pause)
                pause = min(pause * 2, cap)
            holding.set()
            yield TicketLock(conversation_id)
        finally:
            done.set()  # the keeper ends after its call in flight, never inside one
            await keeper
            with contextlib.suppress(LockError):  # its lease lapses by itself
                await self._call(_RELEASE, conversation_id, ticket)

    @contextlib.asynccontextmanager
    async def _local(self, conversation_id: str) -> AsyncGenerator[None, None]:
        """This process's own lock of a conversation (asyncio's: first come, first served)."""
        lock = self._local_locks.get(conversation_id)
        if lock is None:
            lock = asyncio.Lock()
            self._local_locks[conversation_id] = lock
        async with lock:
            yield

    # Rasa's other entry points take tickets one step at a time (GET, change, SET);
    # nothing in Rasa 3.6 calls them besides ``lock``, and here they would not be atomic.
    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        raise NotImplementedError("AtomicRedisLockStore takes tickets only inside lock()")

    def get_lock(self, conversation_id: str) -> TicketLock | None:
        raise NotImplementedError("AtomicRedisLockStore keeps no TicketLock objects")

    def save_lock(self, lock: TicketLock) -> None:
        raise NotImplementedError("AtomicRedisLockStore keeps no TicketLock objects")

    def delete_lock(self, conversation_id: str) -> None:
        raise NotImplementedError("AtomicRedisLockStore keeps no TicketLock objects")
