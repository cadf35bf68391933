"""The catalog's product photos: each product's main image plus any extra photos."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from shop.errors import ShopError
from shop.models import Product, ProductImage


class UnknownProduct(ShopError):
    """No product has this SKU."""


class CatalogImages:
    """Reads and adds product photos in the shop database."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    @staticmethod
    def ensure_table(engine: Engine) -> None:
        """Create ``product_images`` in a database made before it existed."""
        ProductImage.metadata.create_all(engine, tables=[ProductImage.__table__])  # type: ignore[list-item]

    def listed(self) -> list[tuple[str, str]]:
        """``(sku, uri)`` of every photo of every product still sold, sorted."""
        with self._sessions() as session:
            main = session.execute(select(Product.sku, Product.image)
                                   .where(Product.available, Product.image.is_not(None)))
            extra = session.execute(select(ProductImage.sku, ProductImage.uri)
                                    .join(Product, Product.sku == ProductImage.sku)
                                    .where(Product.available))
            return sorted({(sku, uri) for sku, uri in [*main, *extra] if uri})

    def unknown(self, skus: Iterable[str]) -> list[str]:
        """The SKUs among ``skus`` that are not in the catalog, sorted."""
        with self._sessions() as session:
            return _unknown(session, set(skus))

    def add(self, pairs: Iterable[tuple[str, str]]) -> int:
        """Attach photos to products; returns how many were new.

        Raises:
            UnknownProduct: If a SKU is not in the catalog (nothing is added).
        """
        pairs = list(dict.fromkeys(pairs))
        with self._sessions() as session, session.begin():
            skus = {sku for sku, _ in pairs}
            if missing := _unknown(session, skus):
                raise UnknownProduct(f"unknown product(s): {', '.join(missing[:5])}")
            have = set(session.execute(select(ProductImage.sku, ProductImage.uri)
                                       .where(ProductImage.sku.in_(skus))).tuples())
            new = [ProductImage(sku=sku, uri=uri) for sku, uri in pairs if (sku, uri) not in have]
            session.add_all(new)
            return len(new)


def _unknown(session: Session, skus: set[str]) -> list[str]:
    known = set(session.scalars(select(Product.sku).where(Product.sku.in_(skus))))
    return sorted(skus - known)
