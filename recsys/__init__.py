"""Recommender for the shop assistant: multi-channel recall, learned ranking, re-ranking.

* :mod:`recsys.channels` - recall channels (buy-again history, item-kNN, EASE,
  implicit ALS, content embeddings with faiss, session co-occurrence, popularity).
* :mod:`recsys.pipeline` - :class:`~recsys.pipeline.Recommender`: recall, then a
  LightGBM ranker trained on held-out interactions.
* :mod:`recsys.rerank` - stock, business rules, price limits, category diversity.
* :mod:`recsys.service` - what the action server calls: live model (hot-reloaded
  from :mod:`recsys.artifacts`), live inventory, experiments, event logging.
* :mod:`recsys.experiments` - deterministic A/B assignment and per-variant report.

Returns ids, scores and machine-readable reasons; never user-facing text.
"""
