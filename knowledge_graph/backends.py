"""SPARQL back ends behind one small interface.

Both back ends run the same prepared ``.rq`` files with bound parameters:

* :class:`OxigraphBackend` (default): the embedded Oxigraph store, in process.
* :class:`RdflibBackend`: rdflib's pure-Python SPARQL engine.

Parameters are bound through the engines' own binding mechanisms
(``substitutions`` / ``initBindings``); user text never becomes query text.
Bound variables must appear in the query's projection (Oxigraph requires it)
and must only be used in triple patterns, where both engines honour them.
"""

from __future__ import annotations

from functools import cache, lru_cache
from pathlib import Path
from typing import Any, Protocol

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

from knowledge_graph.errors import KnowledgeGraphError

QUERY_DIR = Path(__file__).with_name("queries")


class Row(dict[str, Any]):
    """One solution; variables read as attributes, unbound ones as ``None``."""

    def __getattr__(self, name: str) -> Any:
        return self.get(name)


@cache
def query_text(name: str) -> str:
    """Text of the prepared query ``queries/<name>.rq``."""
    path = QUERY_DIR / f"{name}.rq"
    if not path.is_file():
        raise KnowledgeGraphError(f"unknown query {name!r}")
    return path.read_text(encoding="utf-8")


class SparqlBackend(Protocol):
    """Runs a prepared query with bound parameters."""

    name: str

    def select(self, query: str, bindings: dict[str, Node]) -> list[Row]:
        """Run the prepared SELECT query ``query`` with ``bindings``."""
        ...  # pragma: no cover

    def __len__(self) -> int:
        """Number of triples."""
        ...  # pragma: no cover


class RdflibBackend:
    """rdflib's in-process SPARQL engine over an in-memory graph."""

    name = "rdflib"

    def __init__(self, graph: Graph) -> None:
        from rdflib.plugins.sparql import prepareQuery

        self._graph = graph
        self._prepare = lru_cache(maxsize=None)(lambda q: prepareQuery(query_text(q)))

    def select(self, query: str, bindings: dict[str, Node]) -> list[Row]:
        result = self._graph.query(self._prepare(query), initBindings=bindings)  # type: ignore[arg-type]
        names = [str(v) for v in result.vars or ()]
        return [Row(zip(names, r, strict=True)) for r in result]  # type: ignore[arg-type]

    def __len__(self) -> int:
        return len(self._graph)


class OxigraphBackend:
    """The embedded Oxigraph store (Rust), queried in process."""

    name = "oxigraph"

    def __init__(self, store: Any) -> None:
        self._store = store

    @classmethod
    def from_graph(cls, graph: Graph) -> OxigraphBackend:
        """Load an rdflib graph into a fresh in-memory Oxigraph store."""
        import pyoxigraph as ox

        store = ox.Store()
        data = graph.serialize(format="nt", encoding="utf-8")
        store.bulk_load(data, format=ox.RdfFormat.N_TRIPLES)
        return cls(store)

    @classmethod
    def from_file(cls, path: Path) -> OxigraphBackend:
        """Load a Turtle file into a fresh in-memory Oxigraph store."""
        import pyoxigraph as ox

        store = ox.Store()
        store.bulk_load(path=str(path), format=ox.RdfFormat.TURTLE)
        return cls(store)

    def select(self, query: str, bindings: dict[str, Node]) -> list[Row]:
        import pyoxigraph as ox

        subs = {ox.Variable(k): _to_ox(v) for k, v in bindings.items()}
        solutions = self._store.query(query_text(query), substitutions=subs)
        names = [v.value for v in solutions.variables]
        return [Row((n, _from_ox(s[n])) for n in names) for s in solutions]

    def __len__(self) -> int:
        return len(self._store)


def _to_ox(term: Node) -> Any:
    import pyoxigraph as ox

    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise KnowledgeGraphError(f"cannot bind {type(term).__name__}")


def _from_ox(term: Any) -> Node | None:
    import pyoxigraph as ox

    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if term.language:
        return Literal(term.value, lang=term.language)
    datatype = term.datatype.value
    if datatype == "http://www.w3.org/2001/XMLSchema#string":
        return Literal(term.value)
    return Literal(term.value, datatype=URIRef(datatype))


BACKENDS = ("oxigraph", "rdflib")


def open_backend(path: Path, kind: str = "oxigraph") -> SparqlBackend:
    """Load the Turtle file at ``path`` into the back end ``kind``."""
    if kind == "oxigraph":
        return OxigraphBackend.from_file(path)
    if kind == "rdflib":
        graph = Graph()
        graph.parse(path, format="turtle")
        return RdflibBackend(graph)
    raise KnowledgeGraphError(f"unknown graph backend {kind!r}; choose one of {BACKENDS}")
