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

import re
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

    def text(self, name: str) -> str | None:
        """The lexical form of a variable's value (an IRI's text), or ``None``."""
        value = self.get(name)
        return None if value is None else str(value)

    def lang(self, name: str) -> str | None:
        """The language tag of a variable's value, or ``None``."""
        return getattr(self.get(name), "language", None) or None


class _OxRow(Row):
    """A row of the embedded store, converted to rdflib terms only when read."""

    __slots__ = ("_solution",)

    def __init__(self, solution: Any) -> None:
        super().__init__()
        self._solution = solution

    def get(self, name: str, default: Any = None) -> Any:
        if name in self:
            return self[name]
        try:
            term = self._solution[name]
        except KeyError:
            return default
        value = self[name] = from_ox(term)
        return value

    def text(self, name: str) -> str | None:
        try:
            term = self._solution[name]
        except KeyError:
            return None
        return None if term is None else term.value

    def lang(self, name: str) -> str | None:
        term = self._solution[name]
        return getattr(term, "language", None) or None


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
        if graph.store.__class__.__name__ == "OxigraphStore":
            # oxrdflib hands query text to Oxigraph's engine; a prepared query
            # would make rdflib evaluate it over the store triple by triple
            self._prepare: Any = query_text
        else:
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
        return [_OxRow(s) for s in solutions]

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


def from_ox(term: Any) -> Node | None:
    """A pyoxigraph term as an rdflib term (``None`` stays ``None``)."""
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


_SAFE_IRI = re.compile(r'^[^\x00-\x20<>"{}|^`\\]+$')
_WHERE = re.compile(r"\bWHERE\s*\{", re.IGNORECASE)


def bind_values(query: str, bindings: dict[str, Node]) -> str:
    """Bind parameters for an endpoint that has no parameter API.

    The values become a ``VALUES`` block at the start of the query's WHERE
    group, each serialised as an RDF term by rdflib (literals quoted and
    escaped; IRIs checked for characters an IRI cannot hold). Text a customer
    typed can only ever end up inside a quoted literal.

    Raises:
        KnowledgeGraphError: For a term that cannot be bound safely.
    """
    if not bindings:
        return query
    terms = []
    for value in bindings.values():
        if isinstance(value, URIRef):
            if not _SAFE_IRI.match(str(value)):
                raise KnowledgeGraphError(f"cannot bind IRI {str(value)!r}")
            terms.append(f"<{value}>")
        elif isinstance(value, Literal):
            terms.append(_sparql_literal(value))
        else:
            raise KnowledgeGraphError(f"cannot bind {type(value).__name__}")
    names = " ".join(f"?{name}" for name in bindings)
    block = f" VALUES ({names}) {{ ({' '.join(terms)}) }} "
    match = _WHERE.search(query)
    if match is None:
        raise KnowledgeGraphError("query has no WHERE group to bind values in")
    return query[:match.end()] + block + query[match.end():]


_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r",
                          "\t": "\\t"})


def _sparql_literal(value: Literal) -> str:
    """A literal as a one-line SPARQL string with every special character escaped."""
    text = '"' + str(value).translate(_ESCAPES) + '"'
    if value.language:
        if not re.fullmatch(r"[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*", value.language):
            raise KnowledgeGraphError(f"cannot bind language tag {value.language!r}")
        return f"{text}@{value.language}"
    if value.datatype:
        if not _SAFE_IRI.match(str(value.datatype)):
            raise KnowledgeGraphError(f"cannot bind datatype {str(value.datatype)!r}")
        return f"{text}^^<{value.datatype}>"
    return text


class RemoteSparqlBackend:
    """A SPARQL 1.1 endpoint over HTTP (for example an Oxigraph or Fuseki server)."""

    name = "remote"

    def __init__(self, endpoint: str, *, timeout: float = 10.0) -> None:
        import requests

        self._endpoint = endpoint
        self._timeout = timeout
        self._http = requests.Session()

    def select(self, query: str, bindings: dict[str, Node]) -> list[Row]:
        """Run ``query`` on the endpoint.

        Raises:
            KnowledgeGraphError: The endpoint cannot be reached, gives no answer within
                the time limit, or answers with an error.
        """
        import requests

        try:
            response = self._http.post(
                self._endpoint, data={"query": bind_values(query_text(query), bindings)},
                headers={"Accept": "application/sparql-results+json"}, timeout=self._timeout)
        except requests.RequestException as exc:
            raise KnowledgeGraphError(
                f"SPARQL endpoint unreachable: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise KnowledgeGraphError(
                f"SPARQL endpoint answered {response.status_code}: {response.text[:200]}")
        result = response.json()
        names = result["head"]["vars"]
        return [Row((n, _from_json(b.get(n))) for n in names)
                for b in result["results"]["bindings"]]

    def __len__(self) -> int:
        rows = self.select("count_triples", {})
        return int(rows[0].triples.toPython()) if rows else 0


def _from_json(term: dict[str, str] | None) -> Node | None:
    if term is None:
        return None
    kind, value = term["type"], term["value"]
    if kind == "uri":
        return URIRef(value)
    if kind == "bnode":
        return BNode(value)
    if "xml:lang" in term:
        return Literal(value, lang=term["xml:lang"])
    datatype = term.get("datatype")
    if datatype and datatype != "http://www.w3.org/2001/XMLSchema#string":
        return Literal(value, datatype=URIRef(datatype))
    return Literal(value)


BACKENDS = ("oxigraph", "rdflib", "rdflib-oxigraph", "remote")


def open_backend(path: Path | str, kind: str = "oxigraph", *,
                 timeout: float = 10.0) -> SparqlBackend:
    """Open the graph in back end ``kind``.

    Args:
        path: A Turtle file, or for ``remote`` the endpoint's query URL.
        kind: ``oxigraph`` (embedded Oxigraph store, the default), ``rdflib``
            (rdflib's engine, in memory), ``rdflib-oxigraph`` (rdflib's API over an
            Oxigraph store, via oxrdflib) or ``remote`` (a SPARQL endpoint).
        timeout: Seconds to wait for a ``remote`` endpoint's answer.
    """
    if kind == "oxigraph":
        return OxigraphBackend.from_file(Path(path))
    if kind in ("rdflib", "rdflib-oxigraph"):
        if kind == "rdflib-oxigraph":
            graph = Graph(store="Oxigraph")
            graph.parse(Path(path), format="ox-turtle")  # Oxigraph's own parser
        else:
            graph = Graph()
            graph.parse(Path(path), format="turtle")
        backend = RdflibBackend(graph)
        backend.name = kind
        return backend
    if kind == "remote":
        return RemoteSparqlBackend(str(path), timeout=timeout)
    raise KnowledgeGraphError(f"unknown graph backend {kind!r}; choose one of {BACKENDS}")
