"""Which shop customer a messaging-platform user is (part of the shared seam).

A WeChat OpenID or a Messenger PSID says who writes, not which of the shop's
customers that is. The shop's login flow (a WeChat OAuth page, Messenger's
account linking) knows both and records the pair here, through
``POST /webhooks/internal/customers`` (:mod:`bot.channels.internal_api`) or
``make link-customer``. A platform channel looks the user up for every message
and passes the customer on as proven (``metadata.verified.customer_id``), so a
linked customer can ask about their orders; an unlinked one is a guest.

State lives in the channels' SQL database (``CHANNEL_DB_URL``); lookups run in a
worker thread.
"""

from __future__ import annotations

import asyncio
import time
from functools import lru_cache

import sqlalchemy as sa

from bot.channels.sql import channel_engine

_metadata = sa.MetaData()
links = sa.Table(
    "channel_customer_links", _metadata,
    sa.Column("channel", sa.String(32), primary_key=True),
    sa.Column("platform_user", sa.String(128), primary_key=True),
    sa.Column("customer_id", sa.String(64), nullable=False),
    sa.Column("linked_at", sa.Float, nullable=False),
)


class CustomerLinks:
    """Platform users linked to shop customers.

    Args:
        url: SQLAlchemy URL of the channels' database.
    """

    def __init__(self, url: str) -> None:
        self._engine = channel_engine(url, _metadata)

    def customer_for(self, channel: str, user: str) -> str | None:
        """The customer ``user`` of ``channel`` is linked to, if any."""
        with self._engine.connect() as db:
            row = db.execute(sa.select(links.c.customer_id).where(
                links.c.channel == channel, links.c.platform_user == user)).first()
        return str(row.customer_id) if row else None

    def link(self, channel: str, user: str, customer_id: str) -> None:
        """Record that ``user`` of ``channel`` is ``customer_id`` (replacing a former link)."""
        with self._engine.begin() as db:
            db.execute(links.delete().where(links.c.channel == channel,
                                            links.c.platform_user == user))
            db.execute(links.insert().values(channel=channel, platform_user=user,
                                             customer_id=customer_id, linked_at=time.time()))

    def unlink(self, channel: str, user: str) -> bool:
        """Forget the link (the customer signed out); whether there was one."""
        with self._engine.begin() as db:
            return bool(db.execute(links.delete().where(
                links.c.channel == channel, links.c.platform_user == user)).rowcount)

    async def lookup(self, channel: str, user: str) -> str | None:
        """:meth:`customer_for` off the event loop."""
        return await asyncio.to_thread(self.customer_for, channel, user)


@lru_cache(maxsize=1)
def shared_links() -> CustomerLinks:
    """The process's links (the channels' database)."""
    from bot.settings import settings

    return CustomerLinks(settings().channel_db_url)


def main(argv: list[str] | None = None) -> int:
    """``python -m bot.channels.links link|unlink CHANNEL USER [CUSTOMER]`` (make link-customer)."""
    import argparse

    from bot.settings import settings

    parser = argparse.ArgumentParser(description="Link a messaging-platform user (a WeChat "
                                                 "OpenID, a Messenger PSID, a WhatsApp wa_id) to a "
                                                 "customer")
    parser.add_argument("action", choices=("link", "unlink"))
    parser.add_argument("channel")
    parser.add_argument("user")
    parser.add_argument("customer", nargs="?")
    args = parser.parse_args(argv)
    store = CustomerLinks(settings().channel_db_url)
    if args.action == "link":
        if not args.customer:
            parser.error("link needs a customer id")
        store.link(args.channel, args.user, args.customer)
        print(f"{args.channel} user {args.user} is customer {args.customer}")
    else:
        print("unlinked" if store.unlink(args.channel, args.user) else "was not linked")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
