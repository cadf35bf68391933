"""The delivery pipeline: every pushed message stored with its status, one retry policy,
a closed window never retried by itself, a retry from the desk, each sent message
announced once (on SQLite and on the PostgreSQL server every dev and CI machine runs;
the platform is a function that refuses on cue)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.channels.delivery import EXPIRED, FAILED, RETRY_DELAYS, SENT, Dispatcher, Refused
from tests.databases import database_url


class Platform:
    """Takes messages, or refuses the next ones as told."""

    def __init__(self) -> None:
        self.taken: list[tuple[str, str]] = []
        self.refusals: list[Refused] = []

    async def send(self, channel: str, conversation: str, message: dict[str, Any],
                   role: str) -> int:
        if self.refusals:
            raise self.refusals.pop(0)
        self.taken.append((conversation, message["text"]))
        return 100 + len(self.taken)


class Clock:
    now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: Any, tmp_path: Path) -> Iterator[str]:
    with database_url(request.param, tmp_path, prefix="delivery") as found:
        yield found


@pytest.fixture()
def world(url: str) -> Iterator[tuple[Dispatcher, Platform, Clock, list[int]]]:
    platform, clock, announced = Platform(), Clock(), []

    async def on_sent(delivery: Any) -> None:
        announced.append(delivery.id)

    pipeline = Dispatcher(url, send=platform.send, on_sent=on_sent, clock=clock)
    yield pipeline, platform, clock, announced
    pipeline._engine.dispose()


def test_a_message_the_platform_takes_is_sent_and_announced_once(world: Any) -> None:
    pipeline, platform, _clock, announced = world
    sent = asyncio.run(pipeline.send("wechat", "c1", {"text": "hi", "author": "Ann"},
                                     role="agent"))
    assert (sent.status, sent.entry_id, sent.attempts) == (SENT, 101, 1)
    assert announced == [sent.id]
    again = asyncio.run(pipeline.retry(sent.id))  # nothing to retry: unchanged
    assert again.status == SENT and platform.taken == [("c1", "hi")] and announced == [sent.id]
    assert [d.body["author"] for d in pipeline.of("wechat", "c1")] == ["Ann"]


def test_a_closed_window_is_kept_expired_until_a_person_retries(world: Any) -> None:
    pipeline, platform, clock, announced = world
    platform.refusals.append(Refused("outside the 48-hour window", expired=True))
    expired = asyncio.run(pipeline.send("wechat", "c2", {"text": "late"}, role="agent"))
    assert (expired.status, expired.retry_at, expired.error) == (
        EXPIRED, None, "outside the 48-hour window")
    clock.now += 3600
    assert pipeline.due() == []  # never retried by itself
    # the customer wrote again: the agent's retry goes through
    retried = asyncio.run(pipeline.retry(expired.id))
    assert (retried.status, retried.attempts) == (SENT, 2)
    assert platform.taken == [("c2", "late")] and announced == [expired.id]


def test_a_refusal_is_retried_by_one_policy_then_left_for_a_person(world: Any) -> None:
    pipeline, platform, clock, announced = world
    platform.refusals = [Refused("system busy") for _ in range(len(RETRY_DELAYS) + 1)]
    failed = asyncio.run(pipeline.send("messenger", "c3", {"text": "x"}, role="notice"))
    assert failed.status == FAILED and failed.retry_at == clock.now + RETRY_DELAYS[0]
    for delay in RETRY_DELAYS:
        assert pipeline.due() == []
        clock.now += delay
        due = pipeline.due()
        assert [d.id for d in due] == [failed.id]
        asyncio.run(_retry_due(pipeline))
    last = pipeline.get(failed.id)
    assert (last.status, last.attempts, last.retry_at) == (FAILED, len(RETRY_DELAYS) + 1, None)
    assert announced == [] and platform.taken == []
    # a person retries once the platform is back
    assert asyncio.run(pipeline.retry(failed.id)).status == SENT
    assert announced == [failed.id]


async def _retry_due(pipeline: Dispatcher) -> None:
    """One round of the retry loop (as Dispatcher.run does)."""
    runner = asyncio.create_task(pipeline.run(poll_seconds=0.01))
    await asyncio.sleep(0.1)
    runner.cancel()


def test_a_sender_that_breaks_leaves_the_message_failed_not_lost(world: Any) -> None:
    pipeline, _platform, _clock, _announced = world

    async def broken(*args: Any) -> int:
        raise RuntimeError("bug")

    pipeline._send = broken
    kept = asyncio.run(pipeline.send("widget", "c4", {"text": "y"}, role="agent"))
    assert kept.status == FAILED and "RuntimeError" in (kept.error or "")
    assert pipeline.of("widget", "c4")[0].body == {"text": "y"}
