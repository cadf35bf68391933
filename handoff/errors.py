"""Errors raised by the :mod:`handoff` package."""

from __future__ import annotations


class HandoffError(Exception):
    """Root of every error the handoff package raises."""


class HandoffNotFound(HandoffError):
    """No handoff with this id (or no open one for this conversation)."""


class InvalidTransition(HandoffError):
    """The handoff is not in a state that allows this step (claiming a closed one, ...).

    Attributes:
        state: The handoff's state when the step was refused.
    """

    def __init__(self, message: str, state: str) -> None:
        super().__init__(message)
        self.state = state


class NotAllowed(HandoffError):
    """The agent may not do this: another agent's conversation, a supervisor's step."""


class AtCapacity(HandoffError):
    """The agent already holds as many conversations as their capacity allows."""


class UnknownAgent(HandoffError):
    """No agent with this id."""


class InvalidHours(HandoffError):
    """Business hours that cannot be read ("25:00", an unknown weekday or time zone)."""
