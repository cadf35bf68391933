"""Turn prices as customers type them into typed values."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
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
#: Negated bounds, read before the plain ones: "no more than $300", "不超过2000".
_NOT_MORE_BEFORE = re.compile(r"(?i)(?:\bno more than|\bnot more than|\bnot over|\bnothing over|"
                              r"不超过|不高于|不多于|别超过)\s*$")
_NOT_LESS_BEFORE = re.compile(r"(?i)(?:\bno less than|\bnot less than|\bnot under|"
                              r"不低于|不少于)\s*$")
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
        if _NOT_MORE_BEFORE.search(before):
            return "max"
        if _NOT_LESS_BEFORE.search(before):
            return "min"
        if _MIN_BEFORE.search(before) or _MIN_AFTER.search(after):
            return "min"
        if _MAX_BEFORE.search(before) or _MAX_AFTER.search(after):
            return "max"
    role = entity.get("role")
    return role if role in ("min", "max") else "max"


@dataclass(frozen=True)
class PriceLimits:
    """The price range a message asks for; either bound may be open."""

    min: Decimal | None = None
    max: Decimal | None = None
    currency: str | None = None

    def __bool__(self) -> bool:
        return self.min is not None or self.max is not None


_CN_NUMERAL = f"[{''.join(CN_DIGITS)}{''.join(CN_UNITS)}]+"
#: an amount: optional sign, digits or a Chinese numeral, optional k/千/万, optional unit.
#: Digits glued to letters or hyphens (iPhone 15, WH-1000XM5, 7-in-1) are model names.
_AMOUNT = re.compile(
    r"(?<![A-Za-z0-9./])(?<![A-Za-z]-)(?P<sign>[$¥￥]\s?)?(?P<number>\d[\d,]*(?:\.\d+)?|"
    + _CN_NUMERAL + r")(?P<mult>\s?(?:k|K|千|万))?(?P<unit>\s?(?:dollars?|bucks?|usd|rmb|"
    r"yuan|美元|美金|人民币|元|块钱?|刀))?(?![A-Za-z0-9])", re.IGNORECASE)
#: words that make a bare number a price when next to it
_PRICE_BEFORE = re.compile(
    r"(?i)(?:under|below|over|above|between|from|to|and|max(?:imum)?|min(?:imum)?|budget(?:'s)?"
    r"(?:\s+is)?|about|around|roughly|approximately|within|less than|more than|at most|"
    r"at least|up to|no more than|cheaper than|for|不超过|不到|低于|高于|超过|大于|小于|"
    r"最多|至少|预算|价格在|价位在|价钱在|在|到|至|和|~|～|-|–)\s*$")
_PRICE_AFTER = re.compile(r"(?i)^\s*(?:以内|以下|以上|左右|上下|之间|起|内|or less|or more|"
                          r"max|and under|and up|range|price|[-–~～]\s*\d|到|至)")
_RANGE_JOIN = re.compile(r"(?i)^\s*(?:and|to|-|–|~|～|到|至|和|与|跟|up to)\s*$")
_AROUND_BEFORE = re.compile(r"(?i)(?:about|around|roughly|approximately|circa|~|大概|大约|差不多)"
                            r"\s*$")
_AROUND_AFTER = re.compile(r"^\s*(?:左右|上下)")
_BUDGET = re.compile(r"(?i)budget|预算|spend|花")
AROUND = (Decimal("0.8"), Decimal("1.2"))


def _amounts(text: str, entities: Sequence[Mapping[str, Any]]
             ) -> list[tuple[Money, int, int]]:
    """Amounts in ``text`` that read as prices: with a currency sign or unit, next to a
    price word, or tagged as a price by the NLU."""
    tagged = [(e.get("start"), e.get("end")) for e in entities
              if isinstance(e.get("start"), int) and isinstance(e.get("end"), int)]
    found = []
    for match in _AMOUNT.finditer(text):
        start, end = match.span()
        before, after = text[max(0, start - 24):start], text[end:end + 12]
        priced = bool(match.group("sign") or match.group("unit")) or any(
            s is not None and e is not None and s < end and start < e for s, e in tagged)
        if not priced and not (_PRICE_BEFORE.search(before) or _PRICE_AFTER.search(after)):
            continue
        money = parse_money(match.group(0))
        if money is not None and money.amount > 0:
            found.append((money, start, end))
    return found


def _from_entities(entities: Sequence[Mapping[str, Any]]) -> PriceLimits:
    """Limits from the NLU's price entities alone (values and roles), for entities whose
    text is not in the message (a client that sends parsed data, a button payload)."""
    bounds: dict[str, Money] = {}
    for entity in entities:
        money = parse_money(str(entity.get("value") or ""))
        if money is not None:
            role = entity.get("role")
            bounds["min" if role == "min" else "max"] = money
    currency = next((m.currency for m in bounds.values() if m.currency), None)
    return PriceLimits(min=bounds["min"].amount if "min" in bounds else None,
                       max=bounds["max"].amount if "max" in bounds else None, currency=currency)


def price_limits(text: str, entities: Sequence[Mapping[str, Any]] = ()) -> PriceLimits:
    """The price range a message asks for: "between $150 and $400", "2000元以内",
    "about 60 dollars max", "400左右", "从500到1000", "90-120 dollar range".

    Two amounts joined by "and"/"to"/"-"/"到" make a range; one amount is an upper
    bound unless the words around it say otherwise ("over", "以上"); "about" and
    "左右" mean 80–120% of the amount (only the upper end for a budget).

    Args:
        text: The message (normalised).
        entities: The NLU's ``price`` entities: a number they tag counts as a price
            even with no word or sign next to it.
    """
    amounts = _amounts(text, list(entities))
    if not amounts:
        return _from_entities(entities)
    currency = next((m.currency for m, _, _ in amounts if m.currency), None)
    for (first, _, first_end), (second, second_start, _) in zip(amounts, amounts[1:], strict=False):
        if _RANGE_JOIN.match(text[first_end:second_start]):
            ends = sorted((first.amount, second.amount))
            return PriceLimits(min=ends[0], max=ends[1], currency=currency)
    low: Decimal | None = None
    high: Decimal | None = None
    for money, start, end in amounts:
        before, after = text[max(0, start - 20):start], text[end:end + 10]
        role = price_role(text, {"start": start, "end": end, "role": None})
        explicit = (_MIN_BEFORE.search(before) or _MIN_AFTER.search(after)
                    or _MAX_BEFORE.search(before) or _MAX_AFTER.search(after)
                    or re.match(r"(?i)^\s*max", after))
        if not explicit and (_AROUND_BEFORE.search(before) or _AROUND_AFTER.match(after)):
            high = money.amount * AROUND[1]
            if not _BUDGET.search(text):
                low = money.amount * AROUND[0]
        elif role == "min":
            low = money.amount
        else:
            high = money.amount
    # bounds stated apart stay as said: "over $900 under $10" contradicts itself, and
    # the customer hears so rather than a range they did not ask for
    return PriceLimits(min=low, max=high, currency=currency)


#: "but cheaper", "less pricey", "more affordable", "便宜点", "更实惠"
CHEAPER = re.compile(r"(?i)\b(?:cheaper|less\s+(?:pricey|expensive|costly)|more\s+affordable|"
                     r"lower[\s-]priced|costs?\s+less|for\s+less|budget\s+version)\b|"
                     r"便宜|实惠|划算|价格低|低价|省钱|平价")


_MONEY_WORDS = re.compile(r"[\d\s.,$¥￥€£零〇一二两三四五六七八九十百千万]|元|块钱?|rmb|usd|cny|"
                          r"dollars?|bucks?|yuan|美元|美金|刀|k\b")


def amount_only(text: str) -> bool:
    """Whether ``text`` is an amount of money and nothing else ("三百", "500元", "$80",
    "2k"), as a tag the entity model mistook for a name may be; "3M" is not."""
    return parse_money(text) is not None and not _MONEY_WORDS.sub("", text.strip().lower())


def asks_cheaper(text: str) -> bool:
    """Whether the message asks for something cheaper than the product it names."""
    return bool(CHEAPER.search(text))


_ORDINAL_WORDS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3,
                  "fourth": 4, "4th": 4, "fifth": 5, "5th": 5, "last": -1, "latest": 1,
                  "最后": -1, "最近": 1}


def ordinal_in(text: str) -> int | None:
    """The position a short reply picks from a list just shown: ``2`` for "2", "#2",
    "2nd one pls", "the second", "第二个那单", "2号"; ``-1`` for "the last one"; else
    ``None``. Longer messages with other numbers in them are not ordinals."""
    t = text.strip().lower()
    bare = re.fullmatch(r"(?:no\.?|number|#|option)?\s*(\d{1,2})\s*(?:号|个|单)?\s*[.!。！]?", t)
    if bare:
        return int(bare.group(1))
    han = re.search(r"第\s*([一二三四五六七八九十\d]{1,3})\s*(?:个|款|单|笔|件|条)?", t)
    if han:
        return chinese_number(han.group(1)) if not han.group(1).isdigit() else int(han.group(1))
    words = re.findall(r"[a-z0-9]+|最后|最近", t)
    found = [_ORDINAL_WORDS[w] for w in words if w in _ORDINAL_WORDS]
    return found[0] if len(found) == 1 and len(words) <= 6 else None


_LETTER_SIZES = {"xxs": "XXS", "xs": "XS", "s": "S", "m": "M", "l": "L", "xl": "XL",
                 "xxl": "XXL", "2xl": "XXL", "xxxl": "XXXL", "3xl": "XXXL",
                 "small": "S", "medium": "M", "large": "L", "extra large": "XL",
                 "小": "S", "中": "M", "大": "L", "加大": "XL"}
_SIZE_PATTERNS = [
    # "42码", "43号", "EU 42", "size 42", "尺码42", "in a 38"
    (re.compile(r"(?i)(?:\beu\s*|\bsize\s*|尺码\s*|鞋码\s*|穿\s*)(\d{2}(?:\.5)?)(?![\d.])"), "eu"),
    (re.compile(r"(?<![\d.])(\d{2}(?:\.5)?)\s*(?:码|号码|号鞋|码的|号的)"), "eu"),
    (re.compile(r"(?<![\d.])(\d{2})\s*号(?![码线店楼电])"), "eu"),
    (re.compile(f"({CN_NUMBER.pattern})\\s*(?:码|号)"), "eu_cn"),
    # "M码", "L号", "size M", "XL"
    (re.compile(r"(?i)(?<![a-z\d])(xxs|xs|xxxl|xxl|xl|2xl|3xl)(?![a-z])"), "letter"),
    (re.compile(r"(?i)(?:\bsize\s+|尺码\s*)(s|m|l)\b"), "letter"),
    (re.compile(r"(?i)(?<![a-z])(s|m|l)\s*(?:码|号)"), "letter"),
    (re.compile(r"(?i)\b(?:in\s+(?:a\s+)?|the\s+)(small|medium|large|extra large)\b"), "letter"),
    (re.compile(r"(加大|大|中|小)号"), "letter"),
    # "20cm", "26 厘米"
    (re.compile(r"(?i)(\d{2})\s*(?:cm(?![a-z])|厘米|公分)"), "cm"),
]


def size_in(text: str) -> str | None:
    """The size a message asks about, written as the catalog writes sizes: ``"EU 42"``
    for "42码", "size 42", "四十二码"; ``"M"`` for "M码", "in a medium", "中号";
    ``"20 cm"`` for "20厘米"; ``None`` when it names none (a price, an order number
    and a position are not sizes)."""
    for pattern, kind in _SIZE_PATTERNS:
        match = pattern.search(text or "")
        if not match:
            continue
        value = match.group(1)
        if kind == "eu_cn":
            number = chinese_number(value)
            if number is None or not 15 <= number <= 50:
                continue
            return f"EU {number}"
        if kind == "eu":
            if not 15 <= float(value) <= 50:
                continue
            return f"EU {value}"
        if kind == "cm":
            return f"{value} cm"
        return _LETTER_SIZES[value.lower()]
    return None


def same_size(wanted: str, size: str | None) -> bool:
    """Whether a catalog size is the one asked for ("EU 42" and "42", any case)."""
    def plain(value: str) -> str:
        return re.sub(r"(?i)^eu\s*|\s+", "", value).upper()
    return size is not None and plain(wanted) == plain(size)
