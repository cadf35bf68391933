"""References to the products listed last: "the 2nd one", "#2", "第二款", "2号", "最便宜的".

:class:`ReferenceExtractor` tags ``mention`` entities with canonical values the
actions resolve against the list shown last (search results, recommendations,
accessories): ``"1"``–``"20"`` for positions, ``"-1"`` for the last one,
``"cheapest"`` and ``"dearest"``. Positions are written in many ways, and a
learnt extractor only knows the ones in its training data, so this one reads
them with patterns: ordinal words and numerals (``second``, ``2nd``), list
labels (``#2``, ``no. 2``, ``number 2``, ``number two``, ``item 2``, ``option 2``), Chinese
ordinals with any measure word (第二款, 第2个, 第二件), ``2号``, ``二号``, ``头一个``, and
"the first two" / "前两款" (two mentions). Its mentions replace DIET's
``mention`` entities; DIET's are kept only where this found none.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Tuple

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.components.stateless import StatelessComponent

ENTITY = "mention"
MAX_POSITION = 20
EN_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6,
               "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10}
EN_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
              "eight": 8, "nine": 9, "ten": 10}
CN_NUMBERS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
              "九": 9, "十": 10}
MEASURE = "个款件台双只部项种条样套盒瓶支副"
_NUM = r"(\d{1,2})"
_CN = f"(十[一二三四五六七八九]|[{''.join(CN_NUMBERS)}]|\\d{{1,2}})"

# (pattern, kind): kind "pos" reads group 1 as a position, "pair" means 1 and 2,
# "last", "cheapest", "dearest" are fixed values
PATTERNS: List[Tuple[re.Pattern[str], str]] = [
    (re.compile(r"(?i)\b(?:the\s+)?(?:first|top)\s+(?:two|2)\b"), "pair"),
    (re.compile(r"(?i)\bboth\b(?:\s+of\s+them)?"), "pair"),
    (re.compile(f"前(?:两|二|2)[{MEASURE}]?"), "pair"),
    (re.compile(r"(?i)\b(?:second|2nd)[\s-]+to[\s-]+last\b"), "second_last"),
    (re.compile(r"(?i)\b(?:last|final|bottom)\b(?!\s+(?:time|year|month|week|night|order))"),
     "last"),
    (re.compile(f"最后(?:一)?[{MEASURE}]?|最后那[{MEASURE}]?|末尾那?[{MEASURE}]"), "last"),
    (re.compile(r"(?i)\b(" + "|".join(EN_ORDINALS) + r")\b(?!\s+(?:time|hand|class))"),
     "word"),
    (re.compile(r"(?i)\b(\d{1,2})(?:st|nd|rd|th)\b"), "pos"),
    (re.compile(r"(?i)(?:#\s?|\bno\.?\s?|\bnumber\s|\bnr\.?\s?|\bitem\s|\boption\s|"
                r"\bchoice\s|\bproduct\s|\bpick\s)" + _NUM + r"\b(?!\s*(?:\$|dollars?|usd|"
                r"bucks|%|元|块))"), "pos"),
    # "number one", "option three": a list label spelt out ("the number one brand" is
    # praise, not a position)
    (re.compile(r"(?i)(?:\bnumber|\bno\.?|\bitem|\boption|\bchoice)\s+(" + "|".join(EN_NUMBERS)
                + r")\b(?!\s+(?:brand|seller|selling|best|rated|choice|pick|priority|fan))"),
     "number"),
    (re.compile(r"(?i)\b(?:compare|between)\s+(\d{1,2})\s+(?:and|&|vs\.?|with)\s+(\d{1,2})\b"),
     "two"),
    (re.compile(f"第{_CN}[{MEASURE}]?"), "cn"),
    (re.compile("(?<![月\\d年.])(\\d{1,2})号(?!码|线|店|楼|电池)"), "pos"),
    # "一号有货吗", "三号呢": a list label in Chinese numerals too (not a date — "12月一号",
    # "一号发货" — nor a size, a line, a shop or a battery: "五号电池")
    (re.compile("(?<![月\\d年.日])(十[一二三四五六七八九]|[一二三四五六七八九十])号"
                "(?!码|线|店|楼|电池|之前|前|以前|后|以后|发|送|到|出|上午|下午|晚上)"), "cn"),
    (re.compile(f"头一?[{MEASURE}]"), "one"),
    (re.compile(r"(?i)\btop\s+(?:one|pick|result|item|choice)\b|\bthe\s+one\s+(?:on|at)\s+"
                r"(?:the\s+)?top\b"), "one"),
    (re.compile(r"(?i)\b(?:the\s+)?(?:cheapest|least\s+expensive|lowest[\s-]priced|"
                r"cheaper\s+(?:one|of\s+the\s+two))\b"), "cheapest"),
    (re.compile(r"(?i)\b(?:the\s+)?(?:most\s+expensive|dearest|priciest|highest[\s-]priced|"
                r"pricier\s+(?:one|of\s+the\s+two)|more\s+expensive\s+one)\b"), "dearest"),
    (re.compile(f"最便宜的?|便宜[点些一]*的那[{MEASURE}]|价格最低的?|价钱最低的?"), "cheapest"),
    (re.compile(f"最贵的?|贵[点些一]*的那[{MEASURE}]|价格最高的?|价钱最高的?"), "dearest"),
]
# "1和2", "1 and 3" after a compare word: positions, not prices
_COMPARE_CN = re.compile(r"(?:比较|对比|比一比|比一下)[一下]*\s*(\d{1,2})\s*"
                         r"(?:和|跟|与|、)\s*(\d{1,2})")


def _cn_value(text: str) -> int | None:
    if text.isdigit():
        return int(text)
    if text.startswith("十"):
        return 10 + CN_NUMBERS.get(text[1:], 0) if len(text) > 1 else 10
    return CN_NUMBERS.get(text)


def find_references(text: str) -> List[Dict[str, Any]]:
    """Mention entities (value, start, end) in ``text``, in text order, without overlaps."""
    found: List[Dict[str, Any]] = []
    taken: List[Tuple[int, int]] = []

    def add(value: Any, start: int, end: int) -> None:
        if any(start < t_end and t_start < end for t_start, t_end in taken):
            return
        taken.append((start, end))
        found.append({"value": str(value), "start": start, "end": end})

    for match in _COMPARE_CN.finditer(text):
        for group in (1, 2):
            add(int(match.group(group)), match.start(group), match.end(group))
    for pattern, kind in PATTERNS:
        for match in pattern.finditer(text):
            start, end = match.span()
            if kind == "pair":
                if any(start < t_end and t_start < end for t_start, t_end in taken):
                    continue
                taken.append((start, end))
                found.append({"value": "1", "start": start, "end": end})
                found.append({"value": "2", "start": start, "end": end})
                continue
            if kind == "two":
                for group in (1, 2):
                    value = int(match.group(group))
                    if 1 <= value <= MAX_POSITION:
                        add(value, match.start(group), match.end(group))
                continue
            value: Any = {"last": -1, "second_last": -2, "one": 1, "cheapest": "cheapest",
                          "dearest": "dearest"}.get(kind)
            if kind == "word":
                value = EN_ORDINALS[match.group(1).lower()]
            elif kind == "number":
                value = EN_NUMBERS[match.group(1).lower()]
            elif kind == "pos":
                value = int(match.group(1))
            elif kind == "cn":
                value = _cn_value(match.group(1))
            if value is None or (isinstance(value, int) and not
                                 (-2 <= value <= MAX_POSITION and value != 0)):
                continue
            add(value, start, end)
    return sorted(found, key=lambda e: (e["start"], e["value"]))


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class ReferenceExtractor(StatelessComponent, EntityExtractorMixin):
    """Adds ``mention`` entities for references to listed products (module docstring)."""

    def process(self, messages: List[Message]) -> List[Message]:
        """Replace the message's mention entities with the ones found by pattern."""
        for message in messages:
            text = message.get(TEXT) or ""
            found = find_references(text[:2000]) if text else []
            if not found:
                continue
            kept = [e for e in message.get(ENTITIES, []) if e.get("entity") != ENTITY]
            kept += [{"entity": ENTITY, **e, "confidence_entity": 1.0,
                      "extractor": self.__class__.__name__} for e in found]
            message.set(ENTITIES, sorted(kept, key=lambda e: e.get("start", 0)),
                        add_to_output=True)
        return messages


