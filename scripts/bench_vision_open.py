"""Open-set photo lookup: photos of products the shop does not sell (part of ``make bench-vision``).

A shop's customers photograph things the shop does not carry. This protocol
measures what they get, on the Grocery Store dataset (Klasson et al., WACV 2019):

1. A quarter of the products (20 of 81, chosen at random with a fixed seed) are
   **not sold**: they are left out of the catalog, the index *and* the
   fine-tuning, so nothing the shop builds has seen them.
2. **Tuned on the training split only**: the network is fine-tuned on the sold
   products' catalog and training photos (the shipped recipe,
   :func:`vision.finetune.fine_tune`), the index holds those photos with the
   shipped views, colour and projection, and the score bounds are calibrated on
   them (leave one product out, :func:`vision.adapt.calibrate`).
3. **Chosen on validation only**: each decision rule's threshold (as the
   calibration's quantile, which is what ships) is the one with the most right
   answers among those with at most 10% of not-sold photos answered as a match
   and at most 5% of wrong products; the rule too. Validation photos are split in
   two halves (alternate photos of each product) and each half's choice is scored
   on the other half, the honest figure beside the one chosen on all of it.

Per validation photo of a sold product: the **right** product as the answer's
match, a **wrong** product as the match, or no match (the shop "doesn't seem to
sell this" and shows labelled alternatives or offers a person). Per photo of a
not-sold product: answered as a match, or not.

Decision rules compared (``s1``, ``s2``: the best and second-best products'
scores): the best score alone (what shipped before), the margin ``s1 - s2``, the
ratio of cosine distances, and blends ``s1 + b (s1 - s2)``. Beside them, signals
the catalog cannot calibrate (their thresholds are the validation scores' own
quantiles; :func:`other_signals`): a classifier learned on the index's catalog
photos and the fine-tuned network's own product classifier, alone and blended with
the ratio by rank.

Everything is measured twice: with ImageNet's weights (what a shop has before
``make tune-vision``) and with the network fine-tuned on the sold products.
Fine-tuning takes about 20 minutes on 2 cores; the network's vectors are kept in
``--cache`` (keyed by the products held out, the recipe and the code that
encodes), so a second run re-scores in seconds.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from actions.settings import Settings, load_settings
from scripts.bench_vision import Photo, combine, encode_views, load_dataset, projected_index
from scripts.index_images import tune_progress
from vision.adapt import calibrate, decision_scores, unsold_pairs
from vision.finetune import fine_tune, shrink
from vision.images import decode

UNSOLD_SHARE = 0.25
SEED = 0
MAX_UNSOLD_MATCHED = 0.10  # targets of the protocol
MAX_WRONG = 0.05
MIN_RIGHT = 0.90
BLENDS = (0.5, 1.0, 2.0, 4.0)
Rule = Callable[[np.ndarray, np.ndarray], np.ndarray]


def rules() -> dict[str, Rule]:
    """Decision scores from the best (``s1``) and second (``s2``) product scores."""
    out: dict[str, Rule] = {
        "best score": functools.partial(decision_scores, rule="score"),
        "margin s1 - s2": lambda s1, s2: s1 - s2,
        "distance ratio 1 - d1/d2 (shipped)": functools.partial(decision_scores, rule="ratio"),
    }
    for b in BLENDS:
        out[f"blend s1 + {b:g} (s1 - s2)"] = functools.partial(_blend, margin=b)
    return out


def _blend(s1: np.ndarray, s2: np.ndarray, *, margin: float) -> np.ndarray:
    return s1 + margin * (s1 - s2)


def not_sold(products: Sequence[str], share: float = UNSOLD_SHARE, seed: int = SEED) -> set[str]:
    """The products left out of the shop (a fixed random draw)."""
    ordered = sorted(set(products))
    rng = np.random.default_rng(seed)
    return set(rng.choice(ordered, round(len(ordered) * share), replace=False).tolist())


def top_two(index: Any, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Best and second-best product scores and the best product, per query."""
    s1, s2, first = [], [], []
    for hits in index.search(queries, 2):
        s1.append(hits[0].score if hits else -1.0)
        s2.append(hits[1].score if len(hits) > 1 else -1.0)
        first.append(hits[0].product if hits else "")
    return np.asarray(s1), np.asarray(s2), first


