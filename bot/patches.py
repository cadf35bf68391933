"""Performance fixes for Rasa 3.6 that keep its behaviour unchanged.

Rasa 3.6 checks every action-server response with ``jsonschema.validate``,
which re-checks the schema itself and builds a new validator on every call:
about 19 ms per custom action on our CI machines, more than the action server
needs to answer a product search (about 3 ms). :func:`apply` swaps in the same
check with the validator built once. The schema, the errors raised and their
messages stay exactly as Rasa's (``tests/bot/test_patches.py``).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Dict

_applied = False


@lru_cache(maxsize=1)
def _action_response_validator() -> Any:
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _validate_action_result(self: Any, result: Dict[str, Any]) -> bool:
    """Drop-in for ``RemoteAction._validate_action_result`` with a cached validator."""
    from jsonschema.exceptions import best_match
    from rasa.shared.constants import DOCS_BASE_URL

    error = best_match(_action_response_validator().iter_errors(result))
    if error is not None:
        error.message += (
            f". Failed to validate Action server response from API, "
            f"make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit "
            f"{DOCS_BASE_URL}/custom-actions"
        )
        raise error
    return True


def apply() -> None:
    """Install the fixes (idempotent)."""
    global _applied
    if _applied:
        return
    from rasa.core.actions.action import RemoteAction

    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
    _applied = True
