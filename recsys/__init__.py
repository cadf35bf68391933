"""Recommender (recall, rank, re-rank) for the shop assistant.

Not built yet: issue #5 fills this package. It will learn from the
``interactions`` table the demo shop already generates.
"""
