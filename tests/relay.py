"""A TCP relay a test can cut and restore on the same port: a dependency (Redis,
RabbitMQ) going away and coming back as a restart or a network split would make it,
while the machine's own service stays up for everyone else."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any


class Relay:
    """Relays ``host``:``port`` to ``target`` on the running event loop."""

    def __init__(self, target: tuple[str, int], host: str = "127.0.0.1") -> None:
        self.target = target
        self.host = host
        self.port = 0
        self._server: Any = None
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> Relay:
        """Listen (again, on the same port once it has one)."""
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers += [writer, up_writer]

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (OSError, asyncio.IncompleteReadError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    async def cut(self) -> None:
        """Refuse new connections and drop every open one."""
        self._server.close()
        await self._server.wait_closed()
        for writer in self._writers:
            writer.transport.abort()
        self._writers.clear()


class ThreadedRelay:
    """A :class:`Relay` on its own event loop in a thread, for tests without a loop."""

    def __init__(self, target: tuple[str, int], host: str = "127.0.0.1") -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.relay = Relay(target, host)
        self._run(self.relay.start())

    def _run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)

    @property
    def port(self) -> int:
        return self.relay.port

    def cut(self) -> None:
        self._run(self.relay.cut())

    def restore(self) -> None:
        self._run(self.relay.start())

    def close(self) -> None:
        with contextlib.suppress(Exception):  # already cut
            self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
