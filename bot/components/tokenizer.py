"""A tokenizer for English, Chinese and the two mixed in one message.

Runs of Chinese characters are segmented with jieba; everything else is split
into words (letters and digits, keeping inner ``-``, ``.``, ``'`` as in
``SH-100234`` or ``Wi-Fi``) and currency signs. Token offsets always point
into the original text, so entity annotations in either language line up
with token boundaries and one DIET model learns both languages.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.training_data.message import Message

HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
HAN_RUN = f"[{HAN}]+"
WORD = f"[^\\W_{HAN}]+(?:['’.\\-][^\\W_{HAN}]+)*"
CURRENCY = r"[$¥￥€£]"
PIECES = re.compile(f"({HAN_RUN})|({WORD})|({CURRENCY})")

_jieba: Any = None


def _segmenter() -> Any:
    global _jieba
    if _jieba is None:
        import logging

        import jieba

        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()
        _jieba = jieba
    return _jieba


def split_text(text: str) -> List[tuple[str, int]]:
    """Split ``text`` into ``(token, start offset)`` pairs."""
    tokens: List[tuple[str, int]] = []
    for match in PIECES.finditer(text):
        if match.group(1):
            start = match.start()
            for word, begin, _ in _segmenter().tokenize(match.group(1)):
                tokens.append((word, start + begin))
        else:
            tokens.append((match.group(0), match.start()))
    return tokens


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=True
)
class BilingualTokenizer(JiebaTokenizer):
    """jieba for Chinese runs, word rules for Latin text, in one pass.

    Inherits the Jieba tokenizer's ``dictionary_path`` option: a folder of
    jieba user dictionaries (``make data`` writes one with the catalog's
    Chinese product, brand and category words), copied into the model when
    training and loaded from it when serving.
    """

    @staticmethod
    def supported_languages() -> List[str] | None:
        """Any language code: the tokenizer itself handles English and Chinese."""
        return None

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "BilingualTokenizer":
        """Create the tokenizer, loading the user dictionaries into jieba."""
        _segmenter()
        return super().create(config, model_storage, resource, execution_context)  # type: ignore[return-value]

    @classmethod
    def load(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "BilingualTokenizer":
        """Load the tokenizer and the user dictionaries saved with the model."""
        _segmenter()
        return super().load(config, model_storage, resource, execution_context, **kwargs)  # type: ignore[return-value]

    def tokenize(self, message: Message, attribute: str) -> List[Token]:
        """Tokenize one attribute of a message."""
        text = message.get(attribute) or ""
        tokens = [Token(word, start) for word, start in split_text(text)]
        if not tokens and text.strip():
            # emoji or punctuation only: one token, so every featurizer has input
            stripped = text.strip()
            tokens = [Token(stripped, text.index(stripped))]
        return self._apply_token_pattern(tokens)
