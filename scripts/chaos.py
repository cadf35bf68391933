"""Chaos run of scaled mode (``make chaos``): each dependency of a turn taken away under
a running stack, and what customers get meanwhile.

Starts scaled mode (two Rasa and two action servers behind HAProxy, the graph on an
Oxigraph server, PostgreSQL, Redis, RabbitMQ) on a fresh demo shop, with the graph
server, Redis, RabbitMQ and PostgreSQL reached through relays this script can cut
(``tests/relay.py``: new connections refused, open ones dropped, as when a server
dies or the network parts). Then, one fault at a time:

- **graph server**, **PostgreSQL**: cut, customers keep chatting (English and
  Chinese: a search, a price, thanks), restored;
- **Redis restart**: cut, this stack's keys deleted (Redis here keeps nothing on
  disk: a restart forgets every lock), restored;
- **RabbitMQ away for 30 s** while customers chat;
- **kill -9** of a Rasa server in the middle of a conversation's turn (it holds the
  conversation's lock), and of an action server (neither restarted).

Customers send each message with a ``message_id`` and send it again, with the same
id, when the connection drops or the balancer has no server (as the widget and the
platforms do); every other pair of them chats in the widget, over its socket
(:class:`WidgetCustomer`), the others over REST. For every message: the time to the
answer, whether there was one and in the customer's language, what it was (a normal
answer, "I can't look that up right now", an error), and how often it was sent.
After each fault is lifted: the seconds until a product search is answered normally
again, without anyone restarting anything. At the end, once the tracker journal is
written (the turns PostgreSQL could not take: ``bot/tracker_store.py``), every
conversation in Rasa's tracker store: each message kept once (lost: not there;
processed twice: there twice).

Prints the table for docs/benchmarks.md, writes ``reports/chaos.json`` and
``reports/chaos.png``. The target: every message answered within 2 s with a stated
fallback while a dependency is away, and recovery by itself.

Usage: ``python -m scripts.chaos [--messages 8] [--hold 30]``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import sys
import tempfile
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import redis
import requests
from tqdm import tqdm

from scripts.bench_chat import percentile
from scripts.eval_conversations import HAN
from scripts.load_scripts import RETRYABLE
from scripts.scaled import ScaledStack
from scripts.stack import ROOT, free_port, tracker_events
from tests.relay import ThreadedRelay

MESSAGES = [("en", "show me headphones"), ("zh", "有没有耳机"),
            ("en", "how much is the first one"), ("zh", "第一个多少钱"),
            ("en", "thanks"), ("zh", "谢谢")]
TARGET_S = 2.0
#: fault name → the relay it cuts, or the server it kills
FAULTS = {"graph": "graph server away", "redis": "Redis restart",
          "rabbitmq": "RabbitMQ away 30 s", "postgresql": "PostgreSQL away",
          "rasa0": "kill -9 rasa0 mid-turn", "actions0": "kill -9 actions0"}


def _ask(url: str, sender: str, text: str, *, tries: int = 8,
         message_id: str | None = None) -> dict[str, Any]:
    """One message over REST, sent again with the same ``message_id`` while the
    connection drops or no server takes it: the time to its answer, what it was and
    how many times it was sent."""
    started, body = time.monotonic(), {"sender": sender, "message": text,
                                       "message_id": message_id or uuid.uuid4().hex}
    sent = 0
    while sent < tries:
        sent += 1
        try:
            response = requests.post(f"{url}/webhooks/rest/webhook", json=body, timeout=30)
            status = response.status_code
            texts = " ".join(m.get("text") or "" for m in response.json()) \
                if status == 200 else ""
        except (requests.RequestException, ValueError) as exc:
            status, texts = 0, type(exc).__name__
        if status not in RETRYABLE:
            break
        time.sleep(0.5)
    return {"s": time.monotonic() - started, "status": status, "text": texts, "sent": sent}


class WidgetCustomer:
    """A customer in the web widget, speaking its wire protocol
    (``bot/channels/widget.py``): a session through the balancer, then for each
    message a socket, the message with its client id, and the answers until the turn
    ends; on a dropped socket the same message again on a new one."""

    def __init__(self, stack: ScaledStack) -> None:
        self.origin = stack.storefront_url
        session = requests.post(f"{stack.rasa_url}/webhooks/widget/session", data="{}",
                                headers={"Origin": self.origin}, timeout=30)
        session.raise_for_status()
        self.token, self.conversation = session.json()["token"], session.json()["conversation"]
        self.url = stack.rasa_url.replace("http://", "ws://", 1) + "/webhooks/widget/socket"
        self.last = 0  # the last history entry seen

    def ask(self, text: str, *, tries: int = 4, timeout: float = 30) -> dict[str, Any]:
        """The time to the end of the turn, what was said, how often it was sent."""
        from websockets.sync.client import connect
        from websockets.typing import Origin

        started, client_id, sent = time.monotonic(), uuid.uuid4().hex, 0
        status, said = 0, [""]
        while sent < tries and status != 200:
            sent += 1
            said = []
            try:
                with connect(self.url, origin=Origin(self.origin), open_timeout=10,
                             close_timeout=1) as ws:
                    ws.send(json.dumps({"type": "hello", "token": self.token,
                                        "since": self.last}))
                    ws.send(json.dumps({"type": "message", "id": client_id, "text": text}))
                    deadline, upto = time.monotonic() + timeout, None
                    while upto is None or self.last < upto:  # the turn ends as the page's
                        frame = json.loads(ws.recv(timeout=max(0.1, deadline
                                                               - time.monotonic())))
                        if frame.get("type") == "message":
                            self.last = max(self.last, int(frame.get("id") or 0))
                            if frame.get("role") in ("assistant", "agent", "notice"):
                                said.append(frame.get("text") or "")
                        elif frame.get("type") == "typing" and frame.get("on") is False:
                            upto = int(frame.get("upto") or 0)  # drawn up to this entry
                    status = 200
            except Exception as exc:  # noqa: BLE001 - a dropped socket: sent again
                said = [type(exc).__name__]
                time.sleep(0.5)
        return {"s": time.monotonic() - started, "status": status, "text": " ".join(said),
                "sent": sent}


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
              messages: int, *, hold: float = 0.0) -> dict[str, Any]:
    """Customers chat while fault ``name`` holds (at least ``hold`` seconds, the
    messages spread over it); then it is lifted."""
    sender = f"chaos-{name.split()[0].lower()}-{uuid.uuid4().hex[:6]}"
    widget = {lang: WidgetCustomer(stack) for lang in ("en", "zh")}  # before the fault
    start()
    started, records = time.monotonic(), []
    try:
        for i in tqdm(range(messages), desc=name, unit="msg", leave=False):
            if hold:
                time.sleep(max(0.0, started + i * hold / messages - time.monotonic()))
            lang, text = MESSAGES[i % len(MESSAGES)]
            if (i // 2) % 2:  # every other pair of customers is in the widget
                records.append(_record_widget(widget[lang], lang, text))
            else:
                records.append(_record(stack.rasa_url, f"{sender}-{lang}", lang, text))
        time.sleep(max(0.0, started + hold - time.monotonic()))
    finally:
        stop()
    return {"fault": name, "records": records, "held_s": round(time.monotonic() - started, 1),
            "recovered_s": _recovered(stack.rasa_url)}


def _record(url: str, sender: str, lang: str, text: str,
            message_id: str | None = None) -> dict[str, Any]:
    return _judged({"lang": lang, "text_sent": text, "sender": sender, "channel": "rest",
                    **_ask(url, sender, text, message_id=message_id)})


def _record_widget(customer: WidgetCustomer, lang: str, text: str) -> dict[str, Any]:
    return _judged({"lang": lang, "text_sent": text, "sender": customer.conversation,
                    "channel": "widget", **customer.ask(text)})


def _judged(record: dict[str, Any]) -> dict[str, Any]:
    lang = record["lang"]
    record["kind"] = _kind(record)
    record["language_ok"] = record["status"] == 200 and bool(record["text"]) and (
        (lang == "zh") == bool(HAN.search(record["text"])))
    return record


def kill_mid_turn(stack: ScaledStack, messages: int) -> dict[str, Any]:
    """``kill -9`` of ``rasa0`` while it answers a conversation (it holds the
    conversation's lock): how long the conversation is blocked, then customers chat."""
    sender = f"chaos-midturn-{uuid.uuid4().hex[:6]}"
    first = _record(stack.rasa_url, f"{sender}-en", "en", "show me headphones")
    # a turn that takes a while (recommendations): the kill lands inside it
    body = {"sender": f"{sender}-en", "message": "what would you recommend under $150?",
            "message_id": uuid.uuid4().hex}
    doomed = ThreadPoolExecutor(1).submit(
        requests.post, f"{stack.server_url(0)}/webhooks/rest/webhook", json=body, timeout=30)
    time.sleep(0.1)  # the turn has begun: rasa0 holds the conversation's lock
    stack.kill("rasa0")
    killed = time.monotonic()
    mid_turn = True
    with contextlib.suppress(requests.RequestException):
        mid_turn = doomed.result().status_code != 200  # answered first: not mid-turn
    # the customer's client sends it again, with the same id, through the balancer
    again = _record(stack.rasa_url, f"{sender}-en", "en", body["message"],
                    message_id=body["message_id"])
    again["sent"] += 1  # the first sending died with rasa0
    blocked = time.monotonic() - killed
    records = [first, again]
    for i in range(max(0, messages - 2)):
        records.append(_record(stack.rasa_url, f"{sender}-{MESSAGES[i % 6][0]}",
                               *MESSAGES[i % len(MESSAGES)]))
    return {"fault": FAULTS["rasa0"], "records": records, "blocked_s": round(blocked, 1),
            "mid_turn": mid_turn,
            "recovered_s": _recovered(stack.rasa_url)}


def kept_once(database_url: str, runs: list[dict[str, Any]]) -> None:
    """Add to each run how many of its messages Rasa's tracker store lost or holds twice
    (a message its customer sent again after a drop counts once)."""
    for run in runs:
        stored = tracker_events(database_url, senders={r["sender"] for r in run["records"]})
        kept = Counter((sender, event.get("text")) for sender, events in stored.items()
                       for event in events if event.get("event") == "user")
        sent = Counter((r["sender"], r["text_sent"]) for r in run["records"])
        run["lost"] = sum(max(0, n - kept[key]) for key, n in sent.items())
        run["twice"] = sum(max(0, kept[key] - n) for key, n in sent.items())


def journal_written(prefix: str, *, timeout: float = 150.0) -> float | None:
    """Seconds until the tracker journal (turns PostgreSQL could not take; written once
    nobody has touched a conversation for a minute) is empty, or None."""
    client = redis.Redis(host="127.0.0.1", port=6379, socket_timeout=5)
    started = time.monotonic()
    try:
        while time.monotonic() - started < timeout:
            if not client.hlen(f"{prefix}journal:senders"):
                return round(time.monotonic() - started, 1)
            time.sleep(1)
        return None
    finally:
        client.close()


def forget_locks(prefix: str) -> None:
    """What a Redis restart does to this stack: its locks are gone (Redis here keeps
    nothing on disk)."""
    client = redis.Redis(host="127.0.0.1", port=6379, socket_timeout=5)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    client.close()


def summarise(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per fault."""
    rows = []
    for run in runs:
        times = [r["s"] for r in run["records"]]
        answered = [r for r in run["records"] if r["status"] == 200 and r["text"].strip()]
        rows.append({
            "fault": run["fault"], "messages": len(times), "answered": len(answered),
            "within_target": sum(r["s"] <= TARGET_S for r in answered),
            "widget": sum(r.get("channel") == "widget" for r in run["records"]),
            "widget_within": sum(r["s"] <= TARGET_S for r in answered
                                 if r.get("channel") == "widget"),
            "language_ok": sum(r["language_ok"] for r in run["records"]),
            "p50_s": percentile(times, 50), "max_s": max(times),
            "told": dict(Counter(r["kind"] for r in run["records"]).most_common()),
            "recovered_s": run["recovered_s"], "sent_again": sum(
                r["sent"] - 1 for r in run["records"]),
            "lost": run.get("lost"), "twice": run.get("twice"),
            "blocked_s": run.get("blocked_s"), "mid_turn": run.get("mid_turn")})
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    """The table that goes into docs/benchmarks.md."""
    print(f"| fault | messages (widget) | answered | within {TARGET_S:g} s (widget) "
          "| in the customer's language "
          "| p50 / max | sent again | lost / twice in the tracker | what customers were told "
          "| normal again after |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        told = ", ".join(f"{k} ×{v}" for k, v in r["told"].items())
        back = "—" if r["fault"].startswith("none") else (
            f"{r['recovered_s']:.1f} s" if r["recovered_s"] is not None else "not within 90 s")
        if r["blocked_s"] is not None:
            back += f" (conversation blocked {r['blocked_s']:.1f} s" + (
                ")" if r["mid_turn"] else "; the turn had ended before the kill)")
        print(f"| {r['fault']} | {r['messages']} ({r['widget']}) | {r['answered']} | "
              f"{r['within_target']} ({r['widget_within']}) | "
              f"{r['language_ok']} | {r['p50_s']:.2f} / {r['max_s']:.2f} s | {r['sent_again']} "
              f"| {r['lost']} / {r['twice']} | {told} | {back} |")


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
    ax.set_ylabel("seconds to the answer (REST and widget)")
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
    parser.add_argument("--hold", type=float, default=30.0,
                        help="seconds RabbitMQ stays away")
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
                if key == "rasa0":
                    runs.append(kill_mid_turn(stack, args.messages))
                elif key == "redis":
                    def restart(relay: ThreadedRelay = relays["redis"]) -> None:
                        relay.cut()
                        forget_locks(stack.settings["LOCK_KEY_PREFIX"])
                    runs.append(run_fault(stack, FAULTS[key], restart,
                                          relays[key].restore, args.messages))
                elif key in relays:
                    runs.append(run_fault(stack, FAULTS[key], relays[key].cut,
                                          relays[key].restore, args.messages,
                                          hold=args.hold if key == "rabbitmq" else 0.0))
                else:
                    runs.append(run_fault(stack, FAULTS[key],
                                          lambda server=key: stack.kill(server), nothing,
                                          args.messages))
            # the outage's turns wait in the tracker journal until it is written
            waited = journal_written(stack.settings["LOCK_KEY_PREFIX"])
            print(f"tracker journal written {waited} s after the last fault", file=sys.stderr)
            for run in runs:
                run["journal_written_s"] = waited
            kept_once(stack.database_url, runs)  # PostgreSQL itself, not the relay
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
