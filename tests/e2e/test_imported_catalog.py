"""After importing a real catalog, the assistant answers questions about it.

Imports the catalog derived from UCI Online Retail, and the one derived from the
Grocery Store dataset, each into a fresh shop, and chats with the real servers.
The model is the one trained on the demo shop: products the NLU was not trained
on are found by their names in the text.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from actions.settings import load_settings
from knowledge_graph.importing import Mapping
from knowledge_graph.sources.grocery_store import derive_catalog as derive_grocery
from knowledge_graph.sources.grocery_store import write_catalog as write_grocery
from knowledge_graph.sources.online_retail import derive_catalog, write_catalog
from scripts.catalog_import import ImportReport, run_import
from scripts.stack import MODEL, ROOT, Stack
from tests.knowledge_graph.test_grocery_store import GROCERY
from tests.knowledge_graph.test_online_retail import TRANSACTIONS

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _stack_with(work: Path, write_csv: Callable[[Path], None],
                mapping_name: str) -> Iterator[tuple[Stack, ImportReport]]:
    """A running stack on a fresh shop into which the derived catalog was imported."""
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train` first")
    reports: list[ImportReport] = []

    def import_catalog(stack: Stack) -> None:
        catalog = work / "catalog.csv"
        write_csv(catalog)
        settings = load_settings({"SHOP_DATA_DIR": str(stack.data_dir)})
        mapping = Mapping.load(ROOT / "knowledge_graph" / "mappings" / mapping_name)
        reports.append(run_import(settings, catalog, mapping,
                                  nlu_out=work / "nlu" / "catalog.yml"))

    stack = Stack(data_dir=work / "data")
    try:
        stack.start(prepare=import_catalog)
        yield stack, reports[0]
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def retail(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if not TRANSACTIONS.is_file():
        pytest.skip(f"UCI Online Retail not found at {TRANSACTIONS} (set DATASETS)")
    for stack, report in _stack_with(
            tmp_path_factory.mktemp("retail"),
            lambda out: write_catalog(derive_catalog(TRANSACTIONS), out), "online_retail.yml"):
        assert report.sync.added > 3_500 and report.sync.discontinued == 609
        yield stack


def test_price_stock_and_search_of_imported_products(retail: Stack) -> None:
    sender = f"retail-{uuid.uuid4().hex[:8]}"
    reply = " ".join(retail.say(sender, "how much is the white hanging heart t-light holder?"))
    assert "WHITE HANGING HEART T-LIGHT HOLDER" in reply and "£2.95" in reply
    reply = " ".join(retail.say(sender, "show me christmas decorations"))
    assert "CHRISTMAS" in reply and "£" in reply
    reply = " ".join(retail.say(sender, "how much is the first one?"))
    assert "£" in reply


def test_demo_products_are_no_longer_offered(retail: Stack) -> None:
    reply = " ".join(retail.say(f"retail-{uuid.uuid4().hex[:8]}", "show me huawei phones"))
    assert "couldn't find any" in reply and "Mate" not in reply


@pytest.fixture(scope="module")
def grocery(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if not (GROCERY / "classes.csv").is_file():
        pytest.skip(f"Grocery Store dataset not found at {GROCERY} (set DATASETS)")
    for stack, report in _stack_with(
            tmp_path_factory.mktemp("grocery"),
            lambda out: write_grocery(derive_grocery(GROCERY), out), "grocery_store.yml"):
        assert report.sync.added == 81 and not report.plan.rejected
        yield stack


def test_grocery_products_are_sold_at_a_price_on_request(grocery: Stack) -> None:
    sender = f"grocery-{uuid.uuid4().hex[:8]}"
    reply = " ".join(grocery.say(sender, "how much is the granny smith apple?"))
    assert "Granny Smith Apple" in reply and "price on request" in reply
    reply = " ".join(grocery.say(sender, "show me yoghurt"))
    assert "Arla Natural Yoghurt" in reply and "price on request" in reply
    assert "$" not in reply and "SEK" not in reply
    reply = " ".join(grocery.say(sender, "tell me about the oatly oat milk"))
    assert "oat drink" in reply and "price on request" in reply
