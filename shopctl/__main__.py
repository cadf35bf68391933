"""``python -m shopctl``: the shop's operational commands (``--help`` lists them).

    customer export C10001 [--out FILE]     everything held about a customer, one ZIP
    customer forget C10001 --yes            erase or pseudonymise them everywhere
    customer link wechat OPENID C10001      link (or, without a customer, unlink) a
                                            platform user (runs in Rasa's environment)
    customer sign C10001 --sender CONV      a signed customer id for one conversation
    purge [--days N]                        delete what is older than the retention
    explain CONVERSATION [--json]           the trail of a conversation's decisions
    desk user add ann --name "Ann Lee"      desk accounts
    pricing audit|segments|redeem|competitors ...
    catalog import FILE --mapping MAPPING   import a shop's catalog
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BOT_PYTHON = ROOT / ".venv-bot" / "bin" / "python"


@contextmanager
def _stores() -> Iterator[Any]:
    """The shop's stores as the settings name them (closed after)."""
    from privacy import CustomerData
    from shopctl.settings import settings

    data = CustomerData(settings().stores)
    try:
        yield data
    finally:
        data.close()


def _per_table(rows: dict[str, int]) -> None:
    """The tables that had rows, one line each."""
    for table, count in sorted(rows.items()):
        if count:
            print(f"  {table:24} {count}")


def _customer(argv: list[str]) -> int:
    from shopctl.settings import settings

    parser = argparse.ArgumentParser(prog="python -m shopctl customer")
    sub = parser.add_subparsers(dest="action", required=True)
    export = sub.add_parser("export", help="everything held about a customer, as one ZIP")
    export.add_argument("customer")
    export.add_argument("--out", type=Path)
    forget = sub.add_parser("forget", help="erase or pseudonymise a customer everywhere")
    forget.add_argument("customer")
    forget.add_argument("--yes", action="store_true", help="no question asked")
    link = sub.add_parser("link", help="link a platform user to a customer (none: unlink)")
    link.add_argument("channel", choices=("wechat", "messenger", "whatsapp"))
    link.add_argument("user")
    link.add_argument("customer", nargs="?")
    sign = sub.add_parser("sign", help="a signed customer id for one conversation")
    sign.add_argument("customer")
    sign.add_argument("--sender", required=True)
    sign.add_argument("--ttl", default="3600")
    args = parser.parse_args(argv)
    if args.action == "link":  # the links live with the channels, in Rasa's environment
        action = "link" if args.customer else "unlink"
        os.execv(str(BOT_PYTHON), [str(BOT_PYTHON), "-m", "bot.channels.links", action,
                                   args.channel, args.user, *filter(None, [args.customer])])
    if args.action == "sign":
        from shop.identity import main as sign_main

        return sign_main(["sign", "--customer", args.customer, "--sender", args.sender,
                          "--ttl", args.ttl])
    config = settings()
    with _stores() as data:
        return _export_or_forget(data, args, config.exports_dir)


def _export_or_forget(data: Any, args: argparse.Namespace, exports: Path) -> int:
    from privacy import UnknownCustomer

    try:
        if args.action == "export":
            out = args.out or exports / f"customer-{args.customer}.zip"
            report = data.export(args.customer, out)
            print(f"wrote {report.path}: {sum(report.rows.values())} rows from "
                  f"{len(report.rows)} tables, {len(report.conversations)} conversations, "
                  f"{report.photos} photos")
            _per_table(report.rows)
            return 0
        if not args.yes:
            try:
                sure = input(f"forget {args.customer} everywhere? [y/N] ") == "y"
            except EOFError:  # no one to ask
                sure = False
            if not sure:
                print("nothing done (--yes forgets without asking)")
                return 1
        forgot = data.forget(args.customer)
        print(f"forgot {forgot.customer}: {forgot.conversations} conversations, "
              f"{sum(forgot.deleted.values())} rows deleted, "
              f"{sum(forgot.pseudonymised.values())} kept for the figures as "
              f"{forgot.pseudonym}, {forgot.photos} photos deleted")
        return 0
    except UnknownCustomer:
        print(f"no store knows customer {args.customer}", file=sys.stderr)
        return 1


def _purge(argv: list[str]) -> int:
    from tqdm import tqdm

    from shopctl.settings import settings

    config = settings()
    parser = argparse.ArgumentParser(prog="python -m shopctl purge")
    parser.add_argument("--days", type=float, default=config.retention_days,
                        help=f"keep this many days (RETENTION_DAYS: {config.retention_days:g})")
    args = parser.parse_args(argv)
    with _stores() as data, tqdm(desc="purging", unit="table") as bar:
        def step(table: str, rows: int) -> None:
            bar.set_postfix_str(f"{table}: {rows}")
            bar.update(1)

        report = data.purge(args.days, progress=step)
    print(f"purged what is older than {args.days:g} days: {report.conversations} "
          f"conversations, {sum(report.deleted.values())} rows, {report.photos} photos; "
          f"{sum(report.erased.values())} handoff summaries blanked")
    _per_table(report.deleted)
    return 0


def _explain(argv: list[str]) -> int:
    from shopctl.explain import main as explain_main

    return explain_main(argv)


def _desk(argv: list[str]) -> int:
    sys.argv = ["python -m desk", *argv]
    from desk.__main__ import main as desk_main

    desk_main()
    return 0


def _pricing(argv: list[str]) -> int:
    from shopctl.pricing import main as pricing_main

    return pricing_main(argv)


def _catalog(argv: list[str]) -> int:
    from shopctl.catalog import main as catalog_main

    return catalog_main(argv)


COMMANDS = {"customer": (_customer, "customers' data: export, forget, link, sign"),
            "purge": (_purge, "delete what is older than the retention period"),
            "explain": (_explain, "the trail of a conversation's decisions"),
            "desk": (_desk, "desk accounts: desk user add ..."),
            "pricing": (_pricing, "pricing audit, segments, coupons, competitor prices"),
            "catalog": (_catalog, "import a shop's catalog: catalog import FILE --mapping M")}


def main(argv: list[str] | None = None) -> int:
    """Run one command."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        if argv and argv[0] not in ("-h", "--help"):
            print(f"unknown command {argv[0]!r}", file=sys.stderr)
        print(__doc__)
        for name, (_, what) in COMMANDS.items():
            print(f"  {name:10} {what}")
        return 0 if argv[:1] in ([], ["-h"], ["--help"]) else 2
    command, _ = COMMANDS[argv[0]]
    return command(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
