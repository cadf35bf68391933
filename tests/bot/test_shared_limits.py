"""Rate limits shared by every process through Redis (``REDIS_URL``), and what happens
when Redis is slow or gone: a message is never stalled, this process counts alone."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
import redis

from bot.channels.checks import Throttled
from bot.channels.gate import ChannelGate, RateLimiter, SharedRateLimiter, make_limiter
from bot.settings import SettingsError, load_settings

URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def prefix() -> Iterator[str]:
    name = f"t{uuid.uuid4().hex[:10]}:"
    yield name
    client = redis.Redis()
    for key in client.scan_iter(f"{name}*"):
        client.delete(key)


def test_two_servers_share_one_count(prefix: str) -> None:
    """A customer landing on two servers behind the load balancer gets the limit once."""
    one, two = SharedRateLimiter(URL, prefix=prefix), SharedRateLimiter(URL, prefix=prefix)
    one.hit("conversation:rest:c1", limit=3, window=60)
    two.hit("conversation:rest:c1", limit=3, window=60)
    one.hit("conversation:rest:c1", limit=3, window=60)
    with pytest.raises(Throttled) as refused:
        two.hit("conversation:rest:c1", limit=3, window=60)
    assert refused.value.scope == "conversation"
    assert refused.value.retry_after == 60
    two.hit("conversation:rest:c2", limit=3, window=60)  # another conversation counts alone
    keys = redis.Redis().keys(f"{prefix}*")
    assert 0 < redis.Redis().pttl(keys[0]) <= 60_000  # nothing kept past its window


def test_the_window_slides(prefix: str) -> None:
    limiter = SharedRateLimiter(URL, prefix=prefix)
    limiter.hit("ip:x", limit=1, window=0.3)
    with pytest.raises(Throttled):
        limiter.hit("ip:x", limit=1, window=0.3)
    time.sleep(0.35)
    limiter.hit("ip:x", limit=1, window=0.3)


def test_redis_down_counts_in_this_process_and_never_stalls() -> None:
    clock = [0.0]
    limiter = SharedRateLimiter("redis://127.0.0.1:1/0", timeout=0.2, retry_after=5,
                                clock=lambda: clock[0])
    started = time.monotonic()
    limiter.hit("conversation:rest:c1", limit=2, window=60)
    limiter.hit("conversation:rest:c1", limit=2, window=60)
    with pytest.raises(Throttled):
        limiter.hit("conversation:rest:c1", limit=2, window=60)
    assert time.monotonic() - started < 1.0  # one failed try, then local counting
    assert limiter._down_until == 5  # tries Redis again after retry_after


def test_a_gate_with_redis_url_shares_its_limits(prefix: str) -> None:
    settings = load_settings({"REDIS_URL": URL, "LIMIT_MESSAGES_PER_SENDER": "2",
                              "CHANNEL_SECRET": "s" * 32})
    servers = [ChannelGate(settings, limiter=SharedRateLimiter(URL, prefix=prefix))
               for _ in range(2)]
    servers[0].admit(sender="c1", text="hi", metadata={}, address="10.0.0.1", channel="rest")
    servers[1].admit(sender="c1", text="hi", metadata={}, address="10.0.0.2", channel="rest")
    with pytest.raises(Throttled):
        servers[0].admit(sender="c1", text="hi", metadata={}, address="10.0.0.3",
                         channel="rest")


def test_the_embedded_default_needs_no_redis() -> None:
    assert type(make_limiter(None)) is RateLimiter
    assert isinstance(make_limiter(URL), SharedRateLimiter)
    assert load_settings({}).redis_url is None
    with pytest.raises(SettingsError, match="REDIS_URL"):
        load_settings({"REDIS_URL": "http://127.0.0.1:6379"})
