"""``make desk-report``: how human handoff is going, from the handoff queue's database.

Handoffs by reason and by language, time to the first agent reply (p50/p95),
the share handed back to the assistant (resolved) vs. cancelled or still open,
and customer satisfaction (CSAT, 1-5: mean and distribution). Where the
conversation stream is consumed (scaled mode: ``python -m stream`` into the shop
database), also every conversation: by channel and language, the share with a
fallback, with an offer of a person and handed to one. Prints a table, writes
``reports/desk-report.md`` and ``reports/desk-report.png``.

    python -m scripts.desk_report [--days 30] [--db sqlite:///data/handoff.db]
                                  [--stream-db postgresql://…/shop]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections import Counter
from pathlib import Path
from typing import Any

from handoff import HandoffService
from handoff.models import Handoff
from scripts.bench_chat import percentile
from stream.facts import ConversationFacts


def summarise(handoffs: list[Handoff]) -> dict[str, Any]:
    """The report's figures."""
    first = [h.first_reply_at - h.requested_at for h in handoffs if h.first_reply_at]
    states = Counter(h.state for h in handoffs)
    csat = [h.csat for h in handoffs if h.csat]
    resolved = states.get("resolved", 0)
    return {
        "handoffs": len(handoffs),
        "by_reason": dict(Counter(h.reason for h in handoffs).most_common()),
        "by_language": dict(Counter(h.language for h in handoffs).most_common()),
        "by_channel": dict(Counter(h.channel for h in handoffs).most_common()),
        "states": dict(states),
        "tickets_outside_hours": sum(h.outside_hours for h in handoffs),
        "first_reply_p50_s": percentile(first, 50) if first else None,
        "first_reply_p95_s": percentile(first, 95) if first else None,
        "handback_rate": round(resolved / len(handoffs), 3) if handoffs else None,
        "csat_answers": len(csat),
        "csat_mean": round(statistics.fmean(csat), 2) if csat else None,
        "csat_distribution": {str(k): csat.count(k) for k in range(1, 6)},
        "csat_response_rate": round(len(csat) / resolved, 3) if resolved else None,
    }


def conversations(facts: list[ConversationFacts]) -> dict[str, Any]:
    """The stream's figures: every conversation, not only those handed to a person."""
    def share(n: int) -> float | None:
        return round(n / len(facts), 3) if facts else None

    messages = [f.customer_messages for f in facts]
    return {
        "conversations": len(facts),
        "by_channel": dict(Counter(f.channel or "-" for f in facts).most_common()),
        "by_language": dict(Counter(f.language or "-" for f in facts).most_common()),
        "customer_messages_p50": percentile([float(m) for m in messages], 50)
        if messages else None,
        "with_fallback": share(sum(f.fallbacks > 0 for f in facts)),
        "offered_a_person": share(sum(f.person_offers > 0 for f in facts)),
        "handed_to_a_person": share(sum(f.handoffs > 0 for f in facts)),
        "known_customers": share(sum(f.customer_id is not None for f in facts)),
    }


def conversations_table(report: dict[str, Any]) -> str:
    """The stream's figures as a Markdown table."""
    def pct(value: float | None) -> str:
        return "-" if value is None else f"{value:.0%}"

    rows = [("conversations", report["conversations"]),
            ("by channel", ", ".join(f"{k} {v}" for k, v in report["by_channel"].items())
             or "-"),
            ("by language", ", ".join(f"{k} {v}" for k, v in report["by_language"].items())
             or "-"),
            ("customer messages (median)", report["customer_messages_p50"] or "-"),
            ("with a fallback", pct(report["with_fallback"])),
            ("offered a person", pct(report["offered_a_person"])),
            ("handed to a person", pct(report["handed_to_a_person"])),
            ("signed-in customers", pct(report["known_customers"]))]
    return "\n".join(["| conversations (event stream) | value |", "|---|---|",
                      *(f"| {k} | {v} |" for k, v in rows)])


def table(report: dict[str, Any]) -> str:
    """The report as a Markdown table."""
    def seconds(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f} s"

    rows = [("handoffs", report["handoffs"]),
            ("by reason", ", ".join(f"{k} {v}" for k, v in report["by_reason"].items()) or "-"),
            ("by language", ", ".join(f"{k} {v}" for k, v in report["by_language"].items())
             or "-"),
            ("by channel", ", ".join(f"{k} {v}" for k, v in report["by_channel"].items())
             or "-"),
            ("states", ", ".join(f"{k} {v}" for k, v in report["states"].items()) or "-"),
            ("tickets (closed / nobody online)", report["tickets_outside_hours"]),
            ("first agent reply p50", seconds(report["first_reply_p50_s"])),
            ("first agent reply p95", seconds(report["first_reply_p95_s"])),
            ("handed back (resolved)", "-" if report["handback_rate"] is None
             else f"{report['handback_rate']:.0%}"),
            ("CSAT mean (1-5)", report["csat_mean"] if report["csat_mean"] else "-"),
            ("CSAT answers / resolved", "-" if report["csat_response_rate"] is None
             else f"{report['csat_answers']} ({report['csat_response_rate']:.0%})")]
    return "\n".join(["| figure | value |", "|---|---|",
                      *(f"| {k} | {v} |" for k, v in rows)])


def plot(report: dict[str, Any], handoffs: list[Handoff], path: Path) -> None:
    """Four panels: reasons, languages, first-reply times, CSAT."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(14, 3.2))
    for ax, key, title in ((axes[0], "by_reason", "handoffs by reason"),
                           (axes[1], "by_language", "by language")):
        data = report[key]
        ax.bar(list(data), list(data.values()), color="#3b6ef5")
        ax.set_title(title, fontsize=9)
        ax.tick_params(labelsize=7)
    first = [h.first_reply_at - h.requested_at for h in handoffs if h.first_reply_at]
    axes[2].hist(first or [0], bins=20, color="#2f9e44")
    axes[2].set_title("time to first agent reply (s)", fontsize=9)
    axes[3].bar(list(report["csat_distribution"]), list(report["csat_distribution"].values()),
                color="#f59f00")
    axes[3].set_title(f"CSAT (mean {report['csat_mean'] or '-'})", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, print and write the report."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=float, default=30.0)
    parser.add_argument("--db", default=os.environ.get("HANDOFF_DB_URL") or
                        f"sqlite:///{Path(os.environ.get('SHOP_DATA_DIR', 'data')) / 'handoff.db'}")
    parser.add_argument("--stream-db", default=os.environ.get("DATABASE_URL"),
                        help="the shop database the stream's consumer writes to")
    parser.add_argument("--out", type=Path, default=Path("reports"))
    args = parser.parse_args(argv)
    service = HandoffService(url=args.db)
    service.create_schema()
    since = time.time() - args.days * 86400
    handoffs = service.history(since=since)
    report = summarise(handoffs)
    text = table(report)
    if args.stream_db:
        from shop.db import make_engine
        from stream.store import StreamStore

        report["stream"] = conversations(
            StreamStore(make_engine(args.stream_db)).conversations(since=since))
        text += "\n\n" + conversations_table(report["stream"])
    print(f"Human handoff, last {args.days:g} days\n\n{text}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "desk-report.md").write_text(text + "\n", "utf-8")
    (args.out / "desk-report.json").write_text(json.dumps(report, indent=2), "utf-8")
    plot(report, handoffs, args.out / "desk-report.png")
    print(f"\nwrote {args.out / 'desk-report.md'} and desk-report.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