FOLLOW_UP = "follow_up"
SEARCH = "search_products"
POINTERS = {"mention", "product"}  # entities that point at one product
#: questions that say what they ask (which colours, whether in stock): when the
#: classifier is sure of one, the message is that question about the product it
#: names or points at, not a repeat of the previous question ("and the last one?")
OWN_QUESTIONS = {"ask_color", "ask_stock"}
OWN_QUESTION_CONFIDENCE = 0.75
#: entities a follow-up may consist of
FOLLOW_UP_ENTITIES = ("mention", "product", "color", "brand", "category", "price")
_FILLER_WORDS = {
    "and", "the", "a", "an", "one", "ones", "what", "about", "how", "then", "so", "ok",
    "okay", "also", "same", "for", "please", "pls", "plz", "only", "just", "that", "this",
    "those", "these", "in", "any", "with", "of", "it", "them", "me", "show", "want", "like",
    "would", "hmm", "well", "too", "instead", "version", "color", "colour", "there", "is",
    "are", "do", "you", "have", "got", "i", "s", "maybe", "rather", "or", "under", "below",
    "over", "above", "less", "more", "than", "between", "to", "up", "max", "dollars",
    "dollar", "bucks", "usd", "rmb", "pair", "pairs", "item", "items", "model", "models",
}
_FILLER_HAN = sorted(["那", "呢", "的", "个", "款", "件", "只", "要", "只要", "还有", "这", "那个",
                      "这个", "吧", "啊", "呀", "有", "吗", "看看", "也", "换", "成", "和", "就",
                      "呐", "嘛", "么", "那么", "还是", "改成", "换成", "一下", "色", "以下",
                      "以上", "以内", "左右", "之间", "元", "块", "到"],
                     key=len, reverse=True)
