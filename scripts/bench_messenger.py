"""Messenger channel benchmark: webhook acknowledgement and answer times at 1 and 20
concurrent customers.

Starts the real stack (action server + Rasa, as ``make run`` does, on a fresh demo
shop) with the Messenger channel pointed at the tests' fake Graph API
(tests/fakes/messenger.py, Meta's wire format), then lets customers hold short
signed conversations in English and Chinese (a greeting, a search, a follow-up,
recommendations as a carousel, thanks), first one at a time, then 20 at once.
For every message it records

- the **acknowledgement time**: until the webhook answered 200 (Meta retries
  webhooks that are slow to answer; the target is p95 under 1 s at 20 customers);
- the **answer time**: until the first Send API message of the answer, and until
  its last one.

Prints the table for docs/benchmarks.md and writes ``reports/bench_messenger.json``
and ``reports/bench_messenger.png``.

``--saturate N`` keeps N processes spinning on the CPU meanwhile (a training job
beside the servers; N = cores saturates them): the acknowledgement must not wait on a
busy NLU. ``--scaled`` runs it against scaled mode (two Rasa and two action servers
behind HAProxy on PostgreSQL, Redis and RabbitMQ, ``scripts/scaled.py``) instead.

Usage: ``python -m scripts.bench_messenger [--conversations 8] [--concurrency 20]
[--saturate 2] [--scaled]`` (``scripts.bench_whatsapp`` runs the same against the fake
WhatsApp Cloud API).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tqdm import tqdm

from scripts.bench_chat import percentile
from scripts.bench_wechat import saturated
from scripts.stack import Stack
from tests.fakes.messenger import FakeMessenger

SCRIPTS = {
    "zh": ["你好", "有没有跑鞋", "第二个多少钱", "有什么推荐的吗", "谢谢"],
    "en": ["hello", "show me running shoes", "how much is the second one?",
           "what would you recommend?", "thanks"],
}
QUIET = 1.5  # seconds without a new Send API message after which an answer is complete


def conversation(fake: Any, shop: str, lang: str, progress: Any
                 ) -> list[dict[str, Any]]:
    """One customer's conversation; a record per message."""
    user = str(uuid.uuid4().int)[:16]
    records = []
    for text in SCRIPTS[lang]:
        before = len(fake.sent_to(user))
        started = time.time()
        reply = fake.deliver(shop, [fake.text(user, text)], timeout=30)
        ack = time.time() - started
        first = last = None
        seen = before
        quiet_since = time.time()
        deadline = time.time() + 60
        while time.time() < deadline:
            sent = fake.sent_to(user)
            if len(sent) > seen:
                seen = len(sent)
                quiet_since = time.time()
                first = first or sent[before].at
                last = sent[-1].at
            elif first is not None and time.time() - quiet_since > QUIET:
                break
            time.sleep(0.02)
        records.append({"lang": lang, "text": text, "status": reply.status_code,
                        "ack_s": ack, "first_s": first - started if first else None,
                        "last_s": last - started if last else None,
                        "messages": seen - before})
        progress.update(1)
    return records


def run(fake: Any, shop: str, concurrency: int, conversations: int
        ) -> list[dict[str, Any]]:
    """``conversations`` conversations, ``concurrency`` at a time."""
    langs = ["zh" if i % 2 else "en" for i in range(conversations)]
    lock = threading.Lock()
    records: list[dict[str, Any]] = []
    with tqdm(total=sum(len(SCRIPTS[lang]) for lang in langs),
              desc=f"{concurrency} at a time", unit="msg") as progress, \
            ThreadPoolExecutor(concurrency) as pool:
        for result in pool.map(lambda lang: conversation(fake, shop, lang, progress), langs):
            with lock:
                records.extend(result)
    for record in records:
        record["concurrency"] = concurrency
    return records


