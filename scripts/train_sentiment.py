"""Train the Chinese sentiment model and choose both languages' "upset" thresholds.

    python -m scripts.train_sentiment train   # DATASETS -> $SHOP_DATA_DIR/sentiment/zh.json
    python -m scripts.train_sentiment bench   # + thresholds and scores -> reports/sentiment*

Runs in the bot environment (scikit-learn). **train** reads the Chinese shopping
reviews (``$DATASETS/zh-shopping-reviews/{neg,pos}.txt``), drops empty lines,
duplicates and the texts found in both files, splits them 70/15/15 (seeded,
stratified) and fits TF-IDF character 1-3-grams with a logistic regression on the
70%; the model file holds plain arrays and JSON (read by
:mod:`bot.components.sentiment`). **bench** also scores it on the 15% test split
of the reviews and chooses, per language, the threshold at which a customer
message counts as upset: on every other pair of lines (1st, 3rd, 5th ... pair) of
``evaluation/sentiment/{en,zh}.tsv`` (labelled customer messages that no model
trains on), the lowest threshold with precision >= 0.9 (an offer of a person to a
calm customer is the costlier error), then scores it on the other pairs. Writes
``reports/sentiment.md``, ``.json`` and ``.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SEED = 13
PRECISION_TARGET = 0.9


def read_reviews(datasets: Path) -> tuple[list[str], list[int]]:
    """Deduplicated reviews and labels (1 = negative); texts in both files dropped."""
    folder = datasets / "zh-shopping-reviews"
    neg = {t.strip() for t in (folder / "neg.txt").read_text("utf-8").splitlines() if t.strip()}
    pos = {t.strip() for t in (folder / "pos.txt").read_text("utf-8").splitlines() if t.strip()}
    both = neg & pos
    texts = sorted(neg - both) + sorted(pos - both)
    labels = [1] * len(neg - both) + [0] * len(pos - both)
    return texts, labels


ANNOTATION = re.compile(r"\[([^\]]+)\]\([^)]+\)|\[([^\]]+)\]\{[^}]+\}")
CJK = re.compile(r"[\u4e00-\u9fff]")


def chat_examples() -> list[str]:
    """The assistant's own Chinese training messages (questions and requests to a shop,
    calm by construction), without the labelled evaluation messages."""
    import yaml

    held_out = set(labelled("zh")[0])
    files = [ROOT / "nlu_data" / "train" / "nlu_zh.yml",
             *sorted((ROOT / "nlu_data" / "generated").glob("*.yml"))]
    texts: set[str] = set()
    for path in files:
        if not path.exists():
            continue
        for block in (yaml.safe_load(path.read_text("utf-8")) or {}).get("nlu", []):
            for line in str(block.get("examples") or "").splitlines():
                line = line.strip()
                if line.startswith("- "):
                    text = ANNOTATION.sub(lambda m: m.group(1) or m.group(2), line[2:]).strip()
                    if CJK.search(text) and text not in held_out:
                        texts.add(text)
    return sorted(texts)


def split(texts: list[str], labels: list[int]) -> dict[str, tuple[list[str], list[int]]]:
    """70/15/15 per label, seeded."""
    rng = random.Random(SEED)
    parts: dict[str, tuple[list[str], list[int]]] = {k: ([], []) for k in ("train", "val", "test")}
    for label in (0, 1):
        items = [t for t, y in zip(texts, labels, strict=True) if y == label]
        rng.shuffle(items)
        a, b = int(len(items) * 0.7), int(len(items) * 0.85)
        for name, chunk in (("train", items[:a]), ("val", items[a:b]), ("test", items[b:])):
            parts[name][0].extend(chunk)
            parts[name][1].extend([label] * len(chunk))
    return parts


def fit(texts: list[str], labels: list[int], weights: list[float] | None = None
        ) -> dict[str, Any]:
    """The model as JSON: vocabulary, idf, coefficients, intercept, n-gram range."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), min_df=3,
                                 max_features=60_000, sublinear_tf=True, lowercase=True)
    features = vectorizer.fit_transform(texts)
    model = LogisticRegression(C=4.0, max_iter=2000)
    model.fit(features, labels, sample_weight=weights)
    return {"vocabulary": {g: int(i) for g, i in vectorizer.vocabulary_.items()},
            "idf": [round(float(v), 5) for v in vectorizer.idf_],
            "coef": [round(float(v), 5) for v in model.coef_[0]],
            "intercept": float(model.intercept_[0]), "ngram": [1, 3]}


def scores(y: list[int], p: list[float], threshold: float) -> dict[str, float]:
    """Accuracy, precision, recall and F1 of "upset" at ``threshold``."""
    predicted = [int(v >= threshold) for v in p]
    tp = sum(a and b for a, b in zip(predicted, y, strict=True))
    fp = sum(a and not b for a, b in zip(predicted, y, strict=True))
    fn = sum(b and not a for a, b in zip(predicted, y, strict=True))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    accuracy = sum(a == b for a, b in zip(predicted, y, strict=True)) / max(len(y), 1)
    return {"accuracy": round(accuracy, 4), "precision": round(precision, 4),
            "recall": round(recall, 4), "f1": round(f1, 4), "n": len(y)}


