"""Prices as customers write them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from actions.parsing import Money, chinese_number, parse_money, price_role


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
