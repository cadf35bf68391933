"""The held-out NLU test sets are big enough, cover every intent and never
overlap the training data (which would make the accuracy figure meaningless)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from actions.constants import Intent

ROOT = Path(__file__).resolve().parents[2]
EVAL = ROOT / "nlu_data" / "eval"
ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]+\)|\{[^}]+\})")


def examples(path: Path) -> dict[str, list[str]]:
    """Plain texts by intent (annotations removed), from one Rasa NLU YAML file."""
    data = yaml.safe_load(path.read_text("utf-8")) or {}
    found: dict[str, list[str]] = {}
    for block in data.get("nlu", []):
        if "intent" not in block:
            continue
        for line in block["examples"].splitlines():
            line = line.strip()
            if line.startswith("- "):
                found.setdefault(block["intent"], []).append(
                    ANNOTATION.sub(r"\1", line[2:]).strip()
                )
    return found


def normalise(text: str) -> str:
    return re.sub(r"\W+", " ", text.lower()).strip()


def training_texts() -> set[str]:
    files = [*(ROOT / "nlu_data" / "train").glob("nlu_*.yml")]
    files += [*(ROOT / "nlu_data" / "generated").glob("*.yml")]
    return {normalise(t) for f in files for texts in examples(f).values() for t in texts}


@pytest.mark.parametrize("language", ["en", "zh"])
def test_test_set_is_large_and_covers_every_intent(language: str) -> None:
    domain = yaml.safe_load((ROOT / "bot" / "domain.yml").read_text("utf-8"))
    test = examples(EVAL / f"nlu_test_{language}.yml")
    assert sum(len(v) for v in test.values()) >= 300
    # intents only channels send (a photo message) are never typed: nothing to test
    assert set(test) == set(domain["intents"]) - set(Intent.NO_EXAMPLES)
    assert min(len(v) for v in test.values()) >= 15


@pytest.mark.parametrize("language", ["en", "zh"])
def test_test_set_does_not_overlap_training_data(language: str) -> None:
    seen = training_texts()
    assert seen, "no training data found"
    overlap = [
        t
        for texts in examples(EVAL / f"nlu_test_{language}.yml").values()
        for t in texts
        if normalise(t) in seen
    ]
    assert overlap == []


def test_chinese_test_set_is_chinese_and_mixes_in_english() -> None:
    texts = [t for v in examples(EVAL / "nlu_test_zh.yml").values() for t in v]
    assert all(
        re.search(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]", t) or re.fullmatch(r"[\w\s.@-]+", t)
        for t in texts
    )
    mixed = [t for t in texts if re.search(r"[\u4e00-\u9fff]", t) and re.search(r"[A-Za-z]{2,}", t)]
    assert len(mixed) >= 20


def test_labelled_sentiment_messages_are_never_training_data() -> None:
    """The messages that choose and score the "upset" thresholds (evaluation/sentiment)
    are in no NLU training file (the Chinese sentiment model trains on those too)."""
    training = training_texts()
    for language in ("en", "zh"):
        path = ROOT / "evaluation" / "sentiment" / f"{language}.tsv"
        texts = [line.split("\t", 1)[1] for line in path.read_text("utf-8").splitlines()
                 if line.strip() and not line.startswith("#")]
        assert len(texts) >= 70 and len(texts) % 2 == 0  # pairs: one upset, one calm
        assert not {normalise(t) for t in texts} & training