def outcomes(score: np.ndarray, threshold: float, right: np.ndarray, sold: np.ndarray
             ) -> dict[str, float]:
    """Shares of answers at ``threshold`` (a match when ``score >= threshold``)."""
    match = score >= threshold
    return {"right": float(np.mean(match[sold] & right[sold])),
            "wrong": float(np.mean(match[sold] & ~right[sold])),
            "no match (sold)": float(np.mean(~match[sold])),
            "not sold: matched": float(np.mean(match[~sold]))}


def choose(score: np.ndarray, right: np.ndarray, sold: np.ndarray, candidates: np.ndarray
           ) -> tuple[float, dict[str, float], bool]:
    """The threshold with the most right answers within the limits on not-sold photos
    answered as a match and on wrong products (``met`` false: none was within them;
    then the one with the fewest not-sold matches among the highest right rates)."""
    best: tuple[float, dict[str, float]] | None = None
    for t in candidates:
        o = outcomes(score, float(t), right, sold)
        if o["not sold: matched"] <= MAX_UNSOLD_MATCHED and o["wrong"] <= MAX_WRONG and (
                best is None or o["right"] > best[1]["right"]):
            best = (float(t), o)
    if best is not None:
        return best[0], best[1], True
    scored = [(float(t), outcomes(score, float(t), right, sold)) for t in candidates]
    t, o = min(scored, key=lambda c: c[1]["not sold: matched"] + c[1]["wrong"])
    return t, o, False


def curve(score: np.ndarray, right: np.ndarray, sold: np.ndarray,
          candidates: np.ndarray) -> list[dict[str, float]]:
    return [{"threshold": float(t), **outcomes(score, float(t), right, sold)} for t in candidates]


def features(images: list[Any], photos: list[Photo], catalog_rows: list[int], model: str,
             threads: int, epochs: int, views: tuple[str, ...], cache: Path | None,
             queries_from: int) -> dict[str, np.ndarray]:
    """Per-view vectors of every photo from the network fine-tuned on ``catalog_rows``
    (``epochs`` 0: ImageNet's weights, nothing learnt from the shop); fine-tuned, also
    the product classifier and its scores of the photos from ``queries_from`` on."""
    from vision import encoder, finetune

    code = hashlib.sha256(Path(finetune.__file__).read_bytes()
                          + Path(encoder.__file__).read_bytes()).hexdigest()[:12]
    key = hashlib.sha256(json.dumps([model, epochs, list(views), code, sorted(
        photos[i].path.name for i in catalog_rows), len(photos)]).encode()).hexdigest()[:16]
    folder = None if cache is None else cache / f"open-set-{key}"
    if folder is not None and (folder / "vectors.npz").is_file():
        with np.load(folder / "vectors.npz", allow_pickle=False) as data:
            print(f"open set: vectors from {folder}", flush=True)
            return {k: data[k] for k in data.files}
    if not epochs:
        per_view = encode_views(images, views, threads, model)
    else:
        import tempfile

        bar, progress = tune_progress(model)
        with tempfile.TemporaryDirectory() as tmp:
            head = Path(tmp) / "head.npz"
            tuned = fine_tune([shrink(images[i], model) for i in catalog_rows],
                              [photos[i].product for i in catalog_rows],
                              out_dir=Path(folder or tmp), model=model, epochs=epochs,
                              threads=threads, progress=progress, head_out=head)
            bar.close()
            per_view = encode_views(images, views, threads, model, tuned=tuned.path)
            with np.load(head, allow_pickle=False) as h:
                per_view.update(head_names=h["names"], head_weight=h["weight"],
                                head_bias=h["bias"])
            queries = range(queries_from, len(images))
            per_view["query_logits"] = head_logits([images[i] for i in queries], tuned.path,
                                                   per_view, model, threads)
        per_view["tune_seconds"] = np.asarray(tuned.seconds)
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        np.savez(folder / "vectors.npz", **per_view)  # type: ignore[arg-type]
    return per_view


