"""``make bench-load``'s integrity check (``scripts/bench_load.py``): it finds a customer
message lost, doubled or out of order, one left unanswered, and an answer in the
other language, in Rasa's own tracker table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from scripts.bench_load import integrity, kept_as_sent
from scripts.load_scripts import PHOTO_MESSAGE, SCRIPTS, WIDGET_SCRIPTS, kept_as
from scripts.stack import Stack


def _store(stack: Stack, conversations: dict[str, list[dict[str, Any]]]) -> None:
    engine = sa.create_engine(f"sqlite:///{stack.settings['TRACKER_DB']}")
    with engine.begin() as conn:  # Rasa's SQL tracker store's table, as far as read
        conn.execute(sa.text("CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, "
                             "sender_id TEXT, data TEXT)"))
        for sender, events in conversations.items():
            for event in events:
                conn.execute(sa.text("INSERT INTO events (sender_id, data) VALUES (:s, :d)"),
                             {"s": sender, "d": json.dumps(event)})
    engine.dispose()


def _turns(language: str, answers: list[str]) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for (_, text), answer in zip(SCRIPTS[language], answers, strict=False):
        events += [{"event": "user", "text": text}, {"event": "action", "name": "x"},
                   {"event": "bot", "text": answer}]
    return events


def _said(conversation: str, language: str, kind: str = "rest") -> dict[str, Any]:
    steps = SCRIPTS[language] if kind == "rest" else WIDGET_SCRIPTS[language][kind]
    return {"conversation": conversation, "language": language,
            "kind": kind if kind == "rest" else f"widget {kind}",  # as Locust writes it
            "said": [kept_as(step, text) for step, text in steps]}


def test_the_check_finds_what_went_wrong_in_a_conversation(tmp_path: Path) -> None:
    stack = Stack(data_dir=tmp_path)
    good = _turns("zh", ["你好！", "这些跑鞋：", "它的价格是 ￥599。"])
    doubled = good[:3] + good[:3] + good[3:]
    unanswered = _turns("en", ["Hi!", "Here are running shoes:"])[:-1]
    crossed = _turns("en", ["Hi!", "这些跑鞋："])
    # a widget visitor's photo is kept as the share_image intent
    browse = [text for _, text in WIDGET_SCRIPTS["en"]["browse"]]
    photo = []
    for text in browse[:3] + [PHOTO_MESSAGE + '{"language": "en"}']:
        photo += [{"event": "user", "text": text}, {"event": "bot", "text": "Sure."}]
    _store(stack, {"load-zh-aaa": good, "load-zh-bbb": doubled, "load-en-ccc": unanswered,
                   "load-en-ddd": crossed, "someone-else": doubled, "w-1": photo,
                   "w-2": photo[4:]})
    said = [_said("load-zh-aaa", "zh"), _said("load-zh-bbb", "zh"), _said("load-en-ccc", "en"),
            _said("load-en-ddd", "en"), _said("w-1", "en", "browse"),
            _said("w-2", "en", "browse")]
    checked: set[str] = set()
    result = integrity(stack, said, skip=checked)
    assert result["conversations"] == 6 and result["messages"] == 3 + 4 + 2 + 2 + 4 + 2
    assert result["kinds"] == {"rest": 4, "widget browse": 2}
    problems = result["problems"]
    assert set(problems) == {"load-zh-bbb", "load-en-ccc", "load-en-ddd", "w-2"}
    assert "doubled" in problems["load-zh-bbb"][0]
    assert problems["load-en-ccc"] == ["no answer to 'show me running shoes'"]
    assert "other language" in problems["load-en-ddd"][0]
    assert "lost" in problems["w-2"][0]  # its first two messages are missing
    # checked once: the next run's check looks at new conversations only
    assert integrity(stack, said, skip=checked)["conversations"] == 0


def test_messages_sent_at_once_may_be_kept_in_either_order_but_once() -> None:
    sent = ["hi", "show me shoes", "compare them", "thanks"]
    assert kept_as_sent(["hi", "show me shoes", "thanks", "compare them"], sent, 2)
    assert kept_as_sent(["hi", "show me shoes", "compare them"], sent, 2)  # run ended
    assert not kept_as_sent(["hi", "show me shoes", "thanks", "thanks"], sent, 2)
    assert not kept_as_sent(["show me shoes", "hi", "compare them", "thanks"], sent, 2)
    assert not kept_as_sent(["hi", "show me shoes", "thanks", "compare them"], sent, None)
    assert not kept_as_sent(["hi", "compare them"], sent, 2)  # "show me shoes" lost


def test_a_turn_begun_before_the_one_before_it_ended_is_found() -> None:
    """Two servers answering one conversation at once (locks that are not shared)
    each keep a whole turn, but the second began before the first ended: Rasa logged
    its message before the first turn's last ``action_listen``."""
    from scripts.bench_load import overlapping

    def turn(text: str, began: float, ended: float) -> list[dict[str, Any]]:
        return [{"event": "user", "text": text, "timestamp": began},
                {"event": "action", "name": "action_search", "timestamp": began + 0.1},
                {"event": "bot", "text": "ok", "timestamp": began + 0.2},
                {"event": "action", "name": "action_listen", "timestamp": ended}]

    start = [{"event": "action", "name": "action_session_start", "timestamp": 0.5},
             {"event": "action", "name": "action_listen", "timestamp": 0.6}]
    in_turn = start + turn("hi", 1.0, 2.0) + turn("show me shoes", 2.1, 3.0)
    at_once = start + turn("hi", 1.0, 2.0) + turn("show me shoes", 1.5, 3.0)
    to_person = start + turn("hi", 1.0, 2.0) + [
        {"event": "user", "text": "are you there?", "timestamp": 2.5,
         "parse_data": {"handoff": {"id": 7}}},
        {"event": "user", "text": "hello?", "timestamp": 2.6,
         "parse_data": {"handoff": {"id": 7}}}]
    assert overlapping(in_turn) is None and overlapping(to_person) is None
    assert overlapping(at_once) == "show me shoes"
