"""The gate every customer message passes, whatever its channel.

- **Identity by proof**: :meth:`ChannelGate.admit` verifies the signed customer id
  (:mod:`shop.identity`) against the conversation it is sent in and puts the result
  under ``metadata["verified"]``, overwriting whatever a client sent there.
  Downstream code trusts only that key (and ``tapped``, also written by channels).
- **Limits**: per conversation, per client address and per customer, answered with
  a polite message in the customer's language (:class:`RateLimiter`, :func:`polite`);
  shared by every process through Redis when ``REDIS_URL`` is set
  (:class:`SharedRateLimiter`).
- **Platform users**: :func:`admit_platform` admits a messaging platform's message
  (the linked customer, limits per conversation and customer, the photo quota).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable

from bot.channels.checks import BadRequest, Throttled, check_id, check_storable, clean_text
from bot.components.language import detect_language
from bot.settings import ChannelSettings, settings
from shop.identity import IdentityStatus, verify

logger = logging.getLogger(__name__)


VERIFIED = "verified"   # metadata key only a channel writes


TAPPED = "tapped"       # metadata key only a channel writes: the title the customer tapped


CLAIM_KEYS = ("customer_id", "customer_sig", "customer_expires")


POLITE = {
    "rate_limited": {
        "en": "You're sending messages faster than I can answer. Please wait a moment "
              "and try again.",
        "zh": "您发送消息的速度有点快，请稍等片刻再试。",
    },
    "failed": {
        "en": "Sorry, something went wrong on my side and I couldn't answer that. "
              "Please try again in a moment.",
        "zh": "抱歉，我这边出了点问题，没能回复您。请稍后再试。",
    },
    "unsupported_media": {
        "en": "Sorry, I can only read text and photos for now. Please tell me what you "
              "need, or send a photo of the product.",
        "zh": "抱歉，我目前只能看懂文字和图片。请用文字描述您的问题，或发一张商品照片。",
    },
    "photo_failed": {
        "en": "Sorry, I couldn't get that photo. Please send it again.",
        "zh": "抱歉，这张图片没能收到，请再发一次。",
    },
    "photo_busy": {
        "en": "Sorry, I can't take photos right now. Please try again in a minute, or "
              "tell me in words what you're looking for.",
        "zh": "抱歉，现在暂时无法接收图片。请一分钟后再试，或用文字告诉我您在找什么。",
    },
    "upload_limited": {
        "en": "That's a lot of photos in a short time. Please wait a little before "
              "sending another one.",
        "zh": "短时间内上传的图片太多了，请稍后再发送。",
    },
}


IDENTITY_ERRORS = {
    IdentityStatus.NO_SECRET: "customer ids are not accepted: this server has no "
                              "CUSTOMER_ID_SECRET, so it cannot check who a customer is",
    IdentityStatus.UNSIGNED: "customer_id must come with customer_expires and customer_sig "
                             "(HMAC-SHA256 of 'customer_id|sender|expires')",
    IdentityStatus.FORGED: "customer_sig does not match this customer and conversation",
    IdentityStatus.EXPIRED: "customer_sig has expired: sign the customer id again",
    IdentityStatus.TOO_LONG: "customer_expires is too far in the future",
}


def polite(kind: str, text: str | None) -> str:
    """The channel's notice ``kind`` in the language of ``text``."""
    return POLITE[kind][detect_language(text) or "en"]