def head_logits(images: list[Any], tuned: Path, head: dict[str, np.ndarray], model: str,
                threads: int) -> np.ndarray:
    """The fine-tuned product classifier's scores of each photo (the first view)."""
    import torch

    from vision.encoder import ImageEncoder

    encoder = ImageEncoder(model=model, views=("center",), threads=threads, tuned=tuned)
    net, out = encoder._model(), []
    with torch.inference_mode():
        for start in tqdm(range(0, len(images), 32), desc="classifier", unit="batch"):
            batch = np.concatenate([encoder.preprocess(im) for im in images[start:start + 32]])
            pooled = net.extract_features(torch.from_numpy(batch)).mean(dim=(2, 3)).numpy()
            out.append(pooled @ head["head_weight"].T + head["head_bias"])
    return np.concatenate(out)


def run(images: list[Any], iconic: list[Photo], train: list[Photo], val: list[Photo], *,
        model: str, threads: int, cache: Path | None) -> dict[str, Any]:
    """The protocol, with ImageNet's weights and with the network fine-tuned on the sold
    products; returns their figures (see the module docstring)."""
    shipped = load_settings({})
    unsold = not_sold([p.product for p in iconic])
    photos = iconic + train + val
    n_cat = len(iconic) + len(train)
    catalog_rows = [i for i in range(n_cat) if photos[i].product not in unsold]
    arms = {}
    for arm, epochs in (("ImageNet weights", 0), ("fine-tuned", shipped.vision_tune_epochs)):
        per_view = features(images, photos, catalog_rows, model, threads, epochs,
                            shipped.vision_views, cache, n_cat)
        arms[arm] = score_arm(per_view, photos, catalog_rows, n_cat, val, unsold, shipped)
    return {"not sold": sorted(unsold), "arms": arms, "model": model}


def score_arm(per_view: dict[str, np.ndarray], photos: list[Photo], catalog_rows: list[int],
              n_cat: int, val: list[Photo], unsold: set[str], shipped: Settings
              ) -> dict[str, Any]:
    """Every rule on one network's vectors (encoded with the ``shipped`` views, colour
    and projection): the threshold chosen on validation, the other half's figure, the
    trade-off curve."""
    vectors = combine(per_view, shipped.vision_views, shipped.vision_color,
                      slice(0, len(photos)))
    catalog = [photos[i] for i in catalog_rows]
    index = projected_index(vectors[catalog_rows], catalog, shipped.vision_shrinkage, "lda",
                            "open-set")
    raw = index.project(index.raw_vectors()[2])
    labels = [p.product for p in catalog]
    s1_cat, s2_cat = unsold_pairs(raw, labels)
    s1, s2, first = top_two(index, vectors[n_cat:])
    sold = np.asarray([p.product not in unsold for p in val])
    right = np.asarray([f == p.product for f, p in zip(first, val, strict=True)])
    halves = np.arange(len(val)) % 2 == 0  # alternate photos (files are listed per product)
    table, curves = [], {}

    def judge(name: str, score: np.ndarray, candidates: np.ndarray,
              catalog_score: np.ndarray | None) -> None:
        threshold, chosen, met = choose(score, right, sold, candidates)
        honest = []
        for fit in (halves, ~halves):
            t, _, _ = choose(score[fit], right[fit], sold[fit], candidates)
            honest.append(outcomes(score[~fit], t, right[~fit], sold[~fit]))
        quantile = None if catalog_score is None else \
            round(float(np.mean(catalog_score < threshold)), 4)
        table.append({"rule": name, "quantile": quantile, "threshold": threshold,
                      "within limits": met, "chosen on validation": chosen,
                      "other half": {k: float(np.mean([h[k] for h in honest]))
                                     for k in honest[0]}})
        curves[name] = curve(score, right, sold, candidates)

    for name, rule in rules().items():
        catalog_score = rule(s1_cat, s2_cat)
        judge(name, rule(s1, s2), np.quantile(catalog_score, np.linspace(0.5, 1.0, 201)),
              catalog_score)
    for name, score in other_signals(per_view, index, vectors[catalog_rows], labels,
                                     vectors[n_cat:], first, s1, s2).items():
        # not shippable as they are (no calibration on the catalog): the candidate
        # thresholds are the validation scores' own quantiles
        judge(name, score, np.quantile(score, np.linspace(0.0, 1.0, 401)), None)
    # what shipped before: the best score at the 0.75 quantile, no choice on validation
    before = calibrate(raw, labels)
    assert before is not None
    table.insert(0, {"rule": "best score, as shipped before (quantile 0.75)", "quantile": 0.75,
                     "threshold": before.threshold, "within limits": None,
                     "chosen on validation": outcomes(s1, before.threshold, right, sold),
                     "other half": None})
    return {"sold products": len(set(labels)), "catalog photos": len(catalog),
            "val sold photos": int(sold.sum()), "val not-sold photos": int((~sold).sum()),
            "recall@1 (sold)": float(np.mean(right[sold])),
            "tune_seconds": float(per_view.get("tune_seconds", np.asarray(0.0))),
            "table": table, "curves": curves}


