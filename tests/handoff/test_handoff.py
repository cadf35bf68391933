"""The handoff queue on SQLite and on PostgreSQL (the server every dev and CI machine
runs at 127.0.0.1:5432; those cases are skipped with a reason where none answers)."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from handoff import (
    ASSIGNED,
    CANCELLED,
    RESOLVED,
    WAITING,
    AtCapacity,
    BusinessHours,
    HandoffNotFound,
    HandoffService,
    InvalidHours,
    InvalidTransition,
    NotAllowed,
    UnknownAgent,
    summary_counts,
)
from tests.databases import database_url

# Wednesday 2026-12-02 10:00 in Shanghai
WED_10 = dt.datetime(2026, 12, 2, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


class Clock:
    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path) -> Iterator[str]:
    with database_url(request.param, tmp_path, prefix="handoff") as found:
        yield found


@pytest.fixture()
def clock() -> Clock:
    return Clock(WED_10.timestamp())


@pytest.fixture()
def service(url: str, clock: Clock) -> Iterator[HandoffService]:
    engine = sa.create_engine(url, future=True)
    service = HandoffService(engine=engine, clock=clock, wait_timeout=300, default_wait=60)
    service.create_schema()
    service.upsert_agent("alice", name="Alice", capacity=2)
    service.upsert_agent("bob", name="Bob", capacity=1)
    service.upsert_agent("sue", name="Sue", role="supervisor", capacity=5)
    yield service
    engine.dispose()


def test_a_request_waits_then_an_agent_takes_it_and_hands_it_back(service, clock) -> None:
    service.set_online("alice", True)
    ticket = service.request("c1", channel="widget", language="zh", reason="asked")
    assert ticket.state == WAITING and not ticket.outside_hours
    # asking again while waiting is the same request, not a second place in the queue
    assert service.request("c1", channel="widget", language="zh", reason="asked").id == ticket.id
    status = service.status(ticket.id)
    assert status.position == 1 and status.agents_online == 1
    assert status.expected_wait_seconds == pytest.approx(60)  # no history: the default
    clock.now += 30
    held = service.claim(ticket.id, "alice")
    assert held.state == ASSIGNED and held.agent == "alice"
    assert service.open_for("c1").id == ticket.id
    clock.now += 12
    service.replied(ticket.id, "alice")
    clock.now += 20
    service.replied(ticket.id, "alice")
    assert service.get(ticket.id).first_reply_at == WED_10.timestamp() + 42  # the first one
    done = service.hand_back(ticket.id, "alice", summary="  explained the return window ")
    assert done.state == RESOLVED and done.summary == "explained the return window"
    assert service.open_for("c1") is None
    assert service.rate(ticket.id, 5).csat == 5
    with pytest.raises(InvalidTransition):
        service.rate(ticket.id, 4)  # once
    actions = [(e.actor, e.action) for e in service.events(ticket.id)]
    assert actions == [("customer", "requested"), ("alice", "claimed"), ("alice", "replied"),
                       ("alice", "replied"), ("alice", "handed_back"), ("customer", "rated")]


def test_the_queue_is_first_come_first_served_with_an_expected_wait(service, clock) -> None:
    service.set_online("alice", True)
    first = service.request("c1", channel="widget", language="en", reason="asked")
    clock.now += 90
    service.claim(first.id, "alice")
    service.hand_back(first.id, "alice")
    tickets = [service.request(f"c{i}", channel="rest", language="en", reason="fallbacks")
               for i in range(2, 5)]
    assert [t.id for t in service.queue()] == [t.id for t in tickets]
    third = service.status(tickets[2].id)
    assert third.position == 3
    assert third.expected_wait_seconds == pytest.approx(3 * 90)  # the median wait so far
    service.set_online("bob", True)
    assert service.status(tickets[2].id).expected_wait_seconds == pytest.approx(3 * 90 / 2)


def test_two_agents_racing_for_one_conversation_one_wins(service) -> None:
    for agent in ("alice", "bob"):
        service.set_online(agent, True)
    ticket = service.request("c1", channel="widget", language="en", reason="asked")
    results: list[str] = []

    def take(agent: str) -> None:
        try:
            service.claim(ticket.id, agent)
            results.append(agent)
        except InvalidTransition:
            results.append("refused")

    threads = [threading.Thread(target=take, args=(a,)) for a in ("alice", "bob")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) != ["alice", "bob"] and results.count("refused") == 1
    assert service.get(ticket.id).agent in ("alice", "bob")


def test_capacity_online_status_and_automatic_assignment(service) -> None:
    tickets = [service.request(f"c{i}", channel="widget", language="en", reason="asked")
               for i in range(4)]
    assert service.assign_waiting() == []  # nobody online
    service.set_online("alice", True)
    service.set_online("bob", True)
    assigned = service.assign_waiting()
    assert [h.id for h in assigned] == [t.id for t in tickets[:3]]  # alice 2 + bob 1
    held = {a.id: a.holding for a in service.agents()}
    assert held["alice"] == 2 and held["bob"] == 1
    assert [h.id for h in service.queue()] == [tickets[3].id]
    with pytest.raises(AtCapacity):
        service.claim(tickets[3].id, "bob")
    with pytest.raises(UnknownAgent):
        service.claim(tickets[3].id, "mallory")


def test_agents_see_the_queue_and_their_own_a_supervisor_sees_all(service) -> None:
    service.set_online("alice", True)
    mine = service.request("c1", channel="widget", language="en", reason="asked")
    theirs = service.request("c2", channel="widget", language="en", reason="asked")
    waiting = service.request("c3", channel="widget", language="en", reason="asked")
    service.claim(mine.id, "alice")
    service.claim(theirs.id, "bob")
    assert {h.id for h in service.visible_to("alice")} == {mine.id, waiting.id}
    assert {h.id for h in service.visible_to("sue")} == {mine.id, theirs.id, waiting.id}
    assert service.may_view(mine.id, "alice") and not service.may_view(theirs.id, "alice")
    with pytest.raises(NotAllowed):
        service.replied(theirs.id, "alice")
    with pytest.raises(NotAllowed):
        service.hand_back(theirs.id, "alice")
    with pytest.raises(NotAllowed):
        service.noted(theirs.id, "alice")
    # a supervisor may step in, and transfer
    moved = service.transfer(theirs.id, by="sue", to="alice")
    assert moved.agent == "alice"
    assert service.events(theirs.id)[-1].detail == {"to": "alice", "previous": "bob"}
    with pytest.raises(InvalidTransition):
        service.transfer(waiting.id, by="alice", to="bob")  # waiting: nobody holds it
    assert service.transfer(mine.id, by="alice", to="bob").agent == "bob"
    with pytest.raises(AtCapacity):
        service.transfer(theirs.id, by="alice", to="bob")  # bob holds one of one
    assert service.get(waiting.id).state == WAITING


def test_never_mind_while_waiting_and_not_after_an_agent_took_it(service) -> None:
    waiting = service.request("c1", channel="widget", language="zh", reason="upset")
    assert service.cancel("c1").state == CANCELLED
    with pytest.raises(HandoffNotFound):
        service.cancel("c1")
    held = service.request("c2", channel="widget", language="zh", reason="asked")
    service.claim(held.id, "alice")
    with pytest.raises(InvalidTransition) as refused:
        service.cancel("c2")
    assert refused.value.state == ASSIGNED
    assert waiting.id != held.id


def test_a_customer_nobody_took_in_time_is_found_once(service, clock) -> None:
    service.set_online("alice", True)
    late = service.request("c1", channel="widget", language="en", reason="asked")
    clock.now += 200
    fresh = service.request("c2", channel="widget", language="en", reason="asked")
    clock.now += 120
    assert [h.id for h in service.overdue()] == [late.id]
    assert service.overdue() == []  # told once
    clock.now += 300
    assert [h.id for h in service.overdue()] == [fresh.id]


def test_outside_business_hours_it_is_a_ticket_with_the_time_the_team_is_back(url, clock) -> None:
    hours = BusinessHours.parse({"mon-fri": "09:00-18:00", "sat": "10:00-14:00"},
                                timezone="Asia/Shanghai")
    clock.now = dt.datetime(2026, 12, 2, 20, 30, tzinfo=WED_10.tzinfo).timestamp()  # Wed 20:30
    engine = sa.create_engine(url, future=True)
    service = HandoffService(engine=engine, clock=clock, hours=hours)
    service.create_schema()
    service.upsert_agent("alice", name="Alice")
    service.set_online("alice", True)
    ticket = service.request("c1", channel="wechat", language="zh", reason="asked")
    assert ticket.outside_hours
    status = service.status(ticket.id)
    assert not status.open_now and status.expected_wait_seconds is None
    assert status.next_opening == dt.datetime(2026, 12, 3, 9, 0, tzinfo=hours_zone())
    engine.dispose()


def hours_zone():
    from zoneinfo import ZoneInfo

    return ZoneInfo("Asia/Shanghai")


def test_nobody_online_makes_a_ticket_too(service) -> None:
    ticket = service.request("c1", channel="rest", language="en", reason="asked")
    assert ticket.outside_hours and service.status(ticket.id).expected_wait_seconds is None


def test_business_hours_across_midnight_and_the_weekend() -> None:
    zone = hours_zone()
    hours = BusinessHours.parse({"fri": "20:00-02:00", "sat-sun": "closed"},
                                timezone="Asia/Shanghai")
    at = lambda d, h, m=0: dt.datetime(2026, 12, d, h, m, tzinfo=zone)  # noqa: E731
    assert hours.is_open(at(4, 23)) and hours.is_open(at(5, 1, 59))  # Fri night into Sat
    assert not hours.is_open(at(5, 2)) and not hours.is_open(at(6, 12))
    assert hours.next_opening(at(5, 3)) == at(11, 20)  # next Friday
    assert hours.next_opening(at(4, 21)) == at(4, 21)  # open now
    assert BusinessHours.parse({}, timezone="UTC").next_opening(at(4, 1)) is None
    for bad in ({"mon": "9-18"}, {"someday": "09:00-18:00"}, {"mon": "25:00-26:00"}):
        with pytest.raises(InvalidHours):
            BusinessHours.parse(bad)
    with pytest.raises(InvalidHours):
        BusinessHours.parse({"mon": "09:00-18:00"}, timezone="Mars/Olympus")


def test_reports_count_handoffs_by_reason_and_language(service) -> None:
    service.request("c1", channel="widget", language="en", reason="asked")
    service.request("c2", channel="widget", language="zh", reason="asked")
    service.request("c3", channel="widget", language="zh", reason="upset")
    assert summary_counts(service.history()) == {"asked": {"en": 1, "zh": 1},
                                                 "upset": {"zh": 1}}


def test_bad_scores_and_unknown_handoffs_are_refused(service) -> None:
    with pytest.raises(HandoffNotFound):
        service.get(999)
    for score in (0, 6, True, "5"):
        with pytest.raises(ValueError):
            service.rate(1, score)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        service.upsert_agent("x", name="X", role="admin")
