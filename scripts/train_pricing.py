"""Train the price policy from logged quotes and what customers then ordered; publish it.

Continues the live policy (when its kind, price actions and personal
attributes still match the configuration; ``--fresh`` starts over) with every
quote logged since it was trained whose attribution window
(``PRICING_ATTRIBUTION_DAYS``) has passed:
the units the customer ordered in that window and the reward they earned
(``PRICING_SALES_WEIGHT``, ``PRICING_CHANGE_PENALTY``). Publishes a new version
under ``PRICING_DIR``; a running action server picks it up within
``PRICING_RELOAD_SECONDS``. With no history it publishes the prior policy, so
a new shop starts exploring within its guardrails.

Usage: ``python -m scripts.train_pricing [--policy thompson|dqn]`` (``make train-pricing``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import Any

from tqdm import tqdm

from actions.settings import Settings, load_settings
from pricing.context import Context, Featurizer
from pricing.engine import QuoteStatus
from pricing.errors import PolicyError
from pricing.ledger import SqlLedger
from pricing.store import Outcome, PolicyStore, categories_of, new_policy, train
from shop.db import make_engine, session_factory
from shop.sales import ShopSales

_LEARNABLE = {QuoteStatus.LIVE.value, QuoteStatus.SHADOW.value}


def run(settings: Settings, *, kind: str | None = None, quiet: bool = False,
        now: dt.datetime | None = None, fresh: bool = False) -> dict[str, Any]:
    """Train and publish; returns the new version and what it learnt from.

    Args:
        settings: The shop's settings.
        kind: Policy kind (default ``PRICING_POLICY``).
        quiet: No progress bar.
        now: The time training happens (quotes younger than the attribution
            window wait for the next run).
        fresh: Start from the prior (with the current best-selling categories)
            instead of continuing the live policy.
    """
    kind = kind or settings.pricing_policy
    now = now or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    config = settings.pricing
    engine = make_engine(settings.database_url)
    sales = ShopSales(session_factory(engine))
    ledger = SqlLedger(engine)
    store = PolicyStore(settings.pricing_dir)
    categories = categories_of(sales.sales_by_category())
    featurizer = Featurizer(categories=categories, personalise=config.personalise)
    policy, since, continued = new_policy(kind, featurizer=featurizer, config=config), None, ""
    if not fresh and (version := store.current_version()) is not None:
        try:
            loaded, manifest = store.load(version)
            # the policy keeps the categories it was built with (new ones share the
            # "other" feature) until a fresh start
            if (manifest["kind"] == kind and tuple(manifest["actions"]) == config.actions
                    and tuple(manifest["personalise"]) == config.personalise):
                policy, featurizer, continued = loaded.policy, loaded.featurizer, version
                until = manifest.get("info", {}).get("trained_until")
                since = dt.datetime.fromisoformat(until) if until else None
        except PolicyError as exc:
            print(f"warning: starting afresh, the live policy is unreadable: {exc}",
                  file=sys.stderr)
    until = now - dt.timedelta(days=settings.pricing_attribution_days)
    quotes = [q for q in ledger.quotes(since=since)
              if q.created_at < until and q.status in _LEARNABLE and q.price is not None
              and q.cost is not None and q.list_price]
    ordered = sales.units_ordered(((q.customer_id, q.sku, q.created_at) for q in quotes
                                   if q.customer_id), days=settings.pricing_attribution_days)
    outcomes = []
    last_price: dict[tuple[str, str], float] = {}  # the price each product cell had before
    for q in tqdm(quotes, desc="pricing outcomes", disable=quiet or not quotes):
        assert q.price is not None and q.cost is not None and q.list_price
        units = ordered.get((q.customer_id, q.sku, q.created_at), 0) if q.customer_id else 0
        cell = (q.sku, Context.from_record(q.context).cell())
        reward = config.reward(units=units, price=q.price, cost=q.cost,
                               list_price=q.list_price,
                               previous_price=last_price.get(cell)) / q.list_price
        if not q.shadow:
            last_price[cell] = q.price
        outcomes.append(Outcome(q.context, q.price / q.list_price - 1.0, units, reward))
    used = train(policy, featurizer, outcomes, config)
    new = store.publish(policy, featurizer, config, info={
        "trained_until": until.isoformat(), "outcomes": used, "continued_from": continued,
        "categories": len(featurizer.categories)})
    return {"version": new, "kind": kind, "outcomes": used, "continued_from": continued,
            "categories": len(featurizer.categories)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", choices=("thompson", "dqn"), default=None,
                        help="policy kind (default: PRICING_POLICY)")
    parser.add_argument("--fresh", action="store_true",
                        help="start from the prior instead of continuing the live policy")
    args = parser.parse_args(argv)
    summary = run(load_settings(), kind=args.policy, fresh=args.fresh)
    print(f"price policy {summary['version']} ({summary['kind']}): learnt from "
          f"{summary['outcomes']} quote outcomes, {summary['categories']} categories"
          + (f", continued from {summary['continued_from']}" if summary["continued_from"]
             else ", new"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
