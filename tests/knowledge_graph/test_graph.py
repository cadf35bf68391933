"""Question answering over the product graph, on both SPARQL back ends."""

from __future__ import annotations

from decimal import Decimal

import pytest

from knowledge_graph.backends import OxigraphBackend, RdflibBackend, open_backend
from knowledge_graph.errors import KnowledgeGraphError, ProductNotFound
from knowledge_graph.export import build_graph, write_graph
from knowledge_graph.graph import ProductGraph
from knowledge_graph.lookups import build_vocabulary, short_names, to_rasa_yaml
from knowledge_graph.records import ProductRecord
from tests.knowledge_graph.test_export import small_catalog


@pytest.fixture(params=["oxigraph", "rdflib", "rdflib-oxigraph"])
def kg(request, tmp_path) -> ProductGraph:
    g = build_graph(*small_catalog())
    if request.param == "rdflib-oxigraph":  # rdflib's API, Oxigraph's store and engine
        write_graph(g, tmp_path / "graph.ttl")
        return ProductGraph(open_backend(tmp_path / "graph.ttl", "rdflib-oxigraph"))
    backend = OxigraphBackend.from_graph(g) if request.param == "oxigraph" else RdflibBackend(g)
    return ProductGraph(backend)


def test_search_by_parent_category_finds_sub_categories(kg) -> None:
    result = kg.search(currency="USD", category="shoes")
    assert [p.group_id for p in result.items] == ["anta-c202"]
    # one line per product group; the in-stock variant represents it
    assert result.items[0].sku == "S1"


def test_search_filters_combine(kg) -> None:
    assert [p.sku for p in kg.search(currency="USD", color="black").items] == ["S2"]
    assert [p.sku for p in kg.search(currency="USD", brand="acme", max_price=Decimal(100)).items] \
        == ["C1"]
    assert kg.search(currency="USD", brand="acme", min_price=Decimal(100)).items[0].sku == "P1"
    assert kg.search(currency="USD", color="red", max_price=Decimal(50)).total == 0
    assert kg.search(currency="CNY", category="shoes").items[0].price == Decimal("499")
    # a reversed range is read the way the customer meant it
    assert kg.search(currency="USD", min_price=Decimal(200), max_price=Decimal(100)).total == 1


def test_search_in_stock_only(kg) -> None:
    assert kg.search(currency="USD", color="black", in_stock_only=True).total == 0


def test_details_variants_accessories_and_comparison(kg) -> None:
    d = kg.details("S1", currency="USD")
    assert (d.brand_zh, d.category_en, d.color_zh, d.material_en, d.size) == (
        "安踏", "running shoes", "红色", "mesh", "EU 42")
    assert d.availability == "InStock" and d.price == Decimal("69.99")
    assert kg.details("P1", currency="USD").capacity == "128GB"
    assert [v.sku for v in kg.variants("S2", currency="USD")] == ["S1", "S2"]
    assert [a.sku for a in kg.accessories("P1", currency="USD")] == ["C1"]
    assert kg.accessories("S1", currency="USD") == []
    comparison = kg.compare(["S1", "P1"], currency="USD")
    assert "price" in comparison.differing and "brand_en" in comparison.differing
    with pytest.raises(KnowledgeGraphError):
        kg.compare(["S1", "S1"], currency="USD")


def test_unknown_products_raise(kg) -> None:
    for call in (lambda: kg.details("NOPE", currency="USD"),
                 lambda: kg.variants("NOPE", currency="USD"),
                 lambda: kg.accessories("NOPE", currency="USD")):
        with pytest.raises(ProductNotFound):
            call()
    # no offer in CNY: priced in the product's own currency instead
    assert kg.details("S2", currency="CNY").currency == "USD"


@pytest.mark.parametrize("text", ["'} UNION SELECT * WHERE { ?s ?p ?o", '>"<script>alert(1)',
                                  "\" . ?s ?p ?o . FILTER(\"", "DROP ALL"])
def test_injection_text_is_only_ever_data(kg, text: str) -> None:
    assert kg.match_names(text) == [] or all(m.score < 100 for m in kg.match_names(text))
    assert kg.canonical("brand", text) is None
    assert kg.search(currency=text).total == 0
    assert kg.search(currency="USD", brand=text).total == 0


def test_fuzzy_names_in_both_languages(kg) -> None:
    assert kg.match_names("anta c20")[0].group_id == "anta-c202"
    assert kg.match_names("安踏")[0].group_id == "anta-c202"
    assert kg.match_names("acme x")[0].group_id == "acme-x"
    assert kg.match_names("zzzz qqqq") == []


