"""Intent benchmark: the project's own NLU pipeline on Banking77 and CLINC150.

Runs in the Rasa environment. For each benchmark it writes the data as Rasa
NLU YAML, trains a model with the pipeline from ``config.yml`` (the same
components and settings as the shop assistant; the dialogue policies are not
needed), parses the evaluation messages with the trained model and reports:

* Banking77 (Casanueva et al. 2020): trained on ``train.csv`` minus a
  stratified 20% held out with seed 42, evaluated on that 20% (the official
  test split is deliberately not available). Accuracy and macro-F1.
* CLINC150 (Larson et al. 2019), "full" variant: trained on all 15,000
  in-scope training queries plus the 100 out-of-scope training queries as the
  assistant's ``out_of_scope`` intent (the whole training split, as the
  published figures), evaluated on the 3,000 in-scope and 100 out-of-scope
  validation queries: in-scope accuracy (a correct intent that is not turned
  into a fallback), out-of-scope recall (predicted ``out_of_scope`` or
  ``nlu_fallback``) and macro-F1 over in-scope intents. The out-of-scope
  decision (the nearest examples' vote, its background similarity, the
  typicality floor and the fallback threshold) is **chosen on validation** and
  scored honestly on the half of it the choice was not made on
  (:mod:`scripts.bench_nlu_oos`); the official test split is not available here.

Published figures for the same benchmarks are printed beside ours, and the
results go to ``reports/bench_nlu.json`` and ``reports/bench_nlu.png``.

Usage: ``python -m scripts.bench_nlu [--datasets PATH] [--only banking77]``
"""

from __future__ import annotations

import argparse
import copy
import csv
import json
import os
import platform
import random
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from scripts.bench_chat import percentile
from scripts.bench_nlu_oos import IN_SCOPE_TARGET, OOS_TARGET, capture, captured, tune
from scripts.eval_nlu import parse_all

ROOT = Path(__file__).resolve().parent.parent
OUT_OF_SCOPE = "out_of_scope"
FALLBACK = "nlu_fallback"
SEED = 42
HOLDOUT = 0.2

# Published results on the same benchmarks (accuracy in %, full training data).
PUBLISHED: dict[str, dict[str, Any]] = {
    "banking77": {
        "source": "Casanueva et al. 2020, Efficient Intent Detection with Dual Sentence "
        "Encoders, NLP4ConvAI, Table 3 (official test set, full training data)",
        "results": {
            "BERT-fixed": 87.19,
            "USE": 92.81,
            "ConveRT": 93.01,
            "USE+ConveRT": 93.36,
            "BERT-tuned": 93.66,
        },
    },
    "clinc150": {
        "source": "Larson et al. 2019, An Evaluation Dataset for Intent Classification and "
        "Out-of-Scope Prediction, EMNLP, Table 2 (test set, 'full', oos-threshold / oos-train)",
        "results": {
            "BERT in-scope (oos-threshold)": 96.2,
            "BERT oos recall (oos-threshold)": 52.3,
            "BERT in-scope (oos-train)": 96.9,
            "BERT oos recall (oos-train)": 40.3,
            "SVM in-scope (oos-train)": 91.0,
            "SVM oos recall (oos-train)": 14.5,
        },
    },
}


Example = tuple[str, str]  # (text, intent)
#: components for the shop's own intents (they map unsure messages to shop questions):
#: no use on these datasets, whose messages name no products
SHOP_ONLY = ("bot.components.product_rescue.ProductIntentRescue",
             "bot.components.references.FollowUpDetector")


def stratified_split(
    examples: Sequence[Example], fraction: float, seed: int = SEED
) -> tuple[list[Example], list[Example]]:
    """Hold out ``fraction`` of every intent's examples (at least one each)."""
    by_intent: dict[str, list[Example]] = defaultdict(list)
    for example in examples:
        by_intent[example[1]].append(example)
    rng = random.Random(seed)
    train: list[Example] = []
    test: list[Example] = []
    for intent in sorted(by_intent):
        items = sorted(by_intent[intent])
        rng.shuffle(items)
        cut = max(1, round(len(items) * fraction))
        test.extend(items[:cut])
        train.extend(items[cut:])
    return train, test


