"""Check a product graph against the SHACL shapes in ``shapes.ttl``.

Violations are reported per product: a problem on an offer is attributed to
the product that makes it, so an import can say which rows are wrong.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import Graph, URIRef
from rdflib.namespace import SH

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
