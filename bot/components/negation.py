"""Requests the customer takes back: "等等，先不取消了", "actually, don't cancel it".

A classifier that reads "取消" or "cancel" predicts the cancellation, and inside
the cancellation form the message is then taken as an answer: the word that
names the request outweighs the one word that negates it. Negation is a matter
of word order, not of word counts, so it is read here by patterns (as NegEx
reads negated findings in clinical notes): a negator right before the verb of
an order request ("不取消", "先不退了", "别取消", "不想退货", "don't cancel",
"no need to return it", "never mind the refund") turns that request into
``deny``. "取消不了" or "为什么不能取消" ("it can't be cancelled") and "I can't
cancel it online" still ask for the cancellation.

Put it after the classifiers that may predict the order intents (the fallback
and :class:`bot.components.product_rescue.ProductIntentRescue`).
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Tuple

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.components.no_words import override_intent
from bot.components.stateless import StatelessComponent

#: verbs of each request, in both languages
VERBS: Dict[str, Dict[str, str]] = {
    "cancel_order": {"en": r"cancel(?:l?ing|l?ed|lation)?",
                     "zh": r"取消|撤销|撤单"},
    "return_order": {"en": r"return(?:ing)?|refund(?:ing)?|send(?:ing)?\s+(?:it|them)\s+back",
                     "zh": r"退货|退款|退换|退|换货"},
    "check_order_status": {"en": r"check(?:ing)?|track(?:ing)?",
                           "zh": r"查|追踪|跟踪"},
}
#: a negator right before the verb; "不能"/"不了" (cannot) are not refusals
_ZH_NEGATOR = (r"(?:不用|不要|不想|不必|不需要|无需|没必要|甭|别|先不|暂时不|还是不|不)"
               r"(?:再|去|给我)?")
_EN_NEGATOR = (r"\b(?:don'?t|do\s+not|dont|no\s+need\s+to|not\s+going\s+to|decided\s+not\s+to|"
               r"rather\s+not|won'?t|will\s+not|no\s+longer|never\s*mind(?:\s+(?:the|about))?|"
               r"forget\s+(?:the|about)|not\s+to|nevermind)\b")
#: words allowed between an English negator and the verb ("don't want to cancel")
_EN_GAP = r"(?:\s+(?:want|wanna|need|to|it|the|my|order|anymore|actually|really|a))*"


def _patterns(intent: str) -> Tuple[List[re.Pattern[str]], re.Pattern[str]]:
    verbs = VERBS[intent]
    negated = [re.compile(_ZH_NEGATOR + f"(?:{verbs['zh']})"),
               re.compile(_EN_NEGATOR + _EN_GAP + rf"\s+(?:{verbs['en']})\b", re.IGNORECASE)]
    return negated, re.compile(rf"{verbs['zh']}|\b(?:{verbs['en']})\b", re.IGNORECASE)


_COMPILED = {intent: _patterns(intent) for intent in VERBS}


def takes_back(intent: str, text: str) -> bool:
    """Whether ``text`` negates the request ``intent`` names ("先不取消了" for a cancellation).

    A verb of the request left outside the negated phrases keeps it a request
    ("不退款，换货": no refund, an exchange).
    """
    if intent not in _COMPILED:
        return False
    negated, verb = _COMPILED[intent]
    rest, found = text, False
    for pattern in negated:
        rest, count = pattern.subn(" ", rest)
        found = found or count > 0
    return found and not verb.search(rest)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER],
                          is_trainable=False)
class NegatedRequest(StatelessComponent):
    """Predicts ``deny`` for an order request the message negates.

    Options:
        deny_intent: the intent of a refusal.
    """

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """Default options (see the class docstring)."""
        return {"deny_intent": "deny"}

    def process(self, messages: List[Message]) -> List[Message]:
        """Turn negated order requests into refusals."""
        for message in messages:
            name = (message.get(INTENT) or {}).get("name")
            text = message.get(TEXT) or ""
            if name in VERBS and len(text) <= 200 and takes_back(name, text):
                override_intent(message, self._config["deny_intent"])
        return messages
