"""Who holds each conversation: one record, changed with the step that changes it, and
every change published once (SQLite and PostgreSQL, as in test_handoff)."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from handoff import (
    AGENT,
    ASSISTANT,
    PLATFORM,
    QUEUE,
    HandoffService,
    InvalidTransition,
)


def kinds(service: HandoffService, conversation: str) -> list[tuple[str, str, int]]:
    return [(c.kind, c.holder, c.version) for c in service.changes(conversation)]


def test_a_conversation_nobody_took_is_the_assistants(service: HandoffService) -> None:
    holding = service.holding("c0")
    assert (holding.holder, holding.version, holding.with_person) == (ASSISTANT, 0, False)
    assert service.pending_changes() == []


def test_each_step_moves_the_holder_and_publishes_it_once(service: HandoffService) -> None:
    ticket = service.request("c1", channel="widget", language="zh", reason="asked")
    assert service.holding("c1").holder == QUEUE
    assert service.holding("c1").handoff_id == ticket.id
    service.claim(ticket.id, "alice")
    held = service.holding("c1")
    assert (held.holder, held.agent, held.with_person) == (AGENT, "alice", True)
    service.transfer(ticket.id, by="alice", to="sue")
    assert service.holding("c1").agent == "sue"
    service.hand_back(ticket.id, "sue", summary="refund explained")
    back = service.holding("c1")
    assert (back.holder, back.agent, back.handoff_id) == (ASSISTANT, None, None)
    assert kinds(service, "c1") == [("requested", QUEUE, 1), ("claimed", AGENT, 2),
                                    ("transferred", AGENT, 3), ("handed_back", ASSISTANT, 4)]
    changes = service.changes("c1")
    assert changes[1].detail == {"agent_name": "Alice"}
    assert changes[3].detail["summary"] == "refund explained"
    assert changes[3].detail["agent_name"] == "Sue"
    assert all(c.language == "zh" and c.channel == "widget" for c in changes)
    # published once: the first follower to apply a change wins, later ones are told
    pending = service.pending_changes()
    assert [c.id for c in pending] == [c.id for c in changes]
    assert service.mark_applied(pending[0].id) is True
    assert service.mark_applied(pending[0].id) is False
    assert [c.id for c in service.pending_changes(conversation="c1")] == \
        [c.id for c in changes[1:]]


def test_never_mind_and_a_refused_step_leave_the_record_as_the_queue_says(
        service: HandoffService) -> None:
    ticket = service.request("c2", channel="rest", language="en", reason="asked")
    service.cancel("c2")
    assert service.holding("c2").holder == ASSISTANT
    with pytest.raises(InvalidTransition):
        service.claim(ticket.id, "alice")  # too late: nothing changes, nothing published
    assert kinds(service, "c2") == [("requested", QUEUE, 1), ("cancelled", ASSISTANT, 2)]


def test_a_step_that_fails_publishes_nothing(service: HandoffService,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    ticket = service.request("c3", channel="rest", language="en", reason="asked")
    service.claim(ticket.id, "alice")

    def broken(*args, **kwargs):
        raise RuntimeError("the process dies in the middle of the step")

    monkeypatch.setattr(service, "_event", broken)
    with pytest.raises(RuntimeError):
        service.hand_back(ticket.id, "alice")
    # the handoff, the holder and the feed were rolled back together
    assert service.get(ticket.id).state == "assigned"
    assert service.holding("c3").holder == AGENT
    assert [c.kind for c in service.changes("c3")] == ["requested", "claimed"]


def test_automatic_assignment_moves_the_holder(service: HandoffService) -> None:
    service.set_online("bob", True)
    service.request("c4", channel="widget", language="en", reason="asked")
    assigned = service.assign_waiting()
    assert [h.conversation for h in assigned] == ["c4"]
    assert service.holding("c4").agent == "bob"
    assert service.changes("c4")[-1].kind == "assigned"


def test_the_platforms_inbox_holds_and_returns_a_conversation(
        service: HandoffService) -> None:
    ticket = service.request("psid-1", channel="messenger", language="en", reason="asked")
    held = service.to_platform("psid-1", "page_inbox", channel="messenger")
    assert (held.holder, held.platform) == (PLATFORM, "page_inbox")
    assert service.get(ticket.id).state == "cancelled"  # the shop's queue forgets it
    # the record survives the process: a new service on the same database reads it
    again = HandoffService(engine=service._engine)
    assert again.holding("psid-1").holder == PLATFORM
    assert again.from_platform("psid-1", "page_inbox").holder == ASSISTANT
    # handing back what the platform does not hold changes nothing
    assert again.from_platform("psid-1", "page_inbox").version == held.version + 1
    assert kinds(service, "psid-1")[-2:] == [("to_platform", PLATFORM, 2),
                                             ("from_platform", ASSISTANT, 3)]


def test_racing_claims_publish_one_change(service: HandoffService) -> None:
    ticket = service.request("c5", channel="widget", language="en", reason="asked")
    results: list[str] = []
    barrier = threading.Barrier(2)

    def claim(agent: str) -> None:
        barrier.wait()
        try:
            service.claim(ticket.id, agent)
            results.append(agent)
        except (InvalidTransition, sa.exc.OperationalError):
            results.append("refused")

    threads = [threading.Thread(target=claim, args=(a,)) for a in ("alice", "sue")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results).count("refused") == 1
    assert [c.kind for c in service.changes("c5")] == ["requested", "claimed"]
    assert service.holding("c5").agent == next(r for r in results if r != "refused")


def test_a_channel_reads_the_holder_and_what_is_pending_in_one_go(
        service: HandoffService) -> None:
    assert service.state_of("never") == (service.holding("never"), [])
    ticket = service.request("c7", channel="rest", language="en", reason="asked")
    service.claim(ticket.id, "alice")
    holding, pending = service.state_of("c7")
    assert (holding.holder, holding.agent) == (AGENT, "alice")
    assert [c.kind for c in pending] == ["requested", "claimed"]
    service.mark_applied(pending[0].id)
    assert [c.kind for c in service.state_of("c7")[1]] == ["claimed"]
