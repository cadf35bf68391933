"""Wake the process that holds a customer's open page when another process writes to it.

With several Rasa servers, a customer's widget socket is open on one of them while an
agent's message, a notice or the customer's own message from a second tab may be
written by another. :class:`~bot.channels.history.MessageHistory` hands a message to
the listeners of its own process at once and re-reads the table every
``poll_seconds`` for the others' messages; with ``REDIS_URL`` set, :class:`Wakeups`
tells every process "conversation X of channel Y has something new" through Redis
pub/sub, and the process that holds X's page reads it at once. Redis slow or away
costs nothing but the speed: the table is still re-read on the timer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from typing import Any, Callable, Dict, Set

logger = logging.getLogger(__name__)

Poke = Callable[[str], None]


class Wakeups:
    """Redis pub/sub between the shop's processes: who has new messages.

    Args:
        url: ``redis://host:port/db``.
        prefix: Prefix of the pub/sub channels (one per chat channel).
        timeout: Seconds a publish may take.
        retry_seconds: Pause before the subscriber reconnects after a failure.
    """

    def __init__(self, url: str, *, prefix: str = "shop:wake:", timeout: float = 0.25,
                 retry_seconds: float = 1.0) -> None:
        self.url = url
        self.prefix = prefix
        self.timeout = timeout
        self.retry_seconds = retry_seconds
        self.token = secrets.token_hex(6)  # this process: its own news wakes no one twice
        self._pokes: Dict[str, Poke] = {}
        self._client: Any = None
        self._task: asyncio.Task | None = None
        self._sends: Set[asyncio.Task] = set()

    def _redis(self) -> Any:
        if self._client is None:
            import redis.asyncio

            self._client = redis.asyncio.Redis.from_url(
                self.url, socket_timeout=self.timeout, socket_connect_timeout=self.timeout)
        return self._client

    def publish(self, channel: str, conversation: str) -> None:
        """Tell the other processes ``conversation`` of ``channel`` has something new
        (in the background: the caller never waits on Redis)."""
        async def send() -> None:
            try:
                await self._redis().publish(f"{self.prefix}{channel}",
                                            f"{self.token}:{conversation}")
            except Exception as exc:  # redis.RedisError, OSError, timeout: the timer remains
                logger.debug("wake-up not sent (%s)", type(exc).__name__)

        task = asyncio.get_running_loop().create_task(send())
        self._sends.add(task)
        task.add_done_callback(self._sends.discard)

    def follow(self, channel: str, poke: Poke) -> None:
        """Call ``poke(conversation)`` when another process writes to ``channel``
        (starts this process's subscriber on the running loop the first time)."""
        if channel in self._pokes:
            return
        self._pokes[channel] = poke
        if self._task is not None:
            self._task.cancel()  # subscribe again with the new channel
        self._task = asyncio.get_running_loop().create_task(self._listen())

    async def _listen(self) -> None:
        while True:
            pubsub = None
            try:
                import redis.asyncio

                client = redis.asyncio.Redis.from_url(self.url, socket_connect_timeout=2)
                pubsub = client.pubsub(ignore_subscribe_messages=True)
                await pubsub.subscribe(*[f"{self.prefix}{c}" for c in self._pokes])
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None:
                        self._deliver(message)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - Redis away: retry, the timer remains
                logger.debug("wake-ups paused (%s)", type(exc).__name__)
                await asyncio.sleep(self.retry_seconds)
            finally:
                if pubsub is not None:
                    with contextlib.suppress(Exception):  # closing anyway
                        await pubsub.close()

    def _deliver(self, message: Dict[str, Any]) -> None:
        name = message.get("channel")
        data = message.get("data")
        if isinstance(name, bytes):
            name = name.decode("utf-8", "replace")
        if isinstance(data, bytes):
            data = data.decode("utf-8", "replace")
        if not isinstance(name, str) or not isinstance(data, str) or ":" not in data:
            return
        sender, conversation = data.split(":", 1)
        poke = self._pokes.get(name[len(self.prefix):])
        if poke is not None and sender != self.token:
            poke(conversation)

    async def close(self) -> None:
        """Stop listening."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None


_shared: Dict[str, Wakeups] = {}


def wakeups_for(redis_url: str | None) -> Wakeups | None:
    """This process's :class:`Wakeups` on ``redis_url`` (``None`` without Redis)."""
    if not redis_url:
        return None
    if redis_url not in _shared:
        _shared[redis_url] = Wakeups(redis_url)
    return _shared[redis_url]