def load_banking77(datasets: Path) -> tuple[list[Example], list[Example]]:
    """Banking77's train file split into (train, held-out test)."""
    with (datasets / "banking77" / "train.csv").open(encoding="utf-8", newline="") as handle:
        rows = [(r["text"].strip(), r["category"]) for r in csv.DictReader(handle)]
    return stratified_split(rows, HOLDOUT)


def load_clinc150(datasets: Path) -> tuple[list[Example], list[Example]]:
    """CLINC150 full: (train + oos_train, val + oos_val), oos labelled ``out_of_scope``."""
    data = json.loads((datasets / "clinc150" / "data_train_val.json").read_text("utf-8"))

    def relabel(rows: list[list[str]]) -> list[Example]:
        return [(text.strip(), OUT_OF_SCOPE if label == "oos" else label) for text, label in rows]

    return relabel(data["train"] + data["oos_train"]), relabel(data["val"] + data["oos_val"])


def write_nlu(examples: Sequence[Example], path: Path) -> None:
    """Write examples as Rasa 3 NLU YAML (intent names sanitised)."""
    by_intent: dict[str, list[str]] = defaultdict(list)
    for text, intent in examples:
        by_intent[intent].append(text)
    nlu = [
        {
            "intent": intent,
            "examples": "".join(f"- {json.dumps(t, ensure_ascii=False)}\n" for t in texts),
        }
        for intent, texts in sorted(by_intent.items())
    ]
    path.write_text(
        yaml.safe_dump(
            {"version": "3.1", "nlu": nlu}, allow_unicode=True, sort_keys=False, width=10_000
        ),
        "utf-8",
    )


def bench_config(path: Path) -> dict[str, Any]:
    """The project's NLU pipeline (config.yml) without the dialogue policies.

    DIET only extracts entities in this pipeline and these benchmarks annotate
    none, so it is left out (it would train for nothing).
    """
    config = yaml.safe_load((ROOT / "config.yml").read_text("utf-8"))
    config = {key: copy.deepcopy(value) for key, value in config.items() if key != "policies"}
    config["pipeline"] = [
        c
        for c in config["pipeline"]
        if not (c["name"] == "DIETClassifier" and c.get("intent_classification") is False)
        and c["name"] not in SHOP_ONLY
    ]
    return config


def train(config: dict[str, Any], nlu_file: Path, workdir: Path) -> tuple[str, float]:
    """Train an NLU-only model; return its path and the training time in seconds."""
    from rasa.model_training import train_nlu

    config_file = workdir / "config.yml"
    config_file.write_text(yaml.safe_dump(config, sort_keys=False), "utf-8")
    # a fresh training cache: Rasa would otherwise reuse components trained by an earlier
    # run with the same settings, and the training time would mean nothing
    previous = os.environ.get("RASA_CACHE_DIRECTORY")
    os.environ["RASA_CACHE_DIRECTORY"] = str(workdir / "rasa-cache")
    started = time.perf_counter()
    try:
        model = train_nlu(
            str(config_file), str(nlu_file), str(workdir / "models"), fixed_model_name="bench"
        )
    finally:
        if previous is None:
            os.environ.pop("RASA_CACHE_DIRECTORY", None)
        else:
            os.environ["RASA_CACHE_DIRECTORY"] = previous
    elapsed = time.perf_counter() - started
    if not model:
        raise SystemExit("training failed")
    return str(model), elapsed


def predict(
    model_path: str, texts: Sequence[str]
) -> tuple[list[str], list[str], list[float], list[float]]:
    """For each text: the assistant's intent (after the fallback), the classifier's own top
    intent and its confidence, and the parse latency (ms)."""
    results, latencies = parse_all(Path(model_path), texts)
    final: list[str] = []
    top: list[str] = []
    confidences: list[float] = []
    for result in results:
        final.append(result["intent"]["name"])
        ranking = [r for r in result.get("intent_ranking") or [] if r["name"] != FALLBACK]
        top.append(str(ranking[0]["name"]) if ranking else FALLBACK)
        confidences.append(float(ranking[0].get("confidence") or 0.0) if ranking else 0.0)
    return final, top, confidences, latencies


