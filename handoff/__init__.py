"""Human handoff: the queue of conversations handed from the assistant to people.

No Rasa imports: the Rasa server (its channels and actions), the action server
and the agent desk use it alike. State is in SQL (:mod:`handoff.service`).

    from handoff import HandoffService, BusinessHours
    service = HandoffService(url="sqlite:///data/handoff.db",
                             hours=BusinessHours.parse({"mon-fri": "09:00-18:00"},
                                                       timezone="Asia/Shanghai"))
    service.create_schema()
    ticket = service.request("conversation-1", channel="widget", language="zh",
                             reason="asked")
    service.status(ticket.id)          # place in the queue, expected wait
    service.claim(ticket.id, "alice")  # an agent takes it
    service.hand_back(ticket.id, "alice", summary="refund explained")
    service.holding("conversation-1")  # who holds it now: the one record all follow
    service.pending_changes()          # published changes a follower has yet to apply
"""

from handoff.errors import (
    AtCapacity,
    HandoffError,
    HandoffNotFound,
    InvalidHours,
    InvalidTransition,
    NotAllowed,
    UnknownAgent,
)
from handoff.hours import BusinessHours
from handoff.models import (
    AGENT,
    ASSIGNED,
    ASSISTANT,
    CANCELLED,
    PLATFORM,
    QUEUE,
    RESOLVED,
    WAITING,
    Agent,
    Change,
    Event,
    Handoff,
    Holding,
    QueueStatus,
    wait_minutes,
)
from handoff.service import HandoffService, summary_counts

__all__ = [
    "AGENT", "ASSIGNED", "ASSISTANT", "CANCELLED", "PLATFORM", "QUEUE", "RESOLVED", "WAITING",
    "Agent", "AtCapacity", "BusinessHours", "Change", "Event", "Handoff", "HandoffError",
    "HandoffNotFound", "HandoffService", "Holding", "InvalidHours", "InvalidTransition",
    "NotAllowed", "QueueStatus", "UnknownAgent", "summary_counts", "wait_minutes",
]
