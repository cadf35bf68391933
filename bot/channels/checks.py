"""Input checks every channel's door makes, written once: bodies that are too big or
too deep, not JSON, or carry text that cannot be stored (lone UTF-16 surrogates,
control characters in ids) are refused with a clear 4xx (:class:`BadRequest`), never a
500; ids and messages are normalised (:func:`check_id`, :func:`clean_text`); every
answer carries the same security headers (:func:`headers_for`).
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from typing import Any, Mapping

from bot.settings import ChannelSettings
from telemetry import metrics

logger = logging.getLogger(__name__)


_INVISIBLE = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")


class BadRequest(ValueError):
    """The request cannot be accepted; ``status`` is the HTTP status to answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class Throttled(Exception):
    """A limit was reached; ``retry_after`` seconds until the next request counts."""

    def __init__(self, scope: str, retry_after: float) -> None:
        super().__init__(f"limit reached ({scope})")
        self.scope = scope
        self.retry_after = max(1, int(retry_after + 0.999))
        metrics.LIMIT_REFUSALS.labels(scope[:40]).inc()  # every refusal is made here


async def read_at_most(content: Any, limit: int) -> bytes:
    """A body as it arrives, piece by piece, until its end or until it is longer than
    ``limit`` (then ``limit + 1`` bytes: enough to tell). One ``read(n)`` returns only
    what has arrived so far, which over a real network is a part of a photo."""
    data = bytearray()
    while len(data) <= limit:
        piece = await content.read(limit + 1 - len(data))
        if not piece:
            break
        data += piece
    return bytes(data)


def _storable_text(value: str, where: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest(f"{where} contains invalid Unicode (a lone surrogate)") from None


def check_storable(value: Any, *, max_depth: int, max_items: int) -> None:
    """Refuse JSON that cannot be stored or is built to exhaust the server.

    Raises:
        BadRequest: Nesting deeper than ``max_depth``, more than ``max_items``
            keys and items in all, or a string (key or value) that is not
            valid Unicode.
    """
    stack: list[tuple[Any, int]] = [(value, 0)]
    items = 0
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str):
            _storable_text(node, "the request")
            continue
        if not isinstance(node, (dict, list)):
            continue
        if depth >= max_depth:
            raise BadRequest(f"the request is nested deeper than {max_depth} levels")
        items += len(node)
        if items > max_items:
            raise BadRequest(f"the request has more than {max_items} fields and items")
        if isinstance(node, dict):
            for key, child in node.items():
                _storable_text(key, "the request")
                stack.append((child, depth + 1))
        else:
            stack.extend((child, depth + 1) for child in node)


def parse_json_object(body: bytes | None, settings: ChannelSettings) -> dict[str, Any]:
    """Parse a request body that must be one JSON object within the limits.

    Raises:
        BadRequest: ``413`` when too big, ``400`` otherwise.
    """
    body = body or b""
    if len(body) > settings.max_body_bytes:
        raise BadRequest(f"request body is larger than {settings.max_body_bytes} bytes", 413)
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("request body is not valid JSON (UTF-8)") from None
    except RecursionError:
        raise BadRequest("the request is nested too deeply") from None
    if not isinstance(payload, dict):
        raise BadRequest("request body must be a JSON object")
    check_storable(payload, max_depth=settings.max_metadata_depth,
                   max_items=settings.max_metadata_items)
    return payload


def check_id(value: Any, what: str, settings: ChannelSettings) -> str:
    """A conversation or platform id: a short string of printable characters.

    Integers are accepted and turned into strings.

    Raises:
        BadRequest: Empty, too long, not a string, or with control, format or
            unassigned characters.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    limit = settings.max_id_chars
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise BadRequest(f'"{what}" must be a non-empty string of at most {limit} characters')
    _storable_text(value, f'"{what}"')
    if any(unicodedata.category(c)[0] == "C" for c in value):
        raise BadRequest(f'"{what}" must not contain control or invisible characters')
    return value


def clean_text(text: str, limit: int) -> str:
    """Normalise a customer's message for understanding.

    NFC-normalises, drops zero-width and bidi control characters and other
    control characters (keeping newlines and tabs), and cuts to ``limit``
    characters (customers sometimes paste whole pages).
    """
    text = unicodedata.normalize("NFC", text)
    text = _INVISIBLE.sub("", text)
    text = "".join(c for c in text if c in "\n\t" or unicodedata.category(c) != "Cc")
    return text[:limit].strip()


def client_address(request: Any) -> str:
    """The client's address: the proxy-reported one only when the server is
    configured to trust a proxy (Sanic's ``PROXIES_COUNT``/``REAL_IP_HEADER``)."""
    return str(request.remote_addr or request.ip or "")


def headers_for(mapping: Mapping[str, str] | None = None) -> dict[str, str]:
    """Security headers every channel response carries (plus ``mapping``)."""
    return {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store",
            "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
            "Referrer-Policy": "no-referrer", **(mapping or {})}
