"""Database engines and sessions for the shop's SQL store."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from shop.models import Base
from shop.postgres import bounded_connection


def sqlite_url(path: Path) -> str:
    """SQLAlchemy URL of a SQLite file."""
    return f"sqlite:///{path.resolve()}"


def make_engine(url: str, *, query_timeout: float | None = None) -> Engine:
    """Create an engine for ``url``; SQLite gets foreign keys and WAL mode.

    Args:
        url: Any SQLAlchemy database URL (``sqlite:///…``, ``postgresql://…``).
        query_timeout: For a server that serves customers' turns (the action server):
            seconds a statement may run and the longest wait for a pooled connection.
            On PostgreSQL also a connection time limit (libpq's least: 2 s), TCP
            keepalives and a TCP user timeout (:func:`bounded_connection`), so a server
            that is slow, refuses, whose host is gone or whose network path stalls
            fails the call within seconds instead of holding it. ``None`` (batch jobs,
            imports): the drivers' defaults.
    """
    options: dict[str, object] = {}
    if query_timeout is not None and url.startswith("postgresql"):
        options = {"pool_timeout": query_timeout, "connect_args": {
            **bounded_connection(query_timeout),
            "options": f"-c statement_timeout={int(query_timeout * 1000)}"}}
    engine = create_engine(url, future=True, pool_pre_ping=True, **options)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

    return engine


def create_schema(engine: Engine, *, drop_first: bool = False) -> None:
    """Create every shop table (optionally dropping existing ones first)."""
    if drop_first:
        Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory whose objects stay readable after commit."""
    return sessionmaker(engine, expire_on_commit=False)
