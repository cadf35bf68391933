"""What the handoff record writes down, read back field by field (SQLite and PostgreSQL):
the audit trail a supervisor reads, the changes the Rasa server follows, and what a
customer whose conversation a person holds is told. Mutation testing showed these
fields could be wrong while every flow test still passed."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from handoff import (
    CANCELLED,
    RESOLVED,
    WAITING,
    AtCapacity,
    HandoffNotFound,
    HandoffService,
    InvalidTransition,
    NotAllowed,
    UnknownAgent,
)
from handoff.models import AGENT, ASSISTANT, PLATFORM, QUEUE


def test_a_request_is_written_down_as_it_came(service: HandoffService) -> None:
    service.set_online("bob", True)  # someone is there: not outside hours
    ticket = service.request("conv-r", channel="messenger" + "x" * 40, language="zh-Hans-CN",
                             reason="asked_for_person" + "y" * 40)
    assert (ticket.channel, ticket.language, ticket.reason) == (
        ("messenger" + "x" * 40)[:32], "zh-Hans-", ("asked_for_person" + "y" * 40)[:32])
    (event,) = service.events(ticket.id)
    assert (event.actor, event.action) == ("customer", "requested")
    assert event.detail == {"reason": "asked_for_person" + "y" * 40,
                            "channel": "messenger" + "x" * 40, "language": "zh-Hans-CN",
                            "outside_hours": False}
    (change,) = service.changes("conv-r")
    assert (change.kind, change.holder, change.previous, change.version) == (
        "requested", QUEUE, ASSISTANT, 1)
    assert (change.handoff_id, change.agent, change.actor) == (ticket.id, None, "customer")
    assert (change.channel, change.language) == (ticket.channel, ticket.language)
    assert change.detail == {"reason": "asked_for_person" + "y" * 40, "outside_hours": False}
    assert change.applied_at is None
    holding = service.holding("conv-r")
    assert (holding.holder, holding.handoff_id, holding.agent, holding.platform) == (
        QUEUE, ticket.id, None, None)
    # asked again while it waits: the same ticket, nothing new written
    assert service.request("conv-r", channel="messenger", language="zh",
                           reason="again").id == ticket.id
    assert len(service.changes("conv-r")) == 1 and len(service.events(ticket.id)) == 1


def test_claim_and_hand_back_carry_who_and_for_whom(service: HandoffService) -> None:
    ticket = service.request("conv-c", channel="wechat", language="zh", reason="asked")
    service.set_online("alice", True)
    waiting = service.status(ticket.id)
    assert (waiting.position, waiting.agents_online, waiting.open_now,
            waiting.next_opening) == (1, 1, True, None)
    service.claim(ticket.id, "alice")
    held = service.status(ticket.id)
    assert (held.position, held.expected_wait_seconds, held.agents_online, held.open_now,
            held.next_opening) == (0, 0.0, 1, True, None)
    claimed = service.changes("conv-c")[-1]
    assert (claimed.kind, claimed.holder, claimed.previous, claimed.agent, claimed.actor,
            claimed.handoff_id) == ("claimed", AGENT, QUEUE, "alice", "alice", ticket.id)
    assert claimed.detail == {"agent_name": "Alice"}
    assert (claimed.channel, claimed.language) == ("wechat", "zh")  # kept from before
    holding = service.holding("conv-c")
    assert (holding.holder, holding.agent, holding.handoff_id) == (AGENT, "alice", ticket.id)
    service.hand_back(ticket.id, "alice", summary="  sized up  ")
    back = service.changes("conv-c")[-1]
    assert (back.kind, back.holder, back.previous, back.agent, back.handoff_id) == (
        "handed_back", ASSISTANT, AGENT, "alice", ticket.id)
    assert back.detail == {"agent_name": "Alice", "by_name": "Alice", "summary": "sized up"}
    holding = service.holding("conv-c")
    assert (holding.holder, holding.agent, holding.handoff_id) == (ASSISTANT, None, None)
    done = service.status(ticket.id)
    assert (done.position, done.expected_wait_seconds) == (0, None)
    assert [e.action for e in service.events(ticket.id)] == ["requested", "claimed",
                                                             "handed_back"]
    assert service.events(ticket.id)[-1].detail == {"summary": True}


def test_a_platform_s_inbox_holds_it_by_name(service: HandoffService) -> None:
    held = service.to_platform("psid-9", "page_inbox", channel="messenger")
    assert (held.holder, held.platform, held.handoff_id, held.agent) == (
        PLATFORM, "page_inbox", None, None)
    change = service.changes("psid-9")[-1]
    assert (change.kind, change.holder, change.channel, change.handoff_id) == (
        "to_platform", PLATFORM, "messenger", None)
    back = service.from_platform("psid-9", "page_inbox")
    assert (back.holder, back.platform) == (ASSISTANT, None)
    assert service.changes("psid-9")[-1].channel == "messenger"  # remembered


def test_the_live_feed_reads_every_event_after_a_cursor(service: HandoffService) -> None:
    """The desk's live feed (and a supervisor following a conversation) keeps the last
    event id it saw and asks for what came after it."""
    assert service.last_event_id() == 0 and service.events_after(0) == []
    ticket = service.request("conv-f", channel="widget", language="en", reason="asked")
    service.customer_said(ticket.id, text="m" * 5000, image="photo-1")
    service.customer_said(ticket.id, text="still there?")
    with pytest.raises(HandoffNotFound):
        service.customer_said(ticket.id + 99, text="lost")
    feed = service.events_after(0)
    assert [(e.actor, e.action) for e in feed] == [
        ("customer", "requested"), ("customer", "customer_message"),
        ("customer", "customer_message")]
    assert feed[1].detail == {"text": "m" * 4000, "image": "photo-1"}
    assert feed[2].detail == {"text": "still there?", "image": None}
    assert [e.id for e in feed] == sorted(e.id for e in feed)
    assert service.last_event_id() == feed[-1].id
    assert service.events_after(feed[0].id) == feed[1:]
    assert service.events_after(0, limit=2) == feed[:2]
    assert service.events_after(feed[-1].id) == []


def test_the_latest_handoff_of_a_conversation_whatever_its_state(
        service: HandoffService) -> None:
    assert service.latest_for("conv-l") is None
    first = service.request("conv-l", channel="widget", language="en", reason="asked")
    service.cancel("conv-l")
    latest = service.latest_for("conv-l")
    assert latest is not None and (latest.id, latest.state) == (first.id, CANCELLED)
    assert service.open_for("conv-l") is None
    second = service.request("conv-l", channel="widget", language="en", reason="asked")
    latest = service.latest_for("conv-l")
    assert latest is not None and (latest.id, latest.state) == (second.id, WAITING)
    assert service.latest_for("conv-other") is None


def test_a_place_in_the_queue_is_told_once_by_one_process(service: HandoffService,
                                                          clock: Any) -> None:
    """Two desk processes both see the customer move up: only the one whose record of
    what was told is still current tells it."""
    ticket = service.request("conv-t", channel="widget", language="zh", reason="asked")
    assert service.now() == clock.now
    assert service.told(ticket.id) is None
    assert service.tell_place(ticket.id, 3) is True
    assert service.tell_place(ticket.id, 3) is False  # told already: not again
    first = service.told(ticket.id)
    assert first == (3, clock.now)
    clock.now += 30
    assert service.tell_place(ticket.id, 2, only_if_before=first) is True
    assert service.told(ticket.id) == (2, clock.now)
    clock.now += 30
    # the other process read the first record: too late, nothing changes
    assert service.tell_place(ticket.id, 1, only_if_before=first) is False
    assert service.tell_place(ticket.id, 1, only_if_before=(2, clock.now)) is False
    assert service.told(ticket.id) == (2, clock.now - 30)
    other = service.request("conv-t2", channel="widget", language="zh", reason="asked")
    assert service.told(other.id) is None  # each customer's own


def test_an_agent_is_created_changed_and_read_back(service: HandoffService) -> None:
    ann = service.upsert_agent("ann", name="Ann Lee", role="supervisor", capacity=1)
    assert (ann.id, ann.name, ann.role, ann.capacity, ann.online, ann.holding) == (
        "ann", "Ann Lee", "supervisor", 1, False, 0)
    changed = service.upsert_agent("ann", name="Ann Li", role="agent", capacity=4)
    assert (changed.name, changed.role, changed.capacity) == ("Ann Li", "agent", 4)
    assert [a.id for a in service.agents()].count("ann") == 1
    service.set_online("ann", True)
    ticket = service.request("conv-a", channel="widget", language="en", reason="asked")
    service.claim(ticket.id, "ann")
    read = service.agent("ann")
    assert (read.online, read.holding, read.free) == (True, 1, 3)
    assert service.agent("alice").holding == 0  # another agent's count is their own
    with pytest.raises(ValueError, match=r"^role must be one of \('agent', 'supervisor'\)$"):
        service.upsert_agent("ann", name="Ann", role="admin")
    with pytest.raises(ValueError, match="^capacity must be at least 1$"):
        service.upsert_agent("ann", name="Ann", capacity=0)
    with pytest.raises(UnknownAgent, match="^no agent 'nobody'$"):
        service.agent("nobody")
    with pytest.raises(UnknownAgent):
        service.set_online("nobody", True)


def test_a_schema_another_process_is_creating_is_looked_at_again(
        service: HandoffService, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Rasa server, the action server and the desk create the tables when they
    start; the slower of two finds a table there ("already exists") and looks again."""
    from handoff import service as module

    calls: list[int] = []
    create_all = module.metadata.create_all

    def racing(failures: int, message: str) -> Any:
        def create(engine: Any) -> None:
            calls.append(1)
            if len(calls) <= failures:
                raise sa.exc.ProgrammingError("CREATE TABLE", {}, Exception(message))
            create_all(engine)
        return create

    monkeypatch.setattr(module.metadata, "create_all", racing(2, 'relation "handoffs" '
                                                                 "already exists"))
    service.create_schema()
    assert len(calls) == 3
    calls.clear()
    monkeypatch.setattr(module.metadata, "create_all", racing(1, "duplicate key value"))
    service.create_schema()
    assert len(calls) == 2
    calls.clear()
    monkeypatch.setattr(module.metadata, "create_all", racing(9, "already exists"))
    with pytest.raises(sa.exc.ProgrammingError):  # five looks, then the error
        service.create_schema()
    assert len(calls) == 5
    calls.clear()
    monkeypatch.setattr(module.metadata, "create_all", racing(9, "permission denied"))
    with pytest.raises(sa.exc.ProgrammingError):  # not a race: at once
        service.create_schema()
    assert len(calls) == 1


