"""The conversation lock shared by several Rasa servers (``bot/lock_store.py``), on the
Redis that runs on every dev and CI machine (127.0.0.1:6379).

The proof the issue asks for: four processes, each a "Rasa server" handling 10
messages of one conversation at once (lock, read the tracker from Rasa's own
``RedisTrackerStore``, append the message and its answer, save). With Rasa 3.6's
stock ``RedisLockStore`` (the control) events are lost or interleaved, or messages are
refused; with ours every message is in the tracker once, followed by its answer.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from bot.lock_store import AtomicRedisLockStore

ROOT = Path(__file__).resolve().parents[2]
WORKERS, MESSAGES = 4, 10
STALL = 45  # seconds


@pytest.fixture
def prefix() -> Iterator[str]:
    name = "t" + uuid.uuid4().hex[:12]
    yield name
    client = redis.Redis()
    for key in client.scan_iter(f"{name}*"):
        client.delete(key)


def _run_servers(kind: str, prefix: str) -> tuple[int, list[str], list[str]]:
    """Start the workers together: the messages refused, the tracker's texts, the reasons.

    Workers still busy after ``STALL`` seconds (40 messages take well under a second) are
    stopped, and the stall is one of the reasons: a conversation stuck that long is one
    a customer has left.
    """
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-m", "tests.bot.lock_worker", kind, prefix,
                               f"w{w}", str(MESSAGES)], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for w in range(WORKERS)]
    client, deadline = redis.Redis(), time.monotonic() + 120
    while int(client.get(f"{prefix}:ready") or 0) < WORKERS and time.monotonic() < deadline:
        time.sleep(0.05)  # every worker has imported Rasa and waits for the signal
    client.set(f"{prefix}:go", 1)
    refused, reasons, until = 0, [], time.monotonic() + STALL
    for proc in procs:
        try:
            out, err = proc.communicate(timeout=max(until - time.monotonic(), 1))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            refused += MESSAGES
            reasons.append(f"the conversation's lock stalled a server past {STALL} s")
            continue
        assert proc.returncode == 0, err[-2000:]
        refused += int(out.strip().splitlines()[-1])
        reasons.extend(line for line in err.splitlines() if "lock" in line.lower())
    from rasa.core.tracker_store import RedisTrackerStore
    from rasa.shared.core.domain import Domain

    trackers = RedisTrackerStore(Domain.empty(), host="127.0.0.1", port=6379, db=0,
                                 key_prefix=prefix)
    tracker = asyncio.run(trackers.retrieve("customer"))
    texts = [e.text for e in tracker.events if getattr(e, "text", None)] if tracker else []
    return refused, texts, reasons


def _problems(refused: int, texts: list[str], reasons: list[str]) -> list[str]:
    """What a customer would notice: messages lost, doubled, or answers out of turn."""
    problems = [f"{refused} messages refused: {sorted(set(reasons))[:3]}"] if refused else []
    users = [t for t in texts if not t.startswith("re ")]
    expected = {f"w{w}-{n}" for w in range(WORKERS) for n in range(MESSAGES)}
    if sorted(users) != sorted(expected):
        problems.append(f"{len(expected - set(users))} messages lost, "
                        f"{len(users) - len(set(users))} doubled")
    pairs = list(zip(texts[::2], texts[1::2], strict=False))
    out_of_turn = [p for p in pairs if p[1] != f"re {p[0]}"]
    if out_of_turn or len(texts) % 2:
        problems.append(f"{len(out_of_turn)} answers not right after their message")
    return problems


def test_the_stock_redis_lock_store_loses_or_interleaves_events(prefix: str) -> None:
    """The control: Rasa's open-source store lets two servers hold one conversation."""
    found: list[str] = []
    for attempt in range(3):  # a race: it shows at once here, three tries at most
        found = _problems(*_run_servers("stock", f"{prefix}s{attempt}"))
        if found:
            break
    assert found, "the stock RedisLockStore kept every event in order: the test proves nothing"


