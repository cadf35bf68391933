"""Chat latency benchmark: plain-response turns vs graph-backed custom-action turns.

Starts the real stack (action server + Rasa, as ``make run`` does, on a fresh
demo shop) unless ``--url`` points at a running one, then sends, over the REST
channel,

* (a) turns answered by a plain response ("hello", "thanks", ...), and
* (b) turns answered from the product graph by a custom action (searches,
  price and accessory questions),

first one conversation at a time, then from 20 concurrent conversations.
Prints p50/p95 latencies and the b/a ratio, and writes ``reports/bench_chat.json``
and ``reports/bench_chat.png``.

Usage: ``python -m scripts.bench_chat [--turns 60] [--concurrency 20] [--url URL]``
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from scripts.stack import Stack

PLAIN = ["hello", "thanks", "are you a bot?", "你好", "谢谢", "bye"]
GRAPH = ["show me huawei phones", "how much is the iPhone 15?",
         "red running shoes under 80 dollars", "有没有2000元以下的华为手机",
         "what accessories fit the Galaxy S24?", "iPhone 15 Pro多少钱"]


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q / 100
    low, high = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


THROUGHPUT: dict[str, float] = {}  # turns per second under concurrency, by kind
CONVERSATION_TURNS = 6  # a new conversation every 6 turns, as in a typical shop chat


def timed_turns(url: str, messages: list[str], turns: int, sender: str) -> list[float]:
    """Send ``turns`` messages, starting a new conversation every
    ``CONVERSATION_TURNS`` turns; return the latency of each turn in ms."""
    latencies = []
    with requests.Session() as http:
        for i in range(turns):
            conversation = f"{sender}-{i // CONVERSATION_TURNS}"
            body = {"sender": conversation, "message": messages[i % len(messages)]}
            start = time.perf_counter()
            response = http.post(f"{url}/webhooks/rest/webhook", json=body, timeout=120)
            elapsed = (time.perf_counter() - start) * 1000
            if response.status_code != 200 or not response.json():
                raise RuntimeError(f"bad reply to {body}: {response.status_code} {response.text}")
            latencies.append(elapsed)
    return latencies


def run(url: str, turns: int, concurrency: int) -> dict[str, dict[str, list[float]]]:
    """Measure both kinds of turn, sequentially and concurrently."""
    timed_turns(url, PLAIN + GRAPH, 12, f"warmup-{uuid.uuid4().hex[:8]}")
    results: dict[str, dict[str, list[float]]] = {"sequential": {}, "concurrent": {}}
    for kind, messages in (("plain", PLAIN), ("graph", GRAPH)):
        results["sequential"][kind] = timed_turns(url, messages, turns,
                                                  f"seq-{kind}-{uuid.uuid4().hex[:8]}")
    per_conversation = max(3, turns // concurrency * 2)
    for kind, messages in (("plain", PLAIN), ("graph", GRAPH)):
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            futures = [pool.submit(timed_turns, url, messages, per_conversation,
                                   f"con-{kind}-{i}-{uuid.uuid4().hex[:8]}")
                       for i in range(concurrency)]
            results["concurrent"][kind] = [ms for f in futures for ms in f.result()]
        THROUGHPUT[kind] = concurrency * per_conversation / (time.perf_counter() - started)
    return results


def summarise(results: dict[str, dict[str, list[float]]]) -> list[dict[str, float | str]]:
    """One row per mode with p50/p95 of both turn kinds and their ratio."""
    rows = []
    for mode, kinds in results.items():
        a, b = kinds["plain"], kinds["graph"]
        row: dict[str, float | str] = {"mode": mode, "n": float(len(a) + len(b))}
        for q in (50, 95):
            row[f"a_p{q}"] = percentile(a, q)
            row[f"b_p{q}"] = percentile(b, q)
            row[f"ratio_p{q}"] = percentile(b, q) / percentile(a, q)
        row["a_mean"] = statistics.fmean(a)
        row["b_mean"] = statistics.fmean(b)
        rows.append(row)
    return rows


def print_table(rows: list[dict[str, float | str]]) -> None:
    """The table that goes into docs/benchmarks.md."""
    print("| mode | turns | (a) plain p50 / p95 ms | (b) graph p50 / p95 ms | b/a p50 | b/a p95 |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['mode']} | {int(float(r['n']))} | {r['a_p50']:.0f} / {r['a_p95']:.0f} | "
              f"{r['b_p50']:.0f} / {r['b_p95']:.0f} | {r['ratio_p50']:.2f} | "
              f"{r['ratio_p95']:.2f} |")


def plot(results: dict[str, dict[str, list[float]]], path: Path) -> None:
    """Box plots of both turn kinds in both modes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    titles = {"sequential": "one conversation at a time",
              "concurrent": "20 concurrent conversations"}
    for ax, (mode, kinds) in zip(axes, results.items(), strict=True):
        ax.boxplot([kinds["plain"], kinds["graph"]], whis=(5, 95), showfliers=False)
        ax.set_xticks([1, 2], ["(a) plain response", "(b) graph + custom action"])
        ax.set_title(titles.get(mode, mode))
        ax.set_yscale("log")
        ax.set_ylabel("latency per turn (ms, log scale)")
        ax.grid(axis="y", which="both", alpha=0.3)
    fig.suptitle("Chat turn latency over REST (whiskers: p5-p95)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running Rasa server (default: start one)")
    parser.add_argument("--turns", type=int, default=150, help="sequential turns per kind")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--out", type=Path, default=Path("reports"))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-chat-") as tmp:
        stack = None
        url = args.url
        if not url:
            print("starting the stack on a fresh demo shop...", file=sys.stderr)
            stack = Stack(data_dir=Path(tmp), extra_env={"LIMIT_MESSAGES_PER_IP": "1000000",
                                                         "LIMIT_MESSAGES_PER_SENDER": "1000000"}
                          ).start()
            url = stack.rasa_url
        try:
            results = run(url, args.turns, args.concurrency)
        finally:
            if stack:
                stack.stop()
    rows = summarise(results)
    print_table(rows)
    print("throughput with 20 concurrent conversations: "
          + ", ".join(f"{k} {v:.1f} turns/s" for k, v in THROUGHPUT.items()))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_chat.json").write_text(json.dumps(
        {"machine": platform.platform(), "rows": rows, "throughput_turns_per_s": THROUGHPUT,
         "raw_ms": results}, indent=1))
    plot(results, args.out / "bench_chat.png")
    print(f"wrote {args.out / 'bench_chat.json'} and {args.out / 'bench_chat.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