# --- every transition, read back: who, what, when -----------------------------------------


def test_never_mind_and_the_platform_s_inbox_close_a_waiting_request(
        service: HandoffService, clock: Any) -> None:
    ticket = service.request("conv-n", channel="widget", language="en", reason="asked")
    assert ticket.requested_at == clock.now
    clock.now += 5
    cancelled = service.cancel("conv-n")
    assert (cancelled.state, cancelled.closed_at) == (CANCELLED, clock.now)
    event = service.events(ticket.id)[-1]
    assert (event.handoff_id, event.at, event.actor, event.action, event.detail) == (
        ticket.id, clock.now, "customer", "cancelled", {})
    change = service.changes("conv-n")[-1]
    assert (change.conversation, change.kind, change.holder, change.handoff_id, change.actor,
            change.at) == ("conv-n", "cancelled", ASSISTANT, ticket.id, "customer", clock.now)
    with pytest.raises(HandoffNotFound, match="^no open handoff for 'conv-n'$"):
        service.cancel("conv-n")
    # an actor is kept to the column's 128 characters (PostgreSQL refuses more)
    service.request("conv-n2", channel="widget", language="en", reason="asked")
    service.cancel("conv-n2", actor="a" * 200)
    assert service.changes("conv-n2")[-1].actor == "a" * 128
    assert service.events_after(0)[-1].actor == "a" * 128
    # the platform's inbox takes a waiting one: cancelled by the platform, in one step
    waiting = service.request("conv-p", channel="messenger", language="zh", reason="asked")
    clock.now += 5
    held = service.to_platform("conv-p", "page_inbox", channel="m" * 40)
    closed = service.latest_for("conv-p")
    assert closed is not None and (closed.state, closed.closed_at) == (CANCELLED, clock.now)
    event = service.events(waiting.id)[-1]
    assert (event.actor, event.action, event.detail) == ("page_inbox", "cancelled",
                                                         {"to": "page_inbox"})
    assert (held.conversation, held.channel, held.language, held.updated_at) == (
        "conv-p", "m" * 32, "zh", clock.now)


