"""Per-message language detection for a bilingual (English/Chinese) assistant.

:class:`LanguageDetector` is a Rasa entity extractor that adds a ``language``
entity (``en`` or ``zh``) to every message with letters in it; the
``language`` slot maps from that entity, so replies follow the language of the
customer's latest message. A message without letters (a photo with no caption,
emoji, an order number) takes the language of the customer's chat window when
the channel sends it (``metadata["locale"]``: the web widget does), and otherwise
adds nothing, so the language of the conversation so far is kept.
"""

from __future__ import annotations

import re
from typing import List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, METADATA, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.components.stateless import StatelessComponent

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]")
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
# order numbers, SKUs and e-mail addresses say nothing about the customer's language
CODES = re.compile(r"\S+@\S+|\b[A-Za-z]{1,4}[-_]?\d[\w-]*")
WORD_START = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaffA-Za-z]")
ENTITY = "language"
LANGUAGES = ("en", "zh")


def locale_of(metadata: object) -> str | None:
    """The chat window's language a channel put in a message's metadata, if valid."""
    value = metadata.get("locale") if isinstance(metadata, dict) else None
    return value if value in LANGUAGES else None


def detect_language(text: str | None) -> str | None:
    """``"zh"`` if the text is Chinese, ``"en"`` if it is English; ``None`` when
    there are no words.

    Mixed text counts as Chinese ("有没有 iPhone 15", "show me 华为手机"), unless
    it is an English sentence around a Chinese name: it starts with an English
    word and has more English words than Chinese characters ("any 小米 phones
    under $400?").
    """
    if not text:
        return None
    latin = LATIN_WORD.findall(CODES.sub(" ", text))
    han = HAN.findall(text)
    if han:
        first = WORD_START.search(text)
        starts_english = first is not None and not HAN.match(first.group(0))
        return "en" if starts_english and len(latin) > len(han) else "zh"
    return "en" if latin else None


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False
)
class LanguageDetector(StatelessComponent, EntityExtractorMixin):
    """Adds a ``language`` entity with the detected language of the message."""

    def process(self, messages: List[Message]) -> List[Message]:
        """Add the language entity to each message."""
        for message in messages:
            language = detect_language(message.get(TEXT)) or locale_of(message.get(METADATA))
            if language is None:
                continue
            entities = [e for e in message.get(ENTITIES, []) if e.get("entity") != ENTITY]
            entities.append(
                {
                    "entity": ENTITY,
                    "value": language,
                    "start": 0,
                    "end": 0,
                    "confidence_entity": 1.0,
                    "extractor": self.__class__.__name__,
                }
            )
            message.set(ENTITIES, entities, add_to_output=True)
        return messages
