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
from collections.abc import Collection
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from tqdm import tqdm

from actions.settings import Settings, load_settings
from knowledge_graph.backends import OxigraphBackend
from knowledge_graph.export import build_store, write_graph
from knowledge_graph.graph import ProductGraph
from knowledge_graph.lookups import (
    build_vocabulary,
    segmentation_words,
    to_jieba_dictionary,
    to_rasa_yaml,
)
from knowledge_graph.records import BrandRecord, CategoryRecord, ColorRecord, ProductRecord
from knowledge_graph.validation import validate_catalog
from pricing.ledger import drop_tables as drop_pricing_tables
from scripts.nlu_examples import build_examples
from shop import catalog_data
from shop.db import create_schema, make_engine, session_factory
from shop.generator import generate_demo_shop
from shop.models import AccessoryLink, Brand, Category, Product

DEFAULT_NLU_OUT = Path("nlu_data/generated/catalog.yml")


def catalog_records(
    session: Session,
) -> tuple[list[CategoryRecord], list[BrandRecord], list[ProductRecord], list[ColorRecord]]:
    """Read the shop's catalog from SQL as knowledge-graph records."""
    categories = [
        CategoryRecord(
            key=c.key, name_en=c.name_en, name_zh=c.name_zh, parent_key=c.parent_key,
            alt_en=catalog_data.CATEGORY_ALIASES.get(c.key, ((), ()))[0],
            alt_zh=catalog_data.CATEGORY_ALIASES.get(c.key, ((), ()))[1],
        )
        for c in session.scalars(select(Category).order_by(Category.key))
    ]
    brands = [BrandRecord(key=b.key, name_en=b.name_en, name_zh=b.name_zh)
              for b in session.scalars(select(Brand).order_by(Brand.key))]
    links: dict[str, list[str]] = {}
    for link in session.scalars(select(AccessoryLink)):
        links.setdefault(link.accessory_sku, []).append(link.product_sku)
    products = []
    query = select(Product).options(selectinload(Product.prices)).order_by(Product.sku)
    rows = session.scalars(query).all()
    for p in tqdm(rows, desc="graph: products", unit="product", disable=None):
        prices = {p.currency: p.list_price} | {lp.currency: lp.amount for lp in p.prices}
        products.append(ProductRecord(
            sku=p.sku, group_id=p.group_id, model_en=p.model_en, model_zh=p.model_zh,
            name_en=p.name_en, name_zh=p.name_zh, description_en=p.description_en,
            description_zh=p.description_zh, category_key=p.category_key,
            brand_key=p.brand_key, prices=prices, stock=p.stock, color=p.color,
            color_zh=catalog_data.COLORS.get(p.color or ""), material=p.material,
            material_zh=catalog_data.MATERIALS.get(p.material or ""), size=p.size,
            capacity=p.capacity, image=p.image, available=p.available,
            accessory_for=tuple(sorted(links.get(p.sku, ()))),
        ))
    used_colors = sorted({p.color for p in products if p.color})
    colors = [ColorRecord(key=c, name_zh=catalog_data.COLORS.get(c),
                          alt_en=catalog_data.COLOR_ALIASES.get(c, ())) for c in used_colors]
    return categories, brands, products, colors



def write_if_changed(path: Path, text: str) -> bool:
    """Write ``text`` unless the file already holds it (keeps mtimes, so Make and
    Rasa see unchanged training data as unchanged). Returns True if written."""
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True


class GraphInvalid(ValueError):
    """The catalog breaks the graph's SHACL shapes; the message lists products."""


def checked_store(categories: list[CategoryRecord], brands: list[BrandRecord],
                  products: list[ProductRecord], colors: list[ColorRecord], *,
                  only: Collection[str] | None = None, progress: bool = False) -> Any:
    """Check the catalog against the SHACL shapes, then build its graph.

    Args:
        only: Skus to check (those an import added or changed); ``None`` checks all.
        progress: Show progress bars.

    Returns:
        The graph in an in-memory Oxigraph store.

    Raises:
        GraphInvalid: Naming up to ten products and what is wrong with them.
    """
    report = validate_catalog(categories, brands, products, colors, only=only,
                              progress=progress)
    if not report.conforms:
        problems = "; ".join(f"{key}: {v[0].message}" for key, v in
                             list(report.by_product.items())[:10])
        raise GraphInvalid(f"the product graph breaks {report.count} SHACL constraint(s): "
                           f"{problems}")
    return build_store(categories, brands, products, colors)


def write_nlu(store: Any, nlu_out: Path) -> int:
    """Regenerate the NLU lookup tables, synonyms, catalog examples and jieba words
    from the graph in ``store`` (an Oxigraph store); returns the number of lookup values."""
    product_graph = ProductGraph(OxigraphBackend(store))
    vocabulary = build_vocabulary(product_graph)
    write_if_changed(nlu_out, to_rasa_yaml(vocabulary))
    write_if_changed(nlu_out.with_name("examples.yml"), build_examples(product_graph))
    write_if_changed(nlu_out.parent / "jieba" / "userdict.txt",
                     to_jieba_dictionary(segmentation_words(product_graph)))
    return sum(len(v) for v in vocabulary.lookups.values())


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
