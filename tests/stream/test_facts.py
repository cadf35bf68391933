"""What the conversation stream says about a conversation (``stream/facts.py``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from stream.facts import (
    FALLBACK_ACTIONS,
    HANDOFF_ACTIONS,
    PERSON_OFFERS,
    ConversationFacts,
    StreamError,
    Viewed,
    fold,
)

ROOT = Path(__file__).resolve().parents[2]


def conversation(sender: str = "c1") -> list[dict[str, Any]]:
    """A conversation's events as Rasa publishes them."""
    t = 1_700_000_000.0
    return [
        {"event": "action", "name": "action_session_start", "sender_id": sender, "timestamp": t},
        {"event": "user", "sender_id": sender, "timestamp": t + 1, "text": "hi",
         "input_channel": "widget", "parse_data": {"intent": {"name": "greet"}},
         "metadata": {"verified": {"customer_id": "C10001", "channel": "widget"}}},
        {"event": "slot", "name": "language", "value": "zh", "sender_id": sender,
         "timestamp": t + 1.1},
        {"event": "bot", "text": "你好", "sender_id": sender, "timestamp": t + 1.2,
         "metadata": {"utter_action": "utter_greet"}},
        {"event": "user", "sender_id": sender, "timestamp": t + 5, "text": "blorp",
         "input_channel": "widget", "parse_data": {"intent": {"name": "nlu_fallback"}}},
        {"event": "action", "name": "action_default_fallback", "sender_id": sender,
         "timestamp": t + 5.1},
        {"event": "bot", "text": "talk to a person?", "sender_id": sender, "timestamp": t + 5.2,
         "metadata": {"utter_action": "utter_handoff_offer"}},
        {"event": "user", "sender_id": sender, "timestamp": t + 9, "text": "iPhone 15?",
         "input_channel": "widget", "parse_data": {"intent": {"name": "product_info"}}},
        {"event": "slot", "name": "product", "value": "P0001", "sender_id": sender,
         "timestamp": t + 9.1},
        {"event": "action", "name": "action_handoff_request", "sender_id": sender,
         "timestamp": t + 12},
    ]


def test_a_conversation_is_folded_into_its_facts() -> None:
    facts = ConversationFacts("c1")
    viewed = [v for e in conversation() if (v := fold(facts, e)) is not None]
    assert (facts.channel, facts.language, facts.customer_id) == ("widget", "zh", "C10001")
    assert (facts.customer_messages, facts.assistant_messages) == (3, 2)
    # the NLU's fallback and the fallback action it led to are one misunderstanding
    assert (facts.fallbacks, facts.person_offers, facts.handoffs) == (1, 1, 1)
    assert facts.last_at is not None and facts.started_at is not None
    assert facts.last_at - facts.started_at == 12
    assert viewed == [Viewed("C10001", "P0001", 1_700_000_009.1)]


def test_an_anonymous_customers_product_is_no_view_and_a_client_cannot_claim_one() -> None:
    facts = ConversationFacts("c2")
    events = conversation("c2")
    events[1]["metadata"] = {"customer_id": "C10001"}  # said by the client, not verified
    assert [v for e in events if (v := fold(facts, e)) is not None] == []
    assert facts.customer_id is None


@pytest.mark.parametrize("event", [
    None, [], "x", {"event": "user", "timestamp": 1.0},
    {"event": "user", "sender_id": "c1"}, {"sender_id": "c1", "timestamp": 1.0},
    {"event": "user", "sender_id": "c1", "timestamp": True},
    {"event": "user", "sender_id": "other", "timestamp": 1.0}])
def test_what_is_not_an_event_of_the_conversation_is_refused(event: Any) -> None:
    with pytest.raises(StreamError):
        fold(ConversationFacts("c1"), event)


def test_the_names_it_counts_are_the_assistants() -> None:
    domain = yaml.safe_load((ROOT / "bot" / "domain.yml").read_text())
    actions, responses = set(domain["actions"]), set(domain["responses"])
    assert actions >= HANDOFF_ACTIONS
    assert responses >= PERSON_OFFERS
    config = yaml.safe_load((ROOT / "config.yml").read_text())
    fallback = {p.get("core_fallback_action_name") for p in config["policies"]}
    assert fallback >= FALLBACK_ACTIONS
