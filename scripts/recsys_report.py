"""Per-variant click-through and conversion of recommendation experiments.

Conversion: a shown product the same customer ordered within ``--days`` days
after it was shown (orders come from the shop database; anonymous visitors
cannot convert). Prints a table and writes ``reports/recsys_experiment.png``.

Usage: ``python -m scripts.recsys_report [--experiment NAME] [--days 14]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from actions.settings import load_settings
from recsys.experiments import Event, VariantStats, report
from shop.db import make_engine, session_factory
from shop.feedback import FeedbackStore


def collect(store: FeedbackStore, experiment: str | None, days: int) -> list[Event]:
    """Logged events plus purchases attributed to the impressions before them."""
    rows = store.events(experiment)
    events = [Event(r.request_id, r.sender_id, r.variant or "", r.product_sku, r.kind)
              for r in rows]
    shown = [r for r in rows if r.kind == "shown" and r.customer_id]
    orders = store.purchases_after({r.customer_id for r in shown if r.customer_id})
    window = dt.timedelta(days=days)
    for r in shown:
        if any(c == r.customer_id and s == r.product_sku and r.timestamp <= t <= r.timestamp
               + window for c, s, t in orders):
            events.append(Event(r.request_id, r.sender_id, r.variant or "", r.product_sku,
                                "purchase"))
    return events


def plot(stats: list[VariantStats], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    names = [s.variant for s in stats]
    for offset, label, values, bounds in (
            (-0.2, "click-through", [s.ctr for s in stats], [s.ctr_interval for s in stats]),
            (0.2, "conversion", [s.conversion for s in stats],
             [s.conversion_interval for s in stats])):
        x = [i + offset for i in range(len(stats))]
        err = [[v - b[0] for v, b in zip(values, bounds, strict=True)],
               [b[1] - v for v, b in zip(values, bounds, strict=True)]]
        ax.bar(x, values, 0.4, yerr=err, capsize=4, label=label)
    ax.set_xticks(range(len(stats)), names)
    ax.set_ylabel("rate per impression (95% Wilson interval)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", default=None)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--out", type=Path, default=Path("reports"))
    args = parser.parse_args(argv)
    settings = load_settings()
    store = FeedbackStore(session_factory(make_engine(settings.database_url)))
    name = args.experiment or settings.recsys_experiment or None
    stats = report(collect(store, name, args.days))
    if not stats:
        print(f"no recommendation events logged{f' for {name}' if name else ''} yet")
        return 0
    print(f"{'variant':<12}{'users':>7}{'lists':>7}{'shown':>7}{'clicks':>7}{'CTR':>8}"
          f"{'bought':>7}{'conv.':>8}")
    for s in stats:
        print(f"{s.variant or '-':<12}{s.users:>7}{s.requests:>7}{s.impressions:>7}"
              f"{s.clicks:>7}{s.ctr:>8.1%}{s.purchases:>7}{s.conversion:>8.1%}")
    args.out.mkdir(parents=True, exist_ok=True)
    plot(stats, args.out / "recsys_experiment.png")
    print(f"wrote {args.out / 'recsys_experiment.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
