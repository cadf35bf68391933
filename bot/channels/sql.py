"""The channels' SQL database (``CHANNEL_DB_URL``): one way to open it."""

from __future__ import annotations

import sqlalchemy as sa

from shop.postgres import server_options

__all__ = ["UNREACHABLE", "channel_engine", "server_options"]

#: The database is unreachable (refused, gone, timed out): not a statement's own error.
UNREACHABLE = (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError)


def channel_engine(url: str, metadata: sa.MetaData, *, timeout: float = 10) -> sa.engine.Engine:
    """An engine on the channels' database with ``metadata``'s tables made. A SQLite
    file is shared by the event loop's worker threads, and a writer waits up to
    ``timeout`` seconds for another's lock; a server database as
    :func:`server_options` says."""
    options = server_options(url)
    if url.startswith("sqlite"):
        options = {"connect_args": {"check_same_thread": False, "timeout": timeout}}
    engine = sa.create_engine(url, future=True, **options)
    metadata.create_all(engine)
    return engine
