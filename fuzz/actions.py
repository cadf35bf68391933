"""Fuzz targets of the action server's environment: photos, action calls, the numbers,
prices and order numbers customers write."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any


def photo(data: bytes) -> None:
    """A customer's upload, as the media store checks it before storing anything."""
    from vision.errors import ImageError
    from vision.images import Limits, inspect

    with contextlib.suppress(ImageError):
        inspect(data, Limits())


class _Request:
    def __init__(self, body: bytes, deflated: bool) -> None:
        self.body = body
        self.headers = {"content-encoding": "deflate"} if deflated else {}


def action_call(data: bytes) -> None:
    """A call to the action server (JSON, or deflated JSON), read and checked."""
    from sanic.exceptions import SanicException

    from actions.server import MalformedCall, check_call, read_body

    for deflated in (False, True):
        with contextlib.suppress(MalformedCall, SanicException):
            check_call(read_body(_Request(data, deflated), 64 * 1024))  # type: ignore[arg-type]


def words(data: bytes) -> None:
    """What a customer writes about money, sizes, positions and orders."""
    from actions import parsing
    from shop.errors import InvalidOrderNumber
    from shop.orders import parse_email, parse_order_number

    text = data.decode("utf-8", "replace")
    parsing.parse_money(text)
    parsing.price_limits(text)
    parsing.chinese_number(text)
    parsing.amount_only(text)
    parsing.asks_cheaper(text)
    parsing.ordinal_in(text)
    parsing.size_in(text)
    parse_email(text)
    with contextlib.suppress(InvalidOrderNumber):
        parse_order_number(text)


#: The modules whose coverage guides the fuzzer.
INSTRUMENT = ("vision.images", "actions.server", "actions.parsing", "shop.orders")

TARGETS: dict[str, Callable[[bytes], Any]] = {
    "photo": photo, "action_call": action_call, "words": words}