def test_a_platform_s_inbox_keeps_the_customer_s_language(service: HandoffService,
                                                          clock: Any) -> None:
    held = service.to_platform("conv-q", "wechat_kf", channel="wechat",
                               language="zh-Hans-CN-x")
    assert (held.channel, held.language) == ("wechat", "zh-Hans-")
    change = service.changes("conv-q")[-1]
    assert (change.language, change.channel, change.detail) == ("zh-Hans-", "wechat", {})
    clock.now += 60
    service.from_platform("conv-q", "wechat_kf")
    back = service.changes("conv-q")[-1]
    assert (back.language, back.channel, back.at) == ("zh-Hans-", "wechat", clock.now)
    assert service.holding("conv-q").updated_at == clock.now
    # a change a follower applied says when
    assert service.mark_applied(back.id)
    assert service.changes("conv-q")[-1].applied_at == clock.now


def _resolved(service: HandoffService, conversation: str) -> int:
    ticket = service.request(conversation, channel="widget", language="en", reason="asked")
    service.claim(ticket.id, "sue")
    service.hand_back(ticket.id, "sue")
    return ticket.id


def test_a_rating_is_the_customer_s_own_and_said_once(service: HandoffService) -> None:
    first, second = _resolved(service, "conv-r1"), _resolved(service, "conv-r2")
    assert service.rate(first, 1).csat == 1
    assert service.get(second).csat is None  # rating one rates no other
    assert service.rate(second, 5).csat == 5
    event = service.events(first)[-1]
    assert (event.actor, event.action, event.detail) == ("customer", "rated", {"score": 1})
    for score in (0, 6, True, 2.5):
        with pytest.raises(ValueError, match="^a CSAT score is an integer from 1 to 5$"):
            service.rate(first, score)  # type: ignore[arg-type]
    waiting = service.request("conv-r3", channel="widget", language="en", reason="asked")
    with pytest.raises(InvalidTransition,
                       match=f"^handoff {waiting.id} can't be rated now$") as early:
        service.rate(waiting.id, 3)
    assert early.value.state == WAITING


