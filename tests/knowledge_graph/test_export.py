"""Export of catalog records to schema.org RDF."""

from __future__ import annotations

from decimal import Decimal

from rdflib import Literal, URIRef
from rdflib.namespace import RDF, SKOS

from knowledge_graph.export import availability, build_graph
from knowledge_graph.records import BrandRecord, CategoryRecord, ColorRecord, ProductRecord
from knowledge_graph.vocab import SCHEMA, SHOP, brand_iri, category_iri, product_iri


def small_catalog():
    categories = [CategoryRecord("shoes", "shoes", "鞋"),
                  CategoryRecord("running_shoes", "running shoes", "跑鞋", "shoes",
                                 alt_en=("trainers",)),
                  CategoryRecord("phones", "phones", "手机")]
    brands = [BrandRecord("anta", "Anta", "安踏"), BrandRecord("acme", "Acme", "艾克米")]
    def product(sku, group, model_en, model_zh, name_en, name_zh, desc_en, desc_zh, category,
                brand, prices, **extra):
        return ProductRecord(sku=sku, group_id=group, model_en=model_en, model_zh=model_zh,
                             name_en=name_en, name_zh=name_zh, description_en=desc_en,
                             description_zh=desc_zh, category_key=category, brand_key=brand,
                             prices=prices, **extra)

    products = [
        product("S1", "anta-c202", "Anta C202", "安踏 C202", "Anta C202 (red)", "安踏 C202（红色）",
                "A running shoe.", "一双跑鞋。", "running_shoes", "anta",
                {"USD": Decimal("69.99"), "CNY": Decimal("499")}, stock=12, color="red",
                color_zh="红色", material="mesh", material_zh="网布", size="EU 42"),
        product("S2", "anta-c202", "Anta C202", "安踏 C202", "Anta C202 (black)",
                "安踏 C202（黑色）", "A running shoe.", "一双跑鞋。", "running_shoes", "anta",
                {"USD": Decimal("69.99")}, stock=0, color="black", color_zh="黑色"),
        product("P1", "acme-x", "Acme X", "艾克米 X", "Acme X 128GB", "艾克米 X 128GB", "A phone.",
                "一部手机。", "phones", "acme", {"USD": Decimal("199")}, stock=3,
                capacity="128GB"),
        product("C1", "acme-case", "Acme Case", "艾克米 手机壳", "Acme Case", "艾克米 手机壳",
                "A case.", "手机壳。", "phones", "acme", {"USD": Decimal("9.5")}, stock=50,
                accessory_for=("P1",)),
    ]
    colors = [ColorRecord("red", "红色"), ColorRecord("black", "黑色", ("dark",))]
    return categories, brands, products, colors


def test_products_use_schema_org_terms_with_both_languages() -> None:
    g = build_graph(*small_catalog())
    shoe = product_iri("S1")
    assert (shoe, RDF.type, SCHEMA.Product) in g
    assert (shoe, SCHEMA.name, Literal("Anta C202 (red)", lang="en")) in g
    assert (shoe, SCHEMA.name, Literal("安踏 C202（红色）", lang="zh")) in g
    assert (shoe, SCHEMA.brand, brand_iri("anta")) in g
    assert (brand_iri("anta"), SCHEMA.name, Literal("安踏", lang="zh")) in g
    assert (shoe, SCHEMA.color, Literal("red", lang="en")) in g
    assert (shoe, SCHEMA.category, category_iri("running_shoes")) in g
    assert (category_iri("running_shoes"), SKOS.broader, category_iri("shoes")) in g
    assert (product_iri("C1"), SCHEMA.isAccessoryOrSparePartFor, product_iri("P1")) in g
    offers = {(str(g.value(o, SCHEMA.priceCurrency)), g.value(o, SCHEMA.price).toPython())
              for o in g.objects(shoe, SCHEMA.offers)}
    assert offers == {("USD", Decimal("69.99")), ("CNY", Decimal("499"))}


def test_availability_follows_stock() -> None:
    g = build_graph(*small_catalog())
    by_sku = {}
    for sku in ("S1", "S2", "P1"):
        offer = next(g.objects(product_iri(sku), SCHEMA.offers))
        by_sku[sku] = g.value(offer, SCHEMA.availability)
    assert by_sku == {"S1": SCHEMA.InStock, "S2": SCHEMA.OutOfStock,
                      "P1": SCHEMA.LimitedAvailability}
    assert [availability(n) for n in (0, 5, 6)] == ["OutOfStock", "LimitedAvailability",
                                                    "InStock"]


def test_category_closure_is_materialised() -> None:
    g = build_graph(*small_catalog())
    assert (product_iri("S1"), SHOP.inCategory, category_iri("shoes")) in g
    assert (product_iri("S1"), SHOP.inCategory, category_iri("running_shoes")) in g


def test_cost_is_never_published() -> None:
    g = build_graph(*small_catalog())
    assert not any("cost" in str(p).lower() for p in g.predicates())
    assert all(not isinstance(o, URIRef) or "cost" not in str(o) for o in g.objects())


def test_every_term_the_export_uses_is_declared_in_the_ontology() -> None:
    from pathlib import Path

    from rdflib import Graph
    from rdflib.namespace import RDFS

    import knowledge_graph

    ontology = Graph()
    ontology.parse(Path(knowledge_graph.__file__).with_name("ontology.ttl"), format="turtle")
    declared = set(ontology.subjects(RDFS.label, None))
    g = build_graph(*small_catalog())
    used_predicates = {p for p in g.predicates() if p != RDF.type}
    used_classes = set(g.objects(None, RDF.type)) | set(g.objects(None, SCHEMA.availability))
    missing = {str(t) for t in used_predicates | used_classes if t not in declared}
    assert not missing
    # every declaration is labelled in both languages
    for term in declared:
        langs = {label.language for label in ontology.objects(term, RDFS.label)}
        assert {"en", "zh"} <= langs, term
