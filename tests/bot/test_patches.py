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
