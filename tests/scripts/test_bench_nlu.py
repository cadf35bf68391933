"""The NLU benchmark's data handling: honest splits, faithful YAML, the right metrics."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import yaml

from scripts.bench_nlu import (
    OUT_OF_SCOPE,
    bench_config,
    catalog_names,
    load_banking77,
    load_clinc150,
    stratified_split,
    threshold_curve,
    write_nlu,
)
from tests.knowledge_graph.test_online_retail import DATASETS


@pytest.fixture()
def datasets() -> Path:
    if not (DATASETS / "banking77" / "train.csv").exists():
        pytest.skip(f"Banking77 not found under {DATASETS} (set DATASETS)")
    return DATASETS


def test_stratified_split_holds_out_a_fifth_of_every_intent_without_overlap() -> None:
    rows = [
        (f"text {i} {label}", label) for label in "abc" for i in range(10 if label != "c" else 3)
    ]
    train, test = stratified_split(rows, 0.2)
    assert set(train).isdisjoint(test) and len(train) + len(test) == len(rows)
    assert Counter(i for _, i in test) == {"a": 2, "b": 2, "c": 1}
    assert stratified_split(rows, 0.2) == (train, test)  # deterministic


def test_benchmarks_read_the_shared_datasets(datasets: Path) -> None:
    train, test = load_banking77(datasets)
    assert len(train) + len(test) == 10_003 and len({i for _, i in test}) == 77
    clinc_train, clinc_val = load_clinc150(datasets)
    assert len(clinc_train) == 15_100 and len(clinc_val) == 3_100
    assert sum(i == OUT_OF_SCOPE for _, i in clinc_val) == 100
    assert sum(i == OUT_OF_SCOPE for _, i in clinc_train) == 100


def test_the_choice_balances_both_targets_and_is_scored_on_the_other_half() -> None:
    import numpy as np

    from scripts.bench_nlu_oos import Captured, blend, decide, halves, score, tune

    # two intents and out-of-scope queries; out-of-scope ones are less sure
    gold = ["a", "b"] * 40 + [OUT_OF_SCOPE] * 20
    network = np.zeros((100, 3))
    for i, g in enumerate(gold):
        network[i] = [0.9, 0.05, 0.05] if g == "a" else [0.05, 0.9, 0.05] if g == "b" else \
            [0.45 + 0.01 * (i % 5), 0.3, 0.25 - 0.01 * (i % 5)]
    parts = Captured(["a", "b", OUT_OF_SCOPE], network, np.zeros((100, 0)),
                     np.zeros((100, 0), int), 0.05, np.ones(100))
    assert decide(network[:1], parts.labels, 0.5) == ["a"]
    assert decide(network[-1:], parts.labels, 0.5) == [None]  # unsure: a fallback
    assert score(decide(network, parts.labels, 0.5), gold, np.arange(100)) == {
        "in_scope_accuracy": 100.0, "oos_recall": 100.0}
    result = tune(parts, gold, None, [], (0.5, 0.5, 0.0, 0.4))
    assert result["validation"] == {"in_scope_accuracy": 100.0, "oos_recall": 100.0}
    assert 0.5 <= result["chosen"]["threshold"] <= 0.9
    assert result["other_half"]["oos_recall"] == 100.0
    assert [row["ood_floor"] for row in result["by_floor"]][0] == 0.0
    assert result["shipped_vote"]["other_half"]["oos_recall"] == 100.0
    # a typicality floor scales the probabilities of atypical messages below a threshold
    atypical = Captured(parts.labels, network, parts.similarity, parts.neighbour, 0.05,
                        np.where(np.arange(100) < 80, 0.5, 0.001))
    assert blend(atypical, 0.5, 0.5, 0.01)[0].max() == 0.9
    assert decide(blend(atypical, 0.5, 0.5, 0.01)[-1:], parts.labels, 0.2) == [None]
    first = halves(gold)
    assert first.sum() == 50 and first[0] and not first[2]  # alternate queries per intent


def test_written_yaml_round_trips_awkward_texts(tmp_path: Path) -> None:
    rows = [
        ('say "hi": now', "a"),
        ("- dash first", "a"),
        ("[not](an entity)", "b"),
        ("中文 #1", "b"),
    ]
    write_nlu(rows, tmp_path / "nlu.yml")
    data = yaml.safe_load((tmp_path / "nlu.yml").read_text("utf-8"))
    texts = {
        block["intent"]: [json.loads(line[2:]) for line in block["examples"].splitlines()]
        for block in data["nlu"]
    }
    assert texts == {"a": ['say "hi": now', "- dash first"], "b": ["[not](an entity)", "中文 #1"]}


def test_threshold_curve_trades_in_scope_accuracy_for_oos_recall() -> None:
    gold = ["a", "a", "b", OUT_OF_SCOPE, OUT_OF_SCOPE]
    top = ["a", "a", "a", "b", OUT_OF_SCOPE]
    confidence = [0.9, 0.4, 0.9, 0.3, 0.9]
    curve = {round(c["threshold"], 2): c for c in threshold_curve(gold, top, confidence)}
    assert curve[0.0]["in_scope_accuracy"] == 200 / 3 and curve[0.0]["oos_recall"] == 50
    assert curve[0.5]["in_scope_accuracy"] == 100 / 3 and curve[0.5]["oos_recall"] == 100


def test_bench_uses_the_assistants_pipeline() -> None:
    config = bench_config(Path("."))
    names = [c["name"] for c in config["pipeline"]]
    assert "policies" not in config
    assert "bot.components.sentence_encoder.UniversalSentenceEncoderFeaturizer" in names
    assert "bot.components.sentence_encoder.E5SentenceFeaturizer" in names
    assert "bot.components.intent_classifier.SentenceIntentClassifier" in names
    assert "FallbackClassifier" in names


def test_catalog_names_scale_to_the_requested_size() -> None:
    names = catalog_names(5000)
    assert len(names) == 5000 and len(set(names)) == 5000
