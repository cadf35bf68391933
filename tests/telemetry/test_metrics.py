"""The metrics' names, the readiness latch and the request ids."""

from __future__ import annotations

import asyncio

from prometheus_client import generate_latest

from telemetry import metrics
from telemetry.web import Readiness, metrics_token, request_id


def test_every_series_name_is_known() -> None:
    names = metrics.names()
    assert {"shop_turns_total", "shop_turn_seconds_bucket", "shop_handoff_queue_length",
            "shop_stream_events_total", "shop_http_requests_total"} <= names
    assert all(name.startswith("shop_") for name in names)


def test_served_series_are_among_the_names() -> None:
    metrics.TURNS.labels("rest", "en").inc()
    served = {line.split("{")[0].split(" ")[0]
              for line in generate_latest().decode().splitlines()
              if line.startswith("shop_")}
    assert "shop_turns_total" in served and served <= metrics.names()


def test_ready_once_every_check_passed_and_then_stays_ready() -> None:
    answers = {"model": False, "database": True}
    readiness = Readiness("test", {"model": lambda: answers["model"],
                                   "database": lambda: answers["database"]})
    assert asyncio.run(readiness.state()) == {"model": False, "database": True}
    assert not readiness.ready
    answers["model"] = True
    asyncio.run(readiness.state())
    assert readiness.ready
    answers["database"] = False  # a shared database blinks: still ready, and says so
    assert asyncio.run(readiness.state()) == {"model": True, "database": False}
    assert readiness.ready


def test_a_check_that_hangs_or_fails_is_not_ready() -> None:
    import time

    def hangs() -> bool:
        time.sleep(5)
        return True

    def fails() -> bool:
        raise ConnectionError("refused")

    readiness = Readiness("test", {"hangs": hangs, "fails": fails})

    async def timed() -> tuple[dict[str, bool], float]:
        started = time.monotonic()
        return await readiness.state(), time.monotonic() - started

    state, took = asyncio.run(timed())
    assert state == {"hangs": False, "fails": False}
    assert took < 3.5 and not readiness.ready


def test_a_callers_request_id_is_kept_only_when_well_formed() -> None:
    assert request_id("5f0c2a9e-8b7d") == "5f0c2a9e-8b7d"
    for bad in (None, "", "short", "<script>alert(1)</script>", "x" * 65, "a b c d e f g h"):
        made = request_id(bad)
        assert made != bad and len(made) == 32


def test_a_short_metrics_token_is_refused() -> None:
    import pytest

    assert metrics_token({}) is None
    assert metrics_token({"METRICS_TOKEN": "x" * 16}) == "x" * 16
    with pytest.raises(ValueError):
        metrics_token({"METRICS_TOKEN": "short"})
