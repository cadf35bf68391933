"""The channels' SQL database (``CHANNEL_DB_URL``): one way to open it."""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

import sqlalchemy as sa

from shop.postgres import server_options

__all__ = ["UNREACHABLE", "channel_engine", "made", "server_options", "when_reachable"]

logger = logging.getLogger(__name__)

#: The database is unreachable (refused, gone, timed out): not a statement's own error.
UNREACHABLE = (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError)


def when_reachable(make: Callable[[], None], *, what: str,
                   retry_seconds: float = 2.0) -> bool:
    """Run ``make`` (create tables, migrate) now, or, when the database is away, in a
    background thread once it answers: a database that is away is no reason for a
    server not to start (it answers meanwhile, as it does during an outage). Whether
    it ran now."""
    try:
        make()
        return True
    except UNREACHABLE as exc:
        logger.warning("database away at start (%s): %s made once it answers",
                       type(exc).__name__, what)

    def again() -> None:
        while True:
            time.sleep(retry_seconds)
            try:
                make()
            except UNREACHABLE:
                continue
            except Exception:  # noqa: BLE001 - a schema error is logged, not retried
                logger.exception("%s not made", what)
            else:
                logger.info("%s made: the database answers again", what)
            return

    threading.Thread(target=again, name="when-reachable", daemon=True).start()
    return False


def made(engine: sa.engine.Engine, metadata: sa.MetaData, *,
         then: Callable[[sa.engine.Engine], None] | None = None) -> bool:
    """Create ``metadata``'s missing tables, then run ``then`` (a migration), now or
    once the database answers (:func:`when_reachable`)."""

    def make() -> None:
        metadata.create_all(engine)
        if then is not None:
            then(engine)

    return when_reachable(make, what=f"tables {', '.join(sorted(metadata.tables))}")


def channel_engine(url: str, metadata: sa.MetaData, *, timeout: float = 10,
                   then: Callable[[sa.engine.Engine], None] | None = None
                   ) -> sa.engine.Engine:
    """An engine on the channels' database with ``metadata``'s tables made and ``then``
    run (:func:`made`). A SQLite file is shared by the event loop's worker threads, and
    a writer waits up to ``timeout`` seconds for another's lock; a server database as
    :func:`server_options` says."""
    options = server_options(url)
    if url.startswith("sqlite"):
        options = {"connect_args": {"check_same_thread": False, "timeout": timeout}}
    engine = sa.create_engine(url, future=True, **options)
    made(engine, metadata, then=then)
    return engine
