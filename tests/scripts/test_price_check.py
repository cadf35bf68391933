"""The whole-conversation price check on the demo shop's catalog: what a customer reading
the replies would see as two prices for one product, or a price above the storefront's."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine

from pricing.guardrails import PriceState
from pricing.ledger import SqlLedger
from scripts.price_check import PriceBook, card_lines, check

DAY = dt.datetime(2026, 12, 6)
PEGASUS = "Nike Pegasus 41 Running Shoes"


@pytest.fixture(scope="module")
def book(demo_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> PriceBook:
    """The demo catalog with two published prices: Anta's running shoes at +10 %, and a
    Huawei phone at list price."""
    source = Path(demo_env["SHOP_DATA_DIR"]) / "shop.db"
    copy = tmp_path_factory.mktemp("prices") / "shop.db"
    with sqlite3.connect(source) as a, sqlite3.connect(copy) as b:
        a.backup(b)
    ledger = SqlLedger(create_engine(f"sqlite:///{copy}"))
    with sqlite3.connect(copy) as db:
        db.execute("delete from price_states")
    for sku, price in _products(copy):
        ledger.set_price_state(sku, "", PriceState(round(price * 1.1, 2), DAY, DAY, price))
    return PriceBook.open(copy.parent)


def _products(path: Path) -> list[tuple[str, float]]:
    with sqlite3.connect(path) as db:
        return [(r[0], float(r[1])) for r in db.execute(
            "select sku, list_price from products where model_en like 'Anta%Running%' "
            "and list_price is not null")]


def _anta(book: PriceBook) -> tuple[str, str, str]:
    """Anta's model name, a colour of it, and its list price."""
    row = book.db.execute("select model_en, color, list_price from products where model_en "
                          "like 'Anta%Running%' order by sku limit 1").fetchone()
    return row[0], row[1], f"{row[2]:,.2f}"


def test_one_product_at_one_price_passes(book: PriceBook) -> None:
    model, color, price = _anta(book)
    assert check(book, [f"1. {model} ({color}) — ${price}",
                        f"{model} ({color}) costs ${price}.",
                        f"{model} vs {PEGASUS}\nPrice: ${price} | $116.99"]) == []


def test_a_price_that_moves_with_no_reason_fails(book: PriceBook) -> None:
    model, color, price = _anta(book)
    higher = f"{float(price.replace(',', '')) * 1.05:,.2f}"
    problems = check(book, [f"1. {model} ({color}) — ${price}",
                            f"{model} ({color}) costs ${higher}."])
    assert len(problems) == 1 and "with no reason given" in problems[0], problems
    # the comparison's price row is read against the names of its header line
    problems = check(book, [f"1. {model} ({color}) — ${price}",
                            f"{model} vs {PEGASUS}\nPrice: ${higher} | $116.99"])
    assert len(problems) == 1 and "with no reason given" in problems[0], problems


def test_a_stated_reason_may_change_the_price(book: PriceBook) -> None:
    model, color, price = _anta(book)
    lower = f"{float(price.replace(',', '')) * 0.95:,.2f}"
    assert check(book, [
        f"1. {model} ({color}) — ${price}",
        f"{model} ({color}) is ${lower} for you today, 5% below the shop's price of ${price}.",
        f"1. {model} ({color}) — ${lower}",  # the customer's own price from then on
        f"Good news: with code SAVE-1234ABCD you pay $50.00 instead of ${lower}."]) == []


def test_nothing_above_the_storefronts_price(book: PriceBook) -> None:
    model, color, price = _anta(book)
    published = float(price.replace(",", "")) * 1.1
    ok = f"{published:,.2f}"
    above = f"{published * 1.05:,.2f}"
    assert check(book, [f"{model} ({color}) costs ${ok}."]) == []
    problems = check(book, [f"{model} ({color}) costs ${above}."])
    assert problems and "above the shop's own price" in problems[0], problems


def test_chinese_names_and_cards(book: PriceBook) -> None:
    row = book.db.execute("select model_zh, sku from products where model_zh = "
                          "'华为 FreeBuds Pro 3' order by sku limit 1").fetchone()
    amount = book.db.execute("select amount from local_prices where product_sku = ? and "
                             "currency = 'CNY'", (row[1],)).fetchone()[0]
    listed = f"¥{amount:,.0f}"
    marked_up = f"¥{amount * 1.1:,.2f}"
    cards = card_lines({"cards": [{"title": f"{row[0]}（黑色）", "price": listed}]})
    assert check(book, cards + [f"{row[0]}（黑色） 的价格是 {listed}。"]) == []
    problems = check(book, cards + [f"{row[0]}（黑色） 的价格是 {marked_up}。"])
    assert any("with no reason given" in p for p in problems), problems
    assert any("above the shop's own price" in p for p in problems), problems


def test_a_model_named_with_its_capacity_is_held_to_one_price(book: PriceBook) -> None:
    """Lists name a phone with its capacity ("华为 畅享 70 256GB"): that variant keeps one
    price; another capacity of the model may cost more."""
    rows = book.db.execute("select model_zh, capacity, sku from products where model_zh = "
                           "'华为 畅享 70' and capacity is not null order by sku").fetchall()
    capacities = sorted({r[1] for r in rows})
    assert len(capacities) >= 2, rows

    def local(capacity: str) -> Any:
        sku = next(r[2] for r in rows if r[1] == capacity)
        return book.db.execute("select amount from local_prices where product_sku = ? and "
                               "currency = 'CNY'", (sku,)).fetchone()[0]

    small, large = capacities[0], capacities[1]
    line = "华为 畅享 70 {}（黑色） — ¥{:,.0f}"
    assert check(book, [line.format(small, local(small)),
                        line.format(large, local(large))]) == []
    problems = check(book, [line.format(small, local(small)),
                            line.format(small, local(large))])
    assert any("with no reason given" in p for p in problems), problems
