"""Evaluate the assistant's own NLU on its held-out test sets, one per language.

Runs in the Rasa environment, after ``make train``. For each language it runs
``rasa test nlu`` on ``nlu_data/eval/nlu_test_<lang>.yml`` (intent report,
per-extractor entity reports and the intent confusion matrix, kept under
``results/nlu_<lang>/``), then parses every test message once more with the
trained model to score what the assistant actually receives: the entities
after DIET, the gazetteer and the synonym mapper together (exact type and
span), and the parse latency. Prints a table and writes
``reports/eval_nlu.json`` and ``reports/nlu_confusion_<lang>.png``.

Usage: ``python -m scripts.eval_nlu [--model models/shop-assistant.tar.gz]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scripts.bench_chat import percentile

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ("en", "zh")
IGNORED_ENTITIES = {"language"}  # added to every message by the language detector

Span = tuple[str, int, int]


def gold_examples(path: Path) -> list[tuple[str, str, set[Span]]]:
    """``(text, intent, entity spans)`` of a Rasa NLU YAML test file."""
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(path))
    return [
        (
            m.get("text"),
            m.get("intent"),
            {(e["entity"], e["start"], e["end"]) for e in m.get("entities") or []},
        )
        for m in data.intent_examples
    ]


def f1(true_positive: int, predicted: int, gold: int) -> tuple[float, float, float]:
    """Precision, recall and F1 from counts."""
    precision = true_positive / predicted if predicted else 0.0
    recall = true_positive / gold if gold else 0.0
    score = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, score


def parse_all(model: Path, texts: Sequence[str]) -> tuple[list[dict[str, Any]], list[float]]:
    """Parse results and latencies (ms), one message at a time as the server does."""
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    results: list[dict[str, Any]] = []
    latencies: list[float] = []

    async def run() -> None:
        for text in texts:
            started = time.perf_counter()
            results.append(await agent.parse_message(text))
            latencies.append((time.perf_counter() - started) * 1000)

    asyncio.run(run())
    return results, latencies


def score(
    examples: list[tuple[str, str, set[Span]]], parsed: list[dict[str, Any]]
) -> dict[str, Any]:
    """Intent accuracy and combined entity precision/recall/F1."""
    correct = sum(
        p["intent"]["name"] == intent for (_, intent, _), p in zip(examples, parsed, strict=True)
    )
    tp = predicted = gold = 0
    errors = []
    for (text, intent, spans), result in zip(examples, parsed, strict=True):
        found = {
            (e["entity"], e["start"], e["end"])
            for e in result.get("entities") or []
            if e["entity"] not in IGNORED_ENTITIES
        }
        tp += len(found & spans)
        predicted += len(found)
        gold += len(spans)
        if result["intent"]["name"] != intent:
            errors.append(
                {
                    "text": text,
                    "intent": intent,
                    "predicted": result["intent"]["name"],
                    "confidence": round(result["intent"].get("confidence") or 0, 3),
                }
            )
    precision, recall, entity_f1 = f1(tp, predicted, gold)
    return {
        "messages": len(examples),
        "intent_accuracy": round(100 * correct / len(examples), 2),
        "entity_precision": round(100 * precision, 2),
        "entity_recall": round(100 * recall, 2),
        "entity_f1": round(100 * entity_f1, 2),
        "entities": gold,
        "intent_errors": errors,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Evaluate both languages, print the table and write the reports."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "shop-assistant.tar.gz")
    parser.add_argument("--out", type=Path, default=ROOT / "reports")
    parser.add_argument("--results", type=Path, default=ROOT / "results")
    args = parser.parse_args(argv)
    if not args.model.exists():
        print(f"error: {args.model} is missing; run `make train` first", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    rasa = Path(sys.executable).with_name("rasa")
    report: dict[str, Any] = {}
    for language in LANGUAGES:
        test_file = ROOT / "nlu_data" / "eval" / f"nlu_test_{language}.yml"
        out = args.results / f"nlu_{language}"
        subprocess.run(
            [
                str(rasa),
                "test",
                "nlu",
                "--model",
                str(args.model),
                "--nlu",
                str(test_file),
                "--out",
                str(out),
            ],
            check=True,
        )
        rasa_report = json.loads((out / "intent_report.json").read_text("utf-8"))
        examples = gold_examples(test_file)
        parsed, latencies = parse_all(args.model, [text for text, _, _ in examples])
        result = score(examples, parsed)
        result["rasa_intent_accuracy"] = round(100 * rasa_report["accuracy"], 2)
        result["intent_macro_f1"] = round(100 * rasa_report["macro avg"]["f1-score"], 2)
        result["latency_ms_p50"] = round(percentile(latencies, 50), 1)
        result["latency_ms_p95"] = round(percentile(latencies, 95), 1)
        for extractor in ("DIETClassifier", "GazetteerEntityExtractor"):
            path = out / f"{extractor}_report.json"
            if path.exists():
                micro = json.loads(path.read_text("utf-8")).get("micro avg", {})
                result[f"{extractor}_entity_f1"] = round(100 * micro.get("f1-score", 0.0), 2)
        confusion = out / "intent_confusion_matrix.png"
        if confusion.exists():
            shutil.copy(confusion, args.out / f"nlu_confusion_{language}.png")
        report[language] = result
    (args.out / "eval_nlu.json").write_text(
        json.dumps(report, indent=2, ensure_ascii=False), "utf-8"
    )
    print(
        f"\n{'language':<9} {'messages':>8} {'intent acc %':>12} {'macro F1':>8} {'entity F1':>9} "
        f"{'(P / R)':>13} {'p50 ms':>7} {'p95 ms':>7}"
    )
    for language, r in report.items():
        print(
            f"{language:<9} {r['messages']:>8} {r['intent_accuracy']:>12.2f} "
            f"{r['intent_macro_f1']:>8.2f} "
            f"{r['entity_f1']:>9.2f} {r['entity_precision']:>6.1f}/{r['entity_recall']:<6.1f} "
            f"{r['latency_ms_p50']:>7.1f} {r['latency_ms_p95']:>7.1f}"
        )
    for language, r in report.items():
        for error in r["intent_errors"]:
            print(
                f"  [{language}] {error['text']!r}: {error['intent']} -> {error['predicted']} "
                f"({error['confidence']})"
            )
    print(f"wrote {args.out / 'eval_nlu.json'} and the confusion matrices")
    return 0


if __name__ == "__main__":
    sys.exit(main())
