"""Degrade, don't stall: a time limit and a circuit breaker per dependency of a turn.

A turn that waits on a slow recommender or photo index keeps the customer waiting
(and, on WeChat, past the platform's 5 seconds). :class:`Breaker` runs one call to a
dependency in a worker thread with a time limit; a call that fails or runs over
counts against the dependency, and after ``failures`` in a row the breaker *opens*:
calls fail at once for ``reset_seconds`` (the action answers with its stated
fallback without waiting), then one trial call is let through (*half-open*); if it
succeeds the breaker closes. A call that ran over keeps running in its thread (Python
cannot stop it) but nobody waits for it. A dependency with a time limit of its own
(the graph server's HTTP client) goes through :meth:`Breaker.guard` in the caller's
thread instead (:class:`GuardedBackend`).

``breaker(name)`` gives the action server's one breaker per dependency, with the time
limits and thresholds of ``actions/settings.py`` (``DEPENDENCY_TIMEOUT_SECONDS``,
``BREAKER_FAILURES``, ``BREAKER_RESET_SECONDS``).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from telemetry import metrics

T = TypeVar("T")

#: Threads for dependency calls: a call that ran over still holds one until it ends.
_pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="dependency")


class Unavailable(Exception):
    """A dependency failed, ran over its time limit, or its breaker is open."""

    def __init__(self, name: str, why: str) -> None:
        super().__init__(f"{name}: {why}")
        self.name = name
        self.why = why


@dataclass
class BreakerState:
    """What a breaker knows: failures in a row, and until when it is open."""

    failures: int = 0
    open_until: float = 0.0
    trial: bool = False  # a half-open trial call is under way
    trial_since: float = 0.0


class Breaker:
    """A time limit and a circuit breaker for one dependency.

    Args:
        name: The dependency (``recommender``, ``visual_search``…), in errors and logs.
        timeout: Seconds a call may take.
        failures: Failed or late calls in a row that open the breaker.
        reset_seconds: How long it stays open before a trial call.
        clock: Monotonic seconds; injectable for tests.
    """

    def __init__(self, name: str, *, timeout: float, failures: int = 3,
                 reset_seconds: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self.timeout = timeout
        self.failures = failures
        self.reset_seconds = reset_seconds
        self._clock = clock
        self._state = BreakerState()
        self._lock = threading.Lock()

    @property
    def is_open(self) -> bool:
        """Whether calls are refused right now."""
        with self._lock:
            return self._clock() < self._state.open_until

    def admit(self) -> None:
        """Let one call through, or refuse it at once.

        Raises:
            Unavailable: The breaker is open, or half-open with its trial call under way.
        """
        with self._lock:
            state, now = self._state, self._clock()
            if now < state.open_until:
                raise Unavailable(self.name, "open")
            if state.failures >= self.failures:  # half-open: one trial at a time
                # a trial whose outcome never came (its caller gave up) does not keep
                # the breaker open for ever
                if state.trial and now < state.trial_since + self.reset_seconds:
                    raise Unavailable(self.name, "open")
                state.trial, state.trial_since = True, now

    def record(self, ok: bool) -> None:
        """The outcome of an admitted call: an answer closes the breaker, a failure
        counts towards opening it."""
        with self._lock:
            state = self._state
            state.trial = False
            if ok:
                if state.failures >= self.failures:
                    metrics.BREAKER_OPEN.labels(self.name).set(0)
                state.failures, state.open_until = 0, 0.0
                return
            state.failures += 1
            if state.failures >= self.failures:
                state.open_until = self._clock() + self.reset_seconds
                metrics.BREAKER_OPEN.labels(self.name).set(1)

    async def call(self, fn: Callable[[], T], *,
                   passthrough: tuple[type[Exception], ...] = ()) -> T:
        """``fn()`` in a worker thread within the time limit.

        ``passthrough``: errors that are the request's fault, not the dependency's (a
        damaged photo): raised as they are, and counted as an answer, so strangers'
        bad input cannot open the breaker for everyone.

        Raises:
            Unavailable: The breaker is open, ``fn`` raised, or it ran over.
        """
        self.admit()
        loop = asyncio.get_running_loop()
        try:
            result = await asyncio.wait_for(loop.run_in_executor(_pool, fn), self.timeout)
        except passthrough:
            self.record(True)
            raise
        except asyncio.TimeoutError:
            self.record(False)
            raise Unavailable(self.name, f"no answer within {self.timeout:g} s") from None
        except Exception as exc:  # noqa: BLE001 - any failure of the dependency counts
            self.record(False)
            raise Unavailable(self.name, type(exc).__name__) from exc
        self.record(True)
        return result

    def guard(self, fn: Callable[[], T]) -> T:
        """``fn()`` in the caller's thread, for a dependency that keeps its own time
        limit (an HTTP client's timeout): an open breaker refuses at once.

        Raises:
            Unavailable: The breaker is open, or ``fn`` raised.
        """
        self.admit()
        try:
            result = fn()
        except Exception as exc:  # noqa: BLE001 - any failure of the dependency counts
            self.record(False)
            raise Unavailable(self.name, type(exc).__name__) from exc
        self.record(True)
        return result


class GuardedBackend:
    """A SPARQL back end (the graph on its own server) behind a breaker: when the server
    is down or slow, each query fails at once after ``breaker.failures`` failed ones,
    instead of every query of every turn waiting for its time limit. The action fails,
    and the customer hears "I can't look that up right now" (Rasa's action-failure
    policy) within the time limit; the breaker lets a trial query through after
    ``reset_seconds`` and closes when the server answers again."""

    def __init__(self, backend: Any, breaker: Breaker) -> None:
        self._backend = backend
        self._breaker = breaker
        self.name = f"{backend.name} (guarded)"

    def select(self, query: str, bindings: dict[str, Any]) -> list[Any]:
        """The back end's ``select``, through the breaker."""
        return self._breaker.guard(lambda: self._backend.select(query, bindings))

    def __len__(self) -> int:
        return self._breaker.guard(lambda: len(self._backend))


def guard_engine(engine: Any, breaker: Breaker) -> Any:
    """Put a SQLAlchemy engine (the shop's database) behind ``breaker``: every
    connection taken from it is admitted by the breaker, every statement's answer or
    failure (a time limit of :func:`shop.db.make_engine`, a refused connection)
    recorded. When the database is away or slow, after ``breaker.failures`` failed
    statements every call fails at once with :class:`Unavailable` (the action fails
    and the customer hears "I can't look that up right now") instead of each waiting
    for its time limit; a trial goes through after ``reset_seconds``."""
    from sqlalchemy import event, exc

    @event.listens_for(engine, "do_connect")
    def before_connecting(*_: Any) -> None:
        if breaker.is_open:  # not even a new connection's time limit to wait for
            raise Unavailable(breaker.name, "open")

    @event.listens_for(engine, "engine_connect")
    def admit(connection: Any) -> None:
        breaker.admit()

    @event.listens_for(engine, "after_cursor_execute")
    def answered(*_: Any) -> None:
        breaker.record(True)

    @event.listens_for(engine, "handle_error")
    def failed(context: Any) -> None:
        # a pooled connection an outage dropped, found by the pool's ping: the pool
        # replaces it at once, and that new connection's outcome counts. Counted, it
        # would reopen the breaker on the first call after the database came back.
        if getattr(context, "is_pre_ping", False):
            return
        # the database's fault (away, refused, over its time limit) counts against it;
        # a statement's own (a constraint, a bug) is an answer from a database that
        # works: it closes a half-open breaker as any answer does, instead of leaving
        # its trial open and every other call refused until the trial times out
        breaker.record(not (context.is_disconnect or isinstance(
            context.sqlalchemy_exception, (exc.OperationalError, exc.InterfaceError))))

    return engine


_breakers: dict[str, Breaker] = {}
_breakers_lock = threading.Lock()


def breaker(name: str, *, timeout: float | None = None) -> Breaker:
    """The action server's breaker for dependency ``name``, made on first use with the
    thresholds of the settings and ``timeout`` (default ``DEPENDENCY_TIMEOUT_SECONDS``)."""
    from actions.settings import settings

    with _breakers_lock:
        if name not in _breakers:
            s = settings()
            _breakers[name] = Breaker(name, timeout=timeout or s.dependency_timeout_seconds,
                                      failures=s.breaker_failures,
                                      reset_seconds=s.breaker_reset_seconds)
        return _breakers[name]


def reset_breakers() -> None:
    """Forget every breaker (tests, and new settings)."""
    with _breakers_lock:
        _breakers.clear()
