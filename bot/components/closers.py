"""One answer for intents that mean the same to the customer.

"cheers, that's all I needed" is both thanks and goodbye: the classifier splits its
belief between them (thank 0.38, goodbye 0.32), neither reaches the fallback
threshold, and ``FallbackClassifier`` answers "I didn't follow that" to a customer
who was saying goodbye. :class:`AgreeingIntents` runs after the fallback classifier:
when the intents the classifier ranks highest all belong to one group of
``groups`` (by default the closers: ``thank``, ``goodbye``) and together they reach
``threshold``, the message gets the highest of them back. A split between intents
that want different answers ("thanks" and "cancel my order") keeps its fallback.
"""

from __future__ import annotations

from typing import Any, Dict, List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY
from rasa.shared.nlu.training_data.message import Message

from bot.components.stateless import StatelessComponent

FALLBACK = "nlu_fallback"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER],
                          is_trainable=False)
class AgreeingIntents(StatelessComponent):
    """Replaces ``nlu_fallback`` when the leading intents agree on what to answer.

    Options:
        groups: lists of intents that get the same kind of answer.
        threshold: the least confidence the group's leading intents must sum to (the
            fallback classifier's threshold: a group is as sure as one intent would be).
        top: how many of the ranking's leading intents must all be in the group.
    """

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """Closers, at the fallback classifier's threshold, the two leading intents."""
        return {"groups": [["thank", "goodbye"]], "threshold": 0.4, "top": 2}

    def process(self, messages: List[Message]) -> List[Message]:
        """Give each unsure message whose leading intents agree the highest of them."""
        groups = [set(g) for g in self._config["groups"]]
        top = int(self._config["top"])
        for message in messages:
            if (message.get(INTENT) or {}).get("name") != FALLBACK:
                continue
            ranking = [r for r in message.get(INTENT_RANKING_KEY) or []
                       if r.get("name") != FALLBACK][:top]
            names = {r.get("name") for r in ranking}
            total = sum(float(r.get("confidence") or 0.0) for r in ranking)
            if len(ranking) == top and any(names <= g for g in groups) \
                    and total >= float(self._config["threshold"]):
                message.set(INTENT, {"name": ranking[0]["name"],
                                     "confidence": float(ranking[0]["confidence"])},
                            add_to_output=True)
        return messages
