"""The channels' stores and Rasa's tracker store on SQLite *and* PostgreSQL.

PostgreSQL answers at 127.0.0.1:5432 on every dev and CI machine; the channel
stores have SQLite-only branches (connection options, pragmas), so each store is
run here on both: the customers' history, the platforms' inbox, the customer
links, WeChat's shared access_token, and Rasa's own ``SQLTrackerStore`` with the
fix of ``bot/patches.py`` installed, as the server runs it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.databases import database_url


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database_url(request.param, tmp_path, prefix="channels") as found:
        yield found


def test_history_in_order_once_per_message_across_processes(url: str) -> None:
    from bot.channels.history import MessageHistory

    async def scenario() -> None:
        one, two = (MessageHistory(url, channel="widget") for _ in range(2))  # two processes
        first, new = await one.customer_message("c1", "m-1", {"text": "有没有跑鞋"})
        again, new_again = await two.customer_message("c1", "m-1", {"text": "有没有跑鞋"})
        assert new and not new_again and again.id == first.id
        await two.append("c1", "agent", {"text": "Ann 在这里", "author": "Ann"})
        await one.append("c2", "assistant", {"text": "other conversation"})
        kept = await one.since("c1")
        assert [(e.role, e.body["text"]) for e in kept] == [("customer", "有没有跑鞋"),
                                                           ("agent", "Ann 在这里")]
        assert await MessageHistory(url, channel="rest").since("c1") == []

    asyncio.run(scenario())


def test_inbox_keeps_items_until_done_and_knows_retries(url: str) -> None:
    from bot.channels.inbox import Inbox

    inbox = Inbox(url, channel="messenger")
    first = asyncio.run(inbox.put([("m_1", "111", {"n": 1}), ("m_2", "222", {"n": 2}),
                                   ("m_1", "111", {"n": 1})]))
    assert [(i.conversation, i.body) for i in first] == [("111", {"n": 1}), ("222", {"n": 2})]
    assert asyncio.run(Inbox(url, channel="messenger").put([("m_2", "222", {"n": 2})])) == []
    asyncio.run(inbox.done(first[0].id))
    assert [i.body for i in Inbox(url, channel="messenger").pending()] == [{"n": 2}]
    assert Inbox(url, channel="wechat").pending() == []
    assert asyncio.run(inbox.put([("m_1", "111", {"n": 1})])) == []  # done, still known


def test_an_item_is_taken_by_another_server_only_once_its_lease_ran_out(url: str) -> None:
    """Two servers on one database: the one that stored an item (and renews its lease)
    keeps it; when it dies, exactly one of the others takes it."""
    from bot.channels.inbox import Inbox

    one = Inbox(url, channel="messenger", lease_seconds=0.5)
    two, three = (Inbox(url, channel="messenger", lease_seconds=0.5) for _ in range(2))
    [item] = asyncio.run(one.put([("m_1", "111", {"n": 1})]))
    assert two.claim_expired() == []  # a live server is answering it
    time.sleep(0.3)
    asyncio.run(one.renew([item.id]))
    time.sleep(0.3)
    assert two.claim_expired() == []  # renewed: still the first server's
    time.sleep(0.6)  # the first server died: nothing renews the lease
    taken = [two.claim_expired(), three.claim_expired()]
    assert sorted(len(t) for t in taken) == [0, 1]
    assert [i.body for t in taken for i in t] == [{"n": 1}]
    asyncio.run(two.done(item.id))
    time.sleep(0.6)
    assert three.claim_expired() == [] and asyncio.run(one.put([("m_1", "111", {})])) == []


def test_an_inbox_made_before_leases_gets_the_column(url: str) -> None:
    from bot.channels.inbox import Inbox

    engine, before = sa.create_engine(url), sa.MetaData()  # the table as it was
    table = sa.Table("channel_inbox", before,
                     sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
                     *(sa.Column(name, sa.String(128), nullable=False)
                       for name in ("channel", "key", "conversation", "body")),
                     sa.Column("received_at", sa.Float, nullable=False),
                     sa.Column("done_at", sa.Float, nullable=True))
    before.create_all(engine)
    with engine.begin() as db:
        db.execute(table.insert().values(id=1, channel="wechat", key="k", conversation="o1",
                                         body="{}", received_at=0))
        if engine.dialect.name == "postgresql":
            db.execute(sa.text("SELECT setval('channel_inbox_id_seq', 1)"))
    old = Inbox(url, channel="wechat")
    assert [i.id for i in old.claim_expired()] == [1]  # left by the old version: taken
    assert asyncio.run(old.put([("k2", "o1", {})]))[0].id > 1


def test_customer_links(url: str) -> None:
    from bot.channels.links import CustomerLinks

    links = CustomerLinks(url)
    links.link("wechat", "oUser_1", "C10001")
    links.link("wechat", "oUser_1", "C10002")  # linked again: the newer customer
    assert CustomerLinks(url).customer_for("wechat", "oUser_1") == "C10002"
    assert links.customer_for("messenger", "oUser_1") is None
    assert links.unlink("wechat", "oUser_1") and not links.unlink("wechat", "oUser_1")


def test_one_wechat_token_for_every_process(url: str) -> None:
    from bot.channels.wechat_api import TokenStore

    fetched: list[str] = []

    async def fetch() -> tuple[str, float]:
        await asyncio.sleep(0.05)
        fetched.append(f"token-{len(fetched)}")
        return fetched[-1], 7200.0

    async def scenario() -> None:
        first, second = (TokenStore(url, app_id="wx1", fetch=fetch) for _ in range(2))
        tokens = await asyncio.gather(*(store.get() for store in (first, second) * 10))
        assert set(tokens) == {"token-0"} and len(fetched) == 1  # two "processes", one fetch
        # WeChat said 40001 to both: one refresh between them
        await asyncio.gather(*(s.invalidate("token-0") for s in (first, second)))
        tokens = await asyncio.gather(*(store.get() for store in (first, second) * 10))
        assert set(tokens) == {"token-1"} and len(fetched) == 2
        await first.invalidate("token-0")  # a late failure with the old token changes nothing
        assert await second.get() == "token-1" and len(fetched) == 2
        assert first.refreshed_count() == 2

    asyncio.run(scenario())


def test_rasa_keeps_conversations_as_the_desk_reads_them(url: str) -> None:
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import BotUttered, SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot import patches
    from bot.channels.handover import history

    patches.apply()
    domain = Domain.load("bot/domain.yml")
    where = sa.engine.make_url(url)
    if where.get_backend_name() == "sqlite":
        store = SQLTrackerStore(domain, dialect="sqlite", db=where.database)
    else:
        store = SQLTrackerStore(domain, dialect="postgresql", host=where.host,
                                port=where.port, db=where.database, username=where.username)
    events = [UserUttered("有没有跑鞋", intent={"name": "search_products", "confidence": 0.9},
                          metadata={"verified": {"customer_id": "C10001"}}),
              SlotSet("language", "zh"),
              BotUttered("Ann：您好", metadata={"role": "agent", "author": "Ann"})]
    tracker = DialogueStateTracker.from_events("conv-1", events, slots=domain.slots)
    asyncio.run(store.save(tracker))
    back = asyncio.run(store.retrieve("conv-1"))
    assert back is not None and back.get_slot("language") == "zh"
    transcript = history(back)
    assert [(m["role"], m["text"]) for m in transcript["messages"]] == [
        ("customer", "有没有跑鞋"), ("agent", "Ann：您好")]
    assert transcript["customer_id"] == "C10001"
    # what strangers type (a NUL, a lone surrogate) is kept as it came, on both: Rasa
    # stores each event as JSON text, escaped
    for n, odd in enumerate(("a\x00b", "x\ud800y")):
        bad = DialogueStateTracker.from_events(f"conv-odd-{n}", [UserUttered(odd)],
                                               slots=domain.slots)
        asyncio.run(store.save(bad))
        kept = asyncio.run(store.retrieve(f"conv-odd-{n}"))
        assert kept is not None and kept.latest_message.text == odd
    assert asyncio.run(store.retrieve("conv-1")).get_slot("language") == "zh"


def test_a_later_message_waits_while_another_server_answers_an_earlier_one(url: str) -> None:
    """A customer's two messages reach two servers: the later one waits until the
    server with the earlier one has answered it; another customer's does not wait,
    nor does an item behind one whose server died (its lease ran out)."""
    from bot.channels.inbox import Inbox

    one, two = (Inbox(url, channel="messenger", lease_seconds=1.0) for _ in range(2))
    [first] = asyncio.run(one.put([("m_1", "111", {"n": 1})]))
    [second] = asyncio.run(two.put([("m_2", "111", {"n": 2})]))
    [other] = asyncio.run(two.put([("m_3", "222", {"n": 3})]))

    async def scenario() -> tuple[bool, float, bool]:
        started = time.monotonic()
        waiting = asyncio.create_task(two.wait_for_earlier(second, {second.id, other.id},
                                                           timeout=5))
        assert await two.wait_for_earlier(other, {second.id, other.id}, timeout=5)
        await asyncio.sleep(0.3)
        assert not waiting.done()  # the first server is still answering the first
        await one.done(first.id)
        answered = await waiting
        # this server's own earlier items are already queued in order here: no wait
        mine = await one.wait_for_earlier(second, {first.id, second.id}, timeout=0)
        return answered, time.monotonic() - started, mine

    answered, waited, mine = asyncio.run(scenario())
    assert answered and 0.3 <= waited < 2 and mine
    [third] = asyncio.run(one.put([("m_4", "333", {"n": 4})]))
    [fourth] = asyncio.run(two.put([("m_5", "333", {"n": 5})]))
    time.sleep(1.1)  # the first server died: nothing renews its item's lease
    assert asyncio.run(two.wait_for_earlier(fourth, {fourth.id}, timeout=0))
    assert third.id < fourth.id


def test_a_rest_message_sent_again_is_answered_once(url: str) -> None:
    """``message_id``: of two servers given one message, one answers it; a repeat gets
    that answer; a repeat of one still being answered waits; one whose server died
    (no answer after ``stale_seconds``) is taken over by exactly one request."""
    from bot.channels.replays import Replays

    now = [1000.0]
    one, two = (Replays(url, stale_seconds=20, wait_seconds=0.3, clock=lambda: now[0])
                for _ in range(2))

    async def scenario() -> None:
        first, second = await asyncio.gather(one.claim("c1", "m1"), two.claim("c1", "m1"))
        assert [c is not None and c.mine for c in (first, second)].count(True) == 1
        assert await two.claim("c1", "m1") is None  # still being answered: waited, gave up
        await one.answered("c1", "m1", [{"recipient_id": "c1", "text": "Hi! 你好"}])
        replay = await two.claim("c1", "m1")
        assert replay is not None and not replay.mine
        assert replay.answers == [{"recipient_id": "c1", "text": "Hi! 你好"}]
        assert (await two.claim("c2", "m1")).mine  # another conversation's m1 is its own
        # the server that took m2 died: after stale_seconds one repeat takes it over
        fresh = await one.claim("c1", "m2")
        assert fresh.mine and not fresh.taken_over
        assert await two.claim("c1", "m2") is None
        now[0] += 21
        takers = await asyncio.gather(one.claim("c1", "m2"), two.claim("c1", "m2"))
        assert [c is not None and c.mine for c in takers].count(True) == 1
        # the taker is told: the turn may be in the tracker already (kept_turn)
        assert [c.taken_over for c in takers if c is not None] == [True]

    asyncio.run(scenario())


def test_a_slow_turn_is_not_taken_over_while_its_server_renews_it(url: str) -> None:
    """The server answering a message renews it while the turn runs: a repeat waits
    for the answer however long the turn takes; once the renewing stops (the server
    died), a repeat takes it over within ``stale_seconds``."""
    from bot.channels.replays import Replays

    one, two = (Replays(url, stale_seconds=0.6, wait_seconds=0.2) for _ in range(2))

    async def scenario() -> None:
        assert (await one.claim("c1", "slow")).mine
        async with one.held("c1", "slow"):
            for _ in range(4):  # 1.6 s of turn: well past stale_seconds
                assert await two.claim("c1", "slow") is None
                await asyncio.sleep(0.2)
        # the server died before answering: nothing renews it any more
        await asyncio.sleep(0.7)
        taken = await two.claim("c1", "slow")
        assert taken is not None and taken.mine

    asyncio.run(scenario())
