"""The one turn pipeline of the messaging platforms (bot/channels/pipeline.py): what
every adapter's parse gives it, and the reply slot that makes WeChat's passive reply."""

from __future__ import annotations

import asyncio
from dataclasses import asdict

from bot.channels.messenger import parse_item
from bot.channels.pipeline import CONTROL, MESSAGE, NOTHING, PHOTO, Incoming, ReplySlot
from bot.channels.wechat import parse_message as parse_wechat
from tests.fakes.messenger import FakeMessenger


def test_an_item_survives_the_inbox_as_it_was() -> None:
    item = Incoming(key="m_1", user="42", kind=PHOTO, text="", said="这个", media="http://x",
                    meta={"id": "m_1"}, metadata={"wechat": {"msgtype": "image"}},
                    record={"msgtype": "image"})
    assert Incoming.kept(asdict(item)) == item
    assert Incoming.kept({**asdict(item), "unknown": 1}) == item


def test_one_key_per_messenger_item_and_what_is_not_a_message() -> None:
    fake = FakeMessenger()
    text = fake.text("123", "hello", quick_reply="/greet")
    parsed = parse_item(text, app_id="9")
    assert parsed is not None and parsed.key == text["message"]["mid"]
    assert (parsed.kind, parsed.text, parsed.said) == (MESSAGE, "/greet", "hello")
    postback = parse_item(fake.postback("123", "Tell me more", "/ask"), app_id="9")
    assert postback is not None and (postback.text, postback.said) == ("/ask", "Tell me more")
    echo = fake.item("123", message={"mid": "m_e", "is_echo": True, "text": "x"})
    assert parse_item(echo, app_id="9") is None
    assert parse_item(fake.item("123", read={"watermark": 1}), app_id="9") is None
    back = parse_item(fake.item("123", pass_thread_control={"new_owner_app_id": "9"}),
                      app_id="9")
    assert back is not None and back.kind == CONTROL
    assert parse_item(fake.item("123", pass_thread_control={"new_owner_app_id": "7"}),
                      app_id="9") is None
    assert parse_item({"sender": {"id": "<script>"}, "message": {"text": "x"}},
                      app_id="9") is None


def test_wechat_messages_and_events() -> None:
    base = {"FromUserName": "oUser_1-x", "ToUserName": "gh_1", "CreateTime": "1700000000"}
    text = parse_wechat({**base, "MsgType": "text", "Content": "2", "MsgId": "77"},
                        encrypted=True)
    assert (text.key, text.kind, text.text, text.meta["encrypted"]) == ("77", MESSAGE, "2",
                                                                         True)
    hello = parse_wechat({**base, "MsgType": "event", "Event": "subscribe"}, encrypted=False)
    assert hello.kind == MESSAGE and hello.text.startswith("/greet")
    gone = parse_wechat({**base, "MsgType": "event", "Event": "unsubscribe"}, encrypted=False)
    assert gone.kind == NOTHING and gone.key != hello.key


def test_the_reply_slot_takes_the_first_message_it_can_carry_once() -> None:
    async def scenario() -> None:
        slot = ReplySlot(lambda out: out != "card")
        waiting = asyncio.ensure_future(slot.wait(1.0))
        await asyncio.sleep(0)
        assert slot.offer(["text", "card"]) == ["card"]
        assert await waiting == "text"
        assert slot.offer(["more"]) == ["more"]  # taken: the rest goes through the API
        late = ReplySlot(lambda out: True)
        assert await late.wait(0.01) is None  # the webhook stopped waiting
        assert late.offer(["text"]) == ["text"] and not late.give("transfer")
        first = ReplySlot(lambda out: out == "text")
        assert first.offer(["card", "text"]) == ["card", "text"]  # not the first: none
        assert await first.wait(0.01) is None

    asyncio.run(scenario())


def test_a_turn_kept_in_the_tracker_is_found_by_its_message_id() -> None:
    """A message taken over from a server that died after the assistant kept its turn
    is not processed again: :func:`kept_turn` finds the turn by the channel's id and
    gives back what the assistant said; a message whose turn never ran is ``None``.
    Read under Rasa's conversation lock: a turn still running finishes first."""
    from types import SimpleNamespace

    from rasa.core.lock_store import InMemoryLockStore
    from rasa.core.tracker_store import InMemoryTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.channels.pipeline import kept_turn

    store = InMemoryTrackerStore(Domain.empty())
    agent = SimpleNamespace(tracker_store=store, lock_store=InMemoryLockStore())
    tracker = DialogueStateTracker("c1", [])
    for event in (UserUttered("有没有跑鞋", message_id="m-1"),
                  BotUttered("有三款跑鞋", data={"buttons": [{"title": "看看", "payload": "/a"}]}),
                  BotUttered("还要别的吗？"), ActionExecuted("action_listen"),
                  UserUttered("agent please", message_id="m-2"),  # a person answers
                  ActionExecuted("action_listen")):
        tracker.update(event)

    async def scenario() -> tuple[object, ...]:
        await store.save(tracker)
        found = await kept_turn(agent, "c1", "m-1")
        to_person = await kept_turn(agent, "c1", "m-2")
        never = await kept_turn(agent, "c1", "m-3"), await kept_turn(agent, "c9", "m-1")

        async def running_turn() -> None:  # another turn holds the lock, then keeps m-3
            async with agent.lock_store.lock("c1"):
                await asyncio.sleep(0.3)
                tracker.update(UserUttered("thanks", message_id="m-3"))
                tracker.update(BotUttered("You're welcome!"))
                await store.save(tracker)

        turn = asyncio.ensure_future(running_turn())
        await asyncio.sleep(0.05)
        after = await kept_turn(agent, "c1", "m-3")
        await turn
        return found, to_person, never, after

    found, to_person, never, after = asyncio.run(scenario())
    assert found == [{"recipient_id": "c1", "text": "有三款跑鞋",
                      "buttons": [{"title": "看看", "payload": "/a"}]},
                     {"recipient_id": "c1", "text": "还要别的吗？"}]
    assert to_person == [] and never == (None, None)
    assert after == [{"recipient_id": "c1", "text": "You're welcome!"}]
