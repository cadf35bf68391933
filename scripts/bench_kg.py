"""Knowledge-graph benchmark: import a 100k-product catalog, then time every query
type on every SPARQL back end, in one run.

1. **Catalog.** The demo shop's catalog (609 variants in 164 product lines) is
   replicated until it holds ``--products`` variants. Copy *k* of a product line
   keeps its brand, colours, sizes, capacities, materials, Chinese texts and
   accessory links (within the copy), with the model name suffixed "S<k>" and prices
   shifted by up to ±10 %. Each copy files its products under its own sub-category of
   each demo category ("Running shoes S12" under "Running shoes"), so per-category
   counts stay demo-sized at the leaves while the shared upper categories grow with
   the catalog: both narrow and broad searches are measured.
2. **Import.** The catalog is written as CSV and imported with the real importer
   (``python -m knowledge_graph import``: rows checked, SQL sync, SHACL check,
   graph written, NLU tables regenerated) into a fresh data directory; then
   imported again unchanged (the idempotent re-import).
3. **Queries.** Each back end (embedded Oxigraph, rdflib, rdflib over an Oxigraph
   store, a local ``oxigraph serve-read-only`` server) loads the graph, and each
   query type runs ``--samples`` times with inputs drawn from the catalog (at most
   ``--budget`` seconds per type and back end).

Prints the table, and writes ``reports/bench_kg.json`` and ``reports/bench_kg.png``.

Usage: ``python -m scripts.bench_kg [--products 100000] [--samples 200]``
"""

from __future__ import annotations

import argparse
import csv
import gc
import json
import platform
import random
import resource
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

from actions.settings import load_settings
from knowledge_graph.export import build_store, write_graph
from knowledge_graph.graph import ProductGraph
from knowledge_graph.importing import Mapping
from knowledge_graph.records import CategoryRecord, ProductRecord
from scripts.bench_chat import percentile
from scripts.build_data import build
from scripts.stack import oxigraph_server
from shop.db import make_engine, session_factory
from shopctl.catalog import run_import
from shopctl.catalog_files import catalog_records

BACKENDS = ("oxigraph", "rdflib-oxigraph", "remote", "rdflib")
QUERY_TYPES = ("lookup", "filtered search", "attribute search", "broad search", "variants",
               "accessories", "compare", "name match")
COLUMNS = {"id": "sku", "name": "name", "name_zh": "name_zh", "description": "description",
           "description_zh": "description_zh", "category": "category", "price": "price",
           "currency": "currency", "stock": "stock", "brand": "brand", "color": "color",
           "material": "material", "size": "size", "capacity": "capacity", "group": "model",
           "accessory_for": "accessory_for"}


@dataclass(frozen=True)
class ScaledProduct:
    """One row of the scaled catalog, with what the query sampler needs."""

    record: ProductRecord
    copy: int
    leaf_path: str
    top_path: str


def _paths(categories: list[CategoryRecord]) -> dict[str, list[str]]:
    names = {c.key: c.name_en for c in categories}
    parents = {c.key: c.parent_key for c in categories}
    paths = {}
    for key in names:
        chain: list[str] = []
        node: str | None = key
        while node:
            chain.append(names[node])
            node = parents.get(node)
        paths[key] = chain[::-1]
    return paths


def scale_catalog(categories: list[CategoryRecord], products: list[ProductRecord],
                  count: int, *, seed: int = 7) -> list[ScaledProduct]:
    """Replicate the demo catalog up to ``count`` variants (see the module docstring)."""
    rng = random.Random(seed)
    paths = _paths(categories)
    scaled: list[ScaledProduct] = []
    copy = 0
    while len(scaled) < count:
        factor = Decimal(str(round(rng.uniform(0.9, 1.1), 3)))
        for p in products:
            if len(scaled) >= count:
                break
            suffix = f"S{copy}"
            path = paths[p.category_key]
            record = ProductRecord(
                sku=f"{p.sku}-{suffix}", group_id=f"{p.group_id}-{suffix}",
                model_en=f"{p.model_en} {suffix}", model_zh=None,
                name_en=p.name_en.replace(p.model_en, f"{p.model_en} {suffix}", 1),
                name_zh=(p.name_zh or "").replace(p.model_zh or "\0", f"{p.model_zh} {suffix}", 1)
                or None,
                description_en=p.description_en, description_zh=p.description_zh,
                category_key=p.category_key, brand_key=p.brand_key,
                prices={"USD": (usd_price(p) * factor).quantize(Decimal("0.01"))},
                stock=p.stock, color=p.color, material=p.material, size=p.size,
                capacity=p.capacity,
                accessory_for=tuple(f"{a}-{suffix}" for a in p.accessory_for))
            scaled.append(ScaledProduct(record, copy, " > ".join([*path, f"{path[-1]} {suffix}"]),
                                        path[0]))
        copy += 1
    return scaled