def summarise(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per concurrency: acknowledgement and answer p50/p95."""
    rows = []
    for concurrency in sorted({r["concurrency"] for r in records}):
        mine = [r for r in records if r["concurrency"] == concurrency]
        acks = [r["ack_s"] for r in mine]
        first = [r["first_s"] for r in mine if r["first_s"] is not None]
        last = [r["last_s"] for r in mine if r["last_s"] is not None]
        rows.append({"concurrency": concurrency, "messages": len(mine),
                     "answered": len(first) / len(mine),
                     "refused": sum(r["status"] != 200 for r in mine),
                     "ack_p50_s": percentile(acks, 50), "ack_p95_s": percentile(acks, 95),
                     "ack_p99_s": percentile(acks, 99),
                     "ack_max_s": max(acks),
                     "first_p50_s": percentile(first, 50), "first_p95_s": percentile(first, 95),
                     "last_p50_s": percentile(last, 50), "last_p95_s": percentile(last, 95)})
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    """The table that goes into docs/benchmarks.md."""
    print("| customers at once | messages | answered | acknowledgement p50 / p95 / p99 (max) | "
          "first answer p50 / p95 | whole answer p50 / p95 |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['concurrency']} | {r['messages']} | {r['answered']:.0%} | "
              f"{r['ack_p50_s'] * 1000:.0f} / {r['ack_p95_s'] * 1000:.0f} / "
              f"{r['ack_p99_s'] * 1000:.0f} ms "
              f"({r['ack_max_s'] * 1000:.0f} ms) | "
              f"{r['first_p50_s']:.2f} / {r['first_p95_s']:.2f} s | "
              f"{r['last_p50_s']:.2f} / {r['last_p95_s']:.2f} s |")


def plot(records: list[dict[str, Any]], path: Path, *,
         title: str = "Messenger channel against a fake Graph API") -> None:
    """Acknowledgement and answer times, per concurrency."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    levels = sorted({r["concurrency"] for r in records})
    left.boxplot([[r["ack_s"] * 1000 for r in records if r["concurrency"] == c]
                  for c in levels], whis=(5, 95), showfliers=False)
    left.set_xticks(range(1, len(levels) + 1), [f"{c} at once" for c in levels])
    left.axhline(1000, color="grey", linestyle="--", label="target p95 < 1 s")
    left.set_ylabel("ms until the webhook answered 200")
    left.set_title("Webhook acknowledgement (whiskers p5-p95)")
    left.legend(fontsize=8)
    left.grid(axis="y", alpha=0.3)
    for concurrency in levels:
        for key, style in (("first_s", "-"), ("last_s", ":")):
            values = sorted(r[key] for r in records
                            if r["concurrency"] == concurrency and r[key] is not None)
            if values:
                right.plot(values, [(i + 1) / len(values) for i in range(len(values))], style,
                           label=f"{concurrency} at once, "
                                 f"{'first' if key == 'first_s' else 'whole'} answer")
    right.set_xlabel("seconds from the customer's message")
    right.set_ylabel("share of messages")
    right.set_title("Answer time (cumulative)")
    right.grid(alpha=0.3)
    right.legend(fontsize=7)
    fig.suptitle(f"{title} (real Rasa + action server)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None, *, fake_class: Any = FakeMessenger,
         name: str = "messenger", title: str = "Messenger channel against a fake Graph API"
         ) -> int:
    """Command-line entry point (``make bench-whatsapp`` runs it with the fake Cloud API)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=8,
                        help="conversations one at a time (20 at once run 2.5x as many)")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--out", type=Path, default=Path("reports"))
    parser.add_argument("--saturate", type=int, default=0, metavar="N",
                        help="keep N processes spinning on the CPU meanwhile")
    parser.add_argument("--scaled", action="store_true",
                        help="two Rasa and two action servers behind HAProxy")
    args = parser.parse_args(argv)
    if args.scaled:
        name += "_scaled"
        title += ", scaled mode (2 Rasa + 2 action servers, HAProxy)"
    if args.saturate:
        name += f"_saturated{args.saturate}"
        title += f", {args.saturate} busy processes beside it"
    fake = fake_class().start()
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
        print("starting the stack on a fresh demo shop...", file=sys.stderr)
        env = {**fake.env(), "LIMIT_MESSAGES_PER_SENDER": "1000000"}
        if args.scaled:
            from scripts.scaled import ScaledStack

            stack: Stack = ScaledStack(data_dir=Path(tmp), extra_env=env).start()
        else:
            stack = Stack(data_dir=Path(tmp), extra_env=env).start()
        try:
            warm = str(uuid.uuid4().int)[:16]
            fake.deliver(stack.rasa_url, [fake.text(warm, "有没有跑鞋")])
            fake.wait_sent(warm, 1)
            with saturated(args.saturate):
                records = run(fake, stack.rasa_url, 1, args.conversations)
                records += run(fake, stack.rasa_url, args.concurrency,
                               int(args.conversations * 2.5))
        finally:
            stack.stop()
            fake.stop()
    rows = summarise(records)
    print_table(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"bench_{name}.json").write_text(json.dumps(
        {"machine": platform.platform(), "scaled": args.scaled,
         "busy_processes": args.saturate, "rows": rows, "records": records}, indent=1,
        ensure_ascii=False))
    plot(records, args.out / f"bench_{name}.png", title=title)
    print(f"wrote {args.out / f'bench_{name}.json'} and {args.out / f'bench_{name}.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
