"""Scaled mode's tracker store keeps the turns of a PostgreSQL outage
(``bot/tracker_store.py``): two Rasa servers (two stores) on one PostgreSQL database,
reached through a TCP relay the test cuts, and the machine's Redis. Rasa's own store
answers those turns from one process's memory and never writes them."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.databases import database_url
from tests.relay import ThreadedRelay


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[str, ThreadedRelay, str]]:
    with database_url("postgresql", tmp_path, prefix="journal") as url:
        relay = ThreadedRelay(("127.0.0.1", 5432))
        try:
            yield url, relay, f"test-{uuid.uuid4().hex[:8]}:"
        finally:
            relay.close()


def _store(url: str, relay: ThreadedRelay, prefix: str, **options: float):
    from rasa.shared.core.domain import Domain

    from bot.tracker_store import JournaledSQLTrackerStore

    where = sa.engine.make_url(url)
    return JournaledSQLTrackerStore(Domain.empty(), dialect="postgresql", host="127.0.0.1",
                                    port=relay.port, db=where.database, username="postgres",
                                    journal_url="redis://127.0.0.1:6379/0",
                                    key_prefix=prefix, **options)


def _turn(store, sender: str, said: str, answer: str) -> list[str]:
    """One turn as Rasa's processor takes it: read the tracker, add events, save."""
    from rasa.shared.core.events import BotUttered, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    async def run() -> list[str]:
        tracker = await store.retrieve(sender) or DialogueStateTracker(sender, [])
        seen = [e.text for e in tracker.events if isinstance(e, UserUttered)]
        tracker.update(UserUttered(said))
        tracker.update(BotUttered(answer))
        await store.save(tracker)
        return seen

    return asyncio.run(run())


def _stored(url: str, sender: str) -> list[str]:
    import json

    engine = sa.create_engine(url)
    with engine.connect() as db:
        rows = db.execute(sa.text("SELECT data FROM events WHERE sender_id = :s ORDER BY id"),
                          {"s": sender}).scalars().all()
    engine.dispose()
    return [json.loads(row).get("text") for row in rows]


def test_an_outages_turns_are_kept_and_written_in_order_when_it_ends(setup) -> None:
    import redis

    url, relay, prefix = setup
    one, two = _store(url, relay, prefix), _store(url, relay, prefix, idle_seconds=0)
    _turn(one, "c", "hi", "hello")
    assert _stored(url, "c") == ["hi", "hello"]

    relay.cut()  # PostgreSQL away: the turns land on either server
    assert _turn(two, "c", "show me shoes", "here are shoes") == []  # the context is lost
    assert _turn(one, "c", "the second one", "it costs $80") == ["show me shoes"]
    assert _turn(two, "c", "thanks", "you're welcome") == ["show me shoes", "the second one"]
    keys = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    assert keys.llen(f"{prefix}journal:c") == 6

    relay.restore()  # the next turn writes the journal first, then reads the database
    assert _turn(one, "c", "bye", "bye!") == ["hi", "show me shoes", "the second one",
                                               "thanks"]
    assert _stored(url, "c") == ["hi", "hello", "show me shoes", "here are shoes",
                                 "the second one", "it costs $80", "thanks",
                                 "you're welcome", "bye", "bye!"]
    assert not keys.exists(f"{prefix}journal:c") and one.replayed == 6


def test_a_turn_cut_off_midway_and_a_quiet_conversation_are_written_later(setup) -> None:
    from rasa.shared.core.events import BotUttered, UserUttered

    url, relay, prefix = setup
    store = _store(url, relay, prefix, idle_seconds=0)
    _turn(store, "d", "hi", "hello")

    async def cut_midway() -> None:
        tracker = await store.retrieve("d")  # read while the database answers
        relay.cut()
        tracker.update(UserUttered("any in red?"))
        tracker.update(BotUttered("yes"))
        await store.save(tracker)

    asyncio.run(cut_midway())
    assert store.journaled == 2 and _turn(store, "d", "ok", "great") == ["any in red?"]
    assert store.sweep() == 0  # still away: the journal waits
    relay.restore()
    assert store.sweep() == 4  # nobody wrote to "d" again: the sweep writes it
    assert _stored(url, "d") == ["hi", "hello", "any in red?", "yes", "ok", "great"]
    assert store.sweep() == 0


def test_rasa_loads_it_from_the_endpoints_file(setup) -> None:
    from rasa.core.tracker_store import TrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.utils.endpoints import EndpointConfig

    from bot.tracker_store import JournaledSQLTrackerStore

    url, relay, prefix = setup
    where = sa.engine.make_url(url)
    store = TrackerStore.create(EndpointConfig(
        url="127.0.0.1", type="bot.tracker_store.JournaledSQLTrackerStore",
        dialect="postgresql", port=relay.port, db=where.database, username="postgres",
        journal_url="redis://127.0.0.1:6379/0", key_prefix=prefix), Domain.empty())
    assert isinstance(store, JournaledSQLTrackerStore)


def test_a_connection_the_outage_dropped_is_replaced_not_failed_on(setup) -> None:
    """PostgreSQL restarts (every open connection dropped) between two turns: the next
    turn reads the conversation from PostgreSQL, not from an empty journal (a stale
    pooled connection is replaced before use), so nothing looking at the tracker right
    after an outage (a message taken over) misses the turns before it."""
    url, relay, prefix = setup
    store = _store(url, relay, prefix)
    _turn(store, "c", "hi", "hello")
    relay.cut()
    relay.restore()
    assert _turn(store, "c", "show me shoes", "here are shoes") == ["hi"]
    assert store.journaled == 0
    assert _stored(url, "c") == ["hi", "hello", "show me shoes", "here are shoes"]
