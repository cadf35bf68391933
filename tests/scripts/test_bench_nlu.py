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
    choose_threshold,
    load_banking77,
    load_clinc150,
    stratified_split,
    threshold_curve,
    tuning_split,
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
    kept, tune = tuning_split(clinc_train)
    assert len(kept) + len(tune) == 15_100 and not set(kept) & set(tune)
    assert sum(i == OUT_OF_SCOPE for _, i in tune) == 50 and len(tune) == 1_550


def test_the_threshold_is_the_lowest_that_meets_the_targets() -> None:
    meets = [{"threshold": k / 20, "in_scope_accuracy": 97 - 0.2 * k, "oos_recall": 80.0 + k}
             for k in range(20)]
    assert choose_threshold(meets) == 0.5  # 90% recall first reached, at 95% in scope
    never = [{"threshold": k / 20, "in_scope_accuracy": 97.0 - 2 * k, "oos_recall": 60.0 + k}
             for k in range(20)]
    assert choose_threshold(never) == 0.0  # targets out of reach: the best sum


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