class RateLimiter:
    """Sliding-window counters per key, in this process's memory.

    Args:
        max_keys: Keys remembered at once; the least recently used are dropped
            first, so a flood of new keys cannot exhaust memory.
        clock: Monotonic seconds; injectable for tests.
    """

    def __init__(self, *, max_keys: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()
        self._max_keys = max_keys
        self._clock = clock
        self._lock = threading.Lock()

    def hit(self, key: str, *, limit: int, window: float) -> None:
        """Count one request for ``key``.

        Raises:
            Throttled: ``limit`` requests were already counted in the last
                ``window`` seconds (the refused one is not counted).
        """
        now = self._clock()
        with self._lock:
            hits = self._hits.pop(key, None) or deque()
            while hits and hits[0] <= now - window:
                hits.popleft()
            self._hits[key] = hits
            while len(self._hits) > self._max_keys:
                self._hits.popitem(last=False)
            if len(hits) >= limit:
                raise Throttled(key.split(":", 1)[0], hits[0] + window - now)
            hits.append(now)


_SLIDING_WINDOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local limit, window = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return tostring(tonumber(oldest[2]) + window - now)
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000))
return ''
"""


class SharedRateLimiter(RateLimiter):
    """The same sliding windows, counted in Redis for every process of the shop.

    One Lua script per request drops what left the window, counts, and adds the
    request, by Redis's clock, so several Rasa servers behind a load balancer share
    one count (a customer cannot get N times the limit by landing on N servers).
    Redis slow or down never stalls a message: each call waits ``timeout`` at most,
    and after a failure this process counts in its own memory (the base class) for
    ``retry_after`` seconds before it tries Redis again.

    Args:
        url: ``redis://host:port/db``.
        prefix: Prefix of every key.
        timeout: Seconds a call may take.
        retry_after: Seconds of local counting after Redis failed.
    """

    def __init__(self, url: str, *, prefix: str = "shop:rate:", timeout: float = 0.25,
                 retry_after: float = 5.0, clock: Callable[[], float] = time.monotonic,
                 **local: Any) -> None:
        import redis

        super().__init__(clock=clock, **local)
        self._prefix = prefix
        self._retry_after = retry_after
        self._down_until = 0.0
        client = redis.Redis.from_url(url, socket_timeout=timeout,
                                      socket_connect_timeout=timeout)
        self._script = client.register_script(_SLIDING_WINDOW)

    def hit(self, key: str, *, limit: int, window: float) -> None:
        """Count one request for ``key`` in Redis (or locally while Redis is down).

        Raises:
            Throttled: ``limit`` requests were already counted in the last ``window``
                seconds by any process.
        """
        if self._clock() >= self._down_until:
            try:
                wait = self._script(keys=[self._prefix + key],
                                    args=[limit, window, secrets.token_hex(8)])
            except Exception as exc:  # redis.RedisError, OSError: degrade, don't stall
                logger.warning("rate limits counted in this process for %.0f s: Redis "
                               "failed (%s)", self._retry_after, type(exc).__name__)
                self._down_until = self._clock() + self._retry_after
            else:
                if wait:
                    raise Throttled(key.split(":", 1)[0], max(float(wait), 0.0))
                return
        super().hit(key, limit=limit, window=window)


def make_limiter(redis_url: str | None) -> RateLimiter:
    """The limiter of a process: shared through Redis when ``REDIS_URL`` is set."""
    return SharedRateLimiter(redis_url) if redis_url else RateLimiter()


@dataclass(frozen=True)
class Admitted:
    """A message that passed the gate: what Rasa gets."""

    sender: str
    text: str
    metadata: dict[str, Any]
    customer_id: str | None = None


@dataclass
class ChannelGate:
    """Input checks, identity and limits for one channel's messages.

    Args:
        settings: The channel settings.
        limiter: Shared counters (one per process, shared by every channel).
    """

    settings: ChannelSettings
    limiter: RateLimiter = field(default_factory=RateLimiter)

    def client(self, address: str | None) -> str:
        """A pseudonym of a client address (logs and counters never keep the address)."""
        digest = hmac.new(self.settings.channel_secret.encode(), (address or "-").encode(),
                          hashlib.sha256).hexdigest()
        return digest[:16]

    def admit(self, *, sender: Any, text: Any, metadata: Any,
              address: str | None, channel: str, platform: bool = False,
              customer_id: str | None = None) -> Admitted:
        """Check one incoming message and count it against the limits.

        Args:
            sender: The conversation id as the platform gave it.
            text: The message text.
            metadata: The client's metadata (may claim a signed customer id).
            address: The client's network address.
            channel: The channel's name (kept with the message).
            platform: The message came from a messaging platform whose signature
                the channel checked (WeChat, Messenger): ``address`` is the
                platform's, so it is not counted per address, and ``metadata``
                is the channel's own (no signed claim is looked for).
            customer_id: The customer the platform's user is linked to
                (:mod:`bot.channels.links`), for a ``platform`` message only.

        Raises:
            BadRequest: The message is malformed (400) or claims an identity
                it cannot prove (401).
            Throttled: A limit was reached.
        """
        sender = check_id(sender, "sender", self.settings)
        if not isinstance(text, str):
            raise BadRequest('"message" must be a string')
        if metadata is not None and not isinstance(metadata, dict):
            raise BadRequest('"metadata" must be a JSON object')
        metadata = dict(metadata or {})
        check_storable(metadata, max_depth=self.settings.max_metadata_depth,
                       max_items=self.settings.max_metadata_items)
        client = self.client(address)
        if platform:
            proven = customer_id
        else:
            # counted before the identity check: forged signatures are throttled too
            self.limiter.hit(f"ip:{client}", limit=self.settings.messages_per_ip, window=60)
            check = verify(metadata, sender=sender, secret=self.settings.customer_id_secret)
            if check.rejected:
                raise BadRequest(IDENTITY_ERRORS[check.status], 401)
            proven = check.customer_id
        self.limiter.hit(f"conversation:{channel}:{sender}",
                         limit=self.settings.messages_per_sender, window=60)
        if proven:
            self.limiter.hit(f"customer:{proven}",
                             limit=self.settings.messages_per_customer, window=60)
        for key in (*CLAIM_KEYS, VERIFIED, *(() if platform else (TAPPED,))):
            metadata.pop(key, None)  # only a channel says these
        metadata[VERIFIED] = {"customer_id": proven, "client": client, "channel": channel}
        return Admitted(sender=sender, text=clean_text(text, self.settings.max_message_chars),
                        metadata=metadata, customer_id=proven)


async def admit_platform(*, channel: str, user: str, text: str, said: str, lang: str,
                         metadata: dict[str, Any], photo: bool) -> Admitted | str | None:
    """A messaging platform's message through the one gate (WeChat, Messenger): the
    user's linked customer (:mod:`bot.channels.links`), the limits per conversation and
    customer (never per address: every platform message comes from the platform's
    servers), and the photo quota.

    Returns:
        The admitted message; the polite answer to send when a limit is reached; or
        ``None`` when the message is refused (logged, nothing to answer).
    """
    from bot.channels.links import shared_links
    from bot.channels.media import shared_media  # the photo quota (media uses this gate)

    customer = await shared_links().lookup(channel, user)
    try:
        admitted = shared_gate().admit(sender=user, text=text, metadata=metadata,
                                       address=None, channel=channel, platform=True,
                                       customer_id=customer)
        if photo:
            shared_media().admit(sender=user, client=channel, channel=channel, platform=True)
    except Throttled:
        return polite("rate_limited", said or ("你好" if lang == "zh" else "hi"))
    except BadRequest as exc:
        logger.info("%s message refused: %s", channel, exc)
        return None
    return admitted


@lru_cache(maxsize=1)
def shared_gate() -> ChannelGate:
    """The process's gate: every channel counts against the same limits (every process's
    too, with ``REDIS_URL``)."""
    current = settings()
    return ChannelGate(current, limiter=make_limiter(current.redis_url))
