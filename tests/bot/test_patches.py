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


NLU = """version: "3.1"
nlu:
- intent: greet
  examples: |
    - hi
    - hello there
    - good morning
    - hey
    - 你好
- intent: ask_price
  examples: |
    - how much is it
    - what does it cost
    - price of the first one
    - how much are the shoes
    - 多少钱
- intent: search
  examples: |
    - show me headphones
    - do you have running shoes
    - I want a jacket
    - looking for a bag
    - 有没有耳机
"""
CONFIG = """recipe: default.v1
language: en
assistant_id: patch-test
pipeline:
- name: WhitespaceTokenizer
- name: CountVectorsFeaturizer
  analyzer: char_wb
  min_ngram: 1
  max_ngram: 3
- name: DIETClassifier
  epochs: 8
policies: []
"""


def test_a_model_loaded_without_tracing_its_training_step_predicts_the_same(
        tmp_path, monkeypatch) -> None:
    """A model loaded with its weight-building batch run eagerly gives the very same
    intents, confidences and rankings as Rasa's own load (a small DIET trained here),
    and its training step is never traced into a graph (Rasa's own load traces it)."""
    import asyncio

    import tensorflow as tf
    from rasa.core.agent import Agent
    from rasa.model_training import train_nlu
    from rasa.utils.tensorflow.models import RasaModel

    patches.apply()
    (tmp_path / "config.yml").write_text(CONFIG)
    (tmp_path / "nlu.yml").write_text(NLU)
    model = train_nlu(str(tmp_path / "config.yml"), str(tmp_path / "nlu.yml"),
                      str(tmp_path / "models"))
    said = ["hello", "how much does it cost", "show me a jacket", "有没有耳机", "多少钱"]

    def parsed() -> list[tuple[str, float, list[str]]]:
        agent = Agent.load(model)

        async def run() -> list[dict]:
            return [await agent.parse_message(text) for text in said]

        return [(p["intent"]["name"], p["intent"]["confidence"],
                 [r["name"] for r in p["intent_ranking"]]) for p in asyncio.run(run())]

    traced: list[bool] = []  # a training step run as a graph is being traced
    step = RasaModel.train_step

    def spy(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        traced.append(not tf.executing_eagerly())
        return step(self, *args, **kwargs)

    monkeypatch.setattr(RasaModel, "train_step", spy)
    ours = parsed()
    ours_traced, traced[:] = list(traced), []
    patched = RasaModel.__dict__["load"]
    try:
        RasaModel.load = patches._rasa_load
        theirs = parsed()
    finally:
        RasaModel.load = patched
    assert ours_traced and not any(ours_traced)  # one batch, run eagerly
    assert any(traced)  # Rasa's own load traces the training step
    assert [(n, r) for n, _, r in ours] == [(n, r) for n, _, r in theirs]
    assert [c for _, c, _ in ours] == pytest.approx([c for _, c, _ in theirs], abs=1e-5)


def test_a_message_whose_turn_the_tracker_holds_is_not_processed_again() -> None:
    """Two servers share a tracker store. The first answers a message; the second gets
    the same message (its id) afterwards: a resend, a redelivery, or the first server's
    event loop stalled past the takeover delay so both took it. The second neither
    runs the NLU nor answers again: REST gets the answers the tracker kept, another
    channel nothing. A new message id is answered as usual."""
    import asyncio
    from types import SimpleNamespace

    from rasa.core.channels.channel import CollectingOutputChannel, OutputChannel, UserMessage
    from rasa.core.processor import MessageProcessor
    from rasa.core.tracker_store import InMemoryTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import BotUttered
    from rasa.shared.data import TrainingType

    patches.apply()
    domain = Domain.empty()
    store = InMemoryTrackerStore(domain)

    class Server(MessageProcessor):  # Rasa's turn, with the NLU and policies stubbed
        def __init__(self) -> None:  # noqa: D107 - no model to load
            self.tracker_store, self.domain = store, domain
            self.model_metadata = SimpleNamespace(training_type=TrainingType.BOTH)
            self.parsed = self.turns = 0

        async def fetch_tracker_and_update_session(self, sender_id, output_channel=None,
                                                   metadata=None):
            return await store.get_or_create_tracker(sender_id)

        async def parse_message(self, message, tracker=None, only_output_properties=True):
            self.parsed += 1
            return {"text": message.text, "intent": {"name": "search", "confidence": 1.0},
                    "entities": []}

        async def run_action_extract_slots(self, output_channel, tracker):
            return tracker

        async def _run_prediction_loop(self, output_channel, tracker):
            self.turns += 1
            tracker.update(BotUttered(f"3 headphones (turn {self.turns})"))
            await output_channel.send_response(tracker.sender_id,
                                               {"text": f"3 headphones (turn {self.turns})"})

        async def run_anonymization_pipeline(self, tracker):
            return None

    class Page(OutputChannel):  # the widget: answers go to the conversation's history
        def __init__(self) -> None:
            self.sent: list = []

        async def send_response(self, recipient_id, message):
            self.sent.append(message)

    first, second = Server(), Server()

    async def scenario():
        answered = await first.handle_message(UserMessage(
            "show me headphones", CollectingOutputChannel(), "c1", message_id="m-1"))
        again = await second.handle_message(UserMessage(
            "show me headphones", CollectingOutputChannel(), "c1", message_id="m-1"))
        page = Page()
        await second.handle_message(UserMessage("show me headphones", page, "c1",
                                                message_id="m-1"))
        other = await second.handle_message(UserMessage(
            "any in black?", CollectingOutputChannel(), "c1", message_id="m-2"))
        return answered, again, page.sent, other, await store.retrieve("c1")

    answered, again, sent, other, tracker = asyncio.run(scenario())
    assert [m["text"] for m in answered] == ["3 headphones (turn 1)"]
    assert [m["text"] for m in again] == ["3 headphones (turn 1)"] and sent == []
    assert (first.turns, first.parsed) == (1, 1)
    assert (second.turns, second.parsed) == (1, 1), "only the new message was processed"
    assert [m["text"] for m in other] == ["3 headphones (turn 1)"]  # the second server's first
    assert [e.message_id for e in tracker.events if e.type_name == "user"] == ["m-1", "m-2"]