_WORDS = re.compile(r"[A-Za-z]+|[\u3400-\u4dbf\u4e00-\u9fff]+|\d+")


def is_follow_up(text: str, entities: List[Dict[str, Any]]) -> bool:
    """Whether ``text`` is only a reference to something plus filler words:
    "and the last one?", "第二个呢", "ok what about black?", "那小米的呢", "only white ones".

    Such a message continues the previous question ("how much is the first one?" ...
    "and the last one?") rather than asking a new one.
    """
    spans = [(e["start"], e["end"]) for e in entities
             if e.get("entity") in FOLLOW_UP_ENTITIES and isinstance(e.get("start"), int)
             and isinstance(e.get("end"), int)]
    kinds = {e.get("entity") for e in entities}
    if not spans or (kinds & {"mention", "product"} and kinds & {"brand", "category"}):
        # "第一款有配件吗": a listed product and a category word make a question
        return False
    rest = list(text)
    for start, end in spans:
        rest[start:end] = [" "] * (end - start)
    for word in _WORDS.findall("".join(rest)):
        if word.isdigit():
            return False
        if word.isascii():
            if word.lower() not in _FILLER_WORDS:
                return False
            continue
        remaining = word
        for filler in _FILLER_HAN:
            remaining = remaining.replace(filler, "")
        if remaining:
            return False
    return True


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER],
                          is_trainable=False)
class FollowUpDetector(StatelessComponent):
    """Gives a message that is only a reference plus fillers the ``follow_up`` intent.

    The assistant answers it in the context of the conversation: the previous
    question about the newly referred product, or a refined search (see
    ``actions/follow_up.py``). Put it after the intent classifiers.
    """

    def process(self, messages: List[Message]) -> List[Message]:
        """Mark follow-ups."""
        from rasa.shared.nlu.constants import INTENT

        for message in messages:
            text = message.get(TEXT) or ""
            entities = message.get(ENTITIES) or []
            if not text or len(text) > 200 or not is_follow_up(text, entities):
                continue
            intent = message.get(INTENT) or {}
            predicted = intent.get("name")
            if predicted == SEARCH and not {e.get("entity") for e in entities} & POINTERS:
                continue  # "看看小米的耳机": catalog terms the search reads in context itself
            sure = (intent.get("confidence") or 0) >= OWN_QUESTION_CONFIDENCE
            if predicted in OWN_QUESTIONS and sure:
                continue  # "第一个还有吗", "小米 14有绿色吗": its own question about the product
            message.set(INTENT, {"name": FOLLOW_UP, "confidence": 1.0}, add_to_output=True)
        return messages
