"""Start the real action server and Rasa server on free ports for end-to-end tests.

The stack runs as ``make run`` starts it, but on a freshly generated demo shop
in a temporary data directory, with its own tracker database.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal

import pytest

from scripts.stack import MODEL, Stack

# Every test client of the shared stack writes from 127.0.0.1, so the limits per
# client address (messages, failed look-ups, coupons) would count the whole suite
# as one stranger. tests/e2e/test_security.py runs a stack with the defaults.
ONE_ADDRESS_FOR_ALL = {"LIMIT_MESSAGES_PER_IP": "1000000",
                       "LIMIT_LOOKUP_FAILURES_PER_CLIENT": "100000",
                       "LIMIT_CONCESSIONS_PER_CLIENT": "100000",
                       "LIMIT_CONCESSIONS_PER_CUSTOMER": "1000",
                       "LIMIT_UPLOADS_PER_IP": "100000"}


# the Rasa API (trackers) on its loopback port, for tests that check whole conversations
API_TOKEN = uuid.uuid4().hex


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train` (make test does) first")
    s = Stack(data_dir=tmp_path_factory.mktemp("e2e-data"), extra_env=ONE_ADDRESS_FOR_ALL,
              api_token=API_TOKEN)
    try:
        yield s.start()
    finally:
        s.stop()


@pytest.fixture()
def sender() -> str:
    """A fresh conversation id."""
    return f"e2e-{uuid.uuid4().hex[:12]}"


def quoted_price(stack: Stack, sender: str, sku: str, list_amount: Decimal,
                 currency: str) -> Decimal:
    """What the assistant should have said ``sku`` costs in this conversation: the
    audited quote's ratio to the list price, applied to ``list_amount`` (the list
    price in the customer's currency)."""
    with sqlite3.connect(stack.data_dir / "shop.db") as db:
        row = db.execute("select price, list_price from price_quotes where conversation_id = ? "
                         "and sku = ? and kind = 'quote' order by id limit 1",
                         (sender, sku)).fetchone()
    assert row is not None, f"no quote of {sku} was recorded for {sender}"
    factor = row[0] / row[1]
    cent = Decimal(1) if currency == "CNY" and factor == 1.0 else Decimal("0.01")
    return (list_amount * Decimal(repr(factor))).quantize(cent, rounding=ROUND_HALF_UP)
