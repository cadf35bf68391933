"""What a catalog becomes, shared by the catalog import (:mod:`shopctl.catalog`) and the
demo shop's build (``scripts/build_data.py``): its knowledge-graph records read from SQL,
the graph checked against the SHACL shapes, and the NLU lookup tables, synonyms,
examples and jieba words regenerated from it."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from tqdm import tqdm

from knowledge_graph.backends import OxigraphBackend
from knowledge_graph.export import build_store
from knowledge_graph.graph import ProductGraph
from knowledge_graph.lookups import (
    build_vocabulary,
    segmentation_words,
    to_jieba_dictionary,
    to_rasa_yaml,
)
from knowledge_graph.records import BrandRecord, CategoryRecord, ColorRecord, ProductRecord
from knowledge_graph.validation import validate_catalog
from shop import catalog_data
from shop.models import AccessoryLink, Brand, Category, Product
from shopctl.nlu_examples import build_examples

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