def softmax_regression(x: np.ndarray, labels: Sequence[str], queries: np.ndarray, *,
                       c: float = 10.0) -> tuple[np.ndarray, np.ndarray]:
    """A product classifier learned on the index's projected catalog photos
    (multinomial logistic regression, L2 penalty ``1/(2 c n)``): each query's most
    likely product and its probability."""
    import torch

    names, codes = np.unique(np.asarray(labels), return_inverse=True)
    xt = torch.tensor(x, dtype=torch.float64)
    target = torch.tensor(codes)
    torch.manual_seed(SEED)
    linear = torch.nn.Linear(x.shape[1], len(names)).double()
    optimizer = torch.optim.LBFGS(linear.parameters(), max_iter=500,
                                  line_search_fn="strong_wolfe")

    def loss() -> Any:
        optimizer.zero_grad()
        value = torch.nn.functional.cross_entropy(linear(xt), target) \
            + (linear.weight ** 2).sum() / (2 * c * len(x))
        value.backward()
        return value

    optimizer.step(loss)
    with torch.no_grad():
        p = torch.softmax(linear(torch.tensor(queries, dtype=torch.float64)), 1).numpy()
    return names[p.argmax(1)], p.max(1)


def _ranks(score: np.ndarray) -> np.ndarray:
    """Each score's share of the scores below it (0 to 1)."""
    return np.argsort(np.argsort(score, kind="stable"), kind="stable") / max(len(score) - 1, 1)


def other_signals(per_view: dict[str, np.ndarray], index: Any, catalog: np.ndarray,
                  labels: list[str], queries: np.ndarray, first: list[str],
                  s1: np.ndarray, s2: np.ndarray) -> dict[str, np.ndarray]:
    """Reject signals beyond the two best products' scores, per query: a classifier
    learned on the index's catalog photos and, for a fine-tuned network, its own
    product classifier (the head fine-tuning trained, then dropped: its confidence,
    maximum logit and energy ``log sum exp(logit)``), and that confidence blended with
    the ratio test by rank. A classifier's confidence counts only where its product
    is the index's first answer (else 0)."""
    out = {}
    top, confidence = softmax_regression(index.project(catalog), labels, index.project(queries))
    out["classifier on the index: confidence"] = np.where(top == np.asarray(first),
                                                          confidence, 0.0)
    if "query_logits" in per_view:
        logits = per_view["query_logits"]
        z = np.exp(logits - logits.max(axis=1, keepdims=True))
        p = z / z.sum(axis=1, keepdims=True)
        head = per_view["head_names"][p.argmax(1)]
        msp = np.where(head == np.asarray(first), p.max(1), 0.0)
        out["fine-tuned classifier: confidence"] = msp
        top = logits.max(axis=1)
        out["fine-tuned classifier: maximum logit"] = top
        out["fine-tuned classifier: energy"] = top + np.log(z.sum(axis=1))
        ratio = decision_scores(s1, s2, rule="ratio")
        out["ratio + 0.5 x classifier confidence, by rank"] = _ranks(ratio) + 0.5 * _ranks(msp)
    return out


