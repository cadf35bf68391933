"""What the handoff record writes down, read back field by field (SQLite and PostgreSQL):
the audit trail a supervisor reads, the changes the Rasa server follows, and what a
customer whose conversation a person holds is told. Mutation testing showed these
fields could be wrong while every flow test still passed."""

from __future__ import annotations

from handoff import HandoffService
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
