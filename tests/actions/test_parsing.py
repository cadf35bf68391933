"""Prices as customers write them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from actions.parsing import (
    Money,
    amount_only,
    asks_cheaper,
    chinese_number,
    parse_money,
    price_limits,
    price_role,
)


@pytest.mark.parametrize(("text", "expected"), [
    ("80 dollars", Money(Decimal(80), "USD")),
    ("$1,200", Money(Decimal(1200), "USD")),
    ("50 bucks", Money(Decimal(50), "USD")),
    ("2000元", Money(Decimal(2000), "CNY")),
    ("500块", Money(Decimal(500), "CNY")),
    ("两千块", Money(Decimal(2000), "CNY")),
    ("¥99.5", Money(Decimal("99.5"), "CNY")),
    ("2k", Money(Decimal(2000), None)),
    ("100", Money(Decimal(100), None)),
])
def test_parse_money(text: str, expected: Money) -> None:
    assert parse_money(text) == expected


@pytest.mark.parametrize("text", [None, "", "cheap", "99999999999 dollars", "💸"])
def test_parse_money_rejects_non_amounts(text) -> None:
    assert parse_money(text) is None


@pytest.mark.parametrize(("text", "value"), [("两千", 2000), ("一千五", 1500), ("三百五", 350),
                                             ("一百零五", 105), ("二十", 20), ("十", 10),
                                             ("一万", 10000), ("五百", 500)])
def test_chinese_numbers(text: str, value: int) -> None:
    assert chinese_number(text) == value


@pytest.mark.parametrize(("text", "price", "nlu_role", "expected"), [
    ("recommend something over $900 under $10", "$900", "max", "min"),
    ("recommend something over $900 under $10", "$10", "max", "max"),
    ("phones from 200 dollars", "200 dollars", None, "min"),
    ("laptops at least $500", "$500", "max", "min"),
    ("有没有2000元以上的手机", "2000元", "max", "min"),
    ("有没有2000元以下的手机", "2000元", "min", "max"),
    ("超过3000块的电脑", "3000块", None, "min"),
    ("shoes for $80", "$80", "min", "min"),  # nothing in the words: the NLU decides
    ("shoes for $80", "$80", None, "max"),   # and a bare price is a maximum
])
def test_price_role_follows_the_words_around_the_price(text: str, price: str,
                                                       nlu_role: str | None,
                                                       expected: str) -> None:
    start = text.index(price)
    entity = {"entity": "price", "value": price, "start": start, "end": start + len(price)}
    if nlu_role:
        entity["role"] = nlu_role
    assert price_role(text, entity) == expected


@pytest.mark.parametrize(("text", "low", "high", "currency"), [
    ("I want headphones between $150 and $400", "150", "400", "USD"),
    ("running shoes from 80 to 150 dollars", "80", "150", "USD"),
    ("sneakers in the 90-120 dollar range", "90", "120", "USD"),
    ("phones under 500 bucks?", None, "500", "USD"),
    ("show me laptops over $1500", "1500", None, "USD"),
    ("can you find me a phone for no more than $300", None, "300", "USD"),
    ("my budget's about 60 dollars max, gift ideas?", None, "60", "USD"),
    ("no less than 50 dollars", "50", None, "USD"),
    ("1000到3000元之间的耳机", "1000", "3000", "CNY"),
    ("跑鞋，价格在500到1000之间", "500", "1000", None),
    ("休闲鞋，600-900元", "600", "900", "CNY"),
    ("2000块以内的手机有哪些", None, "2000", "CNY"),
    ("一万元以上的笔记本", "10000", None, "CNY"),
    ("不超过两千的手机推荐几款", None, "2000", None),
    ("2000左右的手机", "1600", "2400", None),  # about: 80-120%
    ("预算400左右，送礼推荐点什么", None, "480", None),  # a budget: only the upper end
    ("something over $900 under $10", "900", "10", "USD"),  # contradictory, as said
])
def test_price_limits_read_ranges_budgets_and_bounds(text: str, low: str | None,
                                                     high: str | None,
                                                     currency: str | None) -> None:
    limits = price_limits(text)
    assert (limits.min, limits.max, limits.currency) == (
        Decimal(low) if low else None, Decimal(high) if high else None, currency)


@pytest.mark.parametrize("text", ["show me the WH-1000XM5", "iPhone 15 vs galaxy s24",
                                  "Anker 7-in-1 USB-C Hub", "order SH-100234", "", "第2个"])
def test_model_numbers_are_not_prices(text: str) -> None:
    assert not price_limits(text)


def test_a_number_the_nlu_tagged_as_a_price_counts() -> None:
    assert price_limits("phones 300", [{"entity": "price", "start": 7, "end": 10}]).max == 300


@pytest.mark.parametrize(("text", "cheaper"), [
    ("something like the iPhone 15 but less pricey", True),
    ("有没有跟iPhone 15差不多但便宜点的", True), ("a more affordable one?", True),
    ("alternatives to the Dell XPS 13", False), ("有类似的吗", False)])
def test_asking_for_something_cheaper(text: str, cheaper: bool) -> None:
    assert asks_cheaper(text) is cheaper


@pytest.mark.parametrize(("text", "expected"), [
    ("三百", True), ("500元", True), ("$60", True), ("两千块", True), ("2k", True),
    ("60 bucks", True), ("50美元", True), ("¥1,299", True),
    ("3M", False), ("A55", False), ("厨师刀", False), ("顺便", False), ("2000元以下", False),
])
def test_an_amount_alone_is_told_from_a_name_with_a_number(text: str, expected: bool) -> None:
    assert amount_only(text) is expected