def test_the_atomic_lock_keeps_every_message_once_in_order(prefix: str) -> None:
    refused, texts, reasons = _run_servers("atomic", prefix)
    assert _problems(refused, texts, reasons) == []
    assert len(texts) == 2 * WORKERS * MESSAGES


def _store(prefix: str, **options: float) -> AtomicRedisLockStore:
    return AtomicRedisLockStore(url="redis://127.0.0.1:6379/0", key_prefix=f"{prefix}:",
                                **{"lease_seconds": 0.6, "poll_seconds": 0.01, **options})


def test_messages_are_served_in_the_order_they_came(prefix: str) -> None:
    store = _store(prefix)
    served: list[int] = []

    async def turn(n: int) -> None:
        async with store.lock("c1"):
            served.append(n)
            await asyncio.sleep(0.01)

    async def scenario() -> None:
        tasks = []
        for n in range(8):
            tasks.append(asyncio.create_task(turn(n)))
            await asyncio.sleep(0.005)  # each takes its ticket before the next
        await asyncio.gather(*tasks)

    asyncio.run(scenario())
    assert served == list(range(8))


def test_other_conversations_do_not_wait(prefix: str) -> None:
    store = _store(prefix)

    async def scenario() -> float:
        async with store.lock("busy"):
            started = time.monotonic()
            async with store.lock("other"):
                return time.monotonic() - started

    assert asyncio.run(scenario()) < 0.5


