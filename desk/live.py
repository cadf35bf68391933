"""The desk's live side: the feed every open desk page follows, and the scheduler.

:class:`Hub` reads the handoff queue's audit feed (``handoff_events``) after the
last id it saw: at once when the Rasa server wakes it (a customer wrote to a
person), and every second anyway (requests, claims and cancellations written by
the action server or another desk process). Each event goes to the open pages
(server-sent events) of the users allowed to see it: everyone for a waiting
conversation, the agent who holds it and the supervisors otherwise.

:class:`Scheduler` runs every two seconds: automatic assignment (when
``DESK_ASSIGNMENT=auto``), a queue update to waiting customers whose place
changed (at most every ``queue_update_seconds``), and the notice to customers
nobody took within ``HANDOFF_WAIT_TIMEOUT``. What it told whom is kept in the queue's
database (``handoff_queue_told``, ``timeout_notified``), never in its memory: a
restarted desk, or a second one, tells nobody twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

from desk.accounts import User
from desk.bot import BotClient, BotUnavailable
from handoff import WAITING, Handoff, HandoffError, HandoffService, wait_minutes
from handoff.models import Event
from telemetry import metrics

logger = logging.getLogger(__name__)

#: notices the scheduler sends (who joined, and that nobody took it in time, are told by
#: the Rasa server, which follows the handoff record: bot/channels/follower.py)
NOTICES = {
    "queue": {"en": "You're now number {position} in the queue for a person; about "
                    "{minutes} minute{s} to wait.",
              "zh": "您现在排在人工客服队列的第 {position} 位，预计还需等待约 {minutes} 分钟。"},
}


def notice(kind: str, language: str, **values: Any) -> str:
    """A notice to the customer in their language."""
    return NOTICES[kind]["zh" if language == "zh" else "en"].format(**values)


#: events after which every page re-reads its queue
QUEUE_CHANGES = frozenset({"claimed", "assigned", "transferred", "cancelled", "handed_back"})


@dataclass(eq=False)
class Subscriber:
    """One open desk page."""

    user: User
    queue: asyncio.Queue[dict[str, Any]] = field(
        default_factory=lambda: asyncio.Queue(maxsize=1000))


class Hub:
    """Fans the queue's audit feed out to open desk pages (see the module docstring)."""

    def __init__(self, handoffs: HandoffService, *, poll_seconds: float = 1.0) -> None:
        self.handoffs = handoffs
        self.poll_seconds = poll_seconds
        self.subscribers: set[Subscriber] = set()
        self._wake = asyncio.Event()
        self._cursor = 0

    def subscribe(self, user: User) -> Subscriber:
        """A new open page of ``user``."""
        subscriber = Subscriber(user)
        self.subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        """The page went away."""
        self.subscribers.discard(subscriber)

    def online(self, user_id: str) -> bool:
        """Whether ``user_id`` has a desk page open."""
        return any(s.user.id == user_id for s in self.subscribers)

    def wake(self) -> None:
        """Read the feed now (the Rasa server said something happened)."""
        self._wake.set()

    def publish(self, payload: dict[str, Any], *, handoff: Handoff | None = None) -> None:
        """Send ``payload`` to every page allowed to see ``handoff`` (all pages if None)."""
        for subscriber in list(self.subscribers):
            user = subscriber.user
            if handoff is not None and not (user.supervisor or handoff.state == WAITING
                                            or handoff.agent == user.id):
                continue
            try:
                subscriber.queue.put_nowait(payload)
            except asyncio.QueueFull:  # a page that stopped reading: it reconnects
                self.subscribers.discard(subscriber)

    def _publish_event(self, event: Event, handoff: Handoff) -> None:
        payload = {"type": "event", "handoff": event.handoff_id, "event_id": event.id,
                   "action": event.action, "actor": event.actor, "at": event.at,
                   "state": handoff.state, "agent": handoff.agent, "detail": event.detail}
        self.publish(payload, handoff=handoff)
        if event.action in QUEUE_CHANGES:  # everyone's queue changes (taken, gone)
            self.publish({"type": "queue"})

    async def run(self) -> None:
        """Follow the feed until cancelled."""
        self._cursor = await asyncio.to_thread(self.handoffs.last_event_id)
        while True:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
            self._wake.clear()
            try:
                events = await asyncio.to_thread(self.handoffs.events_after, self._cursor)
                for event in events:
                    self._cursor = max(self._cursor, event.id)
                    handoff = await asyncio.to_thread(self.handoffs.get, event.handoff_id)
                    self._publish_event(event, handoff)
            except Exception:  # noqa: BLE001 - the feed goes on after a database hiccup
                logger.exception("reading the handoff feed failed")
                await asyncio.sleep(self.poll_seconds)


class Scheduler:
    """Assignment, queue updates and timeouts (see the module docstring)."""

    def __init__(self, handoffs: HandoffService, bot: BotClient, hub: Hub, *,
                 auto_assign: bool, update_seconds: float, interval: float = 2.0) -> None:
        self.handoffs = handoffs
        self.bot = bot
        self.hub = hub
        self.auto_assign = auto_assign
        self.update_seconds = update_seconds
        self.interval = interval

    async def tell(self, handoff: Handoff, text: str) -> None:
        """A notice to the handoff's customer (logged, not raised, when it fails)."""
        try:
            await self.bot.send(handoff.channel, handoff.conversation, {"text": text},
                                role="notice")
        except BotUnavailable as exc:
            logger.warning("notice to conversation of handoff %d not sent: %s", handoff.id,
                           exc)

    async def tick(self) -> None:
        """One round of the scheduler's work."""
        if self.auto_assign:
            assigned = await asyncio.to_thread(self.handoffs.assign_waiting)
            for handoff in assigned:
                if handoff.assigned_at is not None:
                    metrics.QUEUE_WAIT.observe(max(handoff.assigned_at - handoff.requested_at,
                                                   0.0))
            if assigned:
                await self.bot.wake()  # the customers are told who joined
        if await asyncio.to_thread(self.handoffs.overdue):
            await self.bot.wake()  # published with the step: the Rasa server tells them
        waiting = await asyncio.to_thread(self.handoffs.queue)
        metrics.QUEUE_LENGTH.set(len(waiting))
        agents = await asyncio.to_thread(self.handoffs.agents)
        metrics.AGENTS_ONLINE.set(sum(1 for agent in agents if agent.online))
        now = self.handoffs.now()
        for handoff in waiting:
            status = await asyncio.to_thread(self.handoffs.status, handoff.id)
            told = await asyncio.to_thread(self.handoffs.told, handoff.id)
            if told is None:  # the action told the customer their place
                await asyncio.to_thread(self.handoffs.tell_place, handoff.id, status.position)
                continue
            position, at = told
            if status.position < position and status.expected_wait_seconds is not None \
                    and now - at >= self.update_seconds and await asyncio.to_thread(
                        self.handoffs.tell_place, handoff.id, status.position,
                        only_if_before=told):
                minutes = wait_minutes(status.expected_wait_seconds)
                await self.tell(handoff, notice("queue", handoff.language,
                                                position=status.position, minutes=minutes,
                                                s="" if minutes == 1 else "s"))

    async def run(self) -> None:
        """Work every ``interval`` seconds until cancelled."""
        while True:
            try:
                await self.tick()
            except HandoffError:
                logger.exception("scheduler round failed")
            except Exception:  # noqa: BLE001 - the scheduler goes on
                logger.exception("scheduler round failed")
            await asyncio.sleep(self.interval)


