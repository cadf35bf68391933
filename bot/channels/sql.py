"""The channels' SQL database (``CHANNEL_DB_URL``): one way to open it."""

from __future__ import annotations

from typing import Any, Dict

import sqlalchemy as sa

from shop.postgres import bounded_connection

CONNECT_TIMEOUT = 3  # seconds to reach a database server


def server_options(url: str) -> Dict[str, Any]:
    """``create_engine`` options for a database server (none for SQLite): it is given
    up on after a few seconds when it does not answer or its network path stalls
    (:func:`shop.postgres.bounded_connection`), and a connection it dropped (a restart,
    an outage) is replaced before use rather than failing the next request."""
    if url.startswith("sqlite"):
        return {}
    options: Dict[str, Any] = {"pool_pre_ping": True}
    if url.startswith("postgresql"):
        options["connect_args"] = bounded_connection(CONNECT_TIMEOUT)
    return options


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