def test_a_lock_held_by_a_killed_server_lapses_within_its_lease(prefix: str) -> None:
    """A server killed mid-turn stops renewing: the next message waits one lease, not 60 s."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    holder = subprocess.Popen(
        [sys.executable, "-c", (
            "import asyncio, sys\n"
            "from bot.lock_store import AtomicRedisLockStore\n"
            f"s = AtomicRedisLockStore(key_prefix='{prefix}:', lease_seconds=1.5)\n"
            "async def main():\n"
            "    async with s.lock('c1'):\n"
            "        print('held', flush=True)\n"
            "        await asyncio.sleep(3600)\n"
            "asyncio.run(main())\n")],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        store = _store(prefix, lease_seconds=1.5)

        async def take_lock() -> None:
            async with store.lock("c1"):
                pass

        async def blocked_for(seconds: float) -> bool:
            try:
                await asyncio.wait_for(take_lock(), seconds)
                return False
            except asyncio.TimeoutError:
                return True

        assert asyncio.run(blocked_for(2.0)), "a live holder's lock must not lapse"
        holder.kill()
        holder.wait()
        killed = time.monotonic()

        async def take() -> float:
            async with store.lock("c1"):
                return time.monotonic() - killed

        waited = asyncio.run(take())
        assert waited < 1.5 + 0.5, f"blocked {waited:.1f} s after the holder died"
    finally:
        holder.kill()


def test_a_turn_longer_than_its_lease_keeps_the_lock(prefix: str) -> None:
    store = _store(prefix, lease_seconds=0.4)
    inside: list[str] = []

    async def turn(name: str, pause: float) -> None:
        async with store.lock("c1"):
            inside.append(f"{name} in")
            await asyncio.sleep(pause)
            inside.append(f"{name} out")

    async def scenario() -> None:
        first = asyncio.create_task(turn("slow", 1.5))  # four leases, renewed
        await asyncio.sleep(0.05)
        await asyncio.gather(first, turn("next", 0))

    asyncio.run(scenario())
    assert inside == ["slow in", "slow out", "next in", "next out"]


def test_nothing_is_left_in_redis_after_the_last_turn(prefix: str) -> None:
    store = _store(prefix)

    async def scenario() -> None:
        async with store.lock("c1"):
            pass

    asyncio.run(scenario())
    assert list(redis.Redis().scan_iter(f"{prefix}:*")) == []


def test_redis_unreachable_without_a_fallback_is_rasa_s_lock_error() -> None:
    from rasa.core.lock_store import LockError

    store = AtomicRedisLockStore(url="redis://127.0.0.1:1/0", socket_timeout=0.5,
                                 local_seconds=0)

    async def scenario() -> None:
        async with store.lock("c1"):
            pass

    with pytest.raises(LockError):
        asyncio.run(scenario())


def test_redis_away_the_process_answers_in_order_under_its_own_lock() -> None:
    """Degrade, don't stall: with Redis unreachable, messages are still answered, each
    conversation's one at a time and in the order they came, and Redis is tried again
    after ``local_seconds``."""
    store = AtomicRedisLockStore(url="redis://127.0.0.1:1/0", local_seconds=0.5)
    inside: list[str] = []

    async def turn(name: str) -> None:
        async with store.lock("c1"):
            inside.append(f"{name} in")
            await asyncio.sleep(0.02)
            inside.append(f"{name} out")

    async def scenario() -> float:
        started = time.monotonic()
        tasks = []
        for name in "abc":
            tasks.append(asyncio.create_task(turn(name)))
            await asyncio.sleep(0.005)
        await asyncio.gather(*tasks)
        return time.monotonic() - started

    assert asyncio.run(scenario()) < 2.0
    assert inside == ["a in", "a out", "b in", "b out", "c in", "c out"]
    first = store._local_until  # noqa: SLF001 - the fallback was taken, for a while
    assert first > 0
    time.sleep(0.6)

    async def after() -> None:
        async with store.lock("c1"):
            pass

    asyncio.run(after())  # Redis tried again: still away, still answered
    assert store._local_until > first  # noqa: SLF001


def test_rasa_loads_it_from_the_endpoints_file(prefix: str) -> None:
    from rasa.core.lock_store import LockStore
    from rasa.utils.endpoints import EndpointConfig

    store = LockStore.create(EndpointConfig(url="redis://127.0.0.1:6379/0",
                                            type="bot.lock_store.AtomicRedisLockStore",
                                            key_prefix=f"{prefix}:", lease_seconds=3))
    assert isinstance(store, AtomicRedisLockStore)
    assert (store.url, store.key_prefix, store.lease_ms) == ("redis://127.0.0.1:6379/0",
                                                             f"{prefix}:", 3000)


def test_a_turn_under_the_fallback_waits_for_one_under_a_redis_ticket(prefix: str) -> None:
    """Redis goes away while a turn holds its ticket: the next turn of that conversation
    in the same process (under the fallback) waits for it, never runs beside it."""
    from tests.relay import Relay

    inside: list[str] = []

    async def scenario() -> None:
        relay = await Relay(("127.0.0.1", 6379)).start()
        store = AtomicRedisLockStore(url=f"redis://127.0.0.1:{relay.port}/0",
                                     key_prefix=f"{prefix}:", local_seconds=5)

        async def turn(name: str, pause: float) -> None:
            async with store.lock("c1"):
                inside.append(f"{name} in")
                await asyncio.sleep(pause)
                inside.append(f"{name} out")

        first = asyncio.create_task(turn("redis", 0.4))
        await asyncio.sleep(0.1)  # it holds its Redis ticket
        await relay.cut()
        await turn("fallback", 0)
        await first
        assert store._local_until > 0  # noqa: SLF001 - the second turn took the fallback

    asyncio.run(scenario())
    assert inside == ["redis in", "redis out", "fallback in", "fallback out"]


def test_a_connection_redis_dropped_is_replaced_not_taken_for_redis_away(prefix: str) -> None:
    from tests.relay import Relay

    async def scenario() -> float:
        relay = await Relay(("127.0.0.1", 6379)).start()
        store = AtomicRedisLockStore(url=f"redis://127.0.0.1:{relay.port}/0",
                                     key_prefix=f"{prefix}:")
        async with store.lock("c1"):
            pass
        await relay.cut()  # the pooled connection is dropped (a Redis restart, a split)
        await relay.start()
        async with store.lock("c1"):
            pass
        await relay.cut()
        return store._local_until  # noqa: SLF001

    assert asyncio.run(scenario()) == 0  # Redis used again, no fallback
