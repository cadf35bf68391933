"""The history: a conversation's messages, pushed at any time, fetched after a reload."""

from __future__ import annotations

import asyncio

import pytest

from bot.channels.history import HistoryError, MessageHistory


@pytest.fixture()
def url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'channels.db'}"


def run(coro):
    return asyncio.run(coro)


def test_history_comes_back_in_order_and_per_conversation(url) -> None:
    box = MessageHistory(url, channel="widget")

    async def scenario():
        a1 = await box.append("a", "assistant", {"text": "hello"})
        await box.append("b", "assistant", {"text": "other conversation"})
        a2 = await box.append("a", "agent", {"text": "I'm Ann", "author": "Ann"})
        return a1, a2, await box.since("a"), await box.since("a", a1.id)

    a1, a2, everything, after = run(scenario())
    assert [e.body["text"] for e in everything] == ["hello", "I'm Ann"]
    assert [e.id for e in after] == [a2.id]
    assert everything[1].as_json()["author"] == "Ann" and everything[1].role == "agent"


def test_a_resent_customer_message_is_stored_once(url) -> None:
    box = MessageHistory(url, channel="widget")

    async def scenario():
        first = await box.customer_message("a", "m-1", {"text": "hi"})
        again = await box.customer_message("a", "m-1", {"text": "hi"})
        other = await box.customer_message("b", "m-1", {"text": "hi"})  # ids are per conversation
        return first, again, other, await box.since("a")

    (first, new), (again, new_again), (_, other_new), stored = run(scenario())
    assert new and not new_again and other_new
    assert again.id == first.id and len(stored) == 1


def test_channels_do_not_see_each_others_conversations(url) -> None:
    widget, rest = MessageHistory(url, channel="widget"), MessageHistory(url, channel="rest")

    async def scenario():
        await widget.append("a", "assistant", {"text": "web"})
        return await rest.since("a")

    assert run(scenario()) == []


def test_unknown_roles_are_refused(url) -> None:
    with pytest.raises(HistoryError):
        run(MessageHistory(url, channel="widget").append("a", "admin", {"text": "x"}))


def test_a_listener_gets_new_messages_at_once(url) -> None:
    # only the wake-up can be this fast
    box = MessageHistory(url, channel="widget", poll_seconds=30)

    async def scenario():
        seen = []

        async def listen():
            async for entry in box.listen("a", 0):
                seen.append(entry.body["text"])
                if len(seen) == 2:
                    return

        task = asyncio.create_task(listen())
        await asyncio.sleep(0.05)
        assert box.listening("a") == 1
        await box.append("a", "assistant", {"text": "one"})
        await box.append("a", "agent", {"text": "two"})
        await asyncio.wait_for(task, 5)
        return seen

    assert run(scenario()) == ["one", "two"]
    assert box.listening("a") == 0  # a closed page leaves nothing behind


def test_a_message_written_by_another_process_arrives_by_polling(url) -> None:
    page = MessageHistory(url, channel="widget", poll_seconds=0.1)
    desk = MessageHistory(url, channel="widget")

    async def scenario():
        async def first():
            async for entry in page.listen("a", 0):
                return entry.body["text"]

        task = asyncio.create_task(first())
        await asyncio.sleep(0.05)
        await desk.append("a", "agent", {"text": "from the desk"})  # no wake-up reaches `page`
        return await asyncio.wait_for(task, 5)

    assert run(scenario()) == "from the desk"


def test_each_entry_arrives_once_whichever_way_it_came(url) -> None:
    # in-process appends are handed over at once, and the table is polled often:
    # an entry that comes both ways is yielded once, and none is skipped
    page = MessageHistory(url, channel="widget", poll_seconds=0.02)
    desk = MessageHistory(url, channel="widget")

    async def scenario():
        seen = []

        async def listen():
            async for entry in page.listen("a", 0):
                seen.append(entry.body["text"])

        task = asyncio.create_task(listen())
        await asyncio.sleep(0.05)
        for i in range(12):
            await (page if i % 3 else desk).append("a", "assistant", {"text": str(i)})
            await asyncio.sleep(0.01 * (i % 2))
        await asyncio.sleep(0.3)
        task.cancel()
        return seen

    seen = run(scenario())
    assert sorted(seen, key=int) == [str(i) for i in range(12)]
    assert len(seen) == len(set(seen))


