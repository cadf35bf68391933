"""Question answering over the product graph with prepared SPARQL queries.

Every query lives in ``knowledge_graph/queries/*.rq`` and is executed with
bound parameters (``initBindings``); text a customer typed never becomes query
text.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

from rapidfuzz import fuzz, process, utils
from rdflib import Literal
from rdflib.namespace import XSD

from knowledge_graph.backends import Row, SparqlBackend, open_backend
from knowledge_graph.errors import GraphNotBuilt, KnowledgeGraphError, ProductNotFound
from knowledge_graph.vocab import (
    brand_iri,
    category_iri,
    color_iri,
    group_iri,
    key_of,
    product_iri,
)

#: texts -> L2-normalised embeddings, one row per text (see :meth:`ProductGraph.closest_term`)
TextEncoder = Callable[[Sequence[str]], Any]

MAX_PRICE = Decimal("999999999")


@dataclass(frozen=True)
class ProductSummary:
    """A product as shown in a list."""

    sku: str
    group_id: str
    name_en: str
    name_zh: str
    model_en: str
    model_zh: str
    price: Decimal | None  # None: price on request
    currency: str
    stock: int
    color_en: str | None
    color_zh: str | None
    #: the variant's capacity ("256GB") where its model comes in several at different prices
    capacity: str | None = None


@dataclass(frozen=True)
class ProductDetails:
    """Everything the graph knows about one product."""

    sku: str
    group_id: str
    name_en: str
    name_zh: str
    model_en: str
    model_zh: str
    description_en: str | None
    description_zh: str | None
    brand_en: str
    brand_zh: str
    category_key: str
    category_en: str
    category_zh: str
    color_en: str | None
    color_zh: str | None
    material_en: str | None
    material_zh: str | None
    size: str | None
    capacity: str | None
    price: Decimal | None  # None: price on request
    currency: str
    stock: int
    availability: str
    attributes: tuple[tuple[str, str], ...] = ()  # free attributes (schema:PropertyValue)


@dataclass(frozen=True)
class SearchResult:
    """Matching products, one per product group, cheapest variant first."""

    total: int
    items: tuple[ProductSummary, ...]


@dataclass(frozen=True)
class Comparison:
    """Attributes two or more products share and those in which they differ."""

    products: tuple[ProductDetails, ...]
    shared: tuple[str, ...]
    differing: tuple[str, ...]

    def value(self, product: ProductDetails, attribute: str) -> Any:
        """``product``'s value of a compared attribute: a field of
        :class:`ProductDetails` or the name of a free attribute."""
        if attribute in COMPARED_ATTRIBUTES:
            return getattr(product, attribute)
        return dict(product.attributes).get(attribute)


@dataclass(frozen=True)
class NameMatch:
    """A product group whose name matches a mention, with a 0-100 score."""

    sku: str
    group_id: str
    name: str
    score: float


_TOKEN = re.compile(r"[\u3400-\u9fff]+|[^\W_\u3400-\u9fff]+")


def name_tokens(text: str) -> list[str]:
    """Words of a name or message: runs of Chinese characters and runs of other letters
    and digits."""
    return _TOKEN.findall(text)


def _token_ratio(query: str, name: str) -> float:
    if query == name:
        return 100.0
    if not query.isascii() or not name.isascii():
        # Chinese words are not separated by spaces: look for one inside the other
        return float(fuzz.partial_ratio(query, name)) if min(len(query), len(name)) > 1 else (
            100.0 if query in name or name in query else 0.0)
    if query.isdigit() or name.isdigit():
        return 100.0 if query == name else 0.0
    return float(fuzz.ratio(query, name))


def _discontinued(row: Row) -> bool:
    return row.availability is not None and key_of(row.availability) == "Discontinued"


SORTS: dict[str, Any] = {
    # products without a price (price on request) come last either way
    "price": lambda p: (p.price is None, p.price or 0, p.sku),
    "-price": lambda p: (p.price is None, -(p.price or 0), p.sku),
    "name": lambda p: (p.name_en.lower(), p.sku),
}

COMPARED_ATTRIBUTES = ("brand_en", "category_en", "color_en", "material_en", "size",
                       "capacity", "price", "availability")


class _Pick(NamedTuple):
    """The variant shown for a product group; compares as "better first"."""

    out_of_stock: bool
    unpriced: bool
    price: Decimal
    sku: str
    stock: int


@dataclass(frozen=True)
class _Labels:
    name_en: str
    name_zh: str
    group_id: str
    model_en: str
    model_zh: str
    color_en: str | None
    color_zh: str | None
    capacity: str | None


class ProductGraph:
    """Read-only question answering over an RDF product graph.

    Args:
        backend: The SPARQL back end holding the graph (see :meth:`from_file`).
    """

    def __init__(self, backend: SparqlBackend) -> None:
        self._backend = backend
        self._lock = threading.Lock()
        self._labels = self._load_labels()
        self._vocabulary = self._load_vocabulary()
        self._term_vectors: dict[str, tuple[list[str], Any]] = {}
        counts: dict[str, int] = {}
        for row in self._run("currencies"):
            counts[str(row.currency)] = int(row.offers.toPython())
        self._currencies = sorted(counts, key=lambda c: -counts[c])
        # Match against model names (what people type, "Huawei Mate 60 Pro"), one
        # entry per product group and language; variant suffixes add nothing to match on.
        names: list[str] = []
        owners: list[tuple[str, str]] = []
        seen: set[tuple[str, str]] = set()
        for sku, labels in self._labels.items():
            for candidate in (labels.model_en, labels.model_zh):
                if (candidate, labels.group_id) not in seen:
                    seen.add((candidate, labels.group_id))
                    names.append(candidate)
                    owners.append((sku, labels.group_id))
        self._names = names
        self._name_owners = owners
        self._name_token_sets = [frozenset(name_tokens(n.lower())) for n in names]
        self._processed_names = [utils.default_process(n) for n in names]

    @classmethod
    def from_file(cls, path: Path, *, backend: str = "oxigraph") -> ProductGraph:
        """Load a graph written by :func:`knowledge_graph.export.write_graph`.

        Args:
            path: Turtle file.
            backend: ``"oxigraph"`` (default), ``"rdflib"`` or ``"rdflib-oxigraph"``
                (see :func:`knowledge_graph.backends.open_backend`).

        Raises:
            GraphNotBuilt: If ``path`` does not exist.
        """
        if not path.exists():
            raise GraphNotBuilt(f"no product graph at {path}; run `make data` first")
        return cls(open_backend(path, backend))

    @property
    def backend_name(self) -> str:
        """Name of the SPARQL back end in use."""
        return self._backend.name

    def __len__(self) -> int:
        return len(self._labels)

    # -- queries -----------------------------------------------------------------------------

    def _run(self, name: str, **bindings: Any) -> list[Row]:
        params = {k: v for k, v in bindings.items() if v is not None}
        with self._lock:  # rdflib's SPARQL engine is not thread-safe
            return self._backend.select(name, params)

    def _load_labels(self) -> dict[str, _Labels]:
        names: dict[str, dict[str, str]] = {}
        models: dict[str, dict[str, str]] = {}
        colors: dict[str, dict[str, str]] = {}
        groups: dict[str, str] = {}
        capacities: dict[str, str] = {}
        for row in self._run("catalog_names"):
            sku = row.text("sku") or ""
            lang = row.text("lang") or "en"
            names.setdefault(sku, {})[lang] = row.text("name") or sku
            models.setdefault(sku, {})[lang] = row.text("model") or sku
            color_label = row.text("color")
            if color_label is not None:
                colors.setdefault(sku, {})[lang] = color_label
            groups[sku] = key_of(row.text("group") or "")
            if row.text("capacity"):
                capacities[sku] = row.text("capacity") or ""
        labels = {}
        for sku, by_lang in names.items():
            color = colors.get(sku, {})
            labels[sku] = _Labels(
                name_en=by_lang.get("en", sku),
                name_zh=by_lang.get("zh", by_lang.get("en", sku)),
                group_id=groups[sku],
                model_en=models[sku].get("en", sku),
                model_zh=models[sku].get("zh", models[sku].get("en", sku)),
                color_en=color.get("en"),
                color_zh=color.get("zh"),
                capacity=capacities.get(sku),
            )
        return labels

    def _load_vocabulary(self) -> dict[str, dict[str, str]]:
        vocab: dict[str, dict[str, str]] = {}
        self._preferred: dict[tuple[str, str, str], str] = {}
        for row in self._run("vocabulary"):
            kind, key, label = str(row.kind), str(row.key), str(row.label)
            table = vocab.setdefault(kind, {})
            table[label.lower()] = key
            table[key.lower()] = key
            if row.preferred is not None and row.preferred.toPython() is True:
                lang = getattr(row.label, "language", None) or "en"
                self._preferred.setdefault((kind, key, lang), label)
        return vocab

    def label(self, kind: str, key: str, lang: str) -> str:
        """The preferred label of a brand, category or colour key in ``lang``.

        Falls back to the English label, then to the key itself.
        """
        return (self._preferred.get((kind, key, lang))
                or self._preferred.get((kind, key, "en")) or key.replace("_", " "))

    @property
    def main_currency(self) -> str | None:
        """The currency most of the catalog's offers are in (the shop's own); ``None``
        for a catalog without prices."""
        return self._currencies[0] if self._currencies else None

    def pick_currency(self, preferred: str) -> str:
        """``preferred`` if the catalog has prices in it, else the catalog's main currency."""
        if preferred in self._currencies or not self._currencies:
            return preferred
        return self._currencies[0]

    def vocabulary(self, kind: str) -> dict[str, str]:
        """Every label of ``kind`` (brand, category, color, material) mapped to its key."""
        return dict(self._vocabulary.get(kind, {}))

    def canonical(self, kind: str, text: str | None) -> str | None:
        """The key of a brand, category, colour or material label, or ``None``."""
        if not text:
            return None
        return self._vocabulary.get(kind, {}).get(text.strip().lower())

    def _summary(self, sku: str, price: Any, currency: str, stock: Any) -> ProductSummary:
        labels = self._labels[sku]
        return ProductSummary(
            sku=sku,
            group_id=labels.group_id,
            name_en=labels.name_en,
            name_zh=labels.name_zh,
            model_en=labels.model_en,
            model_zh=labels.model_zh,
            price=None if price is None else Decimal(str(price)),
            currency=currency,
            stock=int(stock),
            color_en=labels.color_en,
            color_zh=labels.color_zh,
            capacity=labels.capacity,
        )

    def search(
        self,
        *,
        currency: str,
        category: str | None = None,
        brand: str | None = None,
        color: str | None = None,
        min_price: Decimal | None = None,
        max_price: Decimal | None = None,
        attribute: tuple[str, str] | None = None,
        in_stock_only: bool = False,
        sort: str = "price",
        offset: int = 0,
        limit: int = 5,
    ) -> SearchResult:
        """Find products, one variant per product group (in stock first).

        Args:
            currency: Currency of the prices to filter and return.
            category: Category key; sub-categories match too.
            brand: Brand key.
            color: English colour key, e.g. ``"black"``.
            min_price: Lowest price, inclusive.
            max_price: Highest price, inclusive.
            attribute: ``(name, value)`` of a free attribute, e.g. ``("capacity", "256GB")``.
            in_stock_only: Skip variants with no stock.
            sort: ``price`` (cheapest first), ``-price`` (dearest first) or ``name``.
            offset: Groups to skip (paging).
            limit: Most product groups to return.

        Raises:
            KnowledgeGraphError: For an unknown ``sort``.
        """
        if sort not in SORTS:
            raise KnowledgeGraphError(f"sort must be one of {sorted(SORTS)}, got {sort!r}")
        if min_price is not None and max_price is not None and min_price > max_price:
            min_price, max_price = max_price, min_price
        rows = self._run(
            "search_by_attribute" if attribute else "search",
            attribute=Literal(attribute[0]) if attribute else None,
            attributeValue=Literal(attribute[1]) if attribute else None,
            currency=Literal(currency),
            minPrice=Literal(min_price if min_price is not None else Decimal(0),
                             datatype=XSD.decimal),
            maxPrice=Literal(max_price if max_price is not None else MAX_PRICE,
                             datatype=XSD.decimal),
            category=category_iri(category) if category else None,
            brand=brand_iri(brand) if brand else None,
            color=color_iri(color) if color else None,
        )
        best = self._best_per_group(rows, in_stock_only=in_stock_only,
                                    priced_only=min_price is not None or max_price is not None)
        if sort == "name":
            order = sorted(best, key=lambda b: (self._labels[b.sku].name_en.lower(), b.sku))
        else:
            sign = -1 if sort == "-price" else 1
            order = sorted(best, key=lambda b: (b.unpriced, sign * b.price, b.sku))
        start = max(offset, 0)
        return SearchResult(total=len(order), items=tuple(
            self._summary(b.sku, None if b.unpriced else b.price, currency, b.stock)
            for b in order[start:start + limit]))

    @staticmethod
    def _best_per_group(rows: list[Row], *, in_stock_only: bool = False,
                        priced_only: bool = False) -> list[_Pick]:
        """One variant per product group, read straight from the rows' lexical forms:
        its cheapest variant in stock, else its cheapest variant (variants without a
        price after priced ones). Discontinued products are left out by the queries."""
        best: dict[str, _Pick] = {}
        for row in rows:
            stock = int(row.text("stock") or 0)
            price = row.text("price")
            if (in_stock_only and stock <= 0) or (priced_only and price is None):
                continue
            candidate = _Pick(stock <= 0, price is None, Decimal(price or 0),
                              row.text("sku") or "", stock)
            group = row.text("group") or candidate.sku
            if group not in best or candidate < best[group]:
                best[group] = candidate
        return list(best.values())

    def _one_per_group(self, rows: list[Row], currency: str) -> list[ProductSummary]:
        """One variant per product group, skipping discontinued ones."""
        return [self._summary(b.sku, None if b.unpriced else b.price, currency, b.stock)
                for b in self._best_per_group([r for r in rows if not _discontinued(r)])]

    def details(self, sku: str, *, currency: str) -> ProductDetails:
        """All attributes of one product, priced in ``currency`` when it has an offer
        in it, otherwise in the product's own currency.

        Raises:
            ProductNotFound: If ``sku`` is not in the graph.
        """
        if sku not in self._labels:
            raise ProductNotFound(sku)
        rows = self._run("details", product=product_iri(sku))
        own: dict[str, dict[str | None, str]] = {}
        linked: dict[str, dict[str, dict[str | None, str]]] = {}
        offer_nodes: list[str] = []
        for r in rows:
            pred = key_of(r.text("p") or "").rsplit("#", 1)[-1]
            obj = r.text("o") or ""
            own.setdefault(pred, {})[r.lang("o")] = obj
            if pred == "offers":
                offer_nodes.append(obj)
            p2 = r.text("p2")
            if p2 is not None:
                node = linked.setdefault(obj, {})
                node.setdefault(key_of(p2).rsplit("#", 1)[-1], {})[r.lang("o2")] = (
                    r.text("o2") or "")
        offers = [linked[o] for o in offer_nodes if o in linked]
        offer = next((o for o in offers if o.get("priceCurrency", {}).get(None) == currency),
                     offers[0] if offers else None)  # else the product's own currency
        if offer is None:
            raise ProductNotFound(f"{sku} has no offer")
        brand = linked.get(own.get("brand", {}).get(None, ""), {}).get("name")
        category = linked[own["category"][None]]
        properties = sorted((node["propertyID"][None], node.get("value", {}).get(None) or "")
                            for node in linked.values() if None in node.get("propertyID", {}))
        capacity = next((value for name, value in properties if name == "capacity"), None)

        def lang(values: dict[str | None, str] | None, code: str) -> str | None:
            return None if not values else values.get(code) or values.get(None)

        return ProductDetails(
            sku=sku,
            group_id=self._labels[sku].group_id,
            name_en=self._labels[sku].name_en,
            name_zh=self._labels[sku].name_zh,
            model_en=self._labels[sku].model_en,
            model_zh=self._labels[sku].model_zh,
            description_en=lang(own.get("description"), "en"),
            description_zh=lang(own.get("description"), "zh"),
            brand_en=lang(brand, "en") or "",
            brand_zh=lang(brand, "zh") or "",
            category_key=category["identifier"][None],
            category_en=lang(category.get("prefLabel"), "en") or "",
            category_zh=lang(category.get("prefLabel"), "zh") or "",
            color_en=lang(own.get("color"), "en"),
            color_zh=lang(own.get("color"), "zh"),
            material_en=lang(own.get("material"), "en"),
            material_zh=lang(own.get("material"), "zh"),
            size=lang(own.get("size"), "en"),
            capacity=capacity,
            price=Decimal(offer["price"][None]) if "price" in offer else None,
            currency=offer["priceCurrency"][None],
            stock=int(offer["inventoryLevel"][None]),
            availability=key_of(offer["availability"][None]),
            attributes=tuple((n, v) for n, v in properties if n != "capacity"),
        )

    def variants(self, sku: str, *, currency: str) -> list[ProductSummary]:
        """Every variant (colour, size, capacity) of the product's group, cheapest first.

        Raises:
            ProductNotFound: If ``sku`` is not in the graph.
        """
        if sku not in self._labels:
            raise ProductNotFound(sku)
        rows = self._run("variants", group=group_iri(self._labels[sku].group_id),
                         currency=Literal(currency))
        variants = [self._summary(str(r.sku), r.price, currency, r.stock) for r in rows
                    if not _discontinued(r)]
        return sorted(variants, key=SORTS["price"])

    def accessories(self, sku: str, *, currency: str, limit: int = 5) -> list[ProductSummary]:
        """Accessories and spare parts that fit the product (any of its variants), one
        per product group, cheapest first.

        Raises:
            ProductNotFound: If ``sku`` is not in the graph.
        """
        if sku not in self._labels:
            raise ProductNotFound(sku)
        rows = self._run("accessories", productGroup=group_iri(self._labels[sku].group_id),
                         currency=Literal(currency))
        return sorted(self._one_per_group(rows, currency), key=SORTS["price"])[:limit]

    def compatible(self, sku: str, *, currency: str, limit: int = 5) -> list[ProductSummary]:
        """The products an accessory (any of its variants) fits, one per product group,
        cheapest first; empty for a product that is no accessory.

        Raises:
            ProductNotFound: If ``sku`` is not in the graph.
        """
        if sku not in self._labels:
            raise ProductNotFound(sku)
        rows = self._run("compatible", accessory=product_iri(sku), currency=Literal(currency))
        return sorted(self._one_per_group(rows, currency), key=SORTS["price"])[:limit]

    def compare(self, skus: list[str], *, currency: str) -> Comparison:
        """Compare two or more products attribute by attribute.

        Raises:
            KnowledgeGraphError: If fewer than two distinct products are given.
            ProductNotFound: If a sku is not in the graph.
        """
        unique = list(dict.fromkeys(skus))
        if len(unique) < 2:
            raise KnowledgeGraphError("a comparison needs two different products")
        products = tuple(self.details(s, currency=currency) for s in unique)
        shared: list[str] = []
        differing: list[str] = []
        free = sorted({name for p in products for name, _ in p.attributes})
        for attr in (*COMPARED_ATTRIBUTES, *free):
            values = {dict(p.attributes).get(attr) if attr in free else getattr(p, attr)
                      for p in products}
            if values == {None}:
                continue
            (shared if len(values) == 1 else differing).append(attr)
        return Comparison(products=products, shared=tuple(shared), differing=tuple(differing))

    def summary(self, sku: str, *, currency: str) -> ProductSummary:
        """The list view of one product.

        Raises:
            ProductNotFound: If ``sku`` is not in the graph.
        """
        d = self.details(sku, currency=currency)
        return self._summary(sku, d.price, currency, d.stock)

    def model_name(self, sku: str, lang: str) -> str:
        """The model (product group) name of ``sku`` in ``lang`` (``en`` or ``zh``).

        Raises:
            ProductNotFound: If ``sku`` is not in the graph.
        """
        if sku not in self._labels:
            raise ProductNotFound(sku)
        labels = self._labels[sku]
        return labels.model_zh if lang == "zh" else labels.model_en

    def has_product(self, sku: str) -> bool:
        """True when ``sku`` is in the graph."""
        return sku in self._labels

    def match_names(self, text: str, *, limit: int = 3, min_score: float = 60) -> list[NameMatch]:
        """Fuzzy-match a product mention against product and model names.

        Candidates are pre-selected with rapidfuzz's ``WRatio``, then re-scored
        token by token (each word of the mention against its closest word of
        the name, so a typo costs one word, not the whole match), with a small
        bonus for names the mention covers completely. Returns at most one
        match per product group, best first, with scores from 0 to 100.
        """
        query = utils.default_process(text or "")
        if not query:
            return []
        query_tokens = name_tokens(query)
        hits = process.extract(query, self._processed_names, scorer=fuzz.WRatio,
                               processor=None, limit=60, score_cutoff=40)
        result: dict[str, NameMatch] = {}
        for _, coarse, index in hits:
            sku, gid = self._name_owners[index]
            words = name_tokens(self._processed_names[index])
            if not words or not query_tokens:
                continue
            per_token = [max(_token_ratio(q, n) for n in words) for q in query_tokens]
            covered = sum(1 for n in words
                          if max(_token_ratio(q, n) for q in query_tokens) >= 80)
            score = (0.8 * sum(per_token) / len(per_token) + 0.1 * coarse
                     + 10 * covered / len(words))
            if score >= min_score and (gid not in result or result[gid].score < score):
                result[gid] = NameMatch(sku=sku, group_id=gid, name=self._names[index],
                                        score=round(score, 1))
        return sorted(result.values(), key=lambda m: -m.score)[:limit]

    def match_in_text(self, text: str, *, min_score: float = 75,
                      max_words: int = 4) -> NameMatch | None:
        """The best fuzzy product-name match of any run of 2 to ``max_words`` words in ``text``.

        For a sentence whose product name the NLU did not tag and which names no
        product exactly ("how much is the macbok air?"): each run of words is
        scored as :meth:`match_names` scores a tagged mention, so a typo costs
        one word; single words are skipped (one word of a name is too weak a hint).
        """
        tokens = name_tokens((text or "").lower())
        best: NameMatch | None = None
        for size in range(2, max_words + 1):
            for start in range(len(tokens) - size + 1):
                window = " ".join(tokens[start:start + size])
                for match in self.match_names(window, limit=1, min_score=min_score):
                    if best is None or match.score > best.score:
                        best = match
        return best

    def find_mentioned(self, text: str) -> NameMatch | None:
        """The product whose model name appears in ``text`` as a whole, if any.

        A fallback for messages whose product name the NLU did not tag (a catalog
        imported after the model was trained): every word of the name must occur
        in the text (Chinese words as substrings); the longest such name wins.
        """
        words, lowered = set(name_tokens(text.lower())), text.lower()
        best: tuple[int, int] | None = None
        for index, tokens in enumerate(self._name_token_sets):
            if len(tokens) < 2 and (not tokens or len(next(iter(tokens))) < 4):
                continue  # one short word ("pro", "14") is not a product mention
            if all(t in words or (not t.isascii() and t in lowered) for t in tokens):
                size = sum(len(t) for t in tokens)
                if best is None or size > best[0]:
                    best = (size, index)
        if best is None:
            return None
        sku, gid = self._name_owners[best[1]]
        return NameMatch(sku=sku, group_id=gid, name=self._names[best[1]], score=100.0)

    def terms_in(self, text: str, kind: str) -> list[str]:
        """Keys of brands, categories or colours whose labels occur in ``text``,
        longest label first (whole words; Chinese labels as substrings)."""
        lowered = f" {' '.join(name_tokens(text.lower()))} "
        found: list[tuple[int, str]] = []
        for label, key in self._vocabulary.get(kind, {}).items():
            if "_" in label or len(label) < 2:
                continue
            needle = label if not label.isascii() else f" {' '.join(name_tokens(label))} "
            if needle.strip() and needle in lowered:
                found.append((len(label), key))
        return list(dict.fromkeys(key for _, key in sorted(found, reverse=True)))

    def closest_term(self, text: str, kind: str, *, encode: TextEncoder,
                     min_similarity: float = 0.93, min_margin: float = 0.01) -> str | None:
        """The key of a brand, category or colour whose labels mean what ``text`` says.

        For a word the catalog does not list ("厨房小电器", "kitchen stuff"):
        ``encode`` turns texts into L2-normalised sentence embeddings; the key of the
        most similar label wins when its cosine similarity is at least
        ``min_similarity`` and beats every other key's by ``min_margin`` (a close
        second means the word is ambiguous, and the customer had better hear that
        the shop has none of it than see the wrong shelf). The labels are encoded
        once per graph and kind.
        """
        import numpy as np

        text = (text or "").strip()
        vocabulary = self._vocabulary.get(kind, {})
        if not text or not vocabulary:
            return None
        with self._lock:
            cached = self._term_vectors.get(kind)
        if cached is None:
            labels = [label for label in vocabulary if "_" not in label]
            cached = (labels, np.asarray(encode(labels), dtype=np.float32))
            with self._lock:
                self._term_vectors[kind] = cached
        labels, vectors = cached
        scores = vectors @ np.asarray(encode([text])[0], dtype=np.float32)
        best: dict[str, float] = {}
        for label, score in zip(labels, scores.tolist(), strict=True):
            key = vocabulary[label]
            best[key] = max(best.get(key, -1.0), score)
        ranked = sorted(best.items(), key=lambda item: -item[1])
        if not ranked or ranked[0][1] < min_similarity:
            return None
        if len(ranked) > 1 and ranked[0][1] - ranked[1][1] < min_margin:
            return None
        return ranked[0][0]

    def catalog_names(self) -> list[tuple[str, str, str]]:
        """``(sku, English name, Chinese name)`` of every product."""
        return [(sku, lab.name_en, lab.name_zh) for sku, lab in sorted(self._labels.items())]

    def model_names(self) -> list[tuple[str, str, str]]:
        """``(group id, English model name, Chinese model name)`` of every product group."""
        seen: dict[str, tuple[str, str, str]] = {}
        for lab in self._labels.values():
            seen.setdefault(lab.group_id, (lab.group_id, lab.model_en, lab.model_zh))
        return sorted(seen.values())
