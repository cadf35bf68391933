"""The HTTP server every fake platform runs (WeChat, Messenger, WhatsApp): a threaded
server on a free loopback port that hands each request to the fake's
:meth:`FakeServer.answer`."""

from __future__ import annotations

import hashlib
import hmac
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import requests


@dataclass
class Request:
    """One call of the shop to the fake platform."""

    method: str
    path: str
    query: dict[str, str]
    raw_query: str
    headers: Any
    body: bytes


@dataclass
class Call:
    """A call the shop made to a fake platform: when, where, what."""

    at: float
    path: str
    body: dict[str, Any]


Answer = tuple  # (status, body, content type[, extra headers])


class FakeServer:
    """A fake platform's HTTP side; a subclass implements :meth:`answer`."""

    _server: ThreadingHTTPServer | None = None

    def answer(self, request: Request) -> Answer:
        """The status, body, content type (and extra headers) for ``request``."""
        raise NotImplementedError

    @property
    def url(self) -> str:
        """Base URL of the running server."""
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def serve(self) -> None:
        """Serve on a free loopback port, in a background thread."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self, method: str) -> None:
                parsed = urlparse(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                answer = fake.answer(Request(
                    method, parsed.path, {k: v[0] for k, v in parse_qs(parsed.query).items()},
                    parsed.query, self.headers, body))
                status, data, content_type = answer[:3]
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                for name, value in (answer[3] if len(answer) > 3 else {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                self._handle("GET")

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                self._handle("POST")

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.close()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


class MetaWebhookFake(FakeServer):
    """What Meta's platforms (Messenger, WhatsApp) do alike when they call a shop: the
    subscription check and deliveries signed with ``X-Hub-Signature-256``
    (HMAC-SHA256 of the raw body with the app secret). A subclass sets ``channel``
    and ``app_secret``, ``verify_token``, ``calls`` and ``_lock`` (a Condition that
    is notified when a call is recorded)."""

    channel = ""
    app_secret = ""
    verify_token = ""
    _lock: threading.Condition

    def verify(self, shop: str, *, token: str | None = None,
               mode: str = "subscribe") -> requests.Response:
        """The webhook verification Meta makes when the URL is saved."""
        return requests.get(f"{shop}/webhooks/{self.channel}/webhook", params={
            "hub.mode": mode, "hub.verify_token": token or self.verify_token,
            "hub.challenge": "1158201444"}, timeout=10)

    def sign(self, body: bytes) -> str:
        """``X-Hub-Signature-256`` of a body."""
        return "sha256=" + hmac.new(self.app_secret.encode(), body, hashlib.sha256).hexdigest()

    def post(self, shop: str, body: bytes, *, signature: str | None,
             timeout: float) -> requests.Response:
        """POST a delivery, signed as Meta signs it (``signature`` overrides; ``""``:
        unsigned)."""
        headers = {"Content-Type": "application/json"}
        if signature != "":
            headers["X-Hub-Signature-256"] = signature or self.sign(body)
        return requests.post(f"{shop}/webhooks/{self.channel}/webhook", data=body,
                             headers=headers, timeout=timeout)

    def wait_for(self, found: Callable[[], list[Any]], count: int, timeout: float
                 ) -> list[Any]:
        """Wait until ``found()`` (called under the lock) has ``count`` items; them."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                calls = found()
                left = deadline - time.monotonic()
                if len(calls) >= count or left <= 0:
                    return calls
                self._lock.wait(min(left, 0.5))
