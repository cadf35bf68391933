"""A rasa-sdk ``KnowledgeBase`` backed by the product graph.

It lets Rasa's knowledge-base tooling (``ActionQueryKnowledgeBase``, the
mention helpers in ``rasa_sdk.knowledge_base.utils``) work on the shop's
catalog, and it is where this assistant's actions resolve mentions of the
products shown last: ordinals ("the second one", "第二个", "the last one") and
prices ("the cheaper one", "最贵的").
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from rasa_sdk.knowledge_base.storage import KnowledgeBase

from knowledge_graph.errors import KnowledgeGraphError
from knowledge_graph.graph import ProductGraph

PRODUCT = "product"
ATTRIBUTES = ["sku", "name", "brand", "category", "color", "material", "size", "capacity",
              "price", "currency", "stock", "availability"]
# knowledge-base attribute name -> ProductGraph.search argument
FILTERS = {"brand": "brand", "category": "category", "color": "color"}


class GraphKnowledgeBase(KnowledgeBase):
    """Products of the graph as knowledge-base objects of type ``product``.

    Args:
        graph: The product graph.
        currency: Currency of the prices in the objects.
        price: The price a customer was shown for a SKU (the conversation's), which
            "the cheaper one" and "最贵的" compare; list prices without it.
        language: ``en`` or ``zh``: the language of names.
    """

    def __init__(self, graph: ProductGraph, *, currency: str, language: str = "en",
                 price: Callable[[str], Decimal | None] | None = None) -> None:
        super().__init__()
        self._graph = graph
        self._currency = currency
        self._shown_price = price
        self._language = language
        self.key_attribute[PRODUCT] = "sku"
        self.representation_function[PRODUCT] = lambda obj: obj["name"]
        # positions 1-20 (the NLU's reference extractor tags up to 20), the last two
        self.ordinal_mention_mapping.update({
            str(n): (lambda items, i=n - 1: items[i]) for n in range(1, 21)})
        self.ordinal_mention_mapping.update({
            "-1": lambda items: items[-1],
            "-2": lambda items: items[-2],
            "cheapest": self._by_price(min),
            "dearest": self._by_price(max),
        })

    def _by_price(self, pick: Callable[..., str]) -> Callable[[list[str]], str]:
        def choose(skus: list[str]) -> str:
            listed = {s: self._price(s) for s in skus if self._graph.has_product(s)}
            prices = {s: price for s, price in listed.items() if price is not None}
            if not prices:
                raise IndexError("no listed product is in the catalog")
            return pick(prices, key=lambda s: prices[s])

        return choose

    def _price(self, sku: str) -> Decimal | None:
        """The price "the cheaper one" compares: as the customer was shown it (``price``),
        else the list price."""
        if self._shown_price is not None:
            return self._shown_price(sku)
        return self._graph.summary(sku, currency=self._currency).price

    def get_object_types(self) -> list[str]:
        """The one object type: ``product``."""
        return [PRODUCT]

    async def get_attributes_of_object(self, object_type: str) -> list[str]:
        """Attributes of a product object."""
        return list(ATTRIBUTES) if object_type == PRODUCT else []

    async def get_objects(self, object_type: str, attributes: list[dict[str, str]],
                          limit: int = 5) -> list[dict[str, Any]]:
        """Products matching brand, category and colour attributes (names or keys)."""
        if object_type != PRODUCT:
            return []
        filters: dict[str, str | None] = {"brand": None, "category": None, "color": None}
        for attribute in attributes:
            name, value = attribute.get("name"), attribute.get("value")
            if name in FILTERS and value:
                key = self._graph.canonical(name, value)
                if key is None:
                    return []  # an unknown brand or category matches nothing
                filters[FILTERS[name]] = key
        result = self._graph.search(currency=self._currency, limit=limit,
                                    brand=filters["brand"], category=filters["category"],
                                    color=filters["color"])
        return [self._object(item.sku) for item in result.items]

    async def get_object(self, object_type: str, object_identifier: str
                         ) -> dict[str, Any] | None:
        """A product by sku, or by its name (fuzzy-matched)."""
        if object_type != PRODUCT or not object_identifier:
            return None
        sku = str(object_identifier)
        if not self._graph.has_product(sku):
            matches = self._graph.match_names(sku, limit=1, min_score=75)
            if not matches:
                return None
            sku = matches[0].sku
        return self._object(sku)

    def _object(self, sku: str) -> dict[str, Any]:
        try:
            d = self._graph.details(sku, currency=self._currency)
        except KnowledgeGraphError:
            return {"sku": sku, "name": sku}
        zh = self._language == "zh"
        return {
            "sku": d.sku,
            "name": d.name_zh if zh else d.name_en,
            "brand": d.brand_zh if zh else d.brand_en,
            "category": d.category_zh if zh else d.category_en,
            "color": d.color_zh if zh else d.color_en,
            "material": d.material_zh if zh else d.material_en,
            "size": d.size,
            "capacity": d.capacity,
            "price": d.price,
            "currency": d.currency,
            "stock": d.stock,
            "availability": d.availability,
        }
