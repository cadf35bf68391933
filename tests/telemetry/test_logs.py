"""The JSON log lines: one object per line, the request and conversation on it, and
no personal data in them."""

from __future__ import annotations

import io
import json
import logging

import pytest

from telemetry.logs import (
    CONVERSATION_ID,
    REQUEST_ID,
    JsonFormatter,
    conversation_tag,
    mask,
    setup,
)


@pytest.mark.parametrize(("text", "hidden"), [
    ("write to ann.lee+shop@example.co.uk please", "ann.lee+shop@example.co.uk"),
    ("my number is +86 138 0013 8000", "138 0013 8000"),
    ("call (415) 555-0134 after six", "555-0134"),
    ("where is SH-123456?", "123456"),
    ("order sh 100234 never came", "100234"),
    ("customer_sig=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
     "9f86d081884c7d659a2feaa0c55ad015"),
    ("Authorization: Bearer s3cr3t-token-value", "s3cr3t-token-value"),
    ("ship it to 221 Baker Street, London", "221 Baker Street"),
    ("寄到北京市朝阳区建国路88号", "建国路88号"),
    ("card 4111 1111 1111 1111", "4111 1111"),
])
def test_personal_data_is_masked(text: str, hidden: str) -> None:
    assert hidden not in mask(text)


@pytest.mark.parametrize("text", [
    "GET /webhooks/rest/webhook 200 35 ms", "at 2026-12-07 10:12:03 on 127.0.0.1:5432",
    "took 12.5 s for 3 items", "conversation widget-3b1f9c2e took 3 turns",
    "recommender model v12 loaded with 1234 items"])
def test_what_operators_need_stays(text: str) -> None:
    assert mask(text) == text


def _line(record_args: tuple, **extra) -> dict:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("actions"))
    logger = logging.getLogger("test.telemetry")
    logger.handlers, logger.propagate = [handler], False
    logger.setLevel(logging.INFO)
    logger.info(*record_args, **extra)
    return json.loads(stream.getvalue())


def test_a_line_is_one_json_object_with_its_request_and_conversation() -> None:
    request = REQUEST_ID.set("5f0c2a9e8b7d4c3a")
    conversation = CONVERSATION_ID.set("widget-abc123")
    try:
        line = _line(("order %s for %s", "SH-100234", "ann@example.com"))
    finally:
        REQUEST_ID.reset(request)
        CONVERSATION_ID.reset(conversation)
    assert line["service"] == "actions" and line["level"] == "info"
    assert line["request"] == "5f0c2a9e8b7d4c3a"
    assert line["conversation"] == conversation_tag("widget-abc123")
    assert "widget-abc123" not in json.dumps(line)
    assert line["message"] == "order <order> for <email>"


def test_a_traceback_is_masked_too() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("rasa"))
    logger = logging.getLogger("test.telemetry.error")
    logger.handlers, logger.propagate = [handler], False
    try:
        raise ValueError("no customer with e-mail bob@example.org")
    except ValueError:
        logger.exception("lookup failed")
    line = json.loads(stream.getvalue())
    assert "bob@example.org" not in line["error"] and "ValueError" in line["error"]


def test_setup_makes_every_logger_write_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOG_FORMAT", raising=False)
    stream = io.StringIO()
    import sys
    import threading

    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    hooks = (sys.unraisablehook, threading.excepthook, sys.excepthook)
    try:
        setup("desk", stream=stream)
        logging.getLogger("sanic.error").error("a sanic error for %s", "eve@example.net")
        logging.getLogger("desk.app").info("signed in")
        try:  # what Python prints itself (an exception nobody could raise) is a line too
            raise RuntimeError("Event loop is closed")
        except RuntimeError as exc:
            from types import SimpleNamespace

            sys.unraisablehook(SimpleNamespace(  # type: ignore[arg-type]
                object=object(), exc_type=RuntimeError, exc_value=exc,
                exc_traceback=exc.__traceback__, err_msg=None))
            sys.excepthook(RuntimeError, exc, exc.__traceback__)  # one that ends a process
        lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.handlers, root.level = saved[0], saved[1]
        sys.unraisablehook, threading.excepthook, sys.excepthook = hooks
    assert [line["logger"] for line in lines] == ["sanic.error", "desk.app", "python",
                                                  "python"]
    assert "RuntimeError" in lines[2]["error"] and lines[3]["level"] == "critical"
    assert all(line["service"] == "desk" for line in lines)
    assert "eve@example.net" not in lines[0]["message"]


def test_a_conversation_is_tagged_alike_by_every_process_sharing_the_key() -> None:
    """A WhatsApp conversation's id is the customer's phone number: lines carry a keyed
    tag instead, the same wherever LOG_KEY is the same, unguessable without it."""
    phone = "8613800138000"
    assert conversation_tag(phone, "k" * 32) == conversation_tag(phone, "k" * 32)
    assert conversation_tag(phone, "k" * 32) != conversation_tag(phone, "j" * 32)
    assert phone not in conversation_tag(phone, "k" * 32)
    assert len(conversation_tag(phone, "k" * 32)) == 17
