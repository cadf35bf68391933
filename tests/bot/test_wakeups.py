"""A message written by one process reaches a page open on another at once through
Redis pub/sub (``bot/channels/wakeups.py``), on the Redis every dev and CI machine runs
(127.0.0.1:6379); without it, on the table's timer only."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

from bot.channels.history import MessageHistory
from bot.channels.wakeups import Wakeups

REDIS = "redis://127.0.0.1:6379/0"
TIMER = 5.0  # the table's re-read timer: long, so only a wake-up can be quicker


def _arrival(tmp_path: Path, with_redis: bool) -> float:
    """Seconds from one process's append to a listener of another process seeing it."""
    url = f"sqlite:///{tmp_path / f'history-{with_redis}.db'}"
    prefix = f"test:wake:{uuid.uuid4().hex[:8]}:"

    async def scenario() -> float:
        # two processes: each its own history object and its own wake-ups
        holder = MessageHistory(url, channel="widget", poll_seconds=TIMER,
                                wakeups=Wakeups(REDIS, prefix=prefix) if with_redis else None)
        writer = MessageHistory(url, channel="widget", poll_seconds=TIMER,
                                wakeups=Wakeups(REDIS, prefix=prefix) if with_redis else None)
        first = await writer.append("c1", "assistant", {"text": "hello"})
        stream = holder.listen("c1", after=first.id)
        got = asyncio.ensure_future(stream.__anext__())
        await asyncio.sleep(0.5)  # the page is open, its subscriber listening
        sent = time.monotonic()
        await writer.append("c1", "agent", {"text": "Ann 在这里"})
        try:
            entry = await asyncio.wait_for(got, TIMER + 2)
        finally:
            await stream.aclose()
            for history in (holder, writer):
                if history._wakeups is not None:
                    await history._wakeups.close()
        assert entry.body["text"] == "Ann 在这里"
        return time.monotonic() - sent

    return asyncio.run(scenario())


def test_a_page_on_another_process_gets_the_message_at_once(tmp_path: Path) -> None:
    assert _arrival(tmp_path, with_redis=True) < 1.0


def test_without_redis_it_waits_for_the_timer(tmp_path: Path) -> None:
    """The control: the same two processes with no wake-ups wait for the table's timer."""
    assert _arrival(tmp_path, with_redis=False) > 1.0


def test_redis_away_costs_only_speed(tmp_path: Path) -> None:
    async def scenario() -> None:
        url = f"sqlite:///{tmp_path / 'away.db'}"
        away = Wakeups("redis://127.0.0.1:1/0", retry_seconds=0.1)
        history = MessageHistory(url, channel="widget", poll_seconds=0.2, wakeups=away)
        first = await history.append("c1", "assistant", {"text": "hi"})
        stream = history.listen("c1", after=first.id)
        got = asyncio.ensure_future(stream.__anext__())
        await asyncio.sleep(0.1)
        await history.append("c1", "agent", {"text": "still here"})
        entry = await asyncio.wait_for(got, 5)
        await stream.aclose()
        await away.close()
        assert entry.body["text"] == "still here"

    asyncio.run(scenario())
