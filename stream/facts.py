"""What one event of the conversation stream says about its conversation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Names the assistant uses (bot/domain.yml; checked by tests/stream/test_facts.py).
FALLBACK_ACTIONS = frozenset({"action_default_fallback"})
FALLBACK_INTENTS = frozenset({"nlu_fallback"})
PERSON_OFFERS = frozenset({"utter_handoff_offer", "utter_handoff_offer_upset"})
HANDOFF_ACTIONS = frozenset({"action_handoff_request"})
PRODUCT_SLOT = "product"
LANGUAGE_SLOT = "language"


class StreamError(Exception):
    """Root of the stream package's errors: an event that is not one."""


@dataclass
class ConversationFacts:
    """One conversation as the stream has told it so far."""

    sender_id: str
    channel: str | None = None
    language: str | None = None
    customer_id: str | None = None
    started_at: float | None = None
    last_at: float | None = None
    customer_messages: int = 0
    assistant_messages: int = 0
    fallbacks: int = 0  # customer messages the assistant did not understand
    person_offers: int = 0
    handoffs: int = 0
    fallback_turn: int = 0  # the customer message the last fallback was counted at


@dataclass(frozen=True)
class Viewed:
    """A known customer asked about a product: a ``view`` for the recommender."""

    customer_id: str
    sku: str
    timestamp: float


def check(event: Any) -> tuple[str, str, float]:
    """The event's conversation, kind and time.

    Raises:
        StreamError: It is not an event of a conversation.
    """
    if not isinstance(event, dict):
        raise StreamError("an event is a JSON object")
    sender, kind, timestamp = event.get("sender_id"), event.get("event"), event.get("timestamp")
    if not isinstance(sender, str) or not sender or len(sender) > 255:
        raise StreamError("no sender_id")
    if not isinstance(kind, str) or not kind:
        raise StreamError("no event type")
    if isinstance(timestamp, bool) or not isinstance(timestamp, (int, float)):
        raise StreamError("no timestamp")
    return sender, kind, float(timestamp)


def _fallback(facts: ConversationFacts) -> None:
    """Count a fallback once per customer message (an NLU fallback and the fallback
    action it leads to are one)."""
    if facts.fallback_turn != facts.customer_messages:
        facts.fallback_turn = facts.customer_messages
        facts.fallbacks += 1


def fold(facts: ConversationFacts, event: dict[str, Any]) -> Viewed | None:
    """Apply one event to ``facts``; a product a known customer asked about, if any.

    Raises:
        StreamError: ``event`` is not an event of this conversation.
    """
    sender, kind, timestamp = check(event)
    if sender != facts.sender_id:
        raise StreamError("the event belongs to another conversation")
    facts.started_at = timestamp if facts.started_at is None else min(facts.started_at,
                                                                       timestamp)
    facts.last_at = timestamp if facts.last_at is None else max(facts.last_at, timestamp)
    if kind == "user":
        facts.customer_messages += 1
        if isinstance(event.get("input_channel"), str):
            facts.channel = event["input_channel"][:64]
        verified = (event.get("metadata") or {}).get("verified") \
            if isinstance(event.get("metadata"), dict) else None
        if isinstance(verified, dict) and isinstance(verified.get("customer_id"), str):
            facts.customer_id = verified["customer_id"][:64]  # only a channel writes it
        intent = ((event.get("parse_data") or {}).get("intent") or {}) \
            if isinstance(event.get("parse_data"), dict) else {}
        if isinstance(intent, dict) and intent.get("name") in FALLBACK_INTENTS:
            _fallback(facts)
    elif kind == "bot":
        facts.assistant_messages += 1
        metadata = event.get("metadata")
        if isinstance(metadata, dict) and metadata.get("utter_action") in PERSON_OFFERS:
            facts.person_offers += 1
    elif kind == "action":
        if event.get("name") in FALLBACK_ACTIONS:
            _fallback(facts)
        elif event.get("name") in HANDOFF_ACTIONS:
            facts.handoffs += 1
    elif kind == "slot":
        value = event.get("value")
        if event.get("name") == LANGUAGE_SLOT and isinstance(value, str):
            facts.language = value[:8]
        elif event.get("name") == PRODUCT_SLOT and isinstance(value, str) and value \
                and facts.customer_id:
            return Viewed(facts.customer_id, value[:64], timestamp)
    return None