def plot(out: Path, result: dict[str, Any]) -> None:
    """Right answers against not-sold photos answered as a match, per rule and network."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    arms = result["arms"]
    fig, axes = plt.subplots(1, len(arms), figsize=(7 * len(arms), 5.2))
    for ax, (arm, r) in zip(np.atleast_1d(axes), arms.items(), strict=True):
        for row in r["table"][1:]:
            c = r["curves"][row["rule"]]
            line, = ax.plot([p["not sold: matched"] for p in c], [p["right"] for p in c],
                            label=row["rule"], linewidth=1.2)
            chosen = row["chosen on validation"]
            ax.plot(chosen["not sold: matched"], chosen["right"], "o", color=line.get_color())
        before = r["table"][0]["chosen on validation"]
        ax.plot(before["not sold: matched"], before["right"], "kx", markersize=9,
                label="shipped before (best score, quantile 0.75)")
        ax.axvline(MAX_UNSOLD_MATCHED, color="grey", linestyle="--", linewidth=1)
        ax.axhline(MIN_RIGHT, color="grey", linestyle=":", linewidth=1)
        ax.set_xlabel("photos of products not sold, answered as a match")
        ax.set_ylabel("photos of sold products, right product as the match")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.legend(fontsize=7, loc="lower right")
        ax.set_title(f"{result['model'].title()}, {arm}: {r['val sold photos']} val photos of "
                     f"{r['sold products']} sold products, {r['val not-sold photos']} of "
                     f"{len(result['not sold'])} not sold\n(dots: threshold chosen on "
                     "validation; dashed: at most 10% not sold matched)", fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def report(result: dict[str, Any]) -> None:
    for arm, r in result["arms"].items():
        print(f"\nopen set, {arm}: {r['sold products']} products sold, "
              f"{len(result['not sold'])} not sold (left out of the catalog, the index and the "
              f"fine-tuning); Recall@1 of the {r['val sold photos']} sold val photos "
              f"{r['recall@1 (sold)']:.3f}; {r['val not-sold photos']} not-sold val photos")
        print(f"{'rule':<46}{'quantile':>9}{'right':>8}{'wrong':>8}{'not sold':>10}"
              f"{'| other half: right':>20}{'wrong':>7}{'not sold':>10}")
        for row in r["table"]:
            c, h = row["chosen on validation"], row["other half"]
            tail = "" if h is None else \
                f"{h['right']:>20.1%}{h['wrong']:>7.1%}{h['not sold: matched']:>10.1%}"
            quantile = "val" if row["quantile"] is None else f"{row['quantile']:.3f}"
            print(f"{row['rule']:<46}{quantile:>9}{c['right']:>8.1%}"
                  f"{c['wrong']:>8.1%}{c['not sold: matched']:>10.1%}{tail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", type=Path, default=Path(os.environ.get(
        "DATASETS", Path(__file__).resolve().parents[2] / "shared" / "datasets")))
    parser.add_argument("--out", type=Path, default=Path("reports"))
    parser.add_argument("--cache", type=Path, default=Path("reports/.cache"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--model", default="lite0")
    args = parser.parse_args(argv)
    root = args.datasets / "grocery-store" / "dataset"
    if not (root / "classes.csv").is_file():
        print(f"Grocery Store dataset not found at {root} (set DATASETS)", file=sys.stderr)
        return 2
    iconic, train, val = load_dataset(root)
    images = [decode(p.path.read_bytes())
              for p in tqdm(iconic + train + val, desc="decode", unit="photo")]
    result = run(images, iconic, train, val, model=args.model, threads=args.threads,
                 cache=args.cache)
    args.out.mkdir(parents=True, exist_ok=True)
    plot(args.out / "bench_vision_open_set.png", result)
    report(result)
    (args.out / "bench_vision_open_set.json").write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
