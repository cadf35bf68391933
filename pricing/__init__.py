"""Pricing policy with guardrails and an audit trail.

Not built yet: issue #7 fills this package. Until then the assistant quotes
list prices from the product graph.
"""