def test_vocabulary_and_labels(kg) -> None:
    assert kg.canonical("category", "Trainers") == "running_shoes"
    assert kg.canonical("brand", "安踏") == "anta"
    assert kg.canonical("color", "dark") == "black"
    assert kg.label("category", "running_shoes", "zh") == "跑鞋"
    vocab = build_vocabulary(kg)
    assert "Anta C202" in vocab.lookups["product"] and "安踏 C202" in vocab.lookups["product"]
    assert "安踏" in vocab.synonyms["anta"] and "trainers" in vocab.synonyms["running_shoes"]
    text = to_rasa_yaml(vocab)
    assert "- lookup: product" in text and '- synonym: "anta"' in text


def test_short_names_are_the_ones_customers_write() -> None:
    models = [("g1", "Samsung Galaxy S24", "三星 Galaxy S24"),
              ("g2", "JBL Flip 6 Speaker", "JBL Flip 6 蓝牙音箱"),
              ("g3", "Xiaomi 14", "小米 14"), ("g4", "IKEA Desk Lamp", "宜家 台灯"),
              ("g5", "Sony WH-1000XM5 Headphones", "索尼 WH-1000XM5 头戴式耳机"),
              ("g6", "Acme Pro Phone", "Acme Pro 手机"), ("g7", "Zeta Pro Phone", "Zeta Pro 手机")]
    brands = {"samsung": "samsung", "三星": "samsung", "jbl": "jbl", "xiaomi": "xiaomi",
              "小米": "xiaomi", "ikea": "ikea", "宜家": "ikea", "sony": "sony", "索尼": "sony",
              "acme": "acme", "zeta": "zeta"}
    categories = {"speaker": "headphones", "蓝牙音箱": "headphones", "headphones": "headphones",
                  "耳机": "headphones", "lamp": "home", "phone": "phones", "手机": "phones"}
    short = short_names(models, brands=brands, categories=categories)
    assert {"Galaxy S24", "JBL Flip 6", "Flip 6", "WH-1000XM5", "索尼 WH-1000XM5",
            "Sony WH-1000XM5", "台灯"} <= short
    assert "14" not in short and "Desk" not in short  # a bare number, a plain word
    assert "Pro" not in short and "Acme Pro" in short  # "Pro" would name two models


def test_a_model_name_cut_after_its_number_is_a_short_name() -> None:
    models = [("v15", "Dyson V15 Detect Vacuum", "戴森 V15 Detect 无绳吸尘器"),
              ("i15", "Apple iPhone 15", "苹果 iPhone 15"),
              ("i15p", "Apple iPhone 15 Pro", "苹果 iPhone 15 Pro"),
              ("m60", "Huawei Mate 60 Pro", "华为 Mate 60 Pro"),
              ("x14", "Xiaomi 14", "小米 14"), ("x14u", "Xiaomi 14 Ultra", "小米 14 Ultra")]
    brands = {"dyson": "dyson", "戴森": "dyson", "apple": "apple", "苹果": "apple",
              "huawei": "huawei", "华为": "huawei", "xiaomi": "xiaomi", "小米": "xiaomi"}
    categories = {"vacuum": "home", "无绳吸尘器": "home"}
    short = short_names(models, brands=brands, categories=categories)
    assert {"Dyson V15", "戴森 V15", "Mate 60", "华为 Mate 60", "Huawei Mate 60"} <= short
    # "iPhone 15" stays the iPhone 15's, and a bare number names nothing
    assert "iPhone 15" in short and "14" not in short
    from knowledge_graph.lookups import _model_number_prefixes

    assert _model_number_prefixes("Apple iPhone 15 Pro") == {"Apple iPhone 15"}


def test_backends_give_identical_answers() -> None:
    g = build_graph(*small_catalog())
    a, b = ProductGraph(OxigraphBackend.from_graph(g)), ProductGraph(RdflibBackend(g))
    for kwargs in ({}, {"category": "shoes"}, {"brand": "acme"}, {"color": "red"},
                   {"max_price": Decimal(100)}, {"attribute": ("capacity", "128GB")}):
        assert a.search(currency="USD", **kwargs) == b.search(currency="USD", **kwargs)
    for sku in ("S1", "S2", "P1", "C1"):
        assert a.details(sku, currency="USD") == b.details(sku, currency="USD")


