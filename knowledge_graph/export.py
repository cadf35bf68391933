"""Export catalog records to a schema.org RDF graph.

:func:`iter_triples` writes the graph as a stream of triples (pyoxigraph terms,
cheap to make); :func:`build_store` loads them into an Oxigraph store, which is
how catalogs of any size are exported, and :func:`build_graph` into an rdflib
graph, which the SHACL check and small tools use.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from rdflib import Graph

from knowledge_graph.backends import from_ox
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
XSD = "http://www.w3.org/2001/XMLSchema#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
PREFIXES = {"schema": str(SCHEMA), "skos": str(SKOS_NS), "shop": str(SHOP),
            "xsd": XSD}

Triple = tuple[Any, Any, Any]


def availability(stock: int, available: bool = True) -> str:
    """schema.org availability: Discontinued for products no longer sold, else InStock,
    LimitedAvailability or OutOfStock by stock level."""
    if not available:
        return "Discontinued"
    if stock <= 0:
        return "OutOfStock"
    return "LimitedAvailability" if stock <= LOW_STOCK else "InStock"


class _Terms:
    """pyoxigraph terms, with the fixed IRIs made once."""

    def __init__(self) -> None:
        import pyoxigraph as ox

        self.ox = ox
        self._iris: dict[str, Any] = {}
        self.decimal = ox.NamedNode(XSD + "decimal")
        self.integer = ox.NamedNode(XSD + "integer")
        self.any_uri = ox.NamedNode(XSD + "anyURI")

    def iri(self, value: str) -> Any:
        node = self._iris.get(value)
        if node is None:
            node = self._iris[value] = self.ox.NamedNode(value)
        return node

    def text(self, value: str, lang: str | None = None) -> Any:
        return self.ox.Literal(value, language=lang) if lang else self.ox.Literal(value)

    def typed(self, value: object, datatype: Any) -> Any:
        return self.ox.Literal(str(value), datatype=datatype)


def iter_triples(
    categories: Iterable[CategoryRecord],
    brands: Iterable[BrandRecord],
    products: Iterable[ProductRecord],
    colors: Iterable[ColorRecord] = (),
) -> Iterator[Triple]:
    """The product graph as triples of pyoxigraph terms.

    Args:
        categories: Category concepts (a SKOS hierarchy through ``parent_key``).
        brands: Brands.
        products: Product variants; ``accessory_for`` holds skus.
        colors: Colour concepts (labels and synonyms of the ``schema:color`` values).
    """
    t = _Terms()
    iri, text = t.iri, t.text
    a = iri(RDF_TYPE)
    s: dict[str, Any] = {term: iri(f"{SCHEMA}{term}") for term in (
        "Product", "ProductGroup", "Brand", "Offer", "PropertyValue", "sku", "name",
        "description", "brand", "category", "color", "material", "size", "image",
        "additionalProperty", "propertyID", "value", "isVariantOf", "productGroupID", "offers",
        "price", "priceCurrency", "availability", "inventoryLevel", "isAccessoryOrSparePartFor",
        "identifier")}
    skos: dict[str, Any] = {term: iri(f"{SKOS_NS}{term}") for term in (
        "Concept", "inScheme", "prefLabel", "altLabel", "broader")}
    in_category, has_brand, has_color = (iri(str(SHOP[n])) for n in (
        "inCategory", "hasBrand", "hasColor"))

    def bilingual(subject: Any, predicate: Any, en: str | None,
                  zh: str | None) -> Iterator[Triple]:
        if en:
            yield subject, predicate, text(en, "en")
        if zh:
            yield subject, predicate, text(zh, "zh")

    def concept(node: Any, scheme: str, key: str, labels: tuple[str, str | None],
                alt_en: tuple[str, ...] = (), alt_zh: tuple[str, ...] = ()) -> Iterator[Triple]:
        yield node, a, skos["Concept"]
        yield node, skos["inScheme"], iri(str(SHOP[f"scheme/{scheme}"]))
        yield node, s["identifier"], text(key)
        yield from bilingual(node, skos["prefLabel"], *labels)
        for alts, lang in ((alt_en, "en"), (alt_zh, "zh")):
            for alt in alts:
                yield node, skos["altLabel"], text(alt, lang)

    categories = list(categories)
    for c in categories:
        node = iri(str(category_iri(c.key)))
        yield from concept(node, "categories", c.key, (c.name_en, c.name_zh), c.alt_en, c.alt_zh)
        if c.parent_key:
            yield node, skos["broader"], iri(str(category_iri(c.parent_key)))
    for col in colors:
        yield from concept(iri(str(color_iri(col.key))), "colors", col.key,
                           (col.key, col.name_zh), col.alt_en)
    for b in brands:
        node = iri(str(brand_iri(b.key)))
        yield node, a, s["Brand"]
        yield node, s["identifier"], text(b.key)
        yield from bilingual(node, s["name"], b.name_en, b.name_zh)
    parents = {c.key: c.parent_key for c in categories}
    no_brand, no_color = iri(str(NO_BRAND)), iri(str(NO_COLOR))
    seen_groups: set[str] = set()
    for p in products:
        node = t.ox.NamedNode(str(product_iri(p.sku)))
        yield node, a, s["Product"]
        yield node, s["sku"], text(p.sku)
        yield from bilingual(node, s["name"], p.name_en, p.name_zh)
        yield from bilingual(node, s["description"], p.description_en, p.description_zh)
        brand = iri(str(brand_iri(p.brand_key))) if p.brand_key else None
        if brand is not None:
            yield node, s["brand"], brand
        # materialised for search: every product has exactly one, "none" included
        yield node, has_brand, brand if brand is not None else no_brand
        yield node, has_color, iri(str(color_iri(p.color))) if p.color else no_color
        yield node, s["category"], iri(str(category_iri(p.category_key)))
        # materialised SKOS closure: the product is in its category and every ancestor
        ancestor: str | None = p.category_key
        visited: set[str] = set()
        while ancestor and ancestor not in visited:
            visited.add(ancestor)
            yield node, in_category, iri(str(category_iri(ancestor)))
            ancestor = parents.get(ancestor)
        yield from bilingual(node, s["color"], p.color, p.color_zh)
        yield from bilingual(node, s["material"], p.material, p.material_zh)
        if p.size:
            yield node, s["size"], text(p.size)
        if p.image:
            yield node, s["image"], t.typed(p.image, t.any_uri)
        attributes = ((("capacity", p.capacity),) if p.capacity else ()) + p.attributes
        for name, value in attributes:
            prop = t.ox.BlankNode()
            yield node, s["additionalProperty"], prop
            yield prop, a, s["PropertyValue"]
            yield prop, s["propertyID"], text(name)
            yield prop, s["value"], text(value)
        group = iri(str(group_iri(p.group_id)))
        yield node, s["isVariantOf"], group
        if p.group_id not in seen_groups:
            seen_groups.add(p.group_id)
            yield group, a, s["ProductGroup"]
            yield group, s["productGroupID"], text(p.group_id)
            yield from bilingual(group, s["name"], p.model_en, p.model_zh)
        state = iri(str(SCHEMA[availability(p.stock, p.available)]))
        stock = t.typed(p.stock, t.integer)
        for currency, price in sorted(p.prices.items()):
            offer = t.ox.NamedNode(str(offer_iri(p.sku, currency)))
            yield node, s["offers"], offer
            yield offer, a, s["Offer"]
            if price is not None:  # no price: sold at a price on request
                yield offer, s["price"], t.typed(price, t.decimal)
            yield offer, s["priceCurrency"], text(currency)
            yield offer, s["availability"], state
            yield offer, s["inventoryLevel"], stock
        for target in p.accessory_for:
            yield node, s["isAccessoryOrSparePartFor"], iri(str(product_iri(target)))


def build_store(
    categories: Iterable[CategoryRecord],
    brands: Iterable[BrandRecord],
    products: Iterable[ProductRecord],
    colors: Iterable[ColorRecord] = (),
) -> Any:
    """The product graph in a new in-memory Oxigraph store (``pyoxigraph.Store``)."""
    import pyoxigraph as ox

    store = ox.Store()
    default = ox.DefaultGraph()
    store.bulk_extend(ox.Quad(s, p, o, default)
                      for s, p, o in iter_triples(categories, brands, products, colors))
    return store


def build_graph(
    categories: Iterable[CategoryRecord],
    brands: Iterable[BrandRecord],
    products: Iterable[ProductRecord],
    colors: Iterable[ColorRecord] = (),
) -> Graph:
    """The product graph as an in-memory rdflib graph (for SHACL and small catalogs).

    Args:
        categories: Category concepts (a SKOS hierarchy through ``parent_key``).
        brands: Brands.
        products: Product variants; ``accessory_for`` holds skus.
        colors: Colour concepts.
    """
    g = Graph()
    for prefix, namespace in PREFIXES.items():
        g.bind(prefix, namespace)
    g.addN((from_ox(s), from_ox(p), from_ox(o), g)  # type: ignore[misc]  # never None
           for s, p, o in iter_triples(categories, brands, products, colors))
    return g


def write_graph(graph: Graph | Any, path: Path) -> None:
    """Serialise an rdflib graph or an Oxigraph store as Turtle, atomically
    replacing ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    if isinstance(graph, Graph):
        graph.serialize(destination=tmp, format="turtle", encoding="utf-8")
    else:
        import pyoxigraph as ox

        graph.dump(str(tmp), ox.RdfFormat.TURTLE, from_graph=ox.DefaultGraph(),
                   prefixes=PREFIXES)
    tmp.replace(path)
