"""The cached action-response validation behaves exactly like Rasa's own."""

from __future__ import annotations

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction

from bot import patches

GOOD = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "product", "value": "SKU-1"}],
     "responses": [{"response": "utter_price", "name": "x", "price": "$1"}]},
]
BAD = [
    {"events": [{"name": "no event type"}]},
    {"events": "not a list"},
    {"events": [{"event": 5}]},
]


@pytest.mark.parametrize("result", GOOD + BAD)
def test_same_verdict_and_message_as_jsonschema_validate(result) -> None:
    patches.apply()
    spec = RemoteAction.action_response_format_spec()
    try:
        jsonschema.validate(result, spec)
        expected = None
    except jsonschema.ValidationError as exc:
        expected = exc.message
    action = RemoteAction("action_x", None)
    if expected is None:
        assert action._validate_action_result(result) is True
    else:
        with pytest.raises(jsonschema.ValidationError) as info:
            action._validate_action_result(result)
        assert info.value.message.startswith(expected)
        assert "Failed to validate Action server response" in info.value.message


def test_the_nlu_runs_off_the_event_loop_which_keeps_answering() -> None:
    """While a message is understood, webhooks are acknowledged and timers fire."""
    import asyncio
    import threading
    import time
    from types import SimpleNamespace

    from rasa.core.channels.channel import UserMessage
    from rasa.core.processor import MessageProcessor

    patches.apply()
    assert MessageProcessor.parse_message is patches._parse_message
    seen: dict[str, object] = {}

    def slow_graph(message, tracker, only_output_properties):  # a busy NLU: 0.5 s of work
        seen["thread"] = threading.current_thread().name
        seen["tracker"] = tracker.sender_id
        time.sleep(0.5)
        return {"text": message.text, "intent": {"name": "greet", "confidence": 0.9},
                "entities": []}

    processor = SimpleNamespace(
        http_interpreter=None, _parse_message_with_graph=slow_graph,
        _update_full_retrieval_intent=lambda data: data.setdefault("updated", True),
        _check_for_unseen_features=lambda data: None)

    async def scenario() -> tuple[dict, int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.02)
                ticks += 1

        running = asyncio.create_task(ticker())
        parsed = await patches._parse_message(processor, UserMessage("hi", sender_id="c7"))
        running.cancel()
        return parsed, ticks

    parsed, ticks = asyncio.run(scenario())
    assert parsed == {"text": "hi", "intent": {"name": "greet", "confidence": 0.9},
                      "entities": [], "updated": True}
    assert seen == {"thread": seen["thread"], "tracker": "c7"}
    assert str(seen["thread"]).startswith("nlu")
    assert ticks >= 10  # the loop went on (0 when the graph ran on it)
