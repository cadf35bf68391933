"""The queue's fixtures (SQLite and PostgreSQL) for every test of the package."""

from tests.handoff.test_handoff import clock, service, url  # noqa: F401 - fixtures