def write_csv(scaled: list[ScaledProduct], brands: dict[str, str], path: Path) -> Path:
    """Write the scaled catalog and its mapping file; returns the mapping's path."""
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(list(COLUMNS.values()))
        for item in scaled:
            r = item.record
            writer.writerow([r.sku, r.name_en, r.name_zh or "", r.description_en or "",
                             r.description_zh or "", item.leaf_path, r.prices["USD"], "USD",
                             r.stock, brands.get(r.brand_key or "", ""), r.color or "",
                             r.material or "", r.size or "", r.capacity or "", r.model_en,
                             "|".join(r.accessory_for)])
    mapping = path.with_suffix(".mapping.yml")
    lines = ["format: csv", "columns:"] + [f"  {k}: {v}" for k, v in COLUMNS.items()]
    mapping.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return mapping


def _typo(text: str, rng: random.Random) -> str:
    """Swap two neighbouring letters of the longest word, as a hurried customer does."""
    words = text.split()
    i = max(range(len(words)), key=lambda j: len(words[j]))
    w = words[i]
    if len(w) > 3:
        k = rng.randrange(1, len(w) - 2)
        words[i] = w[:k] + w[k + 1] + w[k] + w[k + 2:]
    return " ".join(words)


def query_plan(graph: ProductGraph, scaled: list[ScaledProduct], samples: int,
               seed: int = 11) -> dict[str, list[Callable[[], Any]]]:
    """``samples`` calls of each query type, with inputs drawn from the catalog."""
    rng = random.Random(seed)
    by_leaf: dict[str, list[ScaledProduct]] = {}
    for item in scaled:
        by_leaf.setdefault(item.leaf_path, []).append(item)
    leaves = sorted(by_leaf)
    # (a small subset may hold neither: then any product stands in)
    with_accessories = (sorted({a for item in scaled for a in item.record.accessory_for})
                        or [item.record.sku for item in scaled])
    with_capacity = [item for item in scaled if item.record.capacity] or scaled
    def key(kind: str, label: str) -> str:
        found = graph.canonical(kind, label)
        if found is None:
            raise RuntimeError(f"no {kind} labelled {label!r} in the imported graph")
        return found

    plan: dict[str, list[Callable[[], Any]]] = {name: [] for name in QUERY_TYPES}
    usd: dict[str, Any] = {"currency": "USD"}
    for _ in range(samples):
        item = rng.choice(scaled)
        sku = item.record.sku
        plan["lookup"].append(partial(graph.details, sku, **usd))
        plan["variants"].append(partial(graph.variants, sku, **usd))
        leaf_items = by_leaf[rng.choice(leaves)]
        pick = rng.choice(leaf_items).record
        prices = sorted(usd_price(i.record) for i in leaf_items)
        filters: dict[str, Any] = {"category": key("category", leaf_name(leaf_items)),
                                   "max_price": prices[len(prices) // 2]}
        extra = rng.choice(("color", "brand", "min_price"))
        if extra == "color" and pick.color:
            filters["color"] = pick.color
        elif extra == "brand" and pick.brand_key:
            filters["brand"] = pick.brand_key
        else:
            filters["min_price"] = prices[0]
        plan["filtered search"].append(partial(graph.search, **usd, **filters))
        phone = rng.choice(with_capacity)
        plan["attribute search"].append(partial(
            graph.search, **usd, category=key("category", leaf_name(by_leaf[phone.leaf_path])),
            attribute=("capacity", str(phone.record.capacity))))
        plan["broad search"].append(partial(
            graph.search, **usd, category=key("category", item.top_path),
            max_price=usd_price(item.record)))
        plan["accessories"].append(partial(graph.accessories, rng.choice(with_accessories),
                                           **usd))
        pair = [rng.choice(leaf_items).record.sku for _ in range(2)]
        if pair[0] == pair[1]:
            pair[1] = sku
        plan["compare"].append(partial(graph.compare, pair, **usd))
        plan["name match"].append(partial(graph.match_names, _typo(item.record.model_en, rng)))
    return plan


def usd_price(record: ProductRecord) -> Decimal:
    """The scaled catalog's price (every product has one)."""
    price = record.prices["USD"]
    assert price is not None
    return price


def leaf_name(leaf_items: list[ScaledProduct]) -> str:
    """The leaf category's label (its last path segment)."""
    return leaf_items[0].leaf_path.rsplit(" > ", 1)[-1]


class CallTimedOut(Exception):
    """One query call ran past the budget."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Interrupt the code inside after ``seconds`` (rdflib's engine is pure Python,
    so a signal stops it mid-query)."""
    def expire(signum: int, frame: Any) -> None:
        raise CallTimedOut

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def time_queries(plan: dict[str, list[Callable[[], Any]]], budget: float
                 ) -> dict[str, list[float]]:
    """Run each query type's calls in turn, after one warm-up call, for at most
    ``budget`` seconds (at least one measured call); latencies in ms. A type whose
    single call takes longer than ``budget`` gets no latencies (timed out)."""
    results: dict[str, list[float]] = {}
    for name, calls in plan.items():
        deadline = time.perf_counter() + budget
        latencies: list[float] = []
        try:
            with time_limit(budget):
                calls[-1]()  # warm-up
            for call in calls:
                started = time.perf_counter()
                with time_limit(budget):
                    call()
                latencies.append((time.perf_counter() - started) * 1000)
                if time.perf_counter() > deadline:
                    break
        except CallTimedOut:
            if not latencies:
                print(f"    {name:17s} timed out: one call took over {budget:.0f} s", flush=True)
                results[name] = []
                continue
        results[name] = latencies
        print(f"    {name:17s} n={len(latencies):4d}  p50 {percentile(latencies, 50):8.2f} ms"
              f"  p95 {percentile(latencies, 95):8.2f} ms", flush=True)
    return results


@contextmanager
def open_graph(backend: str, graph_file: Path, work: Path) -> Iterator[ProductGraph]:
    """The product graph on one back end (a local server for ``remote``)."""
    if backend == "remote":
        from knowledge_graph.backends import RemoteSparqlBackend

        with oxigraph_server(graph_file, work) as url:
            yield ProductGraph(RemoteSparqlBackend(url, timeout=600))
    else:
        yield ProductGraph.from_file(graph_file, backend=backend)


def max_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def subset_graph(database_url: str, items: list[ScaledProduct], path: Path) -> Path:
    """The graph of the imported shop restricted to ``items`` (same import, same keys)."""
    wanted = {item.record.sku for item in items}
    with session_factory(make_engine(database_url))() as session:
        categories, brands, products, colors = catalog_records(session)
    subset = [replace(p, accessory_for=tuple(a for a in p.accessory_for if a in wanted))
              for p in products if p.sku in wanted]
    write_graph(build_store(categories, brands, subset, colors), path)
    return path


def run(products: int, samples: int, budget: float, backends: tuple[str, ...],
        work: Path, rdflib_products: int) -> dict[str, Any]:
    """The whole benchmark; returns every figure."""
    demo_dir = work / "demo"
    demo = load_settings({"SHOP_DATA_DIR": str(demo_dir), "DEMO_AS_OF": "2026-06-15"})
    build(demo, demo_dir / "nlu" / "catalog.yml")
    with session_factory(make_engine(demo.database_url))() as session:
        categories, brand_records, demo_products, _ = catalog_records(session)
    scaled = scale_catalog(categories, demo_products, products)
    brands = {b.key: b.name_en for b in brand_records}
    source = work / "catalog.csv"
    mapping = Mapping.load(write_csv(scaled, brands, source))
    settings = load_settings({"SHOP_DATA_DIR": str(work / "shop")})
    figures: dict[str, Any] = {"products": len(scaled), "budget_s": budget, "import": {},
                               "backends": {}}
    for label in ("first import", "re-import (unchanged)"):
        print(f"{label} of {len(scaled):,} products ...", flush=True)
        report = run_import(settings, source, mapping, nlu_out=work / "nlu" / "catalog.yml",
                            progress=sys.stderr.isatty())
        figures["import"][label] = {"seconds": round(report.seconds, 1),
                                    "triples": report.triples,
                                    "added": report.sync.added,
                                    "unchanged": report.sync.unchanged}
        print(f"  {report.seconds:.1f} s, {report.triples:,} triples", flush=True)
    for backend in backends:
        graph_file, items = settings.graph_path, scaled
        if backend == "rdflib" and rdflib_products < len(scaled):
            # rdflib's pure-Python engine cannot serve the full catalog (see docs)
            items = scaled[:rdflib_products]
            graph_file = subset_graph(settings.database_url, items, work / "subset.ttl")
        print(f"{backend} ({len(items):,} products):", flush=True)
        started = time.perf_counter()
        with open_graph(backend, graph_file, work) as graph:
            loaded = time.perf_counter() - started
            print(f"    loaded in {loaded:.1f} s", flush=True)
            latencies = time_queries(query_plan(graph, items, samples), budget)
        figures["backends"][backend] = {"load_seconds": round(loaded, 1),
                                        "products": len(items),
                                        "latencies_ms": latencies}
        del graph
        gc.collect()
    figures["peak_rss_mb"] = round(max_rss_mb())
    return figures


def print_table(figures: dict[str, Any]) -> None:
    """Markdown tables, ready for docs/benchmarks.md."""
    print(f"\ncatalog: {figures['products']:,} products; peak memory of the run "
          f"{figures.get('peak_rss_mb', 0):,} MB")
    print("\n| import | seconds | triples |\n|---|---|---|")
    for label, data in figures["import"].items():
        print(f"| {label} | {data['seconds']} | {data['triples']:,} |")
    names = list(figures["backends"])
    print("\n| query (p50 / p95 ms) | " + " | ".join(
        f"{b} ({figures['backends'][b]['products']:,})" for b in names) + " |")
    print("|---|" + "---|" * len(names))
    print("| load graph (s) | " + " | ".join(
        str(figures["backends"][b]["load_seconds"]) for b in names) + " |")
    for query in QUERY_TYPES:
        cells = []
        for b in names:
            values = figures["backends"][b]["latencies_ms"].get(query, [])
            if not values:
                cells.append(f"> {figures['budget_s']:.0f} s a call")
                continue
            cells.append(f"{percentile(values, 50):.1f} / {percentile(values, 95):.1f}"
                         + (f" (n={len(values)})" if len(values) < 20 else ""))
        print(f"| {query} | " + " | ".join(cells) + " |")


def plot(figures: dict[str, Any], path: Path) -> None:
    """p50 and p95 per query type and back end, log scale."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(figures["backends"])
    fig, ax = plt.subplots(figsize=(11, 4.5))
    width = 0.8 / max(len(names), 1)
    for i, backend in enumerate(names):
        lat = figures["backends"][backend]["latencies_ms"]
        xs = [q + i * width for q in range(len(QUERY_TYPES))]
        p50 = [percentile(lat.get(t, []), 50) for t in QUERY_TYPES]
        p95 = [percentile(lat.get(t, []), 95) for t in QUERY_TYPES]
        ax.bar(xs, p95, width, alpha=0.35, color=f"C{i}")
        products = figures["backends"][backend].get("products", figures["products"])
        ax.bar(xs, p50, width, label=f"{backend} ({products:,} products)", color=f"C{i}")
        for x, query in zip(xs, QUERY_TYPES, strict=True):
            if not lat.get(query):  # timed out
                ax.text(x, 1, f"> {figures.get('budget_s', 0):.0f} s", rotation=90,
                        ha="center", va="bottom", fontsize=7, color=f"C{i}")
    ax.axhline(5, color="grey", linestyle=":", linewidth=1)
    ax.axhline(25, color="grey", linestyle="--", linewidth=1)
    ax.set_yscale("log")
    ax.set_xticks([q + width * (len(names) - 1) / 2 for q in range(len(QUERY_TYPES))])
    ax.set_xticklabels(QUERY_TYPES, rotation=20)
    ax.set_ylabel("latency, ms (solid p50, light p95)")
    ax.set_title(f"Product graph queries, catalog of {figures['products']:,} products "
                 "(dotted: 5 ms lookup target, dashed: 25 ms search target)")
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=200, help="calls per query type")
    parser.add_argument("--budget", type=float, default=30.0,
                        help="most seconds per query type and back end")
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--rdflib-products", type=int, default=2_000,
                        help="rdflib is measured on the first N products only")
    parser.add_argument("--out", type=Path, default=Path("reports"))
    parser.add_argument("--work", type=Path, help="keep the generated files here")
    args = parser.parse_args(argv)
    backends = tuple(b for b in args.backends.split(",") if b)
    unknown = set(backends) - set(BACKENDS)
    if unknown:
        parser.error(f"unknown back ends {sorted(unknown)}; choose from {BACKENDS}")
    context = nullcontext(str(args.work)) if args.work else tempfile.TemporaryDirectory()
    with context as work:
        Path(work).mkdir(parents=True, exist_ok=True)
        figures = run(args.products, args.samples, args.budget, backends, Path(work),
                      args.rdflib_products)
    figures["machine"] = f"{platform.machine()}, {platform.python_version()}"
    print_table(figures)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_kg.json").write_text(json.dumps(figures, indent=1), encoding="utf-8")
    plot(figures, args.out / "bench_kg.png")
    print(f"\nwrote {args.out / 'bench_kg.json'} and {args.out / 'bench_kg.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
