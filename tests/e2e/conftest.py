"""Start the real action server and Rasa server on free ports for end-to-end tests.

The stack runs as ``make run`` starts it, but on a freshly generated demo shop
in a temporary data directory, with its own tracker database.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Iterator
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from knowledge_graph.sources.grocery_store import derive_catalog as derive_grocery
from knowledge_graph.sources.grocery_store import write_catalog as write_grocery
from scripts.stack import MODEL, Stack, import_catalog, index_shelf_photos
from shopctl.catalog import ImportReport
from tests.e2e.browser import browser  # noqa: F401 - one Chromium for the whole session
from tests.fakes.messenger import FakeMessenger
from tests.fakes.wechat import FakeWeChat
from tests.fakes.whatsapp import FakeWhatsApp
from tests.knowledge_graph.test_grocery_store import GROCERY

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
def wechat() -> Iterator[FakeWeChat]:
    """The fake WeChat platform every stack's WeChat channel talks to."""
    fake = FakeWeChat().start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture(scope="session")
def messenger() -> Iterator[FakeMessenger]:
    """The fake Meta platform every stack's Messenger channel talks to."""
    fake = FakeMessenger().start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture(scope="session")
def whatsapp() -> Iterator[FakeWhatsApp]:
    """The fake WhatsApp Cloud API every stack's WhatsApp channel talks to."""
    fake = FakeWhatsApp().start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture(autouse=True)
def _platforms_accept_what_the_shop_sends(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every passive reply the shop gives WeChat is one WeChat would show, and the shop
    never messages a Messenger thread another app holds (the fakes record both)."""
    if "stack" not in request.fixturenames:
        yield
        return
    wechat_fake: FakeWeChat = request.getfixturevalue("wechat")
    messenger_fake: FakeMessenger = request.getfixturevalue("messenger")
    replies, sends = len(wechat_fake.refused_replies), len(messenger_fake.refused_sends)
    yield
    assert wechat_fake.refused_replies[replies:] == [], "WeChat would refuse these replies"
    assert messenger_fake.refused_sends[sends:] == [], \
        "sent to Messenger threads another app held"


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, wechat: FakeWeChat,
          messenger: FakeMessenger, whatsapp: FakeWhatsApp) -> Iterator[Stack]:
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train` (make test does) first")
    s = Stack(data_dir=tmp_path_factory.mktemp("e2e-data"),
              extra_env={**ONE_ADDRESS_FOR_ALL, **wechat.env(), **messenger.env(),
                         **whatsapp.env()},
              api_token=API_TOKEN, storefront=True, desk=True)
    try:
        yield s.start()
    finally:
        s.stop()


@pytest.fixture()
def sender() -> str:
    """A fresh conversation id."""
    return f"e2e-{uuid.uuid4().hex[:12]}"


def shown_price(stack: Stack, sku: str, list_amount: Decimal, currency: str) -> Decimal:
    """The price a guest sees for ``sku`` in lists, cards and answers, and is quoted when
    asking: today's published price (``price_states``, which the storefront's page shows),
    as a ratio to ``list_amount`` (the list price in ``currency``). A personal price needs
    something known about the customer, and a guest has nothing. Never read back from the
    quotes' audit ledger: a wrong price the engine logged as it said it would still pass
    that way."""
    with sqlite3.connect(stack.data_dir / "shop.db") as db:
        state = db.execute("select price, list_price from price_states where sku = ? and "
                           "cell = '' and decided_at is not null", (sku,)).fetchone()
    factor = state[0] / state[1] if state and state[1] else 1.0
    factor = 1.0 if abs(factor - 1.0) < 1e-9 else factor
    cent = Decimal(1) if currency == "CNY" and factor == 1.0 else Decimal("0.01")
    return (list_amount * Decimal(repr(factor))).quantize(cent, rounding=ROUND_HALF_UP)


def stack_with(work: Path, write_csv: Callable[[Path], None], mapping_name: str,
               after: Callable[[Stack], None] | None = None, *, storefront: bool = False,
               env: dict[str, str] | None = None) -> Iterator[tuple[Stack, ImportReport]]:
    """A running stack on a fresh shop into which the derived catalog was imported."""
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train` first")
    reports: list[ImportReport] = []

    def prepare(stack: Stack) -> None:
        reports.append(import_catalog(stack, work, write_csv, mapping_name))
        if after is not None:
            after(stack)

    stack = Stack(data_dir=work / "data", extra_env={**ONE_ADDRESS_FOR_ALL, **(env or {})},
                  storefront=storefront)
    try:
        stack.start(prepare=prepare)
        yield stack, reports[0]
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def grocery(tmp_path_factory: pytest.TempPathFactory, wechat: FakeWeChat,
            messenger: FakeMessenger, whatsapp: FakeWhatsApp) -> Iterator[Stack]:
    if not (GROCERY / "classes.csv").is_file():
        pytest.skip(f"Grocery Store dataset not found at {GROCERY} (set DATASETS)")
    def index_photos(stack: Stack) -> None:  # the catalog images plus 3 shelf photos each
        assert index_shelf_photos(stack, GROCERY) == 0

    for stack, report in stack_with(
            tmp_path_factory.mktemp("grocery"),
            lambda out: write_grocery(derive_grocery(GROCERY), out), "grocery_store.yml",
            after=index_photos, storefront=True,
            env={**wechat.env(), **messenger.env(), **whatsapp.env()}):
        assert report.sync.added == 81 and not report.plan.rejected
        yield stack
