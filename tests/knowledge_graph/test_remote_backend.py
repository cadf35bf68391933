"""The remote SPARQL back end against a real Oxigraph server started locally,
loaded with the same data: the same answers as the embedded store."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from rdflib import Literal

from knowledge_graph.backends import OxigraphBackend, RemoteSparqlBackend, bind_values
from knowledge_graph.errors import KnowledgeGraphError
from knowledge_graph.export import build_graph, write_graph
from knowledge_graph.graph import ProductGraph
from knowledge_graph.vocab import SHOP
from scripts.stack import oxigraph_server
from tests.knowledge_graph.test_export import small_catalog


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    work = tmp_path_factory.mktemp("oxigraph")
    write_graph(build_graph(*small_catalog()), work / "graph.ttl")
    with oxigraph_server(work / "graph.ttl", work) as url:
        yield url


def test_remote_and_embedded_give_identical_answers(endpoint: str) -> None:
    remote = ProductGraph(RemoteSparqlBackend(endpoint))
    local = ProductGraph(OxigraphBackend.from_graph(build_graph(*small_catalog())))
    assert len(remote._backend) == len(local._backend)
    for kwargs in ({}, {"category": "shoes"}, {"brand": "acme"}, {"color": "red"},
                   {"max_price": Decimal(100)}, {"min_price": Decimal(100)},
                   {"attribute": ("capacity", "128GB")}, {"sort": "-price", "offset": 1}):
        assert remote.search(currency="USD", **kwargs) == local.search(currency="USD", **kwargs)
    for sku in ("S1", "S2", "P1", "C1"):
        assert remote.details(sku, currency="USD") == local.details(sku, currency="USD")
        assert remote.variants(sku, currency="USD") == local.variants(sku, currency="USD")
        assert remote.accessories(sku, currency="USD") == local.accessories(sku, currency="USD")
    assert remote.match_names("acme x") == local.match_names("acme x")


@pytest.mark.parametrize("text", ['"} UNION { ?s ?p ?o } #', "' . ?s ?p ?o . '", "\\\" )",
                                  '>"<script>alert(1)</script>'])
def test_injection_text_stays_a_literal_on_the_wire(endpoint: str, text: str) -> None:
    remote = ProductGraph(RemoteSparqlBackend(endpoint))
    assert remote.search(currency=text).total == 0
    assert remote.search(currency="USD", brand=text).total == 0


def test_bind_values_refuses_what_it_cannot_quote() -> None:
    with pytest.raises(KnowledgeGraphError):
        bind_values("SELECT * WHERE { ?s ?p ?o }", {"s": SHOP['x> } DROP ALL; <y']})
    bound = bind_values("SELECT * WHERE { ?s ?p ?o }", {"o": Literal('a"b\nc')})
    assert bound.startswith('SELECT * WHERE { VALUES (?o) { ("a\\"b\\nc") }')


def test_nasty_literals_round_trip_through_the_endpoint(endpoint: str) -> None:
    backend = RemoteSparqlBackend(endpoint)
    for text in ('a"""b', "back\\slash", 'new\nline "quoted"', "tab\there", "\u202eunicode"):
        rows = backend.select("echo", {"value": Literal(text)})
        assert str(rows[0].value) == text


def test_a_graph_server_that_is_away_or_silent_is_a_graph_error_within_the_limit(
        tmp_path: Path) -> None:
    """Nobody listening, and a server that accepts the connection but never answers:
    both are the package's own error, the second after the time limit, not a hang."""
    import socket
    import time

    from scripts.stack import free_port

    with pytest.raises(KnowledgeGraphError, match="unreachable"):
        RemoteSparqlBackend(f"http://127.0.0.1:{free_port()}/query", timeout=1).select(
            "count_triples", {})
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        started = time.monotonic()
        with pytest.raises(KnowledgeGraphError, match="unreachable"):
            RemoteSparqlBackend(f"http://127.0.0.1:{silent.getsockname()[1]}/query",
                                timeout=0.5).select("count_triples", {})
        assert time.monotonic() - started < 3
