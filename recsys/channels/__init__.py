"""Recall channels: each fits on a :class:`~recsys.data.Dataset` and scores every item."""