def macro_f1(gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> float:
    """Unweighted mean F1 over ``labels``."""
    from sklearn.metrics import f1_score

    return float(f1_score(gold, predicted, labels=list(labels), average="macro", zero_division=0))


def evaluate(
    name: str, train_set: list[Example], test_set: list[Example], workdir: Path,
    parts: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train on ``train_set``, evaluate on ``test_set``; return the figures.

    ``parts`` receives the intent classifier's parts for every test message
    (:func:`scripts.bench_nlu_oos.capture`) under ``name``, with the gold intents.
    """
    nlu_file = workdir / "nlu.yml"
    write_nlu(train_set, nlu_file)
    print(
        f"[{name}] training on {len(train_set)} examples, "
        f"{len({i for _, i in train_set})} intents ...",
        flush=True,
    )
    model, seconds = train(bench_config(workdir), nlu_file, workdir)
    print(f"[{name}] trained in {seconds:.0f} s; parsing {len(test_set)} messages ...", flush=True)
    texts = [text for text, _ in test_set]
    gold = [intent for _, intent in test_set]
    with capture() as records:
        predicted, top, confidences, latencies = predict(model, texts)
    if parts is not None:
        parts[name] = (captured(records), gold)
    result: dict[str, Any] = {
        "train_examples": len(train_set),
        "test_examples": len(test_set),
        "train_seconds": round(seconds, 1),
        "latency_ms_p50": round(percentile(latencies, 50), 2),
        "latency_ms_p95": round(percentile(latencies, 95), 2),
    }
    in_scope = [i for i, g in enumerate(gold) if g != OUT_OF_SCOPE]
    oos = [i for i, g in enumerate(gold) if g == OUT_OF_SCOPE]
    labels = sorted({g for g in gold if g != OUT_OF_SCOPE})
    # the classifier's own top intent: what intent benchmarks without out-of-scope data report
    result["accuracy"] = round(100 * sum(top[i] == gold[i] for i in in_scope) / len(in_scope), 2)
    result["macro_f1"] = round(
        100 * macro_f1([gold[i] for i in in_scope], [top[i] for i in in_scope], labels), 2
    )
    # what the assistant acts on: low-confidence messages become a fallback (FallbackClassifier)
    result["accepted_accuracy"] = round(
        100 * sum(predicted[i] == gold[i] for i in in_scope) / len(in_scope), 2
    )
    if oos:
        rejected = {OUT_OF_SCOPE, FALLBACK}
        result["oos_recall"] = round(100 * sum(predicted[i] in rejected for i in oos) / len(oos), 2)
        result["in_scope_rejected"] = round(
            100 * sum(predicted[i] in rejected for i in in_scope) / len(in_scope), 2
        )
        result["curve"] = threshold_curve(gold, top, confidences)
    return result


def threshold_curve(
    gold: Sequence[str], predicted: Sequence[str], confidences: Sequence[float]
) -> list[dict[str, float]]:
    """In-scope accuracy and OOS recall if the fallback threshold were t (t = 0..0.95).

    Messages already predicted as out of scope or fallback stay rejected.
    """
    rejected = {OUT_OF_SCOPE, FALLBACK}
    curve = []
    for step in range(0, 20):
        t = step / 20
        keep = [p not in rejected and c >= t for p, c in zip(predicted, confidences, strict=True)]
        ins = [i for i, g in enumerate(gold) if g != OUT_OF_SCOPE]
        oos = [i for i, g in enumerate(gold) if g == OUT_OF_SCOPE]
        curve.append(
            {
                "threshold": t,
                "in_scope_accuracy": 100
                * sum(keep[i] and predicted[i] == gold[i] for i in ins)
                / len(ins),
                "oos_recall": 100 * sum(not keep[i] for i in oos) / max(1, len(oos)),
            }
        )
    return curve


def catalog_names(total: int) -> list[str]:
    """``total`` product names: the demo catalog's (en and zh), replicated with a
    copy suffix "S<k>" as ``make bench-kg`` replicates the catalog."""
    generated = ROOT / "nlu_data" / "generated" / "catalog.yml"
    data = yaml.safe_load(generated.read_text("utf-8")) if generated.exists() else {"nlu": []}
    base = [
        v.strip()[2:]
        for block in data["nlu"]
        if block.get("lookup") == "product"
        for v in block["examples"].splitlines()
        if v.strip().startswith("- ")
    ]
    if not base:
        base = ["Apple iPhone 15", "华为 Mate 60 Pro", "Sony WH-1000XM5 Headphones"]
    names = list(base)
    copy = 1
    while len(names) < total:
        names.extend(f"{name} S{copy}" for name in base)
        copy += 1
    return names[:total]


GAZETTEER_MESSAGES = [
    "how much is the Apple iPhone 15 Pro S42?",
    "do you have the Sony WH-1000XM5 Headphones in black",
    "华为 Mate 60 Pro S7有货吗",
    "compare the Xiaomi 14 S3 and the Samsung Galaxy S24 S3",
    "where is my order SH-100234?",
    "show me red running shoes under 80 dollars",
    "有没有2000元以下的华为手机",
    "hi",
    "I'd like to return the Dyson V15 Detect Vacuum S120",
    "what accessories fit the Galaxy S24?",
]


def bench_gazetteer(sizes: Sequence[int], regex_limit: int) -> list[dict[str, Any]]:
    """Build time and per-message match time of the gazetteer vs Rasa's regex lookup tables."""
    import re

    from rasa.nlu.utils.pattern_utils import _generate_lookup_regex

    from bot.components.gazetteer import PhraseIndex

    rows = []
    for size in sizes:
        names = catalog_names(size)
        started = time.perf_counter()
        index = PhraseIndex({"product": names})
        build = time.perf_counter() - started
        timings = []
        for _ in range(20):
            for text in GAZETTEER_MESSAGES:
                t0 = time.perf_counter()
                index.find(text)
                timings.append((time.perf_counter() - t0) * 1000)
        row: dict[str, Any] = {
            "names": size,
            "gazetteer_build_s": round(build, 2),
            "gazetteer_ms_p50": round(percentile(timings, 50), 3),
            "gazetteer_ms_p95": round(percentile(timings, 95), 3),
        }
        if size <= regex_limit:
            started = time.perf_counter()
            pattern = _generate_lookup_regex({"name": "product", "elements": names}, True)
            compiled = re.compile(pattern, flags=re.IGNORECASE)
            row["regex_build_s"] = round(time.perf_counter() - started, 2)
            timings = []
            for text in GAZETTEER_MESSAGES:
                t0 = time.perf_counter()
                list(compiled.finditer(text))
                timings.append((time.perf_counter() - t0) * 1000)
            row["regex_ms_p50"] = round(percentile(timings, 50), 3)
            row["regex_ms_p95"] = round(percentile(timings, 95), 3)
        rows.append(row)
        print(f"[gazetteer] {row}", flush=True)
    return rows


def plot(results: dict[str, Any], path: Path) -> None:
    """Bar chart against the published figures, and CLINC150's threshold curve."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(13, 4.8))
    ax = axes[0]
    if "banking77" in results:
        published = PUBLISHED["banking77"]["results"]
        names = list(published) + ["this pipeline"]
        values = list(published.values()) + [results["banking77"]["accuracy"]]
        colors = ["#9aa5b1"] * len(published) + ["#1f77b4"]
        ax.barh(names, values, color=colors)
        for y, v in enumerate(values):
            ax.text(v + 0.1, y, f"{v:.2f}", va="center")
        ax.set_xlim(min(values) - 3, 100)
        ax.set_xlabel("accuracy (%)")
        ax.set_title("Banking77 (ours: held-out 20% of train)")
    ax = axes[1]
    if "clinc150" in results:
        curve = results["clinc150"]["curve"]
        ax.plot(
            [c["oos_recall"] for c in curve],
            [c["in_scope_accuracy"] for c in curve],
            marker=".",
            label="as configured, threshold 0..0.95",
        )
        decision = results["clinc150"].get("oos_decision")
        if decision:
            chosen = decision["chosen"]
            ax.plot([c["oos_recall"] for c in decision["curve"]],
                    [c["in_scope_accuracy"] for c in decision["curve"]], marker=".",
                    label=f"vote {chosen['knn_weight']}, background "
                    f"{chosen['knn_background']}, floor {chosen['ood_floor']}, "
                    "threshold 0.1..0.9")
            ax.scatter([decision["validation"]["oos_recall"]],
                       [decision["validation"]["in_scope_accuracy"]], color="green",
                       zorder=3, label=f"chosen on validation ({chosen['threshold']})")
            ax.scatter([decision["other_half"]["oos_recall"]],
                       [decision["other_half"]["in_scope_accuracy"]], color="purple",
                       marker="D", zorder=3, label="its honest figure (other half)")
        ours = results["clinc150"]
        ax.scatter(
            [ours["oos_recall"]],
            [ours["accepted_accuracy"]],
            color="red",
            zorder=3,
            label="configured threshold",
        )
        pub = PUBLISHED["clinc150"]["results"]
        ax.scatter(
            [pub["BERT oos recall (oos-threshold)"], pub["BERT oos recall (oos-train)"]],
            [pub["BERT in-scope (oos-threshold)"], pub["BERT in-scope (oos-train)"]],
            marker="x",
            color="gray",
            label="BERT, Larson et al. 2019",
        )
        ax.axvline(OOS_TARGET, ls=":", color="green")
        ax.axhline(IN_SCOPE_TARGET, ls=":", color="green")
        ax.set_xlabel("out-of-scope recall (%)")
        ax.set_ylabel("in-scope accuracy (%)")
        ax.set_title("CLINC150 validation: in-scope accuracy vs OOS recall")
        ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def shipped_decision() -> tuple[float, float, float, float]:
    """``knn_weight``, ``knn_background``, ``ood_floor`` and the fallback threshold in
    config.yml."""
    from bot.components.intent_classifier import SentenceIntentClassifier

    config = yaml.safe_load((ROOT / "config.yml").read_text("utf-8"))
    options = {**SentenceIntentClassifier.get_default_config()}
    threshold = 0.3
    for component in config["pipeline"]:
        if component["name"].endswith("SentenceIntentClassifier"):
            options.update(component)
        if component["name"] == "FallbackClassifier":
            threshold = float(component.get("threshold", threshold))
    return (float(options["knn_weight"]), float(options["knn_background"]),
            float(options["ood_floor"]), threshold)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmarks, print the table, write the JSON and the plot."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--datasets",
        type=Path,
        default=Path(os.environ.get("DATASETS", ROOT.parent / "shared" / "datasets")),
    )
    parser.add_argument("--only", choices=["banking77", "clinc150", "gazetteer"], action="append")
    parser.add_argument("--out", type=Path, default=ROOT / "reports")
    parser.add_argument(
        "--gazetteer-sizes",
        default="1000,10000,100000",
        help="catalog sizes for the gazetteer vs regex lookup measurement",
    )
    parser.add_argument(
        "--regex-limit",
        type=int,
        default=100_000,
        help="largest size at which the regex lookup is still built",
    )
    args = parser.parse_args(argv)
    chosen = args.only or ["banking77", "clinc150", "gazetteer"]
    loaders = {"banking77": load_banking77, "clinc150": load_clinc150}
    args.out.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}
    parts: dict[str, Any] = {}
    for name in [c for c in chosen if c in loaders]:
        train_set, test_set = loaders[name](args.datasets)
        with tempfile.TemporaryDirectory(prefix=f"bench-nlu-{name}-") as tmp:
            results[name] = evaluate(name, train_set, test_set, Path(tmp), parts)
    if "clinc150" in parts:  # the out-of-scope decision: chosen on validation
        clinc, clinc_gold = parts["clinc150"]
        banking, banking_gold = parts.get("banking77", (None, []))
        results["clinc150"]["oos_decision"] = tune(clinc, clinc_gold, banking, banking_gold,
                                                   shipped_decision())
    sizes = [int(v) for v in args.gazetteer_sizes.split(",") if v.strip()]
    gazetteer = bench_gazetteer(sizes, args.regex_limit) if sizes and "gazetteer" in chosen else []
    report(results)
    report_gazetteer(gazetteer)
    meta = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "holdout": HOLDOUT,
        "seed": SEED,
        "published": PUBLISHED,
    }
    (args.out / "bench_nlu.json").write_text(
        json.dumps({"results": results, "gazetteer": gazetteer, "meta": meta}, indent=2)
    )
    plot(results, args.out / "bench_nlu.png")
    print(f"wrote {args.out / 'bench_nlu.json'} and {args.out / 'bench_nlu.png'}")
    return 0


def report_gazetteer(rows: list[dict[str, Any]]) -> None:
    """Print the gazetteer vs regex lookup table."""
    if not rows:
        return
    print(
        f"\n{'names':>7} {'gazetteer build s':>17} {'match p50/p95 ms':>17} "
        f"{'regex build s':>13} {'match p50/p95 ms':>17}"
    )
    for r in rows:
        regex = (
            f"{r['regex_build_s']:>13.2f} {r['regex_ms_p50']:>8.3f}/{r['regex_ms_p95']:<8.3f}"
            if "regex_build_s" in r
            else f"{'-':>13} {'-':>17}"
        )
        print(
            f"{r['names']:>7} {r['gazetteer_build_s']:>17.2f} "
            f"{r['gazetteer_ms_p50']:>8.3f}/{r['gazetteer_ms_p95']:<8.3f} {regex}"
        )


def report(results: dict[str, Any]) -> None:
    """Print the results table beside the published figures."""
    print()
    print(
        f"{'benchmark':<11} {'train ex':>8} {'test ex':>7} {'train s':>7} {'acc %':>6} "
        f"{'macroF1':>7} {'accepted':>8} {'oos rec':>7} {'p95 ms':>6}"
    )
    for name, r in results.items():
        oos = f"{r['oos_recall']:.1f}" if "oos_recall" in r else "-"
        print(
            f"{name:<11} {r['train_examples']:>8} {r['test_examples']:>7} "
            f"{r['train_seconds']:>7.0f} "
            f"{r['accuracy']:>6.2f} {r['macro_f1']:>7.2f} {r['accepted_accuracy']:>8.2f} {oos:>7} "
            f"{r['latency_ms_p95']:>6.1f}"
        )
    decision = results.get("clinc150", {}).get("oos_decision")
    if decision:
        c, v, h, p = (decision["chosen"], decision["validation"], decision["other_half"],
                      decision["previous"])
        print(f"\nclinc150 out-of-scope decision, chosen on validation among "
              f"{decision['combinations']} (targets: {OOS_TARGET:g}% recall at "
              f"{IN_SCOPE_TARGET:g}% in scope): knn_weight {c['knn_weight']}, knn_background "
              f"{c['knn_background']}, ood_floor {c['ood_floor']}, threshold {c['threshold']}")
        print(f"  on validation (chosen there):       {v['in_scope_accuracy']:.2f}% in scope, "
              f"{v['oos_recall']:.1f}% out-of-scope recall")
        print(f"  each half's choice on the other:    {h['in_scope_accuracy']:.2f}% in scope, "
              f"{h['oos_recall']:.1f}% out-of-scope recall (the honest figure)")
        if p["validation"]:
            print(f"  as shipped in config.yml ({p['knn_weight']}, {p['knn_background']}, "
                  f"{p['ood_floor']}, {p['threshold']}): "
                  f"{p['validation']['in_scope_accuracy']:.2f}% in scope, "
                  f"{p['validation']['oos_recall']:.1f}% out-of-scope recall")
        for row in decision["by_floor"]:
            v, h = row["validation"], row["other_half"]
            print(f"  shipped vote, ood_floor {row['ood_floor']}: threshold {row['threshold']}, "
                  f"{v['in_scope_accuracy']:.2f}% / {v['oos_recall']:.1f}% on validation, "
                  f"{h['in_scope_accuracy']:.2f}% / {h['oos_recall']:.1f}% on the other half")
        b = decision["banking77_accuracy"]
        if b["previous"] is not None:
            print(f"  banking77 accuracy: {b['previous']:.2f}% as shipped, {b['chosen']:.2f}% with "
                  "the choice")
    for name in results:
        print(f"\npublished, {name}: {PUBLISHED[name]['source']}")
        for label, value in PUBLISHED[name]["results"].items():
            print(f"  {label:<34} {value:6.2f}")


if __name__ == "__main__":
    sys.exit(main())
