"""WeChat channel benchmark: WeChat's 5-second rule at 1 and 20 concurrent customers.

Starts the real stack (action server, Rasa and the shop's image server, as ``make
run`` does) on the Grocery Store catalog (81 products with photos, DATASETS) with
the WeChat channel pointed at the tests' fake WeChat platform
(tests/fakes/wechat.py), then lets customers hold short conversations in English
and Chinese (searches, follow-ups, a photo, recommendations with product cards),
half of them in safe mode, first one customer at a time, then 20 at once. For
every message it records

- whether the answer came as the **passive reply** within WeChat's 5 seconds
  (else ``success`` and the answer through ``message/custom/send``), and
- the **delivery time**: from sending the message to the first answer reaching
  the customer (the passive reply, or the first ``custom/send`` of the answer),
  and to the last message of the answer (cards included).

Prints the table for docs/benchmarks.md and writes ``reports/bench_wechat.json``
and ``reports/bench_wechat.png``.

Usage: ``python -m scripts.bench_wechat [--conversations 10] [--concurrency 20]
[--saturate 2] [--scaled]`` (``--saturate N``: N busy processes beside the servers, as a
training job on the same machine; ``--scaled``: two Rasa and two action servers behind
HAProxy on PostgreSQL, Redis and RabbitMQ, the imported shop in PostgreSQL)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests
from tqdm import tqdm

from scripts.bench_chat import percentile
from scripts.stack import Stack, import_catalog, index_shelf_photos
from tests.fakes.wechat import FakeWeChat, Reply

PHOTO = "<photo>"  # a Grocery Store validation photo, sent as a WeChat image
SCRIPTS = {  # on the Grocery Store shop (81 products with photos)
    "zh": ["你好", "有苹果吗", "第二个多少钱", PHOTO, "有什么推荐的吗", "谢谢"],
    "en": ["hello", "do you have apples?", "how much is the second one?", PHOTO,
           "what would you recommend?", "thanks"],
}


def grocery_root() -> Path:
    """The Grocery Store dataset (``DATASETS``)."""
    import os

    return Path(os.environ.get("DATASETS", "../shared/datasets")) / "grocery-store" / "dataset"


def photos() -> list[bytes]:
    """Customers' photos: validation images, none of them indexed by the shop."""
    found = sorted(p for p in (grocery_root() / "val").glob("*/*/*_00[0-9].jpg")
                   if not p.name.endswith("_003.jpg"))
    return [path.read_bytes() for path in found[::max(1, len(found) // 40)][:40]]


PHOTOS: list[bytes] = []
QUIET = 1.5  # seconds without a new custom/send after which an answer is complete


def conversation(fake: FakeWeChat, shop: str, lang: str, mode: str,
                 progress: Any) -> list[dict[str, Any]]:
    """One customer's conversation; a record per message."""
    user = f"oBench_{uuid.uuid4().hex[:16]}"
    records = []
    for text in SCRIPTS[lang]:
        before = len(fake.sent_to(user))
        started = time.time()
        try:
            if text == PHOTO:
                reply = fake.image(shop, user, PHOTOS[hash(user) % len(PHOTOS)], mode=mode,
                                   timeout=6.0)
            else:
                reply = fake.text(shop, user, text, mode=mode, timeout=6.0)
        except requests.Timeout:
            # WeChat gives up after 5 s (and retries): counted as no passive reply; the
            # answer may still come through custom/send, which is waited for below
            reply = Reply(0, "", 6.0)
        # a passive reply counts only if WeChat would have waited for it (5 s)
        passive = reply.status == 200 and not reply.success and reply.seconds <= 5.0
        first = started + reply.seconds if passive else None
        last = first
        # wait for the answer's API messages until none came for QUIET seconds
        deadline = time.time() + 60
        seen = before
        quiet_since = time.time()
        while time.time() < deadline:
            sent = fake.sent_to(user)
            if len(sent) > seen:
                seen = len(sent)
                quiet_since = time.time()
                if first is None:
                    first = sent[before].at
                last = sent[-1].at
            elif time.time() - quiet_since > QUIET and (first is not None or passive):
                break
            time.sleep(0.05)
        records.append({"lang": lang, "mode": mode, "text": text, "status": reply.status,
                        "passive": passive, "reply_s": reply.seconds,
                        "first_s": (first - started) if first else None,
                        "last_s": (last - started) if last else None,
                        "api_messages": seen - before})
        progress.update(1)
    return records


def run(fake: FakeWeChat, shop: str, concurrency: int, conversations: int
        ) -> list[dict[str, Any]]:
    """``conversations`` conversations, ``concurrency`` at a time."""
    plans = [("zh" if i % 2 else "en", "aes" if i % 4 < 2 else "plain")
             for i in range(conversations)]
    lock = threading.Lock()
    records: list[dict[str, Any]] = []
    with tqdm(total=sum(len(SCRIPTS[lang]) for lang, _ in plans),
              desc=f"{concurrency} at a time", unit="msg") as progress, \
            ThreadPoolExecutor(concurrency) as pool:
        for result in pool.map(lambda plan: conversation(fake, shop, plan[0], plan[1],
                                                         progress), plans):
            with lock:
                records.extend(result)
    for record in records:
        record["concurrency"] = concurrency
    return records


def summarise(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per concurrency: passive share, delivery p50/p95."""
    rows = []
    for concurrency in sorted({r["concurrency"] for r in records}):
        mine = [r for r in records if r["concurrency"] == concurrency]
        first = [r["first_s"] for r in mine if r["first_s"] is not None]
        last = [r["last_s"] for r in mine if r["last_s"] is not None]
        rows.append({
            "concurrency": concurrency, "messages": len(mine),
            "passive_share": sum(r["passive"] for r in mine) / len(mine),
            "answered": len(first) / len(mine),
            "errors": sum(r["status"] not in (0, 200) for r in mine),
            "gave_up": sum(r["status"] == 0 for r in mine),
            "reply_p95_s": percentile([r["reply_s"] for r in mine], 95),
            "first_p50_s": percentile(first, 50), "first_p95_s": percentile(first, 95),
            "last_p50_s": percentile(last, 50), "last_p95_s": percentile(last, 95)})
    return rows


@contextlib.contextmanager
def saturated(processes: int) -> Iterator[None]:
    """``processes`` busy loops at normal priority for as long as the block runs."""
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                for _ in range(processes)]
    try:
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()


def print_table(rows: list[dict[str, Any]]) -> None:
    """The table that goes into docs/benchmarks.md."""
    print("| customers at once | messages | passive reply within 5 s | answered | "
          "no reply in 6 s | webhook reply p95 | first answer p50 / p95 | "
          "whole answer p50 / p95 |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['concurrency']} | {r['messages']} | {r['passive_share']:.0%} | "
              f"{r['answered']:.0%} | {r['gave_up']} | {r['reply_p95_s']:.2f} s | "
              f"{r['first_p50_s']:.2f} / {r['first_p95_s']:.2f} s | "
              f"{r['last_p50_s']:.2f} / {r['last_p95_s']:.2f} s |")


def plot(records: list[dict[str, Any]], rows: list[dict[str, Any]], path: Path) -> None:
    """Delivery-time distributions and the passive share, per concurrency."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for concurrency in sorted({r["concurrency"] for r in records}):
        for key, style in (("first_s", "-"), ("last_s", ":")):
            values = sorted(r[key] for r in records
                            if r["concurrency"] == concurrency and r[key] is not None)
            if values:
                left.plot(values, [(i + 1) / len(values) for i in range(len(values))], style,
                          label=f"{concurrency} at once, "
                                f"{'first' if key == 'first_s' else 'whole'} answer")
    left.axvline(5.0, color="grey", linestyle="--", label="WeChat waits 5 s")
    left.set_xlabel("seconds from the customer's message")
    left.set_ylabel("share of messages")
    left.set_title("Delivery time (cumulative)")
    left.grid(alpha=0.3)
    left.legend(fontsize=7)
    labels = [f"{r['concurrency']} at once" for r in rows]
    right.bar(labels, [r["passive_share"] * 100 for r in rows], color="#4a8")
    right.set_ylim(0, 115)
    right.set_ylabel("% answered as the passive reply")
    right.set_title("Passive replies within 5 s")
    for i, r in enumerate(rows):
        right.text(i, r["passive_share"] * 100 + 2, f"{r['passive_share']:.0%}", ha="center")
    fig.suptitle("WeChat channel against a fake WeChat platform (real Rasa + action server)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=8,
                        help="conversations one at a time (20 at once run 2.5x as many)")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--out", type=Path, default=Path("reports"))
    parser.add_argument("--saturate", type=int, default=0, metavar="N",
                        help="keep N processes spinning on the CPU meanwhile (a training "
                             "job beside the server; N = cores saturates them)")
    parser.add_argument("--scaled", action="store_true",
                        help="two Rasa and two action servers behind HAProxy")
    args = parser.parse_args(argv)
    if not (grocery_root() / "classes.csv").is_file():
        print(f"the Grocery Store dataset is not at {grocery_root()} (set DATASETS)",
              file=sys.stderr)
        return 2
    PHOTOS.extend(photos())
    fake = FakeWeChat().start()
    with tempfile.TemporaryDirectory(prefix="bench-wechat-") as tmp:
        from knowledge_graph.sources.grocery_store import derive_catalog, write_catalog

        print("starting the stack on the Grocery Store shop (import, photo index)...",
              file=sys.stderr)
        work = Path(tmp)

        def prepare(stack: Stack) -> None:
            import_catalog(stack, work, lambda out: write_catalog(
                derive_catalog(grocery_root()), out), "grocery_store.yml")
            index_shelf_photos(stack, grocery_root())

        env = {**fake.env(), "LIMIT_MESSAGES_PER_SENDER": "1000000"}
        if args.scaled:
            from scripts.scaled import ScaledStack

            stack: Stack = ScaledStack(data_dir=work / "data", extra_env=env).start(
                prepare=prepare)
        else:
            stack = Stack(data_dir=work / "data", storefront=True, extra_env=env).start(
                prepare=prepare)
        try:
            fake.text(stack.rasa_url, "oWarmUp", "有苹果吗")  # first-use loading
            fake.image(stack.rasa_url, "oWarmUp", PHOTOS[0])
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
    name = "bench_wechat" + ("_scaled" if args.scaled else "") + (
        f"_saturated{args.saturate}" if args.saturate else "")
    (args.out / f"{name}.json").write_text(json.dumps(
        {"machine": platform.platform(), "scaled": args.scaled,
         "busy_processes": args.saturate, "rows": rows,
         "records": records}, indent=1, ensure_ascii=False))
    plot(records, rows, args.out / f"{name}.png")
    print(f"wrote {args.out / name}.json and {args.out / name}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
