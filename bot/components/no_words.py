"""Fallback for messages with no words at all (only emoji, symbols or punctuation).

A classifier asked to pick an intent for "😀😀😀" or "???" still picks one,
sometimes confidently. This component runs after the FallbackClassifier and
turns such messages into ``nlu_fallback``, so the assistant asks the customer
to rephrase instead of guessing.
"""

from __future__ import annotations

from typing import Any, Dict, List

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message


def override_intent(message: Message, name: str) -> None:
    """Make ``name`` the message's intent with full confidence, first in its ranking.

    Used by the rule-based classifiers that run after the learnt ones (this one and
    :class:`bot.components.unsupported_language.UnsupportedLanguageClassifier`).
    """
    intent = {"name": name, "confidence": 1.0}
    message.set(INTENT, intent, add_to_output=True)
    ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != name]
    message.set(INTENT_RANKING_KEY, [intent] + ranking, add_to_output=True)


def has_words(text: str) -> bool:
    """True when the text has at least one letter or digit in any script."""
    return any(ch.isalnum() for ch in text or "")


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False
)
class NoWordsFallback(GraphComponent):
    """Predicts ``nlu_fallback`` for messages without letters or digits."""

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "NoWordsFallback":
        """Create the component (nothing to train)."""
        return cls()

    def process(self, messages: List[Message]) -> List[Message]:
        """Override the intent of word-less messages."""
        for message in messages:
            if not has_words(message.get(TEXT) or ""):
                override_intent(message, DEFAULT_NLU_FALLBACK_INTENT_NAME)
        return messages
