"""A slice of the conversation evaluation (``slice: true`` in evaluation/conversations)
through the real servers: each conversation must succeed turn by turn, checked
against the shop's data. ``make eval-conversations`` runs all of them and reports
the pass rates."""

from __future__ import annotations

import pytest

from scripts.eval_conversations import SUITE, Conversation, Runner, ShopData, load_suite
from scripts.stack import Stack
from tests.e2e.conftest import API_TOKEN

pytestmark = pytest.mark.e2e

SLICE = [c for c in load_suite([SUITE]) if c.slice]


@pytest.fixture(scope="module")
def runner(stack: Stack) -> Runner:
    return Runner(rasa_url=stack.rasa_url, api_url=f"http://127.0.0.1:{stack.api_port}",
                  api_token=API_TOKEN, data=ShopData(stack.data_dir),
                  sign=lambda customer, sender: stack.signed(customer, sender))


@pytest.mark.parametrize("conversation", SLICE, ids=[c.id for c in SLICE])
def test_conversation_succeeds(runner: Runner, conversation: Conversation) -> None:
    result = runner.run(conversation)
    transcript = "\n".join(f"  > {t['user']}\n  < {' / '.join(t['bot'])[:200]}"
                           for t in result.transcript)
    assert result.passed, "\n".join(result.failures) + "\n" + transcript