def _graph_with(*extra: ProductRecord, backend: str = "oxigraph") -> ProductGraph:
    categories, brands, products, colors = small_catalog()
    g = build_graph(categories, brands, [*products, *extra], colors)
    return ProductGraph(OxigraphBackend.from_graph(g) if backend == "oxigraph"
                        else RdflibBackend(g))


@pytest.mark.parametrize("backend", ["oxigraph", "rdflib"])
def test_products_without_brand_or_colour_are_searchable(backend: str) -> None:
    plain = ProductRecord(sku="N1", group_id="no-name", model_en="Plain Socks",
                          name_en="Plain Socks", category_key="shoes",
                          prices={"USD": Decimal("3")}, stock=9)
    kg = _graph_with(plain, backend=backend)
    assert "N1" in [p.sku for p in kg.search(currency="USD", category="shoes").items]
    assert "N1" not in [p.sku for p in kg.search(currency="USD", brand="anta").items]
    assert "N1" not in [p.sku for p in kg.search(currency="USD", color="red").items]
    details = kg.details("N1", currency="USD")
    assert details.brand_en == "" and details.name_zh == "Plain Socks"  # English fallback


@pytest.mark.parametrize("backend", ["oxigraph", "rdflib"])
def test_discontinued_products_are_not_offered(backend: str) -> None:
    gone = ProductRecord(sku="S3", group_id="anta-c202", model_en="Anta C202",
                         name_en="Anta C202 (white)", category_key="running_shoes",
                         brand_key="anta", prices={"USD": Decimal("10")}, stock=5,
                         color="white", available=False)
    kg = _graph_with(gone, backend=backend)
    assert "S3" not in [p.sku for p in kg.search(currency="USD").items]
    assert "S3" not in [v.sku for v in kg.variants("S1", currency="USD")]
    assert kg.details("S3", currency="USD").availability == "Discontinued"


def test_catalog_currency_is_used_when_the_preferred_one_is_missing() -> None:
    kg = _graph_with()
    assert kg.pick_currency("USD") == "USD"
    assert kg.pick_currency("GBP") == "USD"


def test_names_and_terms_found_in_free_text(kg) -> None:
    assert kg.find_mentioned("how much is the acme case?").sku == "C1"
    assert kg.find_mentioned("艾克米 手机壳多少钱").sku == "C1"
    assert kg.find_mentioned("how much is it?") is None
    assert kg.find_mentioned("acme") is None  # one short word is not a product
    assert kg.find_mentioned("how much is the acme cse?") is None  # whole names only
    assert kg.match_in_text("how much is the acme cse?", min_score=75).sku == "C1"
    assert kg.match_in_text("how much is it?", min_score=75) is None
    assert kg.match_in_text("acme", min_score=75) is None  # single words are too weak
    assert kg.terms_in("any red trainers from anta?", "category") == ["running_shoes"]
    assert kg.terms_in("any red trainers from anta?", "brand") == ["anta"]
    assert kg.terms_in("它有黑色的吗", "color") == ["black"]
    assert kg.terms_in("dark shoes", "color") == ["black"]


def _encoder(meanings: dict[str, list[float]]):
    """Embeddings by table: each text's vector, normalised (unknown texts are orthogonal)."""
    import numpy as np

    def encode(texts):
        rows = [np.asarray(meanings.get(t, [0.0, 0.0, 0.0, 1.0]), dtype=np.float32)
                for t in texts]
        return np.stack([r / np.linalg.norm(r) for r in rows])
    return encode


def test_closest_term_needs_a_clear_winner(kg) -> None:
    phones = kg.label("category", "phones", "en")
    shoes = kg.label("category", "shoes", "en")
    meanings = {phones: [1.0, 0.0, 0.0, 0.0], shoes: [0.0, 1.0, 0.0, 0.0],
                "mobiles": [0.98, 0.1, 0.0, 0.0],      # clearly phones
                "gadgets": [0.7, 0.7, 0.0, 0.0],       # half-way: ambiguous
                "bicycles": [0.3, 0.2, 0.9, 0.0]}      # near nothing the shop has
    encode = _encoder(meanings)
    assert kg.closest_term("mobiles", "category", encode=encode) == "phones"
    assert kg.closest_term("gadgets", "category", encode=encode) is None
    assert kg.closest_term("gadgets", "category", encode=encode, min_similarity=0.5,
                           min_margin=0.0) in {"phones", "shoes"}
    assert kg.closest_term("bicycles", "category", encode=encode) is None
    assert kg.closest_term("", "category", encode=encode) is None


