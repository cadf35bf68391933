"""The assistant's NLU evaluation counts intents and entity spans correctly."""

from __future__ import annotations

from scripts.eval_nlu import f1, score


def test_score_counts_exact_spans_and_ignores_the_language_entity() -> None:
    examples = [
        ("red shoes", "search_products", {("color", 0, 3), ("category", 4, 9)}),
        ("hi", "greet", set()),
    ]
    parsed = [
        {"intent": {"name": "search_products", "confidence": 0.9},
         "entities": [{"entity": "color", "start": 0, "end": 3},
                      {"entity": "category", "start": 4, "end": 8},  # wrong span
                      {"entity": "language", "start": 0, "end": 0}]},
        {"intent": {"name": "nlu_fallback", "confidence": 0.45}, "entities": []},
    ]
    result = score(examples, parsed)
    assert result["intent_accuracy"] == 50.0
    assert (result["entity_precision"], result["entity_recall"]) == (50.0, 50.0)
    assert result["intent_errors"] == [
        {"text": "hi", "intent": "greet", "predicted": "nlu_fallback", "confidence": 0.45}]


def test_f1_handles_empty_counts() -> None:
    assert f1(0, 0, 0) == (0.0, 0.0, 0.0)
    assert f1(1, 2, 4) == (0.5, 0.25, 1 / 3)
