"""Export catalog records to a schema.org RDF graph."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, XSD

from knowledge_graph.records import BrandRecord, CategoryRecord, ColorRecord, ProductRecord
from knowledge_graph.vocab import (
    SCHEMA,
    SHOP,
    SKOS_NS,
    brand_iri,
    category_iri,
    color_iri,
    group_iri,
    offer_iri,
    product_iri,
)

LOW_STOCK = 5
NO_BRAND = SHOP["brand/_none"]
NO_COLOR = SHOP["color/_none"]


def availability(stock: int, available: bool = True) -> str:
    """schema.org availability: Discontinued for products no longer sold, else InStock,
    LimitedAvailability or OutOfStock by stock level."""
    if not available:
        return "Discontinued"
    if stock <= 0:
        return "OutOfStock"
    return "LimitedAvailability" if stock <= LOW_STOCK else "InStock"


def _bilingual(graph: Graph, subject: object, predicate: object, en: str | None,
               zh: str | None) -> None:
    if en:
        graph.add((subject, predicate, Literal(en, lang="en")))  # type: ignore[arg-type]
    if zh:
        graph.add((subject, predicate, Literal(zh, lang="zh")))  # type: ignore[arg-type]


def _concept(g: Graph, iri: URIRef, scheme: str, key: str, labels: tuple[str, str | None],
             alt_en: tuple[str, ...] = (), alt_zh: tuple[str, ...] = ()) -> None:
    """A SKOS concept with its key, bilingual preferred labels and alternative labels."""
    g.add((iri, RDF.type, SKOS_NS.Concept))
    g.add((iri, SKOS_NS.inScheme, SHOP[f"scheme/{scheme}"]))
    g.add((iri, SCHEMA.identifier, Literal(key)))
    _bilingual(g, iri, SKOS_NS.prefLabel, *labels)
    for alts, lang in ((alt_en, "en"), (alt_zh, "zh")):
        for alt in alts:
            g.add((iri, SKOS_NS.altLabel, Literal(alt, lang=lang)))


def build_graph(
    categories: list[CategoryRecord],
    brands: Iterable[BrandRecord],
    products: Iterable[ProductRecord],
    colors: Iterable[ColorRecord] = (),
) -> Graph:
    """Build the product graph.

    Args:
        categories: Category concepts (a SKOS hierarchy through ``parent_key``).
        brands: Brands.
        colors: Colour concepts (labels and synonyms of the ``schema:color`` values).
        products: Product variants; ``accessory_for`` holds skus.

    Returns:
        An in-memory rdflib graph using schema.org and SKOS terms.
    """
    g = Graph()
    g.bind("schema", SCHEMA)
    g.bind("skos", SKOS_NS)
    g.bind("shop", SHOP)
    for c in categories:
        iri = category_iri(c.key)
        _concept(g, iri, "categories", c.key, (c.name_en, c.name_zh), c.alt_en, c.alt_zh)
        if c.parent_key:
            g.add((iri, SKOS_NS.broader, category_iri(c.parent_key)))
    for col in colors:
        _concept(g, color_iri(col.key), "colors", col.key, (col.key, col.name_zh), col.alt_en)
    for b in brands:
        iri = brand_iri(b.key)
        g.add((iri, RDF.type, SCHEMA.Brand))
        g.add((iri, SCHEMA.identifier, Literal(b.key)))
        _bilingual(g, iri, SCHEMA.name, b.name_en, b.name_zh)
    parents = {c.key: c.parent_key for c in categories}
    seen_groups: set[str] = set()
    for p in products:
        iri = product_iri(p.sku)
        g.add((iri, RDF.type, SCHEMA.Product))
        g.add((iri, SCHEMA.sku, Literal(p.sku)))
        _bilingual(g, iri, SCHEMA.name, p.name_en, p.name_zh)
        _bilingual(g, iri, SCHEMA.description, p.description_en, p.description_zh)
        if p.brand_key:
            g.add((iri, SCHEMA.brand, brand_iri(p.brand_key)))
        # materialised for search: every product has exactly one, "none" included
        g.add((iri, SHOP.hasBrand, brand_iri(p.brand_key) if p.brand_key else NO_BRAND))
        g.add((iri, SHOP.hasColor, color_iri(p.color) if p.color else NO_COLOR))
        g.add((iri, SCHEMA.category, category_iri(p.category_key)))
        # materialised SKOS closure: the product is in its category and every ancestor
        ancestor: str | None = p.category_key
        visited: set[str] = set()
        while ancestor and ancestor not in visited:
            visited.add(ancestor)
            g.add((iri, SHOP.inCategory, category_iri(ancestor)))
            ancestor = parents.get(ancestor)
        _bilingual(g, iri, SCHEMA.color, p.color, p.color_zh)
        _bilingual(g, iri, SCHEMA.material, p.material, p.material_zh)
        if p.size:
            g.add((iri, SCHEMA.size, Literal(p.size)))
        if p.image:
            g.add((iri, SCHEMA.image, Literal(p.image, datatype=XSD.anyURI)))
        attributes = ((("capacity", p.capacity),) if p.capacity else ()) + p.attributes
        for name, value in attributes:
            prop = BNode()
            g.add((iri, SCHEMA.additionalProperty, prop))
            g.add((prop, RDF.type, SCHEMA.PropertyValue))
            g.add((prop, SCHEMA.propertyID, Literal(name)))
            g.add((prop, SCHEMA.value, Literal(value)))
        group = group_iri(p.group_id)
        g.add((iri, SCHEMA.isVariantOf, group))
        if p.group_id not in seen_groups:
            seen_groups.add(p.group_id)
            g.add((group, RDF.type, SCHEMA.ProductGroup))
            g.add((group, SCHEMA.productGroupID, Literal(p.group_id)))
            _bilingual(g, group, SCHEMA.name, p.model_en, p.model_zh)
        for currency, price in sorted(p.prices.items()):
            offer = offer_iri(p.sku, currency)
            g.add((iri, SCHEMA.offers, offer))
            g.add((offer, RDF.type, SCHEMA.Offer))
            g.add((offer, SCHEMA.price, Literal(price, datatype=XSD.decimal)))
            g.add((offer, SCHEMA.priceCurrency, Literal(currency)))
            g.add((offer, SCHEMA.availability, SCHEMA[availability(p.stock, p.available)]))
            g.add((offer, SCHEMA.inventoryLevel, Literal(p.stock, datatype=XSD.integer)))
        for target in p.accessory_for:
            g.add((iri, SCHEMA.isAccessoryOrSparePartFor, product_iri(target)))
    return g


def write_graph(graph: Graph, path: Path) -> None:
    """Serialise ``graph`` as Turtle, atomically replacing ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    graph.serialize(destination=tmp, format="turtle", encoding="utf-8")
    tmp.replace(path)
