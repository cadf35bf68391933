"""Rasa-side components (bot environment): tokenizer, language detection,
word-less fallback, the REST channel's input checks and the failure policy."""

from __future__ import annotations

import json

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import ENTITIES, INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.channels.rest import MAX_MESSAGE_CHARS, BadRequest, clean_text, parse_payload
from bot.components.language import LanguageDetector, detect_language
from bot.components.no_words import NoWordsFallback, has_words
from bot.components.tokenizer import split_text
from bot.policies.action_failure import failed_action


@pytest.mark.parametrize(("text", "tokens"), [
    ("有没有2000元以下的华为手机", ["有没有", "2000", "元", "以下", "的", "华为", "手机"]),
    ("red running shoes under $80", ["red", "running", "shoes", "under", "$", "80"]),
    ("华为Mate 60 Pro多少钱", ["华为", "Mate", "60", "Pro", "多少", "钱"]),
    ("where is SH-100234?", ["where", "is", "SH-100234"]),
])
def test_tokenizer_splits_both_languages(text: str, tokens: list[str]) -> None:
    pieces = split_text(text)
    assert [t for t, _ in pieces] == tokens
    for token, start in pieces:  # offsets point into the original text
        assert text[start:start + len(token)] == token


@pytest.mark.parametrize(("text", "language"), [
    ("hello", "en"), ("你好", "zh"), ("有没有 iPhone 15", "zh"), ("iPhone 15 有货吗", "zh"),
    ("SH-100234", None), ("😀😀", None), ("", None), ("123", None), ("مرحبا", None),
])
def test_language_detection(text: str, language: str | None) -> None:
    assert detect_language(text) == language


def test_language_detector_adds_an_entity() -> None:
    message = Message({TEXT: "它有黑色的吗"})
    LanguageDetector({}).process([message])
    assert {"entity": "language", "value": "zh"}.items() <= message.get(ENTITIES)[0].items()
    silent = Message({TEXT: "👍"})
    LanguageDetector({}).process([silent])
    assert not silent.get(ENTITIES)


def test_wordless_messages_fall_back() -> None:
    assert not has_words("😀😀😀 ?!") and has_words("ok") and has_words("好")
    message = Message({TEXT: "😀😀😀", INTENT: {"name": "affirm", "confidence": 0.9}})
    NoWordsFallback().process([message])
    assert message.get(INTENT)["name"] == "nlu_fallback"


def test_payload_checks() -> None:
    ok = parse_payload(json.dumps({"sender": "a", "message": " hi\u200b ",
                                   "metadata": {"customer_id": "C1"}}).encode())
    assert ok == {"sender": "a", "message": "hi", "metadata": {"customer_id": "C1"}}
    assert parse_payload(b'{"sender": 42, "message": "x"}')["sender"] == "42"
    for body in (b"{bad", b"[1]", b'{"message": 5}', b'{"sender": "a"}',
                 b'{"message": "x", "metadata": [1]}', b'{"message": "x", "sender": ""}',
                 json.dumps({"message": "x" * 300_000}).encode()):
        with pytest.raises(BadRequest):
            parse_payload(body)


def test_long_messages_are_cut_and_controls_removed() -> None:
    assert len(clean_text("a" * 100_000)) == MAX_MESSAGE_CHARS
    assert clean_text("\u202eabc\u0000def\u200d") == "abcdef"


def _tracker(*events) -> DialogueStateTracker:
    return DialogueStateTracker.from_events("t", list(events))


DOMAIN = Domain.from_yaml("""
version: "3.1"
actions: [action_search_products]
responses:
  utter_cannot_lookup: [{text: "sorry"}]
""")


def test_failure_is_noticed_only_when_a_live_custom_action_said_nothing() -> None:
    user = UserUttered("show me phones", {"name": "search_products"}, input_channel="rest")
    failed = _tracker(ActionExecuted("action_listen"), user,
                      ActionExecuted("action_search_products"))
    assert failed_action(failed, DOMAIN) == "action_search_products"
    answered = _tracker(ActionExecuted("action_listen"), user,
                        ActionExecuted("action_search_products"), BotUttered("here"),
                        SlotSet("product", None))
    assert failed_action(answered, DOMAIN) is None
    replayed = _tracker(ActionExecuted("action_listen"),
                        UserUttered("show me phones", {"name": "search_products"}),
                        ActionExecuted("action_search_products"))
    assert failed_action(replayed, DOMAIN) is None
    builtin = _tracker(ActionExecuted("action_listen"), user, ActionExecuted("utter_greet"))
    assert failed_action(builtin, DOMAIN) is None
