"""PostgreSQL connection settings every process shares (no SQLAlchemy here: the
Rasa environment's SQLAlchemy 1.4 and the action server's 2.x both use it)."""

from __future__ import annotations


def bounded_connection(seconds: float) -> dict[str, int]:
    """libpq settings that give up on a PostgreSQL server within about ``seconds``:
    one that does not answer the connection, a host that is gone (TCP keepalives on
    an idle connection), and a network path that stalls while a query is in flight
    (``tcp_user_timeout``: what was sent is not acknowledged), which keepalives do not
    cover."""
    return {"connect_timeout": max(2, round(seconds)), "keepalives": 1,
            "keepalives_idle": 2, "keepalives_interval": 1, "keepalives_count": 2,
            "tcp_user_timeout": int(seconds * 1000)}
