"""Pricing administration: a conversation's audit trail, customer segments, coupon redemption.

Usage::

    python -m shopctl.pricing audit SENDER_ID [--json]   (make pricing-audit)
    python -m shopctl.pricing segments                    (make pricing-segments)
    python -m shopctl.pricing redeem CODE --order SH-... [--customer C...] [--sku SKU]
    python -m shopctl.pricing competitors FILE.csv        (make import-competitor-prices)

A competitor-price file is CSV with a header: ``sku,price`` and optionally
``currency`` (default: the product's), ``source`` and ``seen_at`` (ISO date).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import sys
from dataclasses import asdict
from pathlib import Path

from actions.services import purchase_history
from actions.settings import load_settings
from pricing.coupons import allocate
from pricing.errors import CouponError
from pricing.ledger import CompetitorPrice, SqlLedger
from pricing.segments import rfm, segment_stats, sensitivity
from shop.db import make_engine, session_factory
from shop.sales import ShopSales


def _money(value: float | None) -> str:
    return f"{value:9.2f}" if value is not None else f"{'-':>9}"


def audit(ledger: SqlLedger, conversation: str, *, as_json: bool) -> int:
    records = ledger.by_conversation(conversation)
    if as_json:
        print(json.dumps([{**asdict(r), "created_at": r.created_at.isoformat()}
                          for r in records], indent=1, ensure_ascii=False))
        return 0
    if not records:
        print(f"no price decisions recorded for conversation {conversation!r}")
        return 0
    print(f"{'when (UTC)':<19} {'kind':<11} {'sku':<12} {'segment':<11} {'list':>9} "
          f"{'policy':>7} {'price':>9} {'status':<9} {'shadow':<6} {'guardrails':<18} "
          f"{'coupon':<14} version")
    for r in records:
        policy = f"{r.policy_action:+.0%}" if r.policy_action is not None else "-"
        print(f"{r.created_at:%Y-%m-%d %H:%M:%S} {r.kind:<11} {r.sku:<12} "
              f"{r.segment or '-':<11} {_money(r.list_price)} {policy:>7} {_money(r.price)} "
              f"{r.status:<9} {'yes' if r.shadow else 'no':<6} "
              f"{','.join(r.adjustments) or '-':<18} {r.coupon or '-':<14} "
              f"{r.policy_version or '-'}")
    return 0


def segments(sales: ShopSales, budget: float, discounts: dict[str, float],
             uplift: dict[str, float]) -> int:
    purchases = purchase_history(sales)
    scores = rfm(purchases, as_of=dt.datetime.now(dt.timezone.utc).replace(tzinfo=None))
    sens = sensitivity(purchases, sales.category_prices())
    stats = segment_stats(purchases, scores)
    print(f"{'segment':<12} {'customers':>9} {'order value':>11} {'margin':>7} "
          f"{'sensitivity':>11}")
    for seg, st in sorted(stats.items(), key=lambda kv: -kv[1].customers):
        members = [c for c, r in scores.items() if r.segment == seg]
        print(f"{seg:<12} {st.customers:>9} {st.order_value:>11.2f} {st.margin:>7.1%} "
              f"{sum(sens.get(c, 0.5) for c in members) / len(members):>11.2f}")
    plan = allocate(stats, budget=budget, discounts=discounts, uplift=uplift)
    print(f"\ncoupon allocation for a budget of {budget:,.2f} per period:")
    for seg, a in plan.items():
        print(f"  {seg:<12} {a.coupons:>4} coupons at {a.discount:.0%}, expected cost "
              f"{a.cost:,.2f}, expected net gain {a.gain:,.2f}")
    if not plan:
        print("  none: no segment's coupon is expected to pay for itself")
    return 0


def competitors(ledger: SqlLedger, sales: ShopSales, path: Path) -> int:
    """Import competitor prices; every bad row is reported and nothing is imported."""
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    rows, errors = [], []
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            if not {"sku", "price"} <= set(reader.fieldnames or ()):
                print(f"refused: {path} needs the columns sku and price", file=sys.stderr)
                return 1
            for line, row in enumerate(reader, start=2):
                sku = (row.get("sku") or "").strip()
                product = sales.product(sku, as_of=now) if sku else None
                try:
                    price = float(row.get("price") or "")
                    seen = dt.datetime.fromisoformat(row["seen_at"]) if row.get("seen_at") \
                        else now
                except ValueError as exc:
                    errors.append(f"line {line}: {exc}")
                    continue
                if product is None:
                    errors.append(f"line {line}: unknown product {sku!r}")
                elif not 0 < price < 1e9:
                    errors.append(f"line {line}: price must be positive, got {price}")
                else:
                    rows.append(CompetitorPrice(sku, price, (row.get("currency") or
                                                             product.currency).upper()[:3],
                                                (row.get("source") or "import")[:64], seen))
    except (OSError, UnicodeDecodeError) as exc:
        print(f"refused: cannot read {path}: {exc}", file=sys.stderr)
        return 1
    if errors:
        print("refused, nothing imported:\n  " + "\n  ".join(errors[:20]), file=sys.stderr)
        return 1
    print(f"recorded {ledger.set_competitor_prices(rows)} competitor prices")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    a = sub.add_parser("audit", help="every price decision of a conversation")
    a.add_argument("conversation")
    a.add_argument("--json", action="store_true")
    sub.add_parser("segments", help="RFM segments and the coupon allocation")
    r = sub.add_parser("redeem", help="use a coupon (once)")
    r.add_argument("code")
    r.add_argument("--order", required=True)
    r.add_argument("--customer")
    r.add_argument("--sku")
    c = sub.add_parser("competitors", help="import competitor prices from a CSV file")
    c.add_argument("file", type=Path)
    args = parser.parse_args(argv)
    settings = load_settings()
    engine = make_engine(settings.database_url)
    if args.command == "audit":
        return audit(SqlLedger(engine), args.conversation, as_json=args.json)
    if args.command == "competitors":
        return competitors(SqlLedger(engine), ShopSales(session_factory(engine)), args.file)
    if args.command == "segments":
        return segments(ShopSales(session_factory(engine)), settings.coupon_budget,
                        dict(settings.coupon_discounts), dict(settings.coupon_uplift))
    try:
        coupon = SqlLedger(engine).redeem(args.code, order_number=args.order,
                                          customer_id=args.customer, sku=args.sku)
    except CouponError as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 1
    print(f"redeemed {coupon.code}: {coupon.discount:.0%} off"
          + (f" {coupon.sku} ({coupon.price_after:.2f} {coupon.currency})"
             if coupon.sku and coupon.price_after is not None else "")
          + f", order {args.order}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
