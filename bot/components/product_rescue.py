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

A message classified out of scope, even confidently, that points at a listed
product in words the reference patterns know ("give me a rundown of the 2nd") is
about that product: the best-ranked product question, else "tell me about it".

An unsure message the classifier ranks as out of scope first is rescued only for entities
the catalog gazetteer or the patterns found ("could you find me a personal
trainer?" keeps its fallback, which says what the assistant can do, though the
entity model tags "trainer" as a category).

A product question that names one of the shop's order numbers ("has SH-106582 left
the warehouse yet?") is about that order (the order intent ranked highest, else a
status question), whatever the entity model took for a product.

Two more cases follow the same idea: an unsure message with an order number or
an e-mail ("what's happening with SH-100074?") is about an order (the order
intent ranked highest, else a status question); and a colour or stock question
that names a catalog category (found by the gazetteer) but no product
("有没有灰色的休闲鞋", "any grey sneakers in stock?") asks which products there
are: a search.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
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
            "order_intents": ["check_order_status", "cancel_order", "return_order"],
            "order_entities": ["order_number", "email"],
            "default_order_intent": "check_order_status",
            "catalog_questions": ["ask_color", "ask_stock"],
            "catalog_entities": ["category"],
            # a catalog term the gazetteer found, not a word the entity model guessed
            # ("are there any left in the warehouse?" tags "warehouse" as a category)
            "catalog_extractors": ["GazetteerEntityExtractor"],
            # an unsure message the classifier ranks as one of these first is rescued only
            # for entities found by these extractors (catalog names, list references) or
            # for an order number, not for the entity model's guesses
            "not_shop_intents": ["out_of_scope"],
            "trusted_extractors": ["GazetteerEntityExtractor", "ReferenceExtractor"],
            # a message the classifier finds out of scope, even confidently, that points
            # at a listed product with one of these ("the 2nd", "第二个") is about it
            "pointing_extractors": ["ReferenceExtractor"],
            # the shop's order numbers: a product question that names one is about it
            "order_number_pattern": r"(?i)(?<![A-Z0-9])SH[-\s_]?\d{6}(?!\d)",
            # what an order-number tag must hold to count (the shop's six digits)
            "order_number_value": r"(?<!\d)\d{6}(?!\d)",
        }

    def __init__(self, config: Dict[str, Any]) -> None:
        super().__init__(config)
        self._order_number = re.compile(self._config["order_number_pattern"])
        self._order_value = re.compile(self._config["order_number_value"])

    def _names_an_order(self, message: Message) -> bool:
        """An e-mail, or an order-number tag that looks like one of the shop's (the entity
        model also tags "600-900" in "休闲鞋，600-900元" as an order number)."""
        for e in message.get(ENTITIES) or []:
            if e.get("entity") not in self._config["order_entities"]:
                continue
            if e.get("entity") != "order_number" or self._order_value.search(
                    str(e.get("value") or "")):
                return True
        return False

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
            kinds = {e.get("entity") for e in message.get(ENTITIES) or []}
            pointed = kinds & set(self._config["product_entities"])
            catalog_terms = [e for e in message.get(ENTITIES) or []
                             if e.get("entity") in self._config["catalog_entities"]
                             and e.get("extractor") in self._config["catalog_extractors"]]
            if (intent.get("name") in self._config["catalog_questions"] and not pointed
                    and catalog_terms):
                message.set(INTENT, {"name": self._config["default_search_intent"],
                                     "confidence": float(intent.get("confidence") or 0.0)},
                            add_to_output=True)
                continue
            if (intent.get("name") in self._config["product_intents"]
                    and self._order_number.search(message.get(TEXT) or "")):
                # "has SH-106582 left the warehouse yet?": about that order, whatever
                # else looks like a product ("warehouse")
                ranking = message.get(INTENT_RANKING_KEY) or []
                message.set(INTENT, self._pick(ranking, self._config["order_intents"],
                                               self._config["default_order_intent"]),
                            add_to_output=True)
                continue
            if intent.get("name") in self._config["not_shop_intents"] and any(
                    e.get("entity") in self._config["product_entities"]
                    and e.get("extractor") in self._config["pointing_extractors"]
                    for e in message.get(ENTITIES) or []):
                # "give me a rundown of the 2nd": a word the classifier never met, about
                # a product the customer was shown
                ranking = [r for r in message.get(INTENT_RANKING_KEY) or []
                           if r.get("name") not in (FALLBACK, intent.get("name"))]
                message.set(INTENT, self._pick(ranking, self._config["product_intents"],
                                               self._config["default_product_intent"]),
                            add_to_output=True)
                continue
            if intent.get("name") != FALLBACK:
                continue
            ranking = [r for r in message.get(INTENT_RANKING_KEY) or []
                       if r.get("name") != FALLBACK]
            guessed_only = (
                ranking and ranking[0].get("name") in self._config["not_shop_intents"]
                and not any(e.get("extractor") in self._config["trusted_extractors"]
                            for e in message.get(ENTITIES) or []))
            if self._names_an_order(message):
                rescued = self._pick(ranking, self._config["order_intents"],
                                     self._config["default_order_intent"])
            elif guessed_only:
                # "could you find me a personal trainer?": the entity model's guess that
                # "trainer" is a category doesn't outweigh "not the shop's business"
                continue
            elif pointed:
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