def test_automatic_assignment_is_recorded_and_shared_fairly(service: HandoffService,
                                                            clock: Any) -> None:
    """Between agents with as much room, the one who got a conversation longest ago gets
    the next one."""
    for agent in ("ann", "ben"):
        service.upsert_agent(agent, name=agent.title(), capacity=1)
        service.set_online(agent, True)
    first = service.request("conv-a1", channel="widget", language="en", reason="asked")
    (assigned,) = service.assign_waiting()
    assert (assigned.agent, assigned.assigned_at) == ("ann", clock.now)  # a tie: by id
    assert service.get(first.id).assigned_at == clock.now
    event = service.events(first.id)[-1]
    assert (event.actor, event.action, event.detail) == ("system", "assigned",
                                                         {"agent": "ann"})
    change = service.changes("conv-a1")[-1]
    assert (change.kind, change.holder, change.actor, change.agent, change.handoff_id,
            change.detail) == ("assigned", AGENT, "system", "ann", first.id,
                               {"agent_name": "Ann"})
    service.hand_back(first.id, "ann")
    clock.now += 60
    service.request("conv-a2", channel="widget", language="en", reason="asked")
    (second,) = service.assign_waiting()
    assert second.agent == "ben"  # ann had one a minute ago, ben never


def test_transfers_replies_notes_and_hand_backs_are_recorded(service: HandoffService,
                                                             clock: Any) -> None:
    service.set_online("alice", True)
    mine = service.request("conv-t1", channel="widget", language="en", reason="asked")
    other = service.request("conv-t2", channel="widget", language="en", reason="asked")
    service.claim(mine.id, "alice")
    service.claim(other.id, "alice")
    assert service.may_view(other.id, "sue") and not service.may_view(other.id, "bob")
    clock.now += 10
    service.replied(mine.id, "alice", text="x" * 5000)
    assert service.get(other.id).first_reply_at is None  # the other customer got nothing
    first = service.get(mine.id).first_reply_at
    assert first == clock.now
    clock.now += 10
    service.replied(mine.id, "alice")
    assert service.get(mine.id).first_reply_at == first  # the first reply's time is kept
    replies = [e.detail for e in service.events(mine.id) if e.action == "replied"]
    assert replies == [{"kind": "text", "text": "x" * 4000}, {"kind": "text", "text": ""}]
    service.noted(mine.id, "alice", "n" * 5000)
    service.noted(mine.id, "alice")
    notes = [(e.actor, e.detail) for e in service.events(mine.id) if e.action == "noted"]
    assert notes == [("alice", {"text": "n" * 4000}), ("alice", {"text": ""})]
    with pytest.raises(NotAllowed, match=f"^handoff {mine.id} is held by another agent$"):
        service.noted(mine.id, "bob")
    with pytest.raises(NotAllowed, match=f"^handoff {mine.id} is held by another agent$"):
        service.replied(mine.id, "bob")
    # transferred to bob (capacity 1), then nobody else fits
    service.transfer(mine.id, by="alice", to="bob")
    event = service.events(mine.id)[-1]
    assert (event.actor, event.action, event.detail) == ("alice", "transferred",
                                                         {"to": "bob", "previous": "alice"})
    change = service.changes("conv-t1")[-1]
    assert (change.kind, change.agent, change.handoff_id, change.actor, change.detail) == (
        "transferred", "bob", mine.id, "alice",
        {"agent_name": "Bob", "from_agent": "alice"})
    with pytest.raises(AtCapacity, match="^bob holds 1 conversations already$"):
        service.transfer(other.id, by="alice", to="bob")
    # a supervisor hands back an agent's conversation: it was the agent's, handed back by Sue
    clock.now += 10
    done = service.hand_back(other.id, "sue")
    assert (done.closed_at, done.summary) == (clock.now, None)
    back = service.changes("conv-t2")[-1]
    assert (back.agent, back.actor, back.detail) == (
        "alice", "sue", {"agent_name": "Alice", "by_name": "Sue", "summary": None})
    with pytest.raises(InvalidTransition, match=f"^handoff {other.id} is resolved$") as late:
        service.replied(other.id, "alice")
    assert late.value.state == RESOLVED
    with pytest.raises(InvalidTransition,
                       match=f"^handoff {other.id} is resolved, not waiting$"):
        service.claim(other.id, "alice")
    with pytest.raises(HandoffNotFound, match="^no handoff 999999$"):
        service.get(999999)


