"""Recognise messages written in a language the assistant does not speak.

The assistant speaks English and Chinese. A message in another script
(Arabic, Hebrew, Cyrillic, Greek, Thai, Devanagari, Hangul, Japanese kana) or
in a Latin-script language recognisable by its function words (Spanish,
French, German, Portuguese, Italian, Dutch) gets the intent
``unsupported_language`` with full confidence, so the assistant says, in
English, which languages it understands instead of guessing an intent.

Mixed messages that contain Chinese characters without Japanese kana, or
enough English words, are left alone: "有没有 iPhone" and "do you have
zapatos?" are served as usual.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Dict, List

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.components.language import HAN
from bot.components.no_words import override_intent

INTENT_NAME = "unsupported_language"
KANA = re.compile(r"[\u3040-\u30ff]")
FOREIGN_SCRIPT = re.compile(
    r"[\u0370-\u03ff\u0400-\u052f\u0590-\u05ff\u0600-\u06ff\u0750-\u077f\u0900-\u097f"
    r"\u0e00-\u0e7f\u1100-\u11ff\u3040-\u30ff\uac00-\ud7af]"
)
WORD = re.compile(r"[^\W\d_]+")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


ENGLISH = _words(
    """
    the a an is are was be do does did you your i my me we it this that what which who how
    where when why can could would will have has of to in on for with and or not no yes
    please thanks thank hi hello any some much many price order buy want need
"""
)
# Spanish, French, German, Portuguese, Italian and Dutch function words that are not English
FOREIGN = _words(
    """
    el la los las del que por para con una uno unos está esta estoy tengo quiero puedo
    cuánto cuanto dónde donde hola gracias qué cómo pedido este tienen tiene hay buenos días
    le les des est je vous nous pour avec une du au aux mais où combien bonjour merci
    ce cette suis avez pouvez voudrais commande
    der die das und ist ich nicht mit für ein eine einen wie wo haben möchte bitte danke
    hallo sie wir kann können bestellung
    não você vocês têm uma com obrigado olá onde quanto são um os fones
    il lo gli di che per sono ciao grazie dove vorrei buongiorno costa questo questa
    het een en niet ik je mijn voor met waar hoeveel dank bedankt
"""
)


def is_unsupported_language(text: str | None) -> bool:
    """True when ``text`` is written in a language other than English or Chinese."""
    if not text:
        return False
    text = unicodedata.normalize("NFKC", text)
    if KANA.search(text):
        return True  # Japanese (kanji alone reads as Chinese)
    if HAN.search(text):
        return False
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return False
    foreign = sum(1 for ch in letters if FOREIGN_SCRIPT.match(ch))
    if foreign * 2 > len(letters):
        return True
    words = {w.lower() for w in WORD.findall(text)}
    foreign_words = len(words & FOREIGN)
    english_words = len(words & ENGLISH)
    return foreign_words >= 2 and foreign_words > 2 * english_words


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class UnsupportedLanguageClassifier(GraphComponent):
    """Predicts ``unsupported_language`` for messages in other languages."""

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "UnsupportedLanguageClassifier":
        """Create the component (nothing to train)."""
        return cls()

    def process(self, messages: List[Message]) -> List[Message]:
        """Override the intent of messages in unsupported languages."""
        for message in messages:
            if is_unsupported_language(message.get(TEXT)):
                override_intent(message, INTENT_NAME)
        return messages