def choose(y: list[int], p: list[float]) -> float:
    """The lowest threshold with precision >= the target (F1 breaks ties)."""
    best = (-1.0, 1.01)
    for step in range(50, 100):
        threshold = step / 100
        s = scores(y, p, threshold)
        if s["precision"] >= PRECISION_TARGET and s["recall"] > 0 and (s["f1"], -threshold) > (
                best[0], -best[1]):
            best = (s["f1"], threshold)
    return best[1]


def labelled(language: str) -> tuple[list[str], list[int]]:
    """The hand-labelled customer messages of ``language``."""
    texts, labels = [], []
    for line in (ROOT / "evaluation" / "sentiment" / f"{language}.tsv").read_text(
            "utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            label, text = line.split("\t", 1)
            labels.append(int(label))
            texts.append(text.strip())
    return texts, labels


def main() -> None:
    """Parse the command line and train (and bench)."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("train", "bench"))
    parser.add_argument("--datasets", default=os.environ.get(
        "DATASETS", str(ROOT.parent / "shared" / "datasets")))
    parser.add_argument("--out", default=str(Path(os.environ.get("SHOP_DATA_DIR", "data"))
                                              / "sentiment" / "zh.json"))
    args = parser.parse_args()
    datasets = Path(args.datasets)
    if not (datasets / "zh-shopping-reviews" / "neg.txt").exists():
        sys.exit(f"{datasets}/zh-shopping-reviews is missing: set DATASETS= (see "
                 "../shared/datasets/README.md); Chinese messages will not be scored")
    texts, labels = read_reviews(datasets)
    parts = split(texts, labels)
    print(f"reviews: {len(texts)} after dedup ({sum(labels)} negative); train "
          f"{len(parts['train'][0])}, val {len(parts['val'][0])}, test {len(parts['test'][0])}")
    # reviews say how a product was liked; shop chat is mostly calm questions, which a
    # review model alone reads as complaints: the assistant's own Chinese training
    # messages join the calm side (weighted to count like the reviews' share)
    chat = chat_examples()
    train_x, train_y = parts["train"]
    weight = max(1.0, len(train_x) / max(len(chat), 1) / 4)
    model = fit(train_x + chat, train_y + [0] * len(chat),
                [1.0] * len(train_x) + [weight] * len(chat))
    print(f"calm shop messages added to training: {len(chat)} (weight {weight:.1f})")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(model, ensure_ascii=False), "utf-8")
    print(f"wrote {out} ({out.stat().st_size // 1024} KB)")
    if args.command == "train":
        return
    sys.path.insert(0, str(ROOT))
    from bot.components.sentiment import ChineseModel, english_negative

    chinese = ChineseModel(model)
    report: dict[str, Any] = {}
    test_x, test_y = parts["test"]
    review_p = [chinese.negative(t) for t in test_x]
    report["zh reviews (test split, 0.5)"] = scores(test_y, review_p, 0.5)
    thresholds = {}
    for language, score in (("zh", chinese.negative), ("en", english_negative)):
        x, y = labelled(language)
        p = [score(t) for t in x]
        # alternate pairs of lines (each pair is one upset and one calm message)
        val = [i for i in range(len(y)) if (i // 2) % 2 == 0]
        held = [i for i in range(len(y)) if (i // 2) % 2 == 1]
        val_p, val_y = [p[i] for i in val], [y[i] for i in val]
        test_p, test_y2 = [p[i] for i in held], [y[i] for i in held]
        thresholds[language] = choose(val_y, val_p)
        report[f"{language} customer messages (held-out half)"] = scores(
            test_y2, test_p, thresholds[language])
        if language == "zh":
            report["zh reviews (test split, chosen threshold)"] = scores(
                test_y, review_p, thresholds["zh"])
    report["thresholds"] = thresholds
    reports = ROOT / "reports"
    reports.mkdir(exist_ok=True)
    (reports / "sentiment.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
    lines = ["| data | threshold | n | accuracy | precision | recall | F1 |",
             "|---|---|---|---|---|---|---|"]
    for name, s in report.items():
        if name == "thresholds":
            continue
        language = name[:2]
        threshold = 0.5 if "0.5" in name else thresholds[language]  # noqa: PLR2004
        lines.append(f"| {name} | {threshold} | {s['n']} | {s['accuracy']:.3f} | "
                     f"{s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} |")
    table = "\n".join(lines)
    (reports / "sentiment.md").write_text(table + f"\n\nthresholds: {thresholds}\n")
    print(table)
    print(f"thresholds (set them in config.yml, SentimentScorer): {thresholds}")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n for n in report if n != "thresholds"]
    fig, ax = plt.subplots(figsize=(9, 3.5))
    for i, metric in enumerate(("accuracy", "precision", "recall", "f1")):
        ax.bar([j + i * 0.2 for j in range(len(names))], [report[n][metric] for n in names],
               width=0.2, label=metric)
    ax.set_xticks([j + 0.3 for j in range(len(names))], names, fontsize=7)
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=7)
    ax.set_title("Sentiment: held-out scores ('upset' = positive class)")
    fig.tight_layout()
    fig.savefig(reports / "sentiment.png", dpi=120)


if __name__ == "__main__":
    main()
