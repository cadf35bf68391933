"""JSON log lines, one per record, with the request and conversation they belong to and
no personal data.

Every process calls :func:`setup` once (``service`` names it). A line looks like::

    {"ts": "2026-12-07T10:12:03.120Z", "level": "info", "service": "actions",
     "logger": "actions.server", "message": "...", "request": "5f0c...",
     "conversation": "widget-3b1f..."}

ready for Loki or Elasticsearch (one object per line, no colours). ``request`` comes
from :data:`REQUEST_ID`, set per HTTP request by :mod:`telemetry.web` (taken from the
caller's ``X-Request-ID`` so one customer message has one id in the Rasa server, the
action server and the desk); ``conversation`` from :data:`CONVERSATION_ID`, set where a
turn or an action call names its conversation — as a keyed tag (:func:`conversation_tag`,
``c`` and 16 hex digits of an HMAC with ``LOG_KEY``), never the id itself: a WhatsApp
conversation's id is the customer's phone number. Every process of a deployment shares
``LOG_KEY``, so one conversation has one tag in every log; ``python -m shopctl explain``
prints a conversation's tag.

Personal data is masked in the message and in a traceback before anything is written
(:func:`mask`): e-mail addresses, phone numbers, order numbers, signatures and tokens
(long hex or base64 runs), card-like numbers and street addresses. Masking is a
safety net under the rule that code never logs a customer's text; a test greps every
log an end-to-end run writes for the personal data it sent.
"""

from __future__ import annotations

import contextvars
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import sys
import threading
import time
from typing import Any

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id",
                                                                        default=None)
CONVERSATION_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "conversation_id", default=None)

# longest first where one pattern could take part of another's match
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "<email>"),
    (re.compile(r"(?i)\b(?:SH|ORD)[-_ ]?\d{4,}\b"), "<order>"),
    (re.compile(r"(?i)\b(?:bearer|token|secret|password|sig(?:nature)?)\b\s*[:=]?\s*\S+"),
     "<secret>"),
    (re.compile(r"\b[0-9a-fA-F]{32,}\b"), "<hex>"),
    (re.compile(r"\b[A-Za-z0-9_-]{40,}={0,2}"), "<token>"),
    (re.compile(r"(?i)\b\d{1,5}\s+(?:[A-Z][\w'-]*\s+){1,4}(?:street|st|road|rd|avenue|ave"
                r"|lane|ln|drive|dr|boulevard|blvd|way|court|ct|place|pl)\b\.?"), "<address>"),
    (re.compile(r"[\u4e00-\u9fff]{1,10}(?:省|市)?[\u4e00-\u9fff]{0,10}(?:区|县)"
                r"[\u4e00-\u9fff\d]{0,20}(?:路|街|道|巷)[\d\u4e00-\u9fff-]{0,10}号"),
     "<address>"),
]


_PHONE = re.compile(r"(?<![\w.:/])\+?\(?\d[\d ()-]{6,}\d(?![\w.:])")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _phone(match: re.Match[str]) -> str:
    """A run of 9 or more digits that is not a date is taken for a phone number (or a
    card's: masked all the same)."""
    found = match.group(0)
    if sum(c.isdigit() for c in found) < 9 or _DATE.match(found.lstrip("+(")):
        return found
    return "<phone>"


def mask(text: str) -> str:
    """``text`` with personal data and secrets replaced by ``<email>``, ``<phone>``,
    ``<order>``, ``<address>``, ``<secret>``, ``<hex>``, ``<token>``."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return _PHONE.sub(_phone, text)


_KEY = {"key": secrets.token_bytes(32)}  # until setup() reads LOG_KEY


def conversation_tag(conversation: str, key: str | bytes | None = None) -> str:
    """The tag a conversation's log lines carry: ``c`` and 16 hex digits of
    HMAC-SHA256(``key``, conversation id); ``key`` defaults to this process's
    ``LOG_KEY``."""
    raw = key.encode() if isinstance(key, str) else key if key is not None else _KEY["key"]
    digest = hmac.new(raw, conversation.encode("utf-8", "surrogatepass"), hashlib.sha256)
    return "c" + digest.hexdigest()[:16]


class JsonFormatter(logging.Formatter):
    """One JSON object per record, masked (see the module docstring)."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string still gives a line
            message = str(record.msg)
        line: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "message": mask(message),
        }
        request = getattr(record, "request", None) or REQUEST_ID.get()
        conversation = getattr(record, "conversation", None) or CONVERSATION_ID.get()
        if request:
            line["request"] = request
        if conversation:  # the key to a conversation's lines: its tag, never the id
            line["conversation"] = conversation_tag(str(conversation))
        if record.exc_info:
            line["error"] = mask(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False)


#: Loggers that keep handlers of their own (Sanic's) and would otherwise write
#: plain lines beside the JSON ones.
_OWN_HANDLERS = ("sanic.root", "sanic.error", "sanic.access", "rasa", "rasa_sdk")


def setup(service: str, *, level: str | None = None, stream: Any = None) -> None:
    """Make every log line of this process one masked JSON object on ``stream``
    (standard error). ``LOG_FORMAT=text`` keeps plain lines (for a person at a
    terminal), masked all the same. ``level``: ``LOG_LEVEL`` or ``INFO``. Calling it
    again (once a server has configured its own loggers) puts the JSON lines back."""
    key = os.environ.get("LOG_KEY")
    if key:
        _KEY["key"] = key.encode()
    handler = logging.StreamHandler(stream or sys.stderr)
    if os.environ.get("LOG_FORMAT", "json").lower() == "text":
        handler.setFormatter(_MaskedText())
    else:
        handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel((level or os.environ.get("LOG_LEVEL") or "INFO").upper())
    logging.captureWarnings(True)  # a library's warning is a line like any other
    # what Python would print itself: an exception that ends the process, one in a
    # thread, one nobody could raise (a coroutine closed with the event loop at shutdown)
    sys.excepthook = _uncaught
    sys.unraisablehook = _unraisable
    threading.excepthook = _thread_failed
    for name in _OWN_HANDLERS:
        logger = logging.getLogger(name)
        for old in list(logger.handlers):
            logger.removeHandler(old)
        logger.propagate = True
    # an access line names the URL with its query (a verify token, an id): the HTTP
    # metrics and the request's own line (telemetry.web) say what it needs to
    logging.getLogger("sanic.access").setLevel(logging.WARNING)


def _uncaught(kind: Any, value: Any, traceback: Any) -> None:
    logging.getLogger("python").critical("the process stops: %s", kind.__name__,
                                         exc_info=(kind, value, traceback))


def _unraisable(unraisable: Any) -> None:
    logging.getLogger("python").error(
        "exception ignored in %s: %s", type(unraisable.object).__name__,
        type(unraisable.exc_value).__name__,
        exc_info=(unraisable.exc_type, unraisable.exc_value, unraisable.exc_traceback))


def _thread_failed(failed: Any) -> None:
    logging.getLogger("python").error(
        "thread %s failed: %s", getattr(failed.thread, "name", "?"),
        failed.exc_type.__name__,
        exc_info=(failed.exc_type, failed.exc_value, failed.exc_traceback))


class _MaskedText(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s - %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        return mask(super().format(record))