def test_attribute_filter_sorting_and_paging(kg) -> None:
    assert [p.sku for p in kg.search(currency="USD", attribute=("capacity", "128GB")).items] \
        == ["P1"]
    assert kg.search(currency="USD", attribute=("capacity", "1TB")).total == 0
    assert kg.search(currency="USD", attribute=("capacity", "128GB"), category="shoes").total == 0
    by_price = [p.sku for p in kg.search(currency="USD", limit=10).items]
    assert by_price == ["C1", "S1", "P1"]
    assert [p.sku for p in kg.search(currency="USD", sort="-price", limit=10).items] == \
        list(reversed(by_price))
    assert [p.sku for p in kg.search(currency="USD", sort="name", limit=10).items] == \
        ["C1", "P1", "S1"]
    page = kg.search(currency="USD", offset=1, limit=1)
    assert page.total == 3 and [p.sku for p in page.items] == ["S1"]
    with pytest.raises(KnowledgeGraphError):
        kg.search(currency="USD", sort="popularity; DROP")


@pytest.mark.parametrize("backend", ["oxigraph", "rdflib"])
def test_accessories_and_compatible_products_reach_across_variants(backend: str) -> None:
    # P2 is another capacity of the Acme X; the case is linked to P1 only
    p2 = ProductRecord(sku="P2", group_id="acme-x", model_en="Acme X", name_en="Acme X 256GB",
                       category_key="phones", brand_key="acme", prices={"USD": Decimal("249")},
                       stock=4, capacity="256GB")
    # a second colour of the case, with no link of its own
    c2 = ProductRecord(sku="C2", group_id="acme-case", model_en="Acme Case",
                       name_en="Acme Case (blue)", category_key="phones", brand_key="acme",
                       prices={"USD": Decimal("9.5")}, stock=0)
    kg = _graph_with(p2, c2, backend=backend)
    # accessory -> linked variant -> its group: the case fits every Acme X, shown once,
    # by its variant in stock
    assert [a.sku for a in kg.accessories("P2", currency="USD")] == ["C1"]
    # the other way, from either colour of the case: the phones it fits, one per model
    assert [p.group_id for p in kg.compatible("C2", currency="USD")] == ["acme-x"]
    assert [p.sku for p in kg.compatible("C1", currency="USD")] == ["P1"]
    assert kg.compatible("S1", currency="USD") == []


@pytest.mark.parametrize("backend", ["oxigraph", "rdflib"])
def test_products_at_a_price_on_request(backend: str) -> None:
    quote = ProductRecord(sku="Q1", group_id="acme-pro", model_en="Acme Pro",
                          name_en="Acme Pro", category_key="phones", brand_key="acme",
                          prices={"USD": None}, stock=2)
    kg = _graph_with(quote, backend=backend)
    assert kg.details("Q1", currency="USD").price is None
    phones = kg.search(currency="USD", category="phones")
    # listed, after every priced product, whichever way prices are sorted
    assert phones.items[-1].sku == "Q1" and phones.items[-1].price is None
    assert kg.search(currency="USD", category="phones", sort="-price").items[-1].sku == "Q1"
    # a price range excludes it
    assert "Q1" not in {p.sku for p in kg.search(currency="USD", category="phones",
                                                  max_price=Decimal(10_000)).items}
    assert kg.compare(["Q1", "P1"], currency="USD").differing[0:1]


def test_comparing_three_products_covers_free_attributes() -> None:
    def mug(sku: str, price: str, units: str) -> ProductRecord:
        return ProductRecord(sku=sku, group_id=sku, model_en=f"Mug {sku}", name_en=f"Mug {sku}",
                             category_key="phones", prices={"USD": Decimal(price)}, stock=5,
                             material="ceramic", attributes=(("units_sold", units),
                                                             ("origin", "UK")))
    kg = _graph_with(mug("M1", "3", "10"), mug("M2", "4", "12"), mug("M3", "4", "10"))
    comparison = kg.compare(["M1", "M2", "M3"], currency="USD")
    assert "price" in comparison.differing and "units_sold" in comparison.differing
    assert "material_en" in comparison.shared and "origin" in comparison.shared
    assert [comparison.value(p, "units_sold") for p in comparison.products] == ["10", "12", "10"]
    assert kg.details("M1", currency="USD").attributes == (("origin", "UK"), ("units_sold", "10"))
