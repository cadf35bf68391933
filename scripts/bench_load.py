"""Load benchmark (``make bench-load``): one process of each kind against scaled mode,
under Locust, scaled mode losing servers to ``kill -9`` under load, and how
throughput grows with 1, 2 and 3 Rasa servers.

Starts, one after the other, on fresh demo shops:

- **single**: one Rasa server and one action server (``make run``'s shape, SQLite);
- **scaled**: ``--rasa`` Rasa servers and ``--actions`` action servers behind HAProxy
  on PostgreSQL, Redis and RabbitMQ (``make run-scaled``'s shape);
- **scaling**: scaled mode with each of ``--scaling`` Rasa servers (and ``--actions``
  action servers), at the highest load level.

Against each, Locust (``scripts/locustfile.py``, in its own environment ``.venv-load``)
runs simulated customers holding whole shopping conversations in English and Chinese,
with 1-3 s of think time, at each of ``--users`` for ``--seconds`` each: half over REST
(search, prices, recommendations, comparisons), half in the web widget as a page speaks
it (its session and socket): browsing with follow-ups and a photo upload, a signed-in
customer's order, now and then a request for a person taken back. Each message carries
its own id; a customer sends it again with the same id when the connection drops (as
the widget and the platforms do). Then, on the scaled stack, one
more run at the highest level in which a Rasa server and then an action server are
killed with ``kill -9`` (a third and two thirds of the way through).

For every run: messages per second, p50/p95/p99 latency, failures (no 200 with an
answer after the retries, or an answer in the other language), messages sent again,
the CPU each server used, and an **integrity check** of every simulated conversation
in Rasa's tracker store: each customer message kept exactly once and in order (two a
REST customer sends at once: in either order), each followed by an answer, every
answer in the conversation's language (an answer that reached another customer would
break that). Last, the check's **control** (``--control``): scaled mode with Rasa's
in-memory lock store, where two messages sent at once run on two servers at the same
time; the check must find what that breaks. Prints the tables for
docs/benchmarks.md, writes ``reports/bench_load.json`` and ``reports/bench_load.png``.

Usage: ``python -m scripts.bench_load [--users 5 20 40] [--seconds 60] [--rasa 2]
[--actions 2] [--scaling 1 2 3] [--no-control]``
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

from scripts.load_scripts import same_message
from scripts.scaled import ScaledStack
from scripts.stack import ROOT, Stack, tracker_events

LOCUST = ROOT / ".venv-load" / "bin" / "locust"
LOCUSTFILE = ROOT / "scripts" / "locustfile.py"
STOP_TIMEOUT = 30  # seconds Locust lets a customer finish its conversation at the end
#: A load test speaks from one address as many customers: the per-address and
#: per-conversation limits are lifted for it (each customer stays within its own).
LIMITS = {"LIMIT_MESSAGES_PER_IP": "1000000000", "LIMIT_MESSAGES_PER_SENDER": "1000000000",
          "LIMIT_UPLOADS_PER_IP": "1000000000"}
HAN = re.compile(r"[\u4e00-\u9fff]")


def locust(url: str, users: int, seconds: int, out: Path,
           customers: dict[str, str]) -> dict[str, Any]:
    """Run Locust headless against ``url`` (``customers``: the users' environment, from
    :func:`customer_env`); its totals, per-step rows, history and conversations."""
    prefix = out / "locust"
    command = [str(LOCUST), "-f", str(LOCUSTFILE), "--headless", "--host", url,
               "--users", str(users), "--spawn-rate", str(max(1, users // 2)),
               "--run-time", f"{seconds}s", "--stop-timeout", str(STOP_TIMEOUT), "--csv",
               str(prefix),
               "--csv-full-history", "--only-summary", "--loglevel", "WARNING",
               "--exit-code-on-error", "0"]
    log = out / "locust.log"
    retries = out / "retries.txt"
    said = out / "conversations.jsonl"
    env = {**os.environ, **customers, "PYTHONPATH": str(ROOT),
           "LOAD_RETRIES_FILE": str(retries), "LOAD_CONVERSATIONS_FILE": str(said)}
    with log.open("wb") as sink, tqdm(total=seconds, desc=f"{users} customers",
                                     unit="s") as bar:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, cwd=ROOT,
                                   env=env)
        started, ended_late = time.monotonic(), False
        while process.poll() is None:
            time.sleep(1)
            bar.n = min(seconds, int(time.monotonic() - started))
            bar.refresh()
            if not ended_late and time.monotonic() - started > seconds + 2 * STOP_TIMEOUT:
                # a simulated customer Locust could not stop: Locust's own SIGTERM
                # shutdown stops the run and writes its results
                ended_late = True
                process.terminate()
    if process.returncode != 0:
        raise RuntimeError(f"locust failed:\n{log.read_text(errors='replace')[-3000:]}")
    stats = list(csv.DictReader((out / "locust_stats.csv").open()))
    history = [row for row in csv.DictReader((out / "locust_stats_history.csv").open())
               if row["Name"] == "Aggregated"]
    failures = list(csv.DictReader((out / "locust_failures.csv").open()))
    total = next(row for row in stats if row["Name"] == "Aggregated")
    conversations = [json.loads(line) for line in said.read_text().splitlines()] \
        if said.exists() else []
    return {"total": _row(total), "conversations": conversations, "ended_late": ended_late,
            "steps": [_row(r) for r in stats if r["Name"] != "Aggregated"],
            "sent_again": int(retries.read_text() or 0) if retries.exists() else 0,
            "failures": [{"name": f["Name"], "error": f["Error"],
                          "count": int(f["Occurrences"])} for f in failures],
            "history": [{"t": int(h["Timestamp"]), "users": int(h["User Count"]),
                         "rps": float(h["Requests/s"]), "fps": float(h["Failures/s"]),
                         "p50_ms": _ms(h["50%"]), "p95_ms": _ms(h["95%"]),
                         "requests": int(h["Total Request Count"]),
                         "failures": int(h["Total Failure Count"])} for h in history]}


def _ms(value: str) -> float | None:
    return None if value in ("N/A", "") else float(value)


def _row(row: dict[str, str]) -> dict[str, Any]:
    return {"name": row["Name"], "channel": row.get("Type", ""),
            "requests": int(row["Request Count"]), "failures": int(row["Failure Count"]),
            "rps": float(row["Requests/s"]),
            "p50_ms": _ms(row["50%"]), "p95_ms": _ms(row["95%"]), "p99_ms": _ms(row["99%"]),
            "max_ms": _ms(row["Max Response Time"])}


def cpu_seconds(stack: Stack) -> dict[str, float]:
    """CPU seconds (user + system) each of the stack's servers has used so far."""
    tick = os.sysconf("SC_CLK_TCK")
    used = {}
    for name, process in stack.processes.items():
        try:
            fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            used[name] = (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            continue
    return used


def _tracker_url(stack: Stack) -> str:
    if isinstance(stack, ScaledStack):
        return stack.database_url
    return f"sqlite:///{stack.settings['TRACKER_DB']}"


def integrity(stack: Stack, conversations: list[dict[str, Any]], *,
              skip: set[str]) -> dict[str, Any]:
    """Check every simulated conversation of a run in Rasa's tracker store: each
    message once, in order, answered in its language, and no turn begun before the one
    before it ended
    (``conversations``: what Locust wrote, each with what the tracker must hold; not
    those in ``skip``, checked after an earlier run; the checked ones are added to it)."""
    expected = {c["conversation"]: c for c in conversations if c["conversation"] not in skip}
    events = tracker_events(_tracker_url(stack), senders=set(expected)) if expected else {}
    problems: dict[str, list[str]] = {}
    messages = 0
    for sender, conversation in expected.items():
        language, sent = conversation["language"], conversation["said"]
        stored = events.get(sender, [])
        said = [e.get("text") for e in stored if e.get("event") == "user"]
        messages += len(said)
        found = []
        if not kept_as_sent(said, sent, conversation.get("together_from")):
            found.append(f"messages lost, doubled or out of order: {said}")
        turns = [e for e in stored if e.get("event") in ("user", "bot")]
        for n, event in enumerate(turns):
            if event["event"] == "user" and (n + 1 == len(turns)
                                             or turns[n + 1]["event"] != "bot"):
                found.append(f"no answer to {event.get('text')!r}")
        overlap = overlapping(stored)
        if overlap:
            found.append(f"{overlap!r} began before the turn before it ended")
        for event in turns:
            text = event.get("text") or ""
            if event["event"] == "bot" and text.strip() and \
                    (language == "zh") != bool(HAN.search(text)):
                found.append(f"an answer in the other language: {text[:60]!r}")
        if found:
            problems[sender] = found
    skip.update(expected)
    kinds: dict[str, int] = {}
    for conversation in expected.values():
        kinds[conversation["kind"]] = kinds.get(conversation["kind"], 0) + 1
    return {"conversations": len(expected), "messages": messages, "kinds": kinds,
            "problems": problems}


def overlapping(events: list[dict[str, Any]]) -> str | None:
    """The first customer message whose turn began (Rasa logged it, under the
    conversation's lock) before the turn kept before it ended (its last
    ``action_listen``): two servers answered the conversation at once. ``None`` when
    the turns followed one another."""
    ended: float | None = None
    for event in events:
        stamp = event.get("timestamp")
        if event.get("event") == "user" and not (event.get("parse_data") or {}).get("handoff"):
            if ended is not None and isinstance(stamp, (int, float)) and stamp < ended:
                return str(event.get("text"))
            ended = None
        elif event.get("event") == "action" and event.get("name") == "action_listen" \
                and isinstance(stamp, (int, float)):
            ended = stamp
    return None


def kept_as_sent(said: list[str | None], sent: list[str], together: int | None) -> bool:
    """Whether the tracker's customer messages ``said`` are what was ``sent``: each
    once, in order (those from index ``together`` on were sent at once: in any order),
    or the start of it (the run ended mid-conversation)."""
    cut = len(sent) if together is None else together
    if len(said) > len(sent) or not all(
            same_message(kept, text) for kept, text in zip(said[:cut], sent, strict=False)):
        return False
    rest, left = said[cut:], list(sent[cut:])
    for kept in rest:
        match = next((text for text in left if same_message(kept, text)), None)
        if match is None:
            return False
        left.remove(match)
    return True


def _killer(stack: ScaledStack, seconds: int, log: list[dict[str, Any]]) -> threading.Thread:
    """Kill a Rasa server a third of the way through and an action server at two thirds."""
    def run() -> None:
        for name, at in (("rasa0", seconds / 3), ("actions1", 2 * seconds / 3)):
            time.sleep(max(0.0, at - (time.monotonic() - started)))
            stack.kill(name)
            log.append({"server": name, "at_s": round(time.monotonic() - started, 1),
                        "at": time.time()})

    started = time.monotonic()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _run(stack: Stack, label: str, users: int, seconds: int, out: Path,
         checked: set[str], *, killed: list[dict[str, Any]] | None = None,
         servers: int | None = None) -> dict[str, Any]:
    """One Locust run against ``stack``, with the CPU each server used and the
    integrity check of the run's conversations."""
    out.mkdir()
    before, started = cpu_seconds(stack), time.monotonic()
    result = locust(stack.rasa_url, users, seconds, out, customer_env(stack, out))
    elapsed, after = time.monotonic() - started, cpu_seconds(stack)
    cpu = {name: round((after[name] - before.get(name, 0.0)) / elapsed, 2)
           for name in after}
    conversations = result.pop("conversations")
    return {"stack": label, "users": users, "seconds": seconds, "killed": killed or [],
            "rasa_servers": servers, "cpu_cores": cpu,
            "integrity": integrity(stack, conversations, skip=checked), **result}


def _shop_url(stack: Stack) -> str:
    return stack.settings.get("DATABASE_URL") or f"sqlite:///{stack.data_dir / 'shop.db'}"


def customer_env(stack: Stack, out: Path, *, photos: int = 6) -> dict[str, str]:
    """What the simulated customers need, as a shop's pages would have it: the page's
    origin, the shop's key that signs its customers, some customers' order numbers
    (``LOAD_ORDERS_FILE``) and photos to send (``LOAD_PHOTOS``: of the Grocery Store
    dataset when ``DATASETS`` has it, else drawn here)."""
    import sqlalchemy as sa

    engine = sa.create_engine(_shop_url(stack))
    with engine.connect() as db:
        orders = [{"number": number, "customer_id": customer} for number, customer in
                  db.execute(sa.text("SELECT number, customer_id FROM orders WHERE status IN "
                                     "('shipped', 'delivered', 'processing') ORDER BY number "
                                     "LIMIT 200"))]
    engine.dispose()
    (out / "orders.json").write_text(json.dumps(orders))
    return {"LOAD_ORIGIN": stack.storefront_url,
            "CUSTOMER_ID_SECRET": stack.secrets["CUSTOMER_ID_SECRET"],
            "LOAD_ORDERS_FILE": str(out / "orders.json"),
            "LOAD_PHOTOS": os.pathsep.join(str(p) for p in load_photos(out, photos))}


def load_photos(out: Path, count: int) -> list[Path]:
    """``count`` product photos for the customers to upload."""
    datasets = Path(os.environ.get("DATASETS", ROOT.parent / "shared" / "datasets"))
    found = sorted((datasets / "grocery-store" / "dataset" / "val").rglob("*.jpg"))
    if found:
        return found[::max(1, len(found) // count)][:count]
    from PIL import Image, ImageDraw

    made = []
    for n in range(count):
        image = Image.new("RGB", (320, 240), (40 * n % 255, 90, 160))
        ImageDraw.Draw(image).ellipse((60 + 10 * n, 40, 260, 200), fill=(230, 200, 40 * n % 255))
        path = out / f"photo-{n}.png"
        image.save(path)
        made.append(path)
    return made


def start(kind: str, data: Path, rasa: int, actions: int) -> Stack:
    """A freshly started stack of ``kind`` on a new demo shop, its first turns done
    (they load models and caches: not measured)."""
    data.mkdir(parents=True)
    print(f"starting the {kind} stack on a fresh demo shop...", file=sys.stderr)
    stack: Stack = ScaledStack(data_dir=data, rasa=rasa, actions=actions, extra_env=LIMITS) \
        if kind == "scaled" else Stack(data_dir=data, extra_env=LIMITS)
    stack.start()
    for sender, text in (("warm-en", "show me running shoes"), ("warm-zh", "有没有跑鞋")):
        for _ in range(max(rasa, actions) if kind == "scaled" else 1):
            stack.say(sender, text)
    return stack


def bench(kind: str, users: list[int], seconds: int, rasa: int, actions: int,
          work: Path, *, kill: bool) -> list[dict[str, Any]]:
    """Every run against one freshly started stack of ``kind``."""
    data = work / kind
    stack = start(kind, data, rasa, actions)
    runs: list[dict[str, Any]] = []
    checked: set[str] = set()
    label = f"scaled ({rasa} + {actions})" if kind == "scaled" else "single"
    try:
        for level in users:
            runs.append(_run(stack, label, level, seconds, data / f"run-{level}", checked,
                             servers=rasa if kind == "scaled" else 1))
        if kill and isinstance(stack, ScaledStack):
            level, long = max(users), int(seconds * 1.5)
            killed: list[dict[str, Any]] = []
            thread = _killer(stack, long, killed)
            runs.append(_run(stack, "scaled, kill -9", level, long, data / "run-kill",
                             checked, killed=killed, servers=rasa))
            thread.join()
    finally:
        stack.stop()
    return runs


def scaling(counts: list[int], users: int, seconds: int, actions: int,
            work: Path) -> list[dict[str, Any]]:
    """The same load against scaled mode with each number of Rasa servers."""
    runs = []
    for count in counts:
        data = work / f"scaling-{count}"
        stack = start("scaled", data, count, actions)
        try:
            runs.append(_run(stack, f"scaling: {count} Rasa", users, seconds,
                             data / "run", set(), servers=count))
        finally:
            stack.stop()
    return runs


def control(users: int, seconds: int, work: Path) -> dict[str, Any]:
    """The integrity check's control: scaled mode with Rasa's own in-memory lock store
    (each server locks a conversation in its own memory only), the same load. Two
    messages a customer sends at once reach two servers and run at the same time; the
    check must find what that breaks."""
    data = work / "control"
    data.mkdir(parents=True)
    endpoints = data / "endpoints-control.yml"
    lines, skipping = [], False
    for line in (ROOT / "bot" / "endpoints-scaled.yml").read_text().splitlines():
        if line.startswith("lock_store:"):
            skipping = True  # no lock store: Rasa's InMemoryLockStore
        elif skipping and line and not line.startswith(" "):
            skipping = False
        if not skipping:
            lines.append(line)
    endpoints.write_text("\n".join(lines) + "\n")
    print("starting the control: scaled mode with the in-memory lock store...",
          file=sys.stderr)
    stack = ScaledStack(data_dir=data / "stack", rasa=2, actions=2, extra_env=LIMITS,
                        endpoints=str(endpoints))
    (data / "stack").mkdir()
    stack.start()
    try:
        for sender, text in (("warm-en", "show me running shoes"), ("warm-zh", "有没有跑鞋")):
            for _ in range(2):
                stack.say(sender, text)
        return _run(stack, "control: in-memory lock store (2 + 2)", users, seconds,
                    data / "run", set(), servers=2)
    finally:
        stack.stop()


def print_table(runs: list[dict[str, Any]]) -> None:
    """The tables that go into docs/benchmarks.md."""
    print("| stack | customers | messages | messages/s | p50 / p95 / p99 | failed | sent "
          "again | integrity: conversations, problems |")
    print("|---|---|---|---|---|---|---|---|")
    for run in runs:
        t, check = run["total"], run["integrity"]
        print(f"| {run['stack']} | {run['users']} | {t['requests']} | {t['rps']:.1f} | "
              f"{t['p50_ms'] / 1000:.2f} / {t['p95_ms'] / 1000:.2f} / "
              f"{t['p99_ms'] / 1000:.2f} s | {t['failures']} "
              f"({t['failures'] / max(1, t['requests']):.1%}) | {run['sent_again']} | "
              f"{check['conversations']} ({check['messages']} messages), "
              f"{len(check['problems'])} |")
    print("\n| run | CPU cores used, per server |\n|---|---|")
    for run in runs:
        cores = ", ".join(f"{name} {value:.2f}" for name, value in
                          sorted(run["cpu_cores"].items()))
        print(f"| {run['stack']}, {run['users']} customers | {cores} |")
    print("\n| run | conversations by kind |\n|---|---|")
    for run in runs:
        kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(run["integrity"]["kinds"].items()))
        print(f"| {run['stack']}, {run['users']} customers | {kinds} |")
    busiest = max((r for r in runs if not r["stack"].startswith("control")),
                  key=lambda r: (not r["killed"], r["users"]))
    print(f"\n| {busiest['stack']}, {busiest['users']} customers: turn | messages | p50 / p95 / "
          "p99 | failed |\n|---|---|---|---|")
    for step in sorted(busiest["steps"], key=lambda r: (r["channel"], r["name"][3:], r["name"])):
        print(f"| {step['channel'].lower()} {step['name']} | {step['requests']} | "
              f"{(step['p50_ms'] or 0) / 1000:.2f} / {(step['p95_ms'] or 0) / 1000:.2f} / "
              f"{(step['p99_ms'] or 0) / 1000:.2f} s | {step['failures']} |")
    for run in runs:
        for failure in run["failures"]:
            print(f"- {run['stack']}, {run['users']} customers: {failure['count']} x "
                  f"{failure['name']}: {failure['error']}")
        for sender, found in run["integrity"]["problems"].items():
            print(f"- {run['stack']}, {run['users']} customers, {sender}: {'; '.join(found)}")


def plot(runs: list[dict[str, Any]], path: Path) -> None:
    """Latency percentiles per level and stack; the kill run second by second."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right, grow) = plt.subplots(1, 3, figsize=(17, 4.4))
    steady = [r for r in runs if not r["killed"] and not r["stack"].startswith(("scaling",
                                                                               "control"))]
    labels = [f"{r['stack']}\n{r['users']} customers" for r in steady]
    xs = range(len(steady))
    width = 0.27
    for offset, key, name in ((-width, "p50_ms", "p50"), (0, "p95_ms", "p95"),
                              (width, "p99_ms", "p99")):
        left.bar([x + offset for x in xs], [(r["total"][key] or 0) / 1000 for r in steady],
                 width, label=name)
    left.set_xticks(list(xs), labels, fontsize=8)
    left.set_ylabel("seconds per message (whole answer)")
    left.set_title("Latency under load")
    left.legend(fontsize=8)
    left.grid(axis="y", alpha=0.3)
    for run in runs:
        if not run["killed"] or not run["history"]:
            continue
        t0 = run["history"][0]["t"]
        ts = [h["t"] - t0 for h in run["history"]]
        right.plot(ts, [(h["p50_ms"] or 0) / 1000 for h in run["history"]],
                   label="p50 (s, rolling)")
        right.plot(ts, [(h["p95_ms"] or 0) / 1000 for h in run["history"]],
                   label="p95 (s, rolling)")
        right.plot(ts, [h["rps"] for h in run["history"]], label="messages/s")
        right.plot(ts, [h["failures"] for h in run["history"]], label="failed (total)")
        for kill in run["killed"]:
            right.axvline(kill["at"] - t0, color="red", linestyle="--")
            right.annotate(f"kill -9 {kill['server']}", (kill["at"] - t0, 0.95),
                           xycoords=("data", "axes fraction"), fontsize=8, rotation=90,
                           va="top", ha="right", color="red")
        right.set_title(f"Scaled stack, {run['users']} customers, servers killed")
        right.set_xlabel("seconds")
    right.grid(alpha=0.3)
    right.legend(fontsize=7)
    scaled = [r for r in runs if r["stack"].startswith("scaling")]
    if scaled:
        servers = [r["rasa_servers"] for r in scaled]
        grow.plot(servers, [r["total"]["rps"] for r in scaled], "o-", label="messages/s")
        grow.plot(servers, [(r["total"]["p95_ms"] or 0) / 1000 for r in scaled], "s--",
                  label="p95 (s)")
        grow.set_xticks(servers)
        grow.set_xlabel("Rasa servers (2 action servers), 2 cores")
        grow.set_title(f"Scaling at {scaled[0]['users']} customers")
        grow.grid(alpha=0.3)
        grow.legend(fontsize=8)
    else:
        grow.axis("off")
    fig.suptitle("Shopping conversations over REST and the widget's socket under Locust "
                 "(EN + ZH)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, nargs="+", default=[5, 20, 40])
    parser.add_argument("--scaling", type=int, nargs="*", default=[1, 2, 3],
                        help="Rasa servers of each scaling run (none: no scaling runs)")
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--rasa", type=int, default=2)
    parser.add_argument("--actions", type=int, default=2)
    parser.add_argument("--stacks", nargs="+", default=["single", "scaled"],
                        choices=["single", "scaled"])
    parser.add_argument("--control", action=argparse.BooleanOptionalAction, default=True,
                        help="the integrity check's control run (in-memory lock store)")
    parser.add_argument("--out", type=Path, default=ROOT / "reports")
    args = parser.parse_args(argv)
    if not LOCUST.exists():
        parser.error(f"{LOCUST} is missing: `make bench-load` creates it")
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        for kind in args.stacks:
            runs += bench(kind, args.users, args.seconds, args.rasa, args.actions, Path(tmp),
                          kill=kind == "scaled")
        if args.scaling:
            runs += scaling(args.scaling, max(args.users), args.seconds, args.actions,
                            Path(tmp))
        if args.control:
            runs.append(control(max(args.users), args.seconds, Path(tmp)))
    print_table(runs)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_load.json").write_text(json.dumps(
        {"machine": platform.platform(), "runs": runs}, indent=1, ensure_ascii=False))
    plot(runs, args.out / "bench_load.png")
    print(f"wrote {args.out / 'bench_load.json'} and {args.out / 'bench_load.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
