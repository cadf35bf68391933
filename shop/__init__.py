"""The shop's own data: catalog, customers, orders and interactions in SQL.

Public interface: :mod:`shop.db` (engines and sessions), :mod:`shop.orders`
(order look-up, cancellation and returns) and :mod:`shop.generator` (the
deterministic demo shop). Nothing here imports Rasa.
"""
