"""Check a product graph against the SHACL shapes in ``shapes.ttl``.

Violations are reported per product: a problem on an offer is attributed to
the product that makes it, so an import can say which rows are wrong.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import Graph, URIRef
from rdflib.namespace import SH

from knowledge_graph.records import BrandRecord, CategoryRecord, ColorRecord, ProductRecord
from knowledge_graph.vocab import SCHEMA, key_of

SHAPES_PATH = Path(__file__).with_name("shapes.ttl")


@dataclass(frozen=True)
class Violation:
    """One failed constraint."""

    focus: str
    path: str | None
    message: str


@dataclass(frozen=True)
class ValidationReport:
    """Outcome of a SHACL check.

    Attributes:
        conforms: True when nothing was violated.
        by_product: Violations keyed by product sku; problems on offers count for
            their product. Violations on brands or categories are keyed by
            ``brand:<key>`` / ``category:<key>``.
    """

    conforms: bool
    by_product: dict[str, list[Violation]] = field(default_factory=dict)

    @property
    def count(self) -> int:
        """Number of violations."""
        return sum(len(v) for v in self.by_product.values())


def load_shapes() -> Graph:
    """The shapes graph shipped with the package."""
    shapes = Graph()
    shapes.parse(SHAPES_PATH, format="turtle")
    return shapes


def validate(graph: Graph, shapes: Graph | None = None) -> ValidationReport:
    """Validate ``graph`` against the shop's SHACL shapes.

    Args:
        graph: The product graph.
        shapes: Shapes to use instead of ``shapes.ttl``.
    """
    from pyshacl import validate as shacl_validate

    conforms, results, _ = shacl_validate(graph, shacl_graph=shapes or load_shapes(),
                                          inference="none", abort_on_first=False,
                                          allow_warnings=False)
    owner_of_offer = {o: s for s, o in graph.subject_objects(SCHEMA.offers)}
    by_product: dict[str, list[Violation]] = defaultdict(list)
    for result in results.subjects(SH.resultSeverity, SH.Violation):
        focus = results.value(result, SH.focusNode)
        path = results.value(result, SH.resultPath)
        message = str(results.value(result, SH.resultMessage) or "constraint violated")
        owner = owner_of_offer.get(focus, focus)
        by_product[_label(graph, owner)].append(
            Violation(focus=str(focus), path=str(path) if path is not None else None,
                      message=message))
    return ValidationReport(conforms=bool(conforms),
                            by_product={k: sorted(v, key=lambda x: x.message)
                                        for k, v in sorted(by_product.items())})


def _label(graph: Graph, node: object) -> str:
    if isinstance(node, URIRef):
        kind = str(node).rsplit("/", 2)[-2] if "/" in str(node) else ""
        return key_of(node) if kind == "product" else f"{kind}:{key_of(node)}"
    return str(node)


_Catalog = tuple[Sequence[CategoryRecord], Sequence[BrandRecord], Sequence[ProductRecord],
                 Sequence[ColorRecord]]
_WORKER_CATALOG: _Catalog | None = None


def _validate_chunk(chunk: tuple[int, int]) -> ValidationReport:
    """Validate products ``chunk[0]:chunk[1]`` of the worker's catalog, together with
    the products they are accessories for (so those links resolve); the chunk's own
    products are reported, and the brands and categories (the same in every chunk)."""
    from knowledge_graph.export import build_graph

    assert _WORKER_CATALOG is not None
    categories, brands, products, colors = _WORKER_CATALOG
    start, stop = chunk
    own = list(products[start:stop])
    wanted = {t for p in own for t in p.accessory_for} - {p.sku for p in own}
    linked = [p for p in products if p.sku in wanted] if wanted else []
    report = validate(build_graph(categories, brands, [*own, *linked], colors))
    keep = {p.sku for p in own}
    by_product = {key: v for key, v in report.by_product.items() if key in keep or ":" in key}
    return ValidationReport(conforms=not by_product, by_product=by_product)


def validate_catalog(
    categories: Sequence[CategoryRecord],
    brands: Sequence[BrandRecord],
    products: Sequence[ProductRecord],
    colors: Sequence[ColorRecord] = (),
    *,
    only: Collection[str] | None = None,
    chunk_size: int = 2000,
    workers: int | None = None,
    progress: bool = False,
) -> ValidationReport:
    """Validate a catalog's graph against the shapes, in chunks of products.

    pySHACL's cost grows with the graph it holds, so large catalogs are checked
    chunk by chunk (each chunk with the categories, brands and colours, and the
    products its accessories point at), in parallel worker processes.

    Args:
        categories: Category records.
        brands: Brand records.
        products: Product records.
        colors: Colour records.
        only: Skus to check (for example those an import added or changed);
            ``None`` checks every product. Brands and categories are always checked.
        chunk_size: Products per chunk.
        workers: Processes; default: one per CPU, at most the number of chunks.
        progress: Show a progress bar.
    """
    global _WORKER_CATALOG
    selected = list(products) if only is None else [p for p in products if p.sku in only]
    # accessory targets are looked up in the whole catalog
    targets = {t for p in selected for t in p.accessory_for}
    context = [p for p in products if p.sku in targets and (only is None or p.sku not in only)]
    ordered = selected + context
    chunks = [(start, min(start + chunk_size, len(selected)))
              for start in range(0, len(selected), chunk_size)] or [(0, 0)]
    _WORKER_CATALOG = (list(categories), list(brands), ordered, list(colors))
    count = min(workers or os.cpu_count() or 1, len(chunks))
    try:
        if count <= 1:
            reports = list(_iterate(map(_validate_chunk, chunks), len(chunks), progress))
        else:
            import multiprocessing

            with multiprocessing.get_context("fork").Pool(count) as pool:
                reports = list(_iterate(pool.imap(_validate_chunk, chunks), len(chunks),
                                        progress))
    finally:
        _WORKER_CATALOG = None
    merged: dict[str, list[Violation]] = {}
    for report in reports:
        merged.update(report.by_product)
    return ValidationReport(conforms=not merged, by_product=dict(sorted(merged.items())))


def _iterate(items: Iterable[ValidationReport], total: int,
             progress: bool) -> Iterable[ValidationReport]:
    if not progress:
        return items
    from tqdm import tqdm

    return tqdm(items, total=total, desc="SHACL check", unit="chunk")
