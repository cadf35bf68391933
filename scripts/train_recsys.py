"""Train the recommender from the shop database and publish a new model version.

Reads every interaction (views, carts, purchases, clicks on recommendations)
and the catalog, embeds product texts (only new or changed ones: the
embeddings are cached in ``EMBEDDING_CACHE``, by default under
``SHOP_DATA_DIR/cache``; the demo catalog's ship with the code in
``shop/demo_embeddings.npz``), fits the recall channels and the ranker, and
publishes the result under ``RECSYS_DIR``; a running action server picks the
new version up within ``RECSYS_RELOAD_SECONDS``.

Usage: ``python -m scripts.train_recsys`` (``make train-recsys``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from actions.settings import Settings, load_settings
from recsys.artifacts import ModelStore
from recsys.data import Interactions
from recsys.embeddings import EmbeddingCache, write_seed
from recsys.pipeline import Catalog, Recommender
from shop.db import make_engine, session_factory
from shop.feedback import FeedbackStore

#: the demo catalog's product-text embeddings (``make demo-embeddings`` writes them)
DEMO_EMBEDDINGS = Path(__file__).resolve().parents[1] / "shop" / "demo_embeddings.npz"
STEPS = ("ranker check", "recall channels (held-out fit)", "ranking features", "ranker",
         "recall channels (full fit)")


def train(settings: Settings, *, quiet: bool = False) -> dict[str, Any]:
    """Fit on the shop's data and publish; returns what was trained and how long it took."""
    started = time.perf_counter()
    engine = make_engine(settings.database_url)
    store = FeedbackStore(session_factory(engine))
    products = store.products()
    log = Interactions.from_records(store.interactions())
    engine.dispose()
    bar = tqdm(total=len(products), desc="embed products", unit="product", disable=quiet)
    cache = EmbeddingCache(settings.embedding_cache, seeds=[DEMO_EMBEDDINGS])
    vectors = cache.encode([p.text for p in products], progress=bar.update)
    bar.close()
    catalog = Catalog([p.sku for p in products], categories=[p.category for p in products],
                      prices=np.array([np.nan if p.price is None else p.price
                                       for p in products]),
                      vectors=vectors)
    steps = tqdm(total=len(STEPS), desc="train recommender", unit="step", disable=quiet)

    begun: list[str] = []

    def step(name: str) -> None:  # called as each step starts: the previous one is done
        if begun:
            steps.update(1)
        begun.append(name)
        steps.set_postfix_str(name)

    fit_started = time.perf_counter()
    model = Recommender().fit(log, catalog=catalog, progress=step)
    steps.update(1)
    steps.close()
    fit_seconds = time.perf_counter() - fit_started
    data = model.dataset()
    summary = {"interactions": len(log), "users": data.n_users, "items": data.n_items,
               "channels": sorted(model.channels), "ranker_trained": model.ranker.trained,
               "ranked_by": model.ranked_by,
               "check_ndcg": {k: round(v, 4) for k, v in model.check_scores.items()},
               "fit_seconds": round(fit_seconds, 2)}
    version = ModelStore(settings.recsys_dir).publish(model, info=summary)
    summary.update(version=version, seconds=round(time.perf_counter() - started, 2))
    return summary


def write_demo_seed(settings: Settings, path: Path = DEMO_EMBEDDINGS) -> int:
    """Write the demo catalog's product-text embeddings, shipped so that a fresh
    machine's ``make run`` does not encode them (``make demo-embeddings``)."""
    engine = make_engine(settings.database_url)
    texts = [p.text for p in FeedbackStore(session_factory(engine)).products()]
    engine.dispose()
    return write_seed(texts, path)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write-demo-seed", action="store_true",
                        help=f"write {DEMO_EMBEDDINGS} from the demo shop in SHOP_DATA_DIR")
    args = parser.parse_args(argv)
    if args.write_demo_seed:
        count = write_demo_seed(load_settings())
        print(f"wrote {count} product-text embeddings to {DEMO_EMBEDDINGS}")
        return 0
    summary = train(load_settings())
    print(f"recommender {summary['version']} published in {summary['seconds']}s "
          f"(fit {summary['fit_seconds']}s): {summary['interactions']:,} interactions, "
          f"{summary['users']:,} users, {summary['items']:,} products, channels "
          f"{', '.join(summary['channels'])}, ranker trained: {summary['ranker_trained']}, "
          f"ranked by: {summary['ranked_by']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