def test_entries_the_database_could_not_take_are_written_once_it_is_back(tmp_path) -> None:
    """Scaled mode, PostgreSQL away: what the widget said and was told meanwhile is kept
    in Redis, and once the database answers, a reloaded page's history holds it, in
    order, once; a page that was open (it showed those messages as they came) is not
    sent them again. Without the journal, those turns are missing after a reload."""
    import uuid

    import sqlalchemy as sa

    from bot.channels.history import HistoryJournal
    from tests.databases import database_url
    from tests.relay import ThreadedRelay

    redis = "redis://127.0.0.1:6379/0"
    with database_url("postgresql", tmp_path, prefix="history") as direct:
        relay = ThreadedRelay(("127.0.0.1", 5432))
        url = direct.replace("127.0.0.1:5432", f"127.0.0.1:{relay.port}")
        journal = HistoryJournal(redis, database=f"{url}-{uuid.uuid4().hex}")
        box = MessageHistory(url, channel="widget", journal=journal)
        control = MessageHistory(url, channel="rest")  # no journal

        async def scenario():
            before = await box.customer_message("c", "m-1", {"text": "hi"})
            await box.append("c", "assistant", {"text": "Hello!"})
            await control.append("c", "assistant", {"text": "Hello!"})
            relay.cut()
            for history, role, text in ((box, "customer", "show me headphones"),
                                        (box, "assistant", "Here are 3 headphones"),
                                        (control, "assistant", "Here are 3 headphones")):
                with pytest.raises(sa.exc.SQLAlchemyError):
                    if role == "customer":
                        await history.customer_message("c", "m-2", {"text": text})
                    else:
                        await history.append("c", role, {"text": text})
            relay.restore()
            open_page = box.listen("c", after=(await control.since("c"))[-1].id)
            reloaded = await box.since("c")  # the first read writes the journal
            after = await box.append("c", "assistant", {"text": "Anything else?"})
            shown = await asyncio.wait_for(open_page.__anext__(), timeout=10)
            await open_page.aclose()
            again = await box.customer_message("c", "m-2", {"text": "show me headphones"})
            return before, reloaded, after, shown, again, await control.since("c")

        try:
            before, reloaded, after, shown, (_, resent_new), without = run(scenario())
        finally:
            relay.close()
            box._engine.dispose()
            control._engine.dispose()
    assert [(e.role, e.body["text"]) for e in reloaded] == [
        ("customer", "hi"), ("assistant", "Hello!"),
        ("customer", "show me headphones"), ("assistant", "Here are 3 headphones")]
    assert [e.late for e in reloaded] == [False, False, True, True]
    assert "late" not in reloaded[2].as_json() and reloaded[2].client_id == "m-2"
    assert reloaded[0].id == before[0].id and after.id > reloaded[-1].id
    assert shown.id == after.id, "the open page is sent what came after, not the late ones"
    assert not resent_new, "the customer's message resent after the outage is not new"
    assert [e.body["text"] for e in without] == ["Hello!"]  # the control lost its turn
    assert not journal.pending("widget")


def test_a_journaled_entry_written_twice_is_stored_once(tmp_path) -> None:
    """A process that wrote an entry from the journal and died before removing it: the
    next one writes it again, and it is not stored twice."""
    box = MessageHistory(f"sqlite:///{tmp_path / 'c.db'}", channel="widget")
    item = {"conversation": "c", "role": "assistant", "body": {"text": "Here you go"},
            "client_id": None, "created_at": 1_700_000_000.123456}
    box._write_late(item)
    box._write_late(item)
    customer = {**item, "role": "customer", "client_id": "m-9", "created_at": 1_700_000_001.5}
    box._write_late(customer)
    box._write_late({**customer, "created_at": 1_700_000_002.0})  # its resend, stored first
    stored = run(box.since("c"))
    assert [(e.role, e.body, e.late) for e in stored] == [
        ("assistant", {"text": "Here you go"}, True), ("customer", {"text": "Here you go"}, True)]


def test_redis_away_costs_the_history_one_try_per_few_seconds(tmp_path) -> None:
    """Redis that takes connections and never answers (a hung server): the history asks
    it whether entries wait once, then not again for a few seconds, instead of paying
    its time limit on every read and write."""
    import socket
    import time

    from bot.channels.history import HistoryJournal

    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen(64)  # the kernel accepts; nobody reads or answers
    try:
        journal = HistoryJournal(f"redis://127.0.0.1:{hung.getsockname()[1]}/0",
                                 database="x", timeout=0.3)
        box = MessageHistory(f"sqlite:///{tmp_path / 'c.db'}", channel="widget",
                             journal=journal)
        started = time.monotonic()
        for n in range(20):
            run(box.append("c", "assistant", {"text": f"answer {n}"}))
        took = time.monotonic() - started
        assert len(run(box.since("c"))) == 20
    finally:
        hung.close()
    assert took < 2.0, f"Redis was asked on every call ({took:.1f} s for 20 messages)"


def test_a_database_away_at_start_does_not_stop_the_server(tmp_path) -> None:
    """A Rasa server started while PostgreSQL is away (a restart during an outage): the
    history is opened anyway, its writes fail as during any outage, and its table is
    made by itself once the database answers, without another restart."""
    import time

    import sqlalchemy as sa

    from tests.databases import database_url
    from tests.relay import ThreadedRelay

    with database_url("postgresql", tmp_path, prefix="away_at_start") as direct:
        relay = ThreadedRelay(("127.0.0.1", 5432))
        relay.cut()
        try:
            url = direct.replace("127.0.0.1:5432", f"127.0.0.1:{relay.port}")
            box = MessageHistory(url, channel="widget")  # raised before
            with pytest.raises(sa.exc.SQLAlchemyError):
                run(box.append("c", "assistant", {"text": "Hello!"}))
            relay.restore()
            deadline, made = time.monotonic() + 20, False
            while time.monotonic() < deadline and not made:
                time.sleep(0.5)
                made = sa.inspect(sa.create_engine(direct)).has_table("channel_messages")
            assert made, "the table was not made once the database answered"
            run(box.append("c", "assistant", {"text": "Hello again!"}))
            assert [e.body["text"] for e in run(box.since("c"))] == ["Hello again!"]
        finally:
            relay.close()
