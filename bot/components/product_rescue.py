"""Turn an unsure prediction about a named product into a useful answer.

When the intent classifier is unsure, ``FallbackClassifier`` predicts
``nlu_fallback`` and the assistant asks the customer to rephrase. But a message
that names a product ("can you tell me a bit about the Apple AirPods Pro 2?",
"is there any promo on the Dyson V15?"), points at a listed one ("put the
first two side by side") or names catalog terms ("something in black under
$50") is about the shop, and "please rephrase" helps nobody.
:class:`ProductIntentRescue` runs after the fallback classifier: for such a
message it restores the highest-ranked shop intent of the classifier's ranking
(for a product: a question about it, the general "tell me about it" when none
ranks; for catalog terms alone: a search), so the assistant answers. Messages
with nothing of the shop in them keep ``nlu_fallback``.
"""

from __future__ import annotations

from typing import Any, Dict, List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY
from rasa.shared.nlu.training_data.message import Message

from bot.components.stateless import StatelessComponent

FALLBACK = "nlu_fallback"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER],
                          is_trainable=False)
class ProductIntentRescue(StatelessComponent):
    """Replaces ``nlu_fallback`` by a shop intent when the message names the shop's things.

    Options:
        product_intents: intents about one or more products, best first when tied.
        product_entities: entities that name or point at a product.
        default_product_intent: the intent used when none of ``product_intents`` ranks.
        search_intents: intents about the catalog.
        search_entities: catalog terms that make a search.
        default_search_intent: the intent used when none of ``search_intents`` ranks.
    """

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """Default options (see the class docstring)."""
        return {
            "product_intents": ["ask_price", "ask_details", "ask_discount", "negotiate_price",
                                "ask_color", "ask_material", "ask_stock", "compare_products",
                                "ask_accessories", "ask_similar", "ask_complements"],
            "product_entities": ["product", "mention"],
            "default_product_intent": "ask_details",
            "search_intents": ["search_products", "ask_recommendation"],
            "search_entities": ["category", "brand", "color", "price"],
            "default_search_intent": "search_products",
        }

    def _pick(self, ranking: List[Dict[str, Any]], intents: List[str], default: str
              ) -> Dict[str, Any]:
        for candidate in ranking:
            if candidate.get("name") in intents:
                return {"name": candidate["name"],
                        "confidence": float(candidate.get("confidence") or 0.0)}
        return {"name": default, "confidence": 0.0}

    def process(self, messages: List[Message]) -> List[Message]:
        """Rescue each unsure message that names a product or catalog terms."""
        for message in messages:
            intent = message.get(INTENT) or {}
            if intent.get("name") != FALLBACK:
                continue
            kinds = {e.get("entity") for e in message.get(ENTITIES) or []}
            ranking = [r for r in message.get(INTENT_RANKING_KEY) or []
                       if r.get("name") != FALLBACK]
            if kinds & set(self._config["product_entities"]):
                rescued = self._pick(ranking, self._config["product_intents"]
                                     + self._config["search_intents"],
                                     self._config["default_product_intent"])
            elif kinds & set(self._config["search_entities"]):
                rescued = self._pick(ranking, self._config["search_intents"],
                                     self._config["default_search_intent"])
            else:
                continue
            message.set(INTENT, rescued, add_to_output=True)
        return messages
