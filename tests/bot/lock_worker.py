"""One "Rasa server" of the lock-store test: handles messages of one conversation.

Run as ``python -m tests.bot.lock_worker STORE PREFIX WORKER MESSAGES`` (STORE: ``stock``
for Rasa's ``RedisLockStore``, ``atomic`` for ``bot.lock_store.AtomicRedisLockStore``).
Each message is handled as Rasa handles one: under the conversation's lock, the
tracker is read from Rasa's own ``RedisTrackerStore``, the customer's message and the
answer are appended (with a pause between, as a turn awaits its actions) and the
tracker is saved. The workers start together when the test sets ``PREFIX:go``; each
prints how many of its messages could not be handled (Rasa's ``LockError``).
"""

from __future__ import annotations

import asyncio
import sys
import time

import redis
from rasa.core.lock_store import LockError, RedisLockStore
from rasa.core.tracker_store import RedisTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, UserUttered

from bot.lock_store import AtomicRedisLockStore

CONVERSATION = "customer"


async def handle(store, trackers: RedisTrackerStore, worker: str, number: int,
                 lifetime: float) -> bool:
    try:
        async with store.lock(CONVERSATION, lock_lifetime=lifetime, wait_time_in_seconds=0.02):
            tracker = await trackers.get_or_create_tracker(CONVERSATION)
            tracker.update(UserUttered(f"{worker}-{number}"))
            await asyncio.sleep(0.003)
            tracker.update(BotUttered(f"re {worker}-{number}"))
            await trackers.save(tracker)
        return True
    except LockError as exc:
        print(exc, file=sys.stderr)
        return False


async def main(kind: str, prefix: str, worker: str, messages: int) -> None:
    # The stock store's tickets live LOCK_LIFETIME seconds (60 by default): a ticket it
    # brings back from the dead stalls every later message that long. 10 s here keeps a
    # stall short enough for the test to see it and go on.
    lifetime = 10.0
    if kind == "stock":
        store = RedisLockStore(host="127.0.0.1", port=6379, db=0, key_prefix=prefix)
    else:
        lifetime = 60.0
        store = AtomicRedisLockStore(url="redis://127.0.0.1:6379/0", key_prefix=f"{prefix}:lock:",
                                     lease_seconds=4.0, poll_seconds=0.02)
    trackers = RedisTrackerStore(Domain.empty(), host="127.0.0.1", port=6379, db=0,
                                 key_prefix=prefix)
    flag = redis.Redis()
    flag.incr(f"{prefix}:ready")
    while not flag.exists(f"{prefix}:go"):
        time.sleep(0.002)
    done = await asyncio.gather(*(handle(store, trackers, worker, n, lifetime)
                                  for n in range(messages)))
    print(sum(not ok for ok in done))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
