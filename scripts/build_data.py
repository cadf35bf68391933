"""Build the demo shop: SQL database, RDF product graph and NLU lookup tables.

Usage::

    python -m scripts.build_data [--nlu-out nlu_data/generated/catalog.yml]

Reads ``SHOP_DATA_DIR``, ``DATABASE_URL``, ``DEMO_SEED`` and ``DEMO_AS_OF``
(see docs/configuration.md). The same seed and date give the same shop.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from actions.settings import Settings, load_settings
from knowledge_graph.export import write_graph
from pricing.ledger import drop_tables as drop_pricing_tables
from shop.db import create_schema, make_engine, session_factory
from shop.generator import generate_demo_shop
from shopctl.catalog_files import DEFAULT_NLU_OUT, catalog_records, checked_store, write_nlu


def build(settings: Settings, nlu_out: Path) -> dict[str, int]:
    """Generate the demo shop and everything derived from it.

    Returns:
        Counts of what was written.
    """
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    sqlite_file: Path | None = None
    url = settings.database_url
    if url.startswith("sqlite:///"):
        # build into a fresh file and swap it in, so a failed build leaves the old one intact
        sqlite_file = Path(url.removeprefix("sqlite:///"))
        tmp_file = sqlite_file.with_suffix(".building")
        for leftover in (tmp_file, Path(f"{tmp_file}-wal"), Path(f"{tmp_file}-shm")):
            leftover.unlink(missing_ok=True)
        url = f"sqlite:///{tmp_file}"
    engine = make_engine(url)
    create_schema(engine, drop_first=True)
    drop_pricing_tables(engine)  # quotes and coupons of a previous demo shop (PostgreSQL)
    sessions = session_factory(engine)
    with sessions.begin() as session:
        summary = generate_demo_shop(session, seed=settings.demo_seed, as_of=settings.demo_as_of)
    with sessions() as session:
        categories, brands, products, colors = catalog_records(session)
    engine.dispose()
    if sqlite_file is not None:
        for suffix in ("-wal", "-shm"):
            Path(f"{sqlite_file}{suffix}").unlink(missing_ok=True)
        Path(url.removeprefix("sqlite:///")).replace(sqlite_file)

    graph = checked_store(categories, brands, products, colors)
    write_graph(graph, settings.graph_path)
    lookup_values = write_nlu(graph, nlu_out)
    return {
        "categories": summary.categories,
        "products": summary.products,
        "accessory_links": summary.accessory_links,
        "customers": summary.customers,
        "orders": summary.orders,
        "interactions": summary.interactions,
        "triples": len(graph),
        "lookup_values": lookup_values,
    }


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nlu-out", type=Path, default=DEFAULT_NLU_OUT,
                        help="where to write the generated lookup tables and synonyms")
    args = parser.parse_args(argv)
    settings = load_settings()
    started = time.perf_counter()
    counts = build(settings, args.nlu_out)
    print(f"demo shop built in {time.perf_counter() - started:.1f}s "
          f"(seed {settings.demo_seed}, as of {settings.demo_as_of}) -> {settings.data_dir}")
    for key, value in counts.items():
        print(f"  {key:16s} {value:>8,d}")
    from scripts.train_recsys import train  # the recommender learns from the new data

    summary = train(settings, quiet=True)
    print(f"  recommender      {summary['version']} (fit {summary['fit_seconds']}s)")
    from scripts.train_pricing import run as train_pricing  # a policy for the new catalog

    policy = train_pricing(settings, quiet=True, fresh=True)  # a new shop, a new policy
    print(f"  price policy     {policy['version']} ({policy['kind']}, "
          f"{policy['outcomes']} outcomes)")
    from scripts.index_images import sync  # the photo index follows the catalog

    photos = sync(settings, quiet=True)
    print(f"  photo index      {photos['photos']:>8,d} photos of {photos['products']} products")
    return 0


if __name__ == "__main__":
    sys.exit(main())
