"""The desk's scheduler and live feed, on a real queue (SQLite) with a recording bot client."""

from __future__ import annotations

import asyncio
from typing import Any

from desk.accounts import User
from desk.live import Hub, Scheduler
from handoff import HandoffService


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


class Bot:
    """Records what the desk sends to the Rasa server."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []
        self.events: list[tuple[str, str, dict[str, Any]]] = []
        self.wakes = 0

    async def send(self, channel: str, conversation: str, message: dict[str, Any], *,
                   role: str = "agent") -> int:
        self.sent.append((conversation, role, message["text"]))
        return len(self.sent)

    async def event(self, conversation: str, kind: str, detail: dict[str, Any], *,
                    channel: str = "") -> None:
        self.events.append((conversation, kind, detail))

    async def wake(self) -> bool:
        self.wakes += 1
        return True


def setup(tmp_path, **options: Any) -> tuple[HandoffService, Bot, Scheduler, Clock]:  # type: ignore[no-untyped-def]
    clock = Clock()
    service = HandoffService(url=f"sqlite:///{tmp_path / 'h.db'}", clock=clock,
                             wait_timeout=300)
    service.create_schema()
    bot = Bot()
    scheduler = Scheduler(service, bot, Hub(service), auto_assign=options.get("auto", False),
                          update_seconds=0)  # type: ignore[arg-type]
    return service, bot, scheduler, clock


def test_a_customer_nobody_takes_is_published_once_for_the_assistant_to_tell(tmp_path) -> None:  # type: ignore[no-untyped-def]
    service, bot, scheduler, clock = setup(tmp_path)
    service.request("c1", channel="widget", language="zh", reason="asked")
    asyncio.run(scheduler.tick())
    assert bot.wakes == 0
    clock.now += 301
    asyncio.run(scheduler.tick())
    asyncio.run(scheduler.tick())
    # one change in the record (it stays in the queue), whatever the desk does next
    late = [c for c in service.changes("c1") if c.kind == "timed_out"]
    assert len(late) == 1 and late[0].holder == "queue" and late[0].language == "zh"
    assert service.holding("c1").holder == "queue"
    assert bot.wakes == 1 and bot.sent == []


def test_waiting_customers_hear_when_their_place_improves(tmp_path) -> None:  # type: ignore[no-untyped-def]
    service, bot, scheduler, _clock = setup(tmp_path)
    service.upsert_agent("ann", name="Ann", capacity=1)
    service.set_online("ann", True)
    first = service.request("c1", channel="widget", language="en", reason="asked")
    service.request("c2", channel="rest", language="en", reason="upset")
    asyncio.run(scheduler.tick())  # places as the customers were told them
    assert bot.sent == []
    service.claim(first.id, "ann")
    asyncio.run(scheduler.tick())
    assert bot.sent == [("c2", "notice", bot.sent[0][2])]
    assert "number 1 in the queue" in bot.sent[0][2]


def test_automatic_assignment_changes_the_record_and_wakes_the_assistants_server(tmp_path) -> None:  # type: ignore[no-untyped-def]
    service, bot, scheduler, _clock = setup(tmp_path, auto=True)
    service.upsert_agent("ann", name="Ann", capacity=1)
    service.set_online("ann", True)
    service.request("c1", channel="widget", language="en", reason="asked")
    service.request("c2", channel="widget", language="en", reason="asked")
    asyncio.run(scheduler.tick())
    # the record says who holds c1, published for the Rasa server (which tells the
    # customer who joined); the desk tells nobody itself
    assert service.holding("c1").agent == "ann"
    assert [c.kind for c in service.pending_changes(conversation="c1")][-1] == "assigned"
    assert bot.wakes == 1 and bot.events == [] and bot.sent == []
    assert service.open_for("c2").state == "waiting"  # type: ignore[union-attr]
    asyncio.run(scheduler.tick())
    assert bot.wakes == 1  # nothing new: no wake


def test_the_feed_reaches_only_those_allowed_to_see(tmp_path) -> None:  # type: ignore[no-untyped-def]
    service, _bot, _scheduler, _clock = setup(tmp_path)
    for agent_id in ("ann", "bob"):
        service.upsert_agent(agent_id, name=agent_id, capacity=2)
    service.upsert_agent("boss", name="boss", role="supervisor", capacity=2)
    hub = Hub(service, poll_seconds=0.05)
    pages = {u: hub.subscribe(User(u, u, "supervisor" if u == "boss" else "agent"))
             for u in ("ann", "bob", "boss")}

    async def scenario() -> None:
        runner = asyncio.create_task(hub.run())
        await asyncio.sleep(0.1)
        ticket = service.request("c1", channel="widget", language="en", reason="asked")
        await asyncio.sleep(0.2)
        service.claim(ticket.id, "ann")
        service.customer_said(ticket.id, text="<script>hi</script>")
        hub.wake()
        await asyncio.sleep(0.2)
        runner.cancel()

    asyncio.run(scenario())

    def actions(user: str) -> list[str]:
        out = []
        while not pages[user].queue.empty():
            payload = pages[user].queue.get_nowait()
            out.append(payload.get("action", payload["type"]))
        return out

    assert actions("ann") == ["requested", "claimed", "queue", "customer_message"]
    # a waiting one; then held by someone else: only that the queue changed
    assert actions("bob") == ["requested", "queue"]
    assert actions("boss") == ["requested", "claimed", "queue", "customer_message"]


def test_a_restarted_or_second_desk_tells_nobody_twice(tmp_path) -> None:  # type: ignore[no-untyped-def]
    service, bot, scheduler, _clock = setup(tmp_path)
    service.upsert_agent("ann", name="Ann", capacity=1)
    service.set_online("ann", True)
    first = service.request("c1", channel="widget", language="zh", reason="asked")
    service.request("c2", channel="rest", language="zh", reason="asked")
    asyncio.run(scheduler.tick())
    service.claim(first.id, "ann")
    # the desk restarts (a new scheduler, nothing in memory) and a second desk runs too
    again = Scheduler(service, bot, Hub(service), auto_assign=False,  # type: ignore[arg-type]
                      update_seconds=0)
    other = Scheduler(service, bot, Hub(service), auto_assign=False,  # type: ignore[arg-type]
                      update_seconds=0)
    asyncio.run(again.tick())  # knows what c2 was told before the restart: tells once
    asyncio.run(other.tick())
    assert [(c, r) for c, r, _ in bot.sent] == [("c2", "notice")]
    assert "第 1 位" in bot.sent[0][2] and "分钟" in bot.sent[0][2]
