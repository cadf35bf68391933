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


@dataclass(frozen=True)
class Event:
    """An audit record: who did what to which handoff, and when."""

    handoff_id: int
    at: float
    actor: str
    action: str
    detail: dict[str, Any]
    id: int = 0
