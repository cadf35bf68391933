"""Degrade, don't stall (``actions/resilience.py``): a dependency of a turn that is slow
or down gets a time limit and a circuit breaker, and the customer gets a stated
fallback at once instead of a wait."""

from __future__ import annotations

import asyncio
import re
import time
from decimal import Decimal
from typing import Any

import pytest

from actions.constants import Intent, Response, Slot
from actions.recommend import ActionRecommend
from actions.resilience import Breaker, Unavailable, reset_breakers
from tests.conftest import entity, make_tracker, run_action, slot_events


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _call(b: Breaker, fn: Any) -> Any:
    return asyncio.run(b.call(fn))


def test_a_late_call_is_given_up_within_its_time_limit() -> None:
    b = Breaker("slow", timeout=0.2)
    started = time.monotonic()
    with pytest.raises(Unavailable, match="no answer within 0.2 s"):
        _call(b, lambda: time.sleep(2))
    assert time.monotonic() - started < 1.0


def test_the_breaker_opens_after_failures_in_a_row_and_tries_again_later() -> None:
    clock, calls = Clock(), []

    def failing() -> None:
        calls.append(1)
        raise ConnectionError("down")

    b = Breaker("dep", timeout=1, failures=3, reset_seconds=30, clock=clock)
    for _ in range(3):
        with pytest.raises(Unavailable):
            _call(b, failing)
    assert b.is_open and len(calls) == 3
    with pytest.raises(Unavailable, match="open"):
        _call(b, failing)  # refused at once: the dependency is not asked
    assert len(calls) == 3
    clock.now = 31  # half-open: one trial, which fails: open again
    with pytest.raises(Unavailable):
        _call(b, failing)
    assert len(calls) == 4 and b.is_open
    clock.now = 62  # the next trial succeeds: closed
    assert _call(b, lambda: "ok") == "ok"
    assert not b.is_open and _call(b, lambda: 7) == 7


def test_a_success_clears_earlier_failures() -> None:
    b = Breaker("dep", timeout=1, failures=2)
    with pytest.raises(Unavailable):
        _call(b, lambda: 1 / 0)
    assert _call(b, lambda: 1) == 1
    with pytest.raises(Unavailable):
        _call(b, lambda: 1 / 0)
    assert not b.is_open  # one failure since the last success


