"""Namespaces and IRIs used by the product graph."""

from __future__ import annotations

from urllib.parse import quote, unquote

from rdflib import Namespace, URIRef
from rdflib.namespace import SKOS

SCHEMA = Namespace("https://schema.org/")
SHOP = Namespace("https://shop.example/id/")
SKOS_NS = SKOS


def _safe(key: str) -> str:
    """Percent-encode a key so that any text yields a valid IRI segment."""
    return quote(key, safe="-_.~")


def product_iri(sku: str) -> URIRef:
    """IRI of a product."""
    return SHOP[f"product/{_safe(sku)}"]


def group_iri(group_id: str) -> URIRef:
    """IRI of a product group (all variants of one model)."""
    return SHOP[f"group/{_safe(group_id)}"]


def brand_iri(key: str) -> URIRef:
    """IRI of a brand."""
    return SHOP[f"brand/{_safe(key)}"]


def category_iri(key: str) -> URIRef:
    """IRI of a category concept."""
    return SHOP[f"category/{_safe(key)}"]


def key_of(iri: str) -> str:
    """Last path segment of a shop IRI (the sku, brand key or category key)."""
    return unquote(str(iri).rsplit("/", 1)[-1])


def color_iri(key: str) -> URIRef:
    """IRI of a colour concept."""
    return SHOP[f"color/{_safe(key)}"]


def offer_iri(sku: str, currency: str) -> URIRef:
    """IRI of a product's offer in one currency."""
    return SHOP[f"offer/{_safe(sku)}/{_safe(currency)}"]
