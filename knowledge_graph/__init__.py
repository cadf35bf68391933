"""The product knowledge graph: schema.org RDF built from a shop's catalog.

Public interface: :func:`knowledge_graph.export.build_graph` turns catalog
records into an RDF graph, :class:`knowledge_graph.graph.ProductGraph` answers
questions about it with prepared SPARQL queries, and
:mod:`knowledge_graph.lookups` derives NLU lookup tables from it. Nothing here
imports Rasa or other domain packages.
"""