class SlowRecommender:
    """A recommender that takes ``seconds`` to answer (a busy model server)."""

    def __init__(self, seconds: float) -> None:
        self.seconds, self.calls = seconds, 0

    def for_user(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        time.sleep(self.seconds)
        raise AssertionError("nobody waits this long")


@pytest.mark.parametrize(("lang", "text", "limit", "money"), [
    ("en", "recommend something under $60", 60, r"\$([\d,.]+)"),
    ("zh", "有什么推荐的，400元以下", 400, r"¥([\d,.]+)")])
def test_a_slow_recommender_gets_the_catalog_at_once_and_is_left_alone(
        demo_settings: Any, monkeypatch: pytest.MonkeyPatch, lang: str, text: str,
        limit: int, money: str) -> None:
    from actions import recommend, settings

    monkeypatch.setenv("DEPENDENCY_TIMEOUT_SECONDS", "0.5")
    monkeypatch.setenv("BREAKER_FAILURES", "1")
    settings.settings.cache_clear()
    reset_breakers()
    slow = SlowRecommender(5)
    monkeypatch.setattr(recommend, "recommender", lambda: slow)
    amount = re.search(r"\$?\d+元?", text).group(0)  # type: ignore[union-attr]
    tracker = make_tracker(text, intent=Intent.ASK_RECOMMENDATION, slots={"language": lang},
                           entities=[entity("price", amount, text.index(amount), role="max")])
    started = time.monotonic()
    messages, events = run_action(ActionRecommend(), tracker)
    assert time.monotonic() - started < 2.0  # answered within 2 s, not after 5
    assert [m["response"] for m in messages] == [Response.RECOMMEND_BUSY]
    prices = [Decimal(p.replace(",", "")) for p in re.findall(money, messages[0]["items"])]
    assert prices and all(p <= limit for p in prices)  # the budget still holds
    assert len(slot_events(events)[Slot.SHOWN_PRODUCTS]) == len(prices)
    # open now: the next customer is answered without asking the recommender
    started = time.monotonic()
    messages, _ = run_action(ActionRecommend(), tracker)
    assert time.monotonic() - started < 0.5 and slow.calls == 1
    assert messages[0]["response"] == Response.RECOMMEND_BUSY
    reset_breakers()
    settings.settings.cache_clear()


class FlakyBackend:
    """A graph server's back end that is down until told otherwise."""

    name = "remote"

    def __init__(self) -> None:
        self.up, self.queries = False, 0

    def select(self, query: str, bindings: dict[str, Any]) -> list[Any]:
        self.queries += 1
        if not self.up:
            from knowledge_graph.errors import KnowledgeGraphError

            raise KnowledgeGraphError("SPARQL endpoint unreachable: ConnectionError")
        return [query]

    def __len__(self) -> int:
        return 7


def test_a_graph_server_that_is_down_is_left_alone_then_tried_again() -> None:
    """Queries to a graph server that is down fail; after ``failures`` of them the
    breaker refuses at once (no query leaves), then lets one through and closes."""
    from actions.resilience import GuardedBackend

    clock, flaky = Clock(), FlakyBackend()
    backend = GuardedBackend(flaky, Breaker("product_graph", timeout=1, failures=2,
                                            reset_seconds=30, clock=clock))
    for _ in range(2):
        with pytest.raises(Unavailable):
            backend.select("search", {})
    with pytest.raises(Unavailable, match="open"):
        backend.select("search", {})
    assert flaky.queries == 2  # refused without asking the server
    flaky.up, clock.now = True, 31
    assert backend.select("search", {}) == ["search"] and len(backend) == 7
    assert flaky.queries == 3


def _select_one(engine: Any) -> Any:
    import sqlalchemy as sa

    with engine.connect() as connection:
        return connection.execute(sa.text("SELECT 1")).scalar()


def test_a_database_that_is_slow_or_away_fails_within_its_limit_then_at_once() -> None:
    """The shop's PostgreSQL (127.0.0.1:5432) behind a relay the test cuts: a slow
    statement is cancelled at the time limit, a database that is away fails the call,
    then the breaker refuses at once, and answers come back once it returns."""
    import sqlalchemy as sa

    from actions.resilience import guard_engine
    from shop.db import make_engine
    from tests.relay import ThreadedRelay

    relay = ThreadedRelay(("127.0.0.1", 5432))
    breaker = Breaker("shop_database", timeout=1.0, failures=2, reset_seconds=1.0)
    engine = guard_engine(make_engine(
        f"postgresql+psycopg2://postgres@127.0.0.1:{relay.port}/postgres",
        query_timeout=1.0), breaker)
    try:
        assert _select_one(engine) == 1
        started = time.monotonic()
        with pytest.raises(sa.exc.OperationalError, match="statement timeout"), \
                engine.connect() as connection:
            connection.execute(sa.text("SELECT pg_sleep(5)"))
        assert time.monotonic() - started < 2.0  # not the 5 s it asked for
        relay.cut()
        with pytest.raises((sa.exc.OperationalError, Unavailable)):
            _select_one(engine)
        assert breaker.is_open
        started = time.monotonic()
        for _ in range(5):
            with pytest.raises(Unavailable):
                _select_one(engine)
        assert time.monotonic() - started < 0.1  # refused at once, nothing waited for
        relay.restore()
        time.sleep(1.1)
        assert _select_one(engine) == 1 and not breaker.is_open
    finally:
        engine.dispose()
        relay.close()


def _guarded_on_relay(breaker: Breaker):  # type: ignore[no-untyped-def]
    from actions.resilience import guard_engine
    from shop.db import make_engine
    from tests.relay import ThreadedRelay

    relay = ThreadedRelay(("127.0.0.1", 5432))
    return relay, guard_engine(make_engine(
        f"postgresql+psycopg2://postgres@127.0.0.1:{relay.port}/postgres",
        query_timeout=2.0), breaker)


def test_a_trial_that_ends_in_a_statements_own_error_closes_the_breaker() -> None:
    """The first call after an outage is the half-open trial. When its statement fails
    on its own (a constraint, a missing table), the database answered: the next calls
    go through at once, not after another pause (one such trial, the price publisher's
    racing insert, kept every call of an action server refused after PostgreSQL came
    back)."""
    import sqlalchemy as sa

    breaker = Breaker("shop_database", timeout=2.0, failures=2, reset_seconds=0.5)
    relay, engine = _guarded_on_relay(breaker)
    try:
        assert _select_one(engine) == 1
        relay.cut()
        for _ in range(2):
            with pytest.raises((sa.exc.OperationalError, Unavailable)):
                _select_one(engine)
        relay.restore()
        time.sleep(0.6)
        with pytest.raises(sa.exc.ProgrammingError), engine.connect() as connection:
            connection.execute(sa.text("SELECT * FROM no_such_table"))  # the trial
        assert _select_one(engine) == 1 and not breaker.is_open
    finally:
        engine.dispose()
        relay.close()


def test_a_stale_pooled_connection_does_not_reopen_the_breaker() -> None:
    """Connections an outage dropped while they sat in the pool are found by the pool's
    ping after the database is back, and replaced: the first call is answered."""
    import sqlalchemy as sa

    breaker = Breaker("shop_database", timeout=2.0, failures=2, reset_seconds=0.5)
    relay, engine = _guarded_on_relay(breaker)
    try:
        held = [engine.connect() for _ in range(3)]
        for connection in held:
            connection.execute(sa.text("SELECT 1"))
        for connection in held:
            connection.close()  # back in the pool
        relay.cut()  # drops them
        for _ in range(2):  # the outage, seen by another user of the database
            breaker.record(False)
        relay.restore()
        time.sleep(0.6)
        assert _select_one(engine) == 1 and not breaker.is_open
    finally:
        engine.dispose()
        relay.close()


def test_a_statements_own_error_does_not_shut_the_database() -> None:
    """A constraint or a bad statement is the statement's fault, not the database's:
    however many, the breaker stays closed."""
    import sqlalchemy as sa

    from actions.resilience import guard_engine
    from shop.db import make_engine

    breaker = Breaker("shop_database", timeout=1.0, failures=2, reset_seconds=30.0)
    engine = guard_engine(make_engine("postgresql+psycopg2://postgres@127.0.0.1:5432/postgres",
                                      query_timeout=1.0), breaker)
    try:
        for _ in range(4):
            with pytest.raises(sa.exc.ProgrammingError), engine.connect() as connection:
                connection.execute(sa.text("SELECT * FROM no_such_table"))
        assert not breaker.is_open and _select_one(engine) == 1
    finally:
        engine.dispose()
