"""Chaos run of scaled mode (``make chaos``): each dependency of a turn taken away under
a running stack, and what customers get meanwhile.

Starts scaled mode (two Rasa and two action servers behind HAProxy, the graph on an
Oxigraph server, PostgreSQL, Redis, RabbitMQ) on a fresh demo shop, with the graph
server, Redis, RabbitMQ and PostgreSQL reached through relays this script can cut
(``tests/relay.py``: new connections refused, open ones dropped, as when a server
dies or the network parts). Then, one fault at a time:

- **graph server**, **Redis**, **RabbitMQ**, **PostgreSQL**: cut, customers keep
  chatting (English and Chinese: a search, a price, thanks), restored;
- **kill -9** of a Rasa server and of an action server (not restarted).

For every message: the time to the answer, whether there was one and in the customer's
language, and what it was (a normal answer, "I can't look that up right now", an
error). After each fault is lifted: the seconds until a product search is answered
normally again, without anyone restarting anything.

Prints the table for docs/benchmarks.md, writes ``reports/chaos.json`` and
``reports/chaos.png``. The target: every message answered within 2 s with a stated
fallback while a dependency is away, and recovery by itself.

Usage: ``python -m scripts.chaos [--messages 8]``
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import requests
from tqdm import tqdm

from scripts.bench_chat import percentile
from scripts.eval_conversations import HAN
from scripts.scaled import ScaledStack
from scripts.stack import ROOT, free_port
from tests.relay import ThreadedRelay

MESSAGES = [("en", "show me headphones"), ("zh", "有没有耳机"),
            ("en", "how much is the first one"), ("zh", "第一个多少钱"),
            ("en", "thanks"), ("zh", "谢谢")]
TARGET_S = 2.0
#: fault name → the relay it cuts, or the server it kills
FAULTS = {"graph": "graph server away", "redis": "Redis away", "rabbitmq": "RabbitMQ away",
          "postgresql": "PostgreSQL away", "rasa0": "kill -9 rasa0",
          "actions0": "kill -9 actions0"}


def _ask(url: str, sender: str, text: str) -> dict[str, Any]:
    """One message over REST: the time to its answer and what the answer was."""
    started = time.monotonic()
    try:
        response = requests.post(f"{url}/webhooks/rest/webhook",
                                 json={"sender": sender, "message": text}, timeout=30)
        status = response.status_code
        texts = " ".join(m.get("text") or "" for m in response.json()) if status == 200 else ""
    except (requests.RequestException, ValueError) as exc:
        status, texts = 0, type(exc).__name__
    return {"s": time.monotonic() - started, "status": status, "text": texts}


def _kind(record: dict[str, Any]) -> str:
    """What the customer was told, in a few words."""
    text = record["text"]
    if record["status"] != 200:
        return f"HTTP {record['status'] or 'no answer'}"
    if not text.strip():
        return "nothing"
    if "can't look that up" in text or "查不到" in text:
        return "can't look that up"
    if "person" in text or "人工" in text or "客服" in text:
        return "offer of a person"
    return "normal answer"


def _recovered(url: str, deadline_s: float = 90, in_a_row: int = 6) -> float | None:
    """Seconds until a product search is answered with prices again, ``in_a_row`` times
    in a row (so every server behind the balancer has recovered, not just one): the
    time of the first of them."""
    started, first, good = time.monotonic(), None, 0
    while time.monotonic() - started < deadline_s:
        answer = _ask(url, f"chaos-back-{uuid.uuid4().hex[:6]}", "show me headphones")
        if answer["status"] == 200 and "$" in answer["text"]:
            first = first if first is not None else time.monotonic() - started
            good += 1
            if good >= in_a_row:
                return first
        else:
            first, good = None, 0
        time.sleep(0.5)
    return None


def nothing() -> None:
    """No fault (the baseline), or nothing to undo (a killed server stays dead)."""


def run_fault(stack: ScaledStack, name: str, start: Any, stop: Any,
              messages: int) -> dict[str, Any]:
    """Customers chat while fault ``name`` holds; then it is lifted."""
    sender = f"chaos-{name.split()[0].lower()}-{uuid.uuid4().hex[:6]}"
    start()
    records = []
    try:
        for i in tqdm(range(messages), desc=name, unit="msg", leave=False):
            lang, text = MESSAGES[i % len(MESSAGES)]
            record = {"lang": lang, "text_sent": text,
                      **_ask(stack.rasa_url, f"{sender}-{lang}", text)}
            record["kind"] = _kind(record)
            record["language_ok"] = record["status"] == 200 and bool(record["text"]) and (
                (lang == "zh") == bool(HAN.search(record["text"])))
            records.append(record)
    finally:
        stop()
    return {"fault": name, "records": records,
            "recovered_s": _recovered(stack.rasa_url)}


def summarise(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per fault."""
    rows = []
    for run in runs:
        times = [r["s"] for r in run["records"]]
        answered = [r for r in run["records"] if r["status"] == 200 and r["text"].strip()]
        rows.append({
            "fault": run["fault"], "messages": len(times), "answered": len(answered),
            "within_target": sum(r["s"] <= TARGET_S for r in answered),
            "language_ok": sum(r["language_ok"] for r in run["records"]),
            "p50_s": percentile(times, 50), "max_s": max(times),
            "told": dict(Counter(r["kind"] for r in run["records"]).most_common()),
            "recovered_s": run["recovered_s"]})
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    """The table that goes into docs/benchmarks.md."""
    print(f"| fault | messages | answered | within {TARGET_S:g} s | in the customer's language "
          "| p50 / max | what customers were told | normal again after |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        told = ", ".join(f"{k} ×{v}" for k, v in r["told"].items())
        back = "—" if r["fault"].startswith("none") else (
            f"{r['recovered_s']:.1f} s" if r["recovered_s"] is not None else "not within 90 s")
        print(f"| {r['fault']} | {r['messages']} | {r['answered']} | {r['within_target']} | "
              f"{r['language_ok']} | {r['p50_s']:.2f} / {r['max_s']:.2f} s | {told} | {back} |")


def plot(runs: list[dict[str, Any]], path: Path) -> None:
    """Each message's time to its answer, per fault, coloured by what it was."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = {"normal answer": "#4a8", "can't look that up": "#e90",
               "offer of a person": "#38c"}
    fig, ax = plt.subplots(figsize=(11, 4.2))
    seen: set[str] = set()
    for x, run in enumerate(runs):
        for i, record in enumerate(run["records"]):
            kind = record["kind"]
            label = kind if kind not in seen else None
            seen.add(kind)
            ax.scatter(x + (i - len(run["records"]) / 2) * 0.04, record["s"], s=22,
                       color=colours.get(kind, "#d33"), label=label)
    ax.axhline(TARGET_S, color="grey", linestyle="--", label=f"target {TARGET_S:g} s")
    ax.set_xticks(range(len(runs)), [r["fault"] for r in runs], fontsize=8)
    ax.set_ylabel("seconds to the answer (REST)")
    ax.set_title("Scaled mode with one dependency away at a time (EN + ZH customers)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=8, help="messages per fault")
    parser.add_argument("--out", type=Path, default=ROOT / "reports")
    parser.add_argument("--faults", nargs="+", default=list(FAULTS), choices=list(FAULTS))
    parser.add_argument("--keep", type=Path, default=None,
                        help="run in this folder and keep it (servers' logs)")
    args = parser.parse_args(argv)
    relays = {"graph": ThreadedRelay(("127.0.0.1", free_port())),
              "redis": ThreadedRelay(("127.0.0.1", 6379)),
              "rabbitmq": ThreadedRelay(("127.0.0.1", 5672)),
              "postgresql": ThreadedRelay(("127.0.0.1", 5432))}
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="chaos-") as tmp:
        work = args.keep or Path(tmp)
        stack = ScaledStack(data_dir=work, graph_port=relays["graph"].relay.target[1])
        database = f"postgresql+psycopg2://postgres@127.0.0.1:{relays['postgresql'].port}/" \
                   f"{stack.database}"
        stack.extra_env.update({
            "LIMIT_MESSAGES_PER_IP": "1000000", "BREAKER_RESET_SECONDS": "5",
            "GRAPH_ENDPOINT": f"http://127.0.0.1:{relays['graph'].port}/query",
            "REDIS_URL": f"redis://127.0.0.1:{relays['redis'].port}/0",
            "RABBITMQ_URL": f"amqp://guest:guest@127.0.0.1:{relays['rabbitmq'].port}/",
            "DATABASE_URL": database, "HANDOFF_DB_URL": database, "CHANNEL_DB_URL": database,
            "EVENT_SPOOL_URL": database, "TRACKER_DB_PORT": str(relays["postgresql"].port)})
        print("starting scaled mode on a fresh demo shop...", file=sys.stderr)
        stack.start()
        try:
            for _ in range(2):  # first turns load models: not measured
                _ask(stack.rasa_url, "chaos-warm", "show me headphones")
                _ask(stack.rasa_url, "chaos-warm-zh", "有没有耳机")
            runs.append(run_fault(stack, "none (baseline)", nothing, nothing, args.messages))
            for key in args.faults:
                if key in relays:
                    runs.append(run_fault(stack, FAULTS[key], relays[key].cut,
                                          relays[key].restore, args.messages))
                else:
                    runs.append(run_fault(stack, FAULTS[key],
                                          lambda server=key: stack.kill(server), nothing,
                                          args.messages))
        finally:
            stack.stop()
            for relay in relays.values():
                relay.close()
    rows = summarise(runs)
    print_table(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "chaos.json").write_text(json.dumps(
        {"machine": platform.platform(), "rows": rows, "runs": runs}, indent=1,
        ensure_ascii=False))
    plot(runs, args.out / "chaos.png")
    print(f"wrote {args.out / 'chaos.json'} and {args.out / 'chaos.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
