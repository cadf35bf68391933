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