def test_a_customer_nobody_took_is_told_by_one_timeout(service: HandoffService,
                                                       clock: Any) -> None:
    late = service.request("conv-o1", channel="widget", language="en", reason="asked")
    taken = service.request("conv-o2", channel="widget", language="en", reason="asked")
    service.claim(taken.id, "alice")
    clock.now += 300  # exactly the wait timeout
    (found,) = service.overdue()
    assert found.id == late.id  # the one an agent took is not late
    event = service.events(late.id)[-1]
    assert (event.actor, event.action) == ("system", "timed_out")
    change = service.changes("conv-o1")[-1]
    assert (change.kind, change.holder, change.actor, change.handoff_id) == (
        "timed_out", QUEUE, "system", late.id)


def test_the_defaults_a_shop_starts_with(tmp_path: Any) -> None:
    from handoff import service as module

    with pytest.raises(ValueError, match="^HandoffService needs a url or an engine$"):
        HandoffService()
    now = [1_800_000_000.0]
    plain = HandoffService(url=f"sqlite:///{tmp_path / 'h.db'}", clock=lambda: now[0])
    plain.create_schema()
    plain.upsert_agent("a", name="A")
    plain.set_online("a", True)
    ticket = plain.request("c", channel="widget", language="en", reason="asked")
    assert plain.status(ticket.id).expected_wait_seconds == 120.0  # two minutes a customer
    now[0] += 599
    assert plain.overdue() == []
    now[0] += 1
    assert [h.id for h in plain.overdue()] == [ticket.id]  # ten minutes
    assert [(a.id, a.name, a.role) for a in plain.agents()] == [("a", "A", "agent")]
    assert module.RECENT == 20


def test_agents_are_listed_by_id_with_their_names_and_roles(service: HandoffService) -> None:
    service.upsert_agent("aaron", name="Aaron", role="supervisor")
    assert [(a.id, a.name, a.role) for a in service.agents()] == [
        ("aaron", "Aaron", "supervisor"), ("alice", "Alice", "agent"), ("bob", "Bob", "agent"),
        ("sue", "Sue", "supervisor")]
    ticket = service.request("conv-c1", channel="widget", language="en", reason="asked")
    service.claim(ticket.id, "bob")
    again = service.request("conv-c2", channel="widget", language="en", reason="asked")
    with pytest.raises(AtCapacity, match="^bob holds 1 conversations already$"):
        service.claim(again.id, "bob")


def test_a_follower_reads_pending_changes_in_order_a_hundred_at_a_time(
        service: HandoffService) -> None:
    for n in range(101):
        service.request(f"conv-f{n:03d}", channel="widget", language="en", reason="asked")
    pending = service.pending_changes()
    assert len(pending) == 100
    assert [c.conversation for c in pending] == [f"conv-f{n:03d}" for n in range(100)]
    assert len(service.pending_changes(limit=101)) == 101
    service.cancel("conv-f000")
    holding, mine = service.state_of("conv-f000")
    assert [c.kind for c in mine] == ["requested", "cancelled"]  # its own, oldest first
    assert holding.holder == ASSISTANT


