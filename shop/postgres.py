"""PostgreSQL connection settings every process shares (no SQLAlchemy here: the
Rasa environment's SQLAlchemy 1.4 and the action server's 2.x both use it)."""

from __future__ import annotations

from typing import Any

#: Seconds a server process waits for a database server that does not answer.
CONNECT_TIMEOUT = 3


def bounded_connection(seconds: float) -> dict[str, int]:
    """libpq settings that give up on a PostgreSQL server within about ``seconds``:
    one that does not answer the connection, a host that is gone (TCP keepalives on
    an idle connection), and a network path that stalls while a query is in flight
    (``tcp_user_timeout``: what was sent is not acknowledged), which keepalives do not
    cover."""
    return {"connect_timeout": max(2, round(seconds)), "keepalives": 1,
            "keepalives_idle": 2, "keepalives_interval": 1, "keepalives_count": 2,
            "tcp_user_timeout": int(seconds * 1000)}


def server_options(url: str | None, *, seconds: float = CONNECT_TIMEOUT) -> dict[str, Any]:
    """``create_engine`` options for a database server that serves customers' or
    agents' requests (none for SQLite): it is given up on after about ``seconds`` when
    it does not answer or its network path stalls (:func:`bounded_connection`), and a
    connection it dropped (a restart, an outage) is replaced before use rather than
    failing the next request. No URL (a store not configured): none."""
    if not url or url.startswith("sqlite"):
        return {}
    options: dict[str, Any] = {"pool_pre_ping": True}
    if url.startswith("postgresql"):
        options["connect_args"] = bounded_connection(seconds)
    return options
