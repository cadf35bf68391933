"""``python -m desk``: serve the agent desk; ``python -m desk user ...``: manage accounts.

    python -m desk [--host 127.0.0.1] [--port 8090]
    python -m desk user add ann --name "Ann Lee" --role agent --capacity 3
        (the password from DESK_PASSWORD, else asked for twice)
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from desk.settings import SettingsError, settings


def _add_user(args: argparse.Namespace) -> None:
    from desk.accounts import AccountError, Accounts
    from desk.app import database
    from handoff import HandoffService

    config = settings()
    password = os.environ.get("DESK_PASSWORD")
    if not password:
        password = getpass.getpass(f"password for {args.user_id}: ")
        if getpass.getpass("again: ") != password:
            sys.exit("the passwords differ")
    engine = database(config.db_url)
    handoffs = HandoffService(engine=engine)
    handoffs.create_schema()
    accounts = Accounts(engine=engine, handoffs=handoffs)
    accounts.create_schema()
    try:
        user = accounts.create_user(args.user_id, name=args.name or args.user_id,
                                    role=args.role, password=password, capacity=args.capacity)
    except AccountError as exc:
        sys.exit(f"error: {exc}")
    print(f"{user.role} {user.id} ({user.name}) can sign in at /desk/")


def main() -> None:
    """Parse the command line and serve or manage accounts."""
    try:
        config = settings()
    except SettingsError as exc:
        sys.exit(f"configuration error: {exc}")
    parser = argparse.ArgumentParser(prog="python -m desk", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default=config.host)
    parser.add_argument("--port", type=int, default=config.port)
    commands = parser.add_subparsers(dest="command")
    user = commands.add_parser("user", help="manage desk accounts")
    user_commands = user.add_subparsers(dest="action", required=True)
    add = user_commands.add_parser("add", help="create an account (or reset its password)")
    add.add_argument("user_id")
    add.add_argument("--name", default="")
    add.add_argument("--role", choices=("agent", "supervisor"), default="agent")
    add.add_argument("--capacity", type=int, default=3,
                     help="conversations the agent holds at most at once")
    args = parser.parse_args()
    if args.command == "user":
        _add_user(args)
        return
    from desk.app import create_app
    from telemetry.logs import setup

    setup("desk")
    create_app(config).run(host=args.host, port=args.port, single_process=True,
                           access_log=False, motd=False)


if __name__ == "__main__":
    main()
