"""Import a shop's catalog: ``python -m knowledge_graph import FILE --mapping MAPPING``.

Reads the file through the mapping (see :mod:`knowledge_graph.importing`),
brings the shop database in line with it (new products added, changed ones
updated, products no longer listed marked unavailable), rebuilds and checks
the product graph, and regenerates the NLU lookup tables. All of it or nothing:
the database changes are committed only after the new graph passed its SHACL
check and was written next to the old one, which it then replaces.

This module is the application layer that joins the knowledge_graph library
to the shop database and the settings; the library itself imports neither.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from actions.settings import Settings, load_settings
from knowledge_graph.export import write_graph
from knowledge_graph.importing import CatalogImportError, ImportPlan, Mapping, plan_import
from shop.catalog import SyncSummary, sync_catalog
from shop.db import create_schema, make_engine, session_factory
from shopctl.catalog_files import (
    DEFAULT_NLU_OUT,
    GraphInvalid,
    catalog_records,
    checked_store,
    write_nlu,
)


@dataclass(frozen=True)
class ImportReport:
    """What an import did."""

    plan: ImportPlan
    sync: SyncSummary
    triples: int
    seconds: float


def run_import(settings: Settings, source: Path, mapping: Mapping, *, nlu_out: Path,
               progress: bool = False) -> ImportReport:
    """Import ``source`` into the shop database and graph, atomically.

    Raises:
        CatalogImportError: The file cannot be imported (nothing changed).
        GraphInvalid: The resulting graph breaks the SHACL shapes (nothing changed).
    """
    started = time.perf_counter()
    plan = plan_import(source, mapping, progress=progress)
    if not plan.products:
        raise CatalogImportError(f"{source}: no valid rows ({len(plan.rejected)} rejected)")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.database_url)
    create_schema(engine)
    sessions = session_factory(engine)
    staged = settings.graph_path.with_suffix(".importing.ttl")
    try:
        with sessions.begin() as session:
            summary = sync_catalog(session, categories=plan.categories, brands=plan.brands,
                                   products=plan.products)
            categories, brands, products, colors = catalog_records(session)
            graph = checked_store(categories, brands, products, colors,
                                  only=summary.changed, progress=progress)
            write_graph(graph, staged)
            # leaving the block commits; any error above rolls everything back
        staged.replace(settings.graph_path)
    finally:
        staged.unlink(missing_ok=True)
        engine.dispose()
    write_nlu(graph, nlu_out)
    return ImportReport(plan=plan, sync=summary, triples=len(graph),
                        seconds=time.perf_counter() - started)


def print_report(report: ImportReport, source: Path, *, shown: int = 20) -> None:
    """Summary and rejected rows, for people."""
    plan, sync = report.plan, report.sync
    print(f"imported {source} in {report.seconds:.1f}s: {plan.rows:,} rows read, "
          f"{len(plan.products):,} products, {len(plan.rejected):,} rejected")
    print(f"  added {sync.added:,}, updated {sync.updated:,}, unchanged {sync.unchanged:,}, "
          f"marked unavailable {sync.discontinued:,}; new categories {sync.categories_added}, "
          f"new brands {sync.brands_added}; graph {report.triples:,} triples")
    for kind, rows in (("rejected", plan.rejected), ("warning", plan.warnings)):
        for r in rows[:shown]:
            print(f"  {kind}: line {r.line}" + (f" ({r.sku})" if r.sku else "") + f": {r.reason}")
        if len(rows) > shown:
            print(f"  ... and {len(rows) - shown:,} more {kind} rows")


def derive_online_retail(source: Path, out: Path) -> int:
    """Write the product catalog derived from the transactions, with a report."""
    from knowledge_graph.sources.online_retail import derive_catalog, write_catalog

    if not source.is_file():
        print(f"no such file: {source} (set DATASETS to the shared datasets folder)",
              file=sys.stderr)
        return 2
    catalog = derive_catalog(source, progress=sys.stderr.isatty())
    write_catalog(catalog, out)
    print(f"derived {len(catalog.rows):,} products from {catalog.lines_read:,} lines "
          f"({catalog.lines_used:,} sales used; {catalog.codes_excluded} non-product codes "
          f"left out) -> {out}")
    print(f"categorised by keyword rules: {catalog.categorised_share:.1%}")
    for category, count in sorted(catalog.by_category.items(), key=lambda kv: -kv[1]):
        print(f"  {count:5d}  {category}")
    return 0


def derive_grocery_store(dataset: Path, out: Path, photos_out: Path | None = None) -> int:
    """Write the product catalog derived from the Grocery Store dataset, with a report.

    With ``photos_out``, also write the shelf photos of the training split as
    ``sku,path`` rows (``python -m scripts.index_images add --csv`` attaches
    them to the products as extra photos for visual lookup).
    """
    from knowledge_graph.sources.grocery_store import (
        derive_catalog,
        write_catalog,
        write_shelf_photos,
    )

    if not (dataset / "classes.csv").is_file():
        print(f"no classes.csv in {dataset} (set DATASETS to the shared datasets folder)",
              file=sys.stderr)
        return 2
    catalog = derive_catalog(dataset)
    write_catalog(catalog, out)
    if photos_out is not None:
        write_shelf_photos(dataset, photos_out)
    print(f"derived {len(catalog.rows)} products in {len(catalog.by_category)} categories "
          f"({catalog.with_brand} branded, {catalog.missing_sheets} without an information "
          f"sheet; no prices: price on request) -> {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``import`` subcommand of ``python -m knowledge_graph``."""
    parser = argparse.ArgumentParser(prog="python -m knowledge_graph",
                                     description="Manage the shop's product graph.")
    commands = parser.add_subparsers(dest="command", required=True)
    imp = commands.add_parser("import", help="import a catalog file (CSV or JSON Lines)")
    imp.add_argument("source", type=Path, help="the catalog file")
    imp.add_argument("--mapping", type=Path, required=True, help="mapping file (YAML)")
    imp.add_argument("--nlu-out", type=Path, default=DEFAULT_NLU_OUT,
                     help="where to write the regenerated lookup tables")
    imp.add_argument("--rejected-out", type=Path,
                     help="also write every rejected row (line, id, reason) to this CSV")
    derive = commands.add_parser(
        "derive-online-retail",
        help="derive a product catalog CSV from the UCI Online Retail transactions")
    derive.add_argument("--input", type=Path, required=True, help="online_retail.csv")
    derive.add_argument("--out", type=Path, required=True, help="catalog CSV to write")
    grocery = commands.add_parser(
        "derive-grocery-store",
        help="derive a product catalog CSV from the Grocery Store dataset")
    grocery.add_argument("--input", type=Path, required=True,
                         help="the grocery-store/dataset folder")
    grocery.add_argument("--out", type=Path, required=True, help="catalog CSV to write")
    grocery.add_argument("--photos-out", type=Path,
                         help="also write the training split's shelf photos (sku,path) here")
    args = parser.parse_args(argv)
    if args.command == "derive-online-retail":
        return derive_online_retail(args.input, args.out)
    if args.command == "derive-grocery-store":
        return derive_grocery_store(args.input, args.out, args.photos_out)
    settings = load_settings()
    try:
        mapping = Mapping.load(args.mapping)
        report = run_import(settings, args.source, mapping, nlu_out=args.nlu_out,
                            progress=sys.stderr.isatty())
    except (CatalogImportError, GraphInvalid) as exc:
        print(f"import failed, nothing changed: {exc}", file=sys.stderr)
        return 2
    print_report(report, args.source)
    if args.rejected_out:
        import csv

        with args.rejected_out.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(["line", "id", "reason"])
            writer.writerows((r.line, r.sku or "", r.reason) for r in report.plan.rejected)
    return 0


if __name__ == "__main__":
    sys.exit(main())
