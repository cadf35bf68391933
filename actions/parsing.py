"""Turn prices as customers type them into typed values."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

USD_WORDS = re.compile(r"(?i)\$|\busd\b|\bdollars?\b|\bbucks?\b|美元|美金|刀")
CNY_WORDS = re.compile(r"(?i)¥|￥|\brmb\b|\bcny\b|\byuan\b|元|块|人民币")
NUMBER = re.compile(r"(\d+(?:[.,]\d+)*)\s*(k|千|万)?", re.IGNORECASE)
CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
             "六": 6, "七": 7, "八": 8, "九": 9}
CN_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}
CN_NUMBER = re.compile(f"[{''.join(CN_DIGITS)}{''.join(CN_UNITS)}]+")
MAX_AMOUNT = Decimal("100000000")


@dataclass(frozen=True)
class Money:
    """An amount with its currency code (``None`` when the text named none)."""

    amount: Decimal
    currency: str | None


def chinese_number(text: str) -> int | None:
    """Value of a Chinese numeral such as 两千, 一千五百 or 三百五 (``None`` if invalid)."""
    if not text or not CN_NUMBER.fullmatch(text):
        return None
    total, section, digit = 0, 0, None
    last_unit = 1
    for char in text:
        if char in CN_DIGITS:
            digit = CN_DIGITS[char]
        else:
            unit = CN_UNITS[char]
            if unit == 10000:
                total += (section + (digit or 0)) * unit
                section, digit = 0, None
            else:
                section += (1 if digit is None else digit) * unit
                digit = None
            last_unit = unit
    if digit is not None:
        # "一千五" means 1500: a trailing digit counts in the next lower unit
        scaled = last_unit >= 100 and "零" not in text
        section += digit * (last_unit // 10 if scaled else 1)
    return total + section


def parse_money(text: str | None) -> Money | None:
    """Parse a price mention: "80 dollars", "$1,200", "2k", "2000元", "两千块".

    Returns:
        The amount and its currency, or ``None`` when there is no number.
    """
    if not text:
        return None
    currency = "USD" if USD_WORDS.search(text) else "CNY" if CNY_WORDS.search(text) else None
    match = NUMBER.search(text)
    amount: Decimal | None = None
    if match:
        try:
            amount = Decimal(match.group(1).replace(",", ""))
        except InvalidOperation:
            amount = None
        multiplier = (match.group(2) or "").lower()
        if amount is not None and multiplier:
            amount *= {"k": 1000, "千": 1000, "万": 10000}[multiplier]
    else:
        cn = CN_NUMBER.search(text)
        value = chinese_number(cn.group(0)) if cn else None
        amount = Decimal(value) if value else None
    if amount is None or amount < 0 or amount > MAX_AMOUNT:
        return None
    return Money(amount=amount, currency=currency)


#: Words right before a price that make it a lower bound ("over $900") or an upper one.
_MIN_BEFORE = re.compile(r"(?i)(?:\bover|\babove|\bmore than|\bat least|\bfrom|\bstarting at|"
                         r"\bmin(?:imum)?|超过|高于|不低于|大于|至少)\s*$")
_MAX_BEFORE = re.compile(r"(?i)(?:\bunder|\bbelow|\bless than|\bat most|\bup to|\bcheaper than|"
                         r"\bmax(?:imum)?|\bwithin|低于|不超过|不到|小于|最多)\s*$")
#: Words right after a price: "2000元以上" (at least), "2000元以下" (at most).
_MIN_AFTER = re.compile(r"^\s*(?:以上|起|or more|and up)")
_MAX_AFTER = re.compile(r"^\s*(?:以下|以内|or less|or under)")


def price_role(text: str, entity: Mapping[str, Any]) -> str:
    """Whether a price entity is a ``min`` or a ``max`` limit.

    The words around it in the message decide ("over $900", "2000元以上"); when
    they say nothing, the NLU's role does, and a bare price is a maximum.
    """
    start, end = entity.get("start"), entity.get("end")
    if isinstance(start, int) and isinstance(end, int) and 0 <= start <= end <= len(text):
        before, after = text[max(0, start - 20):start], text[end:end + 10]
        if _MIN_BEFORE.search(before) or _MIN_AFTER.search(after):
            return "min"
        if _MAX_BEFORE.search(before) or _MAX_AFTER.search(after):
            return "max"
    role = entity.get("role")
    return role if role in ("min", "max") else "max"
