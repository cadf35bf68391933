"""``python -m stream [--port 8005]``: the conversation stream's consumer (scaled mode).

Settings (environment, read once here): ``RABBITMQ_URL``, ``RABBITMQ_QUEUE`` (the
durable queue the Rasa servers publish to), ``DATABASE_URL`` (the shop's database),
``STREAM_HOST`` (``127.0.0.1``), ``METRICS_TOKEN``. ``GET /health`` (and
``/health/live``) on ``--port`` answers ``200`` with what it has taken and whether it
is connected to RabbitMQ (while it is not, events wait in the durable queue; the
process itself is well); ``/health/ready`` answers ``200`` once it has been connected;
``/metrics`` serves its counts (:class:`telemetry.metrics.StreamCollector`), to the
``METRICS_TOKEN``'s holder or, without one, to loopback callers. Log lines are JSON
(:mod:`telemetry.logs`).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from stream.consumer import Consumer


class SettingsError(ValueError):
    """A setting in the environment is missing or invalid."""


@dataclass(frozen=True)
class StreamSettings:
    """The consumer's settings."""

    rabbitmq_url: str
    queue: str
    database_url: str
    host: str
    metrics_token: str | None = None


def load_settings(env: Mapping[str, str] = os.environ) -> StreamSettings:
    """Read the settings from ``env``.

    Raises:
        SettingsError: The queue or the database is not named.
    """
    from telemetry.web import metrics_token

    missing = [name for name in ("RABBITMQ_QUEUE", "DATABASE_URL") if not env.get(name)]
    if missing:
        raise SettingsError(f"{', '.join(missing)} must be set (scaled mode sets them)")
    token = metrics_token(env, error=SettingsError)
    return StreamSettings(
        rabbitmq_url=env.get("RABBITMQ_URL") or "amqp://guest:guest@127.0.0.1:5672/",
        queue=env["RABBITMQ_QUEUE"], database_url=env["DATABASE_URL"],
        host=env.get("STREAM_HOST", "127.0.0.1"), metrics_token=token)


def _health_server(consumer: Consumer, host: str, port: int,
                   token: str | None = None) -> ThreadingHTTPServer:
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    from telemetry.metrics import StreamCollector
    from telemetry.web import scrape_refusal

    StreamCollector(consumer.counts.as_dict).register()
    ever_connected = threading.Event()

    class Health(BaseHTTPRequestHandler):
        def _send(self, status: int, body: bytes, kind: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _may_scrape(self) -> bool:
            return scrape_refusal(f"Bearer {token}".encode() if token else None,
                                  self.headers.get("Authorization", ""),
                                  self.client_address[0]) is None

        def do_GET(self) -> None:  # noqa: N802 - the standard library's name
            counts = consumer.counts.as_dict()
            if counts["connected"]:
                ever_connected.set()
            if self.path in ("/health", "/health/live"):
                self._send(200, json.dumps(counts).encode())
            elif self.path == "/health/ready":
                ready = ever_connected.is_set()
                self._send(200 if ready else 503, json.dumps(
                    {"ready": ready, "service": "stream",
                     "checks": {"rabbitmq": counts["connected"]}}).encode())
            elif self.path == "/metrics" and self._may_scrape():
                self._send(200, generate_latest(), CONTENT_TYPE_LATEST)
            else:
                self.send_error(404)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return  # health checks every second would drown the log

    return ThreadingHTTPServer((host, port), Health)


def main(argv: list[str] | None = None) -> int:
    """Consume until SIGTERM or Ctrl-C."""
    parser = argparse.ArgumentParser(prog="python -m stream", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8005, help="the health route's port")
    args = parser.parse_args(argv)
    from telemetry.logs import setup

    setup("stream")
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    from shop.db import make_engine
    from shop.feedback import record_chat_view
    from stream.store import StreamStore

    store = StreamStore(make_engine(settings.database_url),
                        record_view=lambda conn, v: record_chat_view(
                            conn, v.customer_id, v.sku, v.timestamp))
    consumer = Consumer(settings.rabbitmq_url, settings.queue, store)
    health = _health_server(consumer, settings.host, args.port, settings.metrics_token)
    threading.Thread(target=health.serve_forever, daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: consumer.stop())
    logging.getLogger(__name__).info("consuming %s; health on http://%s:%d/health",
                                     settings.queue, settings.host, args.port)
    try:
        consumer.run()
    except KeyboardInterrupt:
        consumer.stop()
    finally:
        health.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
