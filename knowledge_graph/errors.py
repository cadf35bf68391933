"""Errors raised by the :mod:`knowledge_graph` package."""

from __future__ import annotations


class KnowledgeGraphError(Exception):
    """Root of every error the knowledge_graph package raises."""


class ProductNotFound(KnowledgeGraphError):
    """No product with this identifier is in the graph."""


class GraphNotBuilt(KnowledgeGraphError):
    """The graph file does not exist yet; run the build first."""
