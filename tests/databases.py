"""A fresh database for a test: SQLite in the test's folder, or a new PostgreSQL database
on the server every dev and CI machine runs at 127.0.0.1:5432 (skipped, with the reason,
where none answers). Used by the stores tested on both (handoff, deliveries)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

PG = "postgresql+psycopg2://postgres@127.0.0.1:5432"


@contextmanager
def database_url(kind: str, folder: Path, *, prefix: str) -> Iterator[str]:
    """The URL of a new, empty ``sqlite`` or ``postgresql`` database, dropped after."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / f'{prefix}.db'}"
        return
    admin = sa.create_engine(f"{PG}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text("select 1"))
    except Exception as exc:  # pragma: no cover - depends on the machine
        pytest.skip(f"no PostgreSQL server at 127.0.0.1:5432 ({type(exc).__name__})")
    name = f"{prefix}_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{PG}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
