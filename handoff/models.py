"""Typed results of the handoff package (no user-facing text)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

#: a handoff waits for an agent, is held by one, or is over
WAITING, ASSIGNED, RESOLVED, CANCELLED = "waiting", "assigned", "resolved", "cancelled"
OPEN_STATES = (WAITING, ASSIGNED)
STATES = (WAITING, ASSIGNED, RESOLVED, CANCELLED)
ROLES = ("agent", "supervisor")


@dataclass(frozen=True)
class Handoff:
    """One request for a person, from the request to the handback.

    Attributes:
        id: The handoff's number.
        conversation: The conversation (Rasa's sender id) it belongs to.
        channel: The customer's channel (``widget``, ``rest``, ``wechat``, ...).
        language: ``en`` or ``zh``.
        reason: Why the assistant handed over (``asked``, ``fallbacks``, ``upset``, ...).
        state: ``waiting``, ``assigned``, ``resolved`` or ``cancelled``.
        requested_at: Unix seconds.
        agent: The agent who holds (or held) it.
        assigned_at, first_reply_at, closed_at: Unix seconds, when those happened.
        outside_hours: Requested while the team was closed or nobody was online: a ticket.
        summary: The agent's handback summary.
        csat: The customer's satisfaction score (1-5), once given.
    """

    id: int
    conversation: str
    channel: str
    language: str
    reason: str
    state: str
    requested_at: float
    agent: str | None = None
    assigned_at: float | None = None
    first_reply_at: float | None = None
    closed_at: float | None = None
    outside_hours: bool = False
    summary: str | None = None
    csat: int | None = None

    @property
    def is_open(self) -> bool:
        """Waiting for or held by a person."""
        return self.state in OPEN_STATES


@dataclass(frozen=True)
class Agent:
    """A support agent or supervisor, as the queue sees them."""

    id: str
    name: str
    role: str
    capacity: int
    online: bool
    holding: int = 0

    @property
    def free(self) -> int:
        """How many more conversations the agent can take."""
        return max(self.capacity - self.holding, 0)


@dataclass(frozen=True)
class QueueStatus:
    """What a waiting customer is told.

    Attributes:
        position: 1 for the next to be taken (0 when an agent already holds it).
        expected_wait_seconds: An estimate from recent handoffs, None when nobody
            can take it now (no agent online, or the team is closed).
        agents_online: Agents online now.
        open_now: Whether it is within business hours.
        next_opening: When the team is back, if closed now.
    """

    position: int
    expected_wait_seconds: float | None
    agents_online: int
    open_now: bool
    next_opening: dt.datetime | None


def wait_minutes(seconds: float | None) -> int:
    """An expected wait in whole minutes, at least one (what a customer is told)."""
    return max(1, round((seconds or 0) / 60))


@dataclass(frozen=True)
class Event:
    """An audit record: who did what to which handoff, and when."""

    handoff_id: int
    at: float
    actor: str
    action: str
    detail: dict[str, Any]
    id: int = 0


#: who holds a conversation: the assistant answers, it waits in the queue for a person,
#: a named agent holds it, or the messaging platform's own support inbox holds it
ASSISTANT, QUEUE, AGENT, PLATFORM = "assistant", "queue", "agent", "platform"
HOLDERS = (ASSISTANT, QUEUE, AGENT, PLATFORM)


@dataclass(frozen=True)
class Holding:
    """Who holds one conversation now: the one record every reader follows.

    Attributes:
        conversation: The conversation (Rasa's sender id).
        holder: ``assistant``, ``queue``, ``agent`` or ``platform``.
        version: Bumped by every change (0: never handed to anyone).
        agent: The agent who holds it (``holder == "agent"``).
        handoff_id: The open handoff behind ``queue`` and ``agent``.
        platform: The platform whose inbox holds it (``page_inbox``, ``wechat_kf``).
        channel: The customer's channel, as last seen by a change.
        language: The customer's language, as last seen by a change.
        updated_at: Unix seconds of the last change.
    """

    conversation: str
    holder: str = ASSISTANT
    version: int = 0
    agent: str | None = None
    handoff_id: int | None = None
    platform: str | None = None
    channel: str | None = None
    language: str | None = None
    updated_at: float = 0.0

    @property
    def with_person(self) -> bool:
        """A person (an agent of the shop) holds it: the assistant stays silent."""
        return self.holder == AGENT


@dataclass(frozen=True)
class Change:
    """One published change of who holds a conversation (the state feed).

    Written in the same transaction as the change itself, so no reader can see the
    new holder without its change, or the other way round. A follower (the Rasa
    server) applies each change to what it keeps (the tracker's slots, a greeting
    back) and marks it applied, exactly once.

    Attributes:
        id: The feed's order.
        conversation, version: The conversation and the holder record's new version.
        kind: ``requested``, ``claimed``, ``assigned``, ``transferred``,
            ``handed_back``, ``cancelled``, ``timed_out`` (nobody took it in time: it
            stays in the queue), ``to_platform`` or ``from_platform``.
        holder, previous: The holder after and before the change.
        handoff_id, agent: The handoff and agent concerned, if any.
        channel, language: The customer's channel and language.
        actor: Who made the change (an agent id, ``customer``, ``system``, a platform).
        detail: Anything else the follower needs (an agent's name, a summary).
        at: Unix seconds.
        applied_at: When a follower applied it (None: not yet).
    """

    id: int
    conversation: str
    version: int
    kind: str
    holder: str
    previous: str
    at: float
    handoff_id: int | None = None
    agent: str | None = None
    channel: str | None = None
    language: str | None = None
    actor: str = "system"
    detail: dict[str, Any] | None = None
    applied_at: float | None = None
