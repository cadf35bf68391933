"""The conversation suite is well-formed, covers every capability in both languages,
and none of its messages is training data (the figure would be meaningless)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from scripts.eval_conversations import HOLDOUT, SUITE, SuiteError, load_suite
from tests.nlu_data.test_eval_data import normalise, training_texts

CAPABILITIES = {"search_filters", "search_range", "followup_ordinal", "followup_pronoun",
                "followup_attribute", "product_details", "prices", "compare", "accessories",
                "recommend", "orders_guest", "orders_known", "out_of_scope", "chitchat",
                "leaving", "typos"}
NEAR = 90  # rapidfuzz ratio (0-100) from which a message counts as a training example
SHORT = 16  # shorter follow-ups ("how much is it?") are alike in any data
SHORT_HAN = 7  # a Chinese character says about what an English word does
HAN = re.compile(r"[\u3400-\u9fff]")
PLACEHOLDER = re.compile(r"\{[a-z_]+(?::\w+)?\}")


def test_the_suite_is_large_and_covers_every_capability_in_both_languages() -> None:
    suite = load_suite([SUITE])
    languages = Counter(c.language for c in suite)
    assert languages["en"] >= 100 and languages["zh"] >= 100
    for language in ("en", "zh"):
        covered = {c.capability for c in suite if c.language == language}
        assert covered >= CAPABILITIES, CAPABILITIES - covered
    capabilities = {c.capability for c in suite}
    assert {"traditional_chinese", "mixed_language"} <= capabilities
    # multi-turn: most conversations refer back to something said before
    assert sum(len(c.turns) > 1 for c in suite) >= len(suite) // 2
    # the slice make test runs covers both languages and most capabilities
    sliced = [c for c in suite if c.slice]
    assert {c.language for c in sliced} == {"en", "zh"} and len(sliced) >= 20


def test_no_message_of_the_suite_is_in_the_training_data() -> None:
    """Not even nearly: a message that differs from a training example by a word or
    two ("who won the game last night" / "... football game ...") is no test of
    how the assistant copes with new phrasing."""
    from rapidfuzz import fuzz, process

    seen = sorted(training_texts())
    assert seen, "no training data found"
    leaked = []
    for conversation in load_suite([SUITE, HOLDOUT]):
        for turn in conversation.turns:
            text = normalise(PLACEHOLDER.sub(" ", turn.user))
            if len(text) < (SHORT_HAN if HAN.search(text) else SHORT):
                continue
            near = process.extractOne(text, seen, scorer=fuzz.ratio, score_cutoff=NEAR)
            if near is not None:
                leaked.append((turn.user, near[0]))
    assert not leaked, f"conversation messages (nearly) in the training data: {leaked[:10]}"


def test_a_malformed_suite_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("conversations:\n- id: x\n  language: fr\n  capability: c\n"
                   "  turns:\n  - user: bonjour\n", "utf-8")
    with pytest.raises(SuiteError):
        load_suite([bad])
    bad.write_text("conversations:\n- id: x\n  language: en\n", "utf-8")
    with pytest.raises(SuiteError):
        load_suite([bad])


def test_no_message_is_cut_short_by_a_yaml_comment() -> None:
    """``- user: how much is #3?`` is the message "how much is": a bare `` #`` starts a
    YAML comment. Such messages must be quoted."""
    unquoted = re.compile(r"^\s*-?\s*user:\s*[^'\"\s].*\s#")
    cut = [f"{path.name}:{number}" for folder in (SUITE, HOLDOUT)
           for path in sorted(Path(folder).glob("*.yml"))
           for number, line in enumerate(path.read_text("utf-8").splitlines(), 1)
           if unquoted.match(line)]
    assert not cut, f"quote these messages: {cut}"
