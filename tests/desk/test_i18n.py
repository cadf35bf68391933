"""The desk's words: every key in both languages, the agent's choice kept."""

from __future__ import annotations

import re
from pathlib import Path

from desk.i18n import STRINGS, pick_language

DESK = Path(__file__).resolve().parents[2] / "desk"


def test_every_word_exists_in_english_and_chinese() -> None:
    en, zh = STRINGS["en"], STRINGS["zh"]
    assert set(en) == set(zh)
    for key, value in en.items():
        if isinstance(value, dict):
            assert set(value) == set(zh[key]), key


def test_every_word_the_pages_use_is_defined() -> None:
    script = "".join((DESK / "static" / name).read_text("utf-8")
                     for name in ("desk.js", "words.js"))
    used = set(re.findall(r"\bT\.(\w+)", script))
    used |= set(re.findall(r"\{\{ t\.(\w+) \}\}", "".join(
        p.read_text("utf-8") for p in (DESK / "templates").glob("*.html"))))
    used |= set(re.findall(r'word\(T, "(\w+)"', script))
    assert used and used <= set(STRINGS["en"]), used - set(STRINGS["en"])


def test_intents_are_shown_in_words_for_every_intent_of_the_domain() -> None:
    import yaml

    domain = yaml.safe_load((DESK.parent / "bot" / "domain.yml").read_text("utf-8"))
    assert set(domain["intents"]) - {"handoff_returned"} <= set(STRINGS["zh"]["intents"])


def test_the_agents_choice_then_the_cookie_then_the_browser() -> None:
    assert pick_language(asked="zh", cookie="en", accept="en-US") == "zh"
    assert pick_language(asked=None, cookie="zh", accept="en-US,en") == "zh"
    assert pick_language(asked="fr", cookie=None, accept="zh-CN,zh;q=0.9") == "zh"
    assert pick_language(asked=None, cookie="<script>", accept=None) == "en"
