"""The Rasa server follows the handoff record: each published change applied to the
tracker once, even when the server stops between applying it and marking it applied."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from rasa.core.lock_store import InMemoryLockStore
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActiveLoop, BotUttered, SlotSet, UserUttered

from bot.channels import sending
from bot.channels.delivery import Dispatcher
from bot.channels.follower import StateFollower
from handoff import HandoffService

DOMAIN = Domain.from_yaml("""
version: "3.1"
intents: [handoff_returned, return_order]
slots:
  handoff_state: {type: any, influence_conversation: false, mappings: [{type: custom}]}
  handoff_agent: {type: any, influence_conversation: false, mappings: [{type: custom}]}
  handoff_note: {type: any, influence_conversation: false, mappings: [{type: custom}]}
  order_number: {type: any, influence_conversation: false, mappings: [{type: custom}]}
forms:
  order_form: {required_slots: [order_number]}
""")


class Processor:
    """Rasa's processor as the follower uses it, over a real in-memory tracker store;
    the prediction loop records what it was asked to answer."""

    def __init__(self) -> None:
        self.domain = DOMAIN
        self.store = InMemoryTrackerStore(DOMAIN)
        self.answered: list[str] = []

    async def get_tracker(self, conversation: str) -> Any:
        return await self.store.get_or_create_tracker(conversation)

    async def save_tracker(self, tracker: Any) -> None:
        await self.store.save(tracker)

    async def run_action_extract_slots(self, output: Any, tracker: Any) -> Any:
        return tracker

    async def _run_prediction_loop(self, output: Any, tracker: Any) -> None:
        intent = tracker.latest_message.intent.get("name")
        self.answered.append(intent)
        await output.send_text_message(tracker.sender_id, f"answer to {intent}")
        tracker.update(BotUttered(f"answer to {intent}"))


class Agent:
    def __init__(self) -> None:
        self.lock_store = InMemoryLockStore()
        self.processor = Processor()


@pytest.fixture()
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    service = HandoffService(url=f"sqlite:///{tmp_path / 'h.db'}")
    service.create_schema()
    service.upsert_agent("ann", name="Ann Lee")
    pushed: list[tuple[str, str, str]] = []

    async def pusher(conversation: str, message: dict[str, Any], role: str) -> int:
        pushed.append((conversation, role, message.get("text", "")))
        return len(pushed)

    monkeypatch.setattr(sending, "_pushers", {"widget": pusher})
    pipeline = Dispatcher(f"sqlite:///{tmp_path / 'channels.db'}", send=sending._through_pusher)
    monkeypatch.setattr(sending, "dispatcher", lambda: pipeline)
    agent = Agent()
    return service, agent, StateFollower(service, lambda: agent), pushed


def slots(agent: Agent, conversation: str) -> dict[str, Any]:
    tracker = asyncio.run(agent.processor.get_tracker(conversation))
    return {k: tracker.get_slot(k) for k in ("handoff_state", "handoff_agent")}


def test_the_tracker_follows_claim_and_tells_the_customer_who_joined(world: Any) -> None:
    service, agent, follower, pushed = world
    ticket = service.request("c1", channel="widget", language="zh", reason="asked")
    asyncio.run(follower.drain())
    assert slots(agent, "c1") == {"handoff_state": "waiting", "handoff_agent": None}
    service.claim(ticket.id, "ann")
    assert asyncio.run(follower.drain()) == 1
    assert slots(agent, "c1") == {"handoff_state": "assigned", "handoff_agent": "Ann Lee"}
    assert pushed == [("c1", "notice", "客服 Ann Lee 已接入，正在为您服务。")]
    assert service.pending_changes() == []


def test_a_handback_leaves_the_form_and_greets_back_once(world: Any) -> None:
    service, agent, follower, pushed = world
    store = agent.processor.store
    tracker = asyncio.run(store.get_or_create_tracker("c2"))
    tracker.update(ActiveLoop("order_form"))
    tracker.update(SlotSet("requested_slot", "order_number"))
    asyncio.run(store.save(tracker))
    ticket = service.request("c2", channel="widget", language="en", reason="asked")
    service.claim(ticket.id, "ann")
    service.hand_back(ticket.id, "ann", summary="refund sent")
    asyncio.run(follower.drain())
    tracker = asyncio.run(store.retrieve("c2"))
    assert tracker.active_loop_name is None and tracker.get_slot("requested_slot") is None
    assert agent.processor.answered == ["handoff_returned"]
    external = [e for e in tracker.events if isinstance(e, UserUttered)]
    assert len(external) == 1 and external[0].intent["name"] == "handoff_returned"
    assert tracker.get_slot("handoff_note")["text"] == "refund sent"
    assert ("c2", "assistant", "answer to handoff_returned") in pushed


def test_a_server_that_stops_before_marking_a_change_does_not_apply_it_twice(
        world: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    service, agent, follower, _pushed = world
    ticket = service.request("c3", channel="widget", language="en", reason="asked")
    service.claim(ticket.id, "ann")
    service.hand_back(ticket.id, "ann")
    original = service.mark_applied
    monkeypatch.setattr(service, "mark_applied", lambda change_id: (_ for _ in ()).throw(
        RuntimeError("killed")))
    with pytest.raises(RuntimeError):
        asyncio.run(follower.apply(agent, service.pending_changes()[-1]))
    assert agent.processor.answered == ["handoff_returned"]
    # the next server finds it pending, sees it applied in the tracker, marks it only
    monkeypatch.setattr(service, "mark_applied", original)
    asyncio.run(follower.drain())
    assert agent.processor.answered == ["handoff_returned"]
    assert service.pending_changes() == []


def test_a_conversation_catches_up_before_its_next_message(world: Any) -> None:
    service, agent, follower, _pushed = world
    ticket = service.request("c4", channel="widget", language="en", reason="asked")
    service.request("other", channel="widget", language="en", reason="asked")
    service.cancel("c4")
    asyncio.run(follower.catch_up("c4"))
    assert slots(agent, "c4") == {"handoff_state": None, "handoff_agent": None}
    assert [c.conversation for c in service.pending_changes()] == ["other"]
    assert ticket.id


def test_a_change_that_fails_holds_up_no_other_and_is_retried(
        world: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    service, agent, follower, _pushed = world
    service.request("bad", channel="widget", language="en", reason="asked")
    service.request("good", channel="widget", language="en", reason="asked")
    original = follower.apply

    async def apply(agent_: Any, change: Any) -> None:
        if change.conversation == "bad":
            raise RuntimeError("a broken tracker")
        await original(agent_, change)

    monkeypatch.setattr(follower, "apply", apply)
    assert asyncio.run(follower.drain()) == 1  # returns: no endless loop on "bad"
    assert slots(agent, "good")["handoff_state"] == "waiting"
    assert [c.conversation for c in service.pending_changes()] == ["bad"]
    monkeypatch.setattr(follower, "apply", original)
    assert asyncio.run(follower.drain()) == 1
    assert service.pending_changes() == []


def test_a_customer_nobody_took_is_told_once_and_stays_waiting(world: Any) -> None:
    service, agent, follower, pushed = world
    service.wait_timeout = 0
    service.request("c6", channel="widget", language="zh", reason="asked")
    assert [h.conversation for h in service.overdue()] == ["c6"]
    assert service.overdue() == []  # once
    asyncio.run(follower.drain())
    asyncio.run(follower.drain())
    told = [p for p in pushed if p[0] == "c6"]
    assert len(told) == 1 and told[0][1] == "notice" and "留言" in told[0][2]
    assert slots(agent, "c6")["handoff_state"] == "waiting"