def test_what_an_agent_holds_is_what_is_assigned_to_them_now(service: HandoffService) -> None:
    """Capacity counts open conversations only: a handed-back one frees its place."""
    assert service.upsert_agent("kim", name="Kim").capacity == 3  # the default
    first = service.request("conv-h1", channel="widget", language="en", reason="asked")
    service.claim(first.id, "bob")  # bob holds one of one
    service.hand_back(first.id, "bob")
    second = service.request("conv-h2", channel="widget", language="en", reason="asked")
    assert service.claim(second.id, "bob").agent == "bob"


def test_places_told_are_each_handoff_s_own(service: HandoffService, clock: Any) -> None:
    tickets = [service.request(f"conv-pl{n}", channel="widget", language="en",
                               reason="asked") for n in range(3)]
    one, two = tickets[1].id, tickets[2].id  # not the first handoff: ids are not 1
    assert service.tell_place(one, 2) and service.tell_place(two, 2)  # the same place, time
    told = service.told(one)
    assert told == service.told(two) == (2, clock.now)
    clock.now += 5
    assert service.tell_place(one, 1, only_if_before=told)
    assert service.told(two) == (2, clock.now - 5)  # the other customer's record is theirs
    assert service.told(one) == (1, clock.now)
    # the place and the time must both be what was read
    assert not service.tell_place(two, 1, only_if_before=(5, clock.now - 5))


def test_reports_count_and_read_from_a_time_on(service: HandoffService, clock: Any) -> None:
    from handoff import summary_counts

    first = service.request("conv-s1", channel="widget", language="zh", reason="asked")
    clock.now += 10
    service.request("conv-s2", channel="widget", language="zh", reason="asked")
    service.request("conv-s3", channel="widget", language="en", reason="upset")
    assert summary_counts(service.history()) == {"asked": {"zh": 2}, "upset": {"en": 1}}
    assert [h.conversation for h in service.history(since=first.requested_at)] == [
        "conv-s1", "conv-s2", "conv-s3"]  # from that time on, that time included
    assert [h.conversation for h in service.history(since=clock.now)] == ["conv-s2",
                                                                         "conv-s3"]


def test_the_live_feed_reads_five_hundred_events_at_a_time(service: HandoffService) -> None:
    ticket = service.request("conv-e", channel="widget", language="en", reason="asked")
    for n in range(500):
        service.customer_said(ticket.id, text=str(n))
    assert len(service.events_after(0)) == 500
    assert len(service.events_after(0, limit=501)) == 501


def test_the_expected_wait_comes_from_the_twenty_latest_assignments(
        service: HandoffService, clock: Any) -> None:
    """A slow day long ago does not make today's customers wait longer."""
    service.upsert_agent("fast", name="Fast", capacity=50)
    service.set_online("fast", True)
    for wait, count in ((1000, 21), (10, 20)):  # 21 slow ones, then 20 quick ones
        for _ in range(count):
            ticket = service.request(f"conv-w{clock.now}", channel="widget", language="en",
                                     reason="asked")
            clock.now += wait
            service.claim(ticket.id, "fast")
            service.hand_back(ticket.id, "fast")
    waiting = service.request("conv-w-now", channel="widget", language="en", reason="asked")
    assert service.status(waiting.id).expected_wait_seconds == 10.0  # median of the 20


def test_a_closed_team_says_when_it_is_back_to_one_it_holds_too(url: str, clock: Any) -> None:
    import datetime as dt
    from zoneinfo import ZoneInfo

    from handoff import BusinessHours

    engine = sa.create_engine(url, future=True)
    hours = BusinessHours.parse({"mon": "09:00-18:00"}, timezone="Asia/Shanghai")
    service = HandoffService(engine=engine, clock=clock, hours=hours)  # Wednesday: closed
    service.create_schema()
    service.upsert_agent("ann", name="Ann")
    ticket = service.request("conv-closed", channel="widget", language="en", reason="asked")
    service.claim(ticket.id, "ann")
    status = service.status(ticket.id)
    assert (status.position, status.open_now) == (0, False)
    assert status.next_opening == dt.datetime(2026, 12, 7, 9, 0,
                                              tzinfo=ZoneInfo("Asia/Shanghai"))
    engine.dispose()
