"""What every Sanic server of the shop adds for its operators: request ids, HTTP
metrics, ``/metrics``, ``/health/live`` and ``/health/ready``.

- **Request ids.** A request carrying ``X-Request-ID`` (8–64 letters, digits, ``-``
  or ``_``) keeps it, any other gets a new one; it is set in
  :data:`telemetry.logs.REQUEST_ID` for every log line of the request, sent back in the
  answer's ``X-Request-ID`` and passed on by the Rasa server to the action server, so
  one customer message has one id in every process.
- **HTTP metrics**: :data:`telemetry.metrics.HTTP_REQUESTS` and ``HTTP_SECONDS`` by
  route *template* (``/products/<sku>``, never the URL a stranger typed).
- ``GET /health/live``: ``200`` while the process answers at all (a supervisor
  restarts it otherwise).
- ``GET /health/ready``: ``200`` once every readiness check of the process has
  passed (the model loaded, the graph and indexes open, the databases answered),
  ``503`` before. Once ready, a process stays ready when a shared dependency goes
  away later: the assistant degrades with a stated fallback rather than stalling
  (``actions/resilience.py``), and a load balancer that took every server out of
  rotation because the shared database blinked would answer nobody at all. Before it
  is ready, and with ``?checks=1``, the body says each check's state now, for people:
  ``{"ready": true, "checks": {"model": true, "database": false}}``.
- ``GET /metrics``: Prometheus' text format. With ``METRICS_TOKEN`` set it needs
  ``Authorization: Bearer <token>``; without, it answers callers on the loopback
  interface only. The load balancer of scaled mode never forwards it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import inspect
import ipaddress
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from telemetry import metrics
from telemetry.logs import CONVERSATION_ID, REQUEST_ID

logger = logging.getLogger(__name__)

Check = Callable[[], bool | Awaitable[bool]]

HEADER = "X-Request-ID"
_VALID_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
CHECK_SECONDS = 2.0
#: Routes an operator's tools call all the time: no log line for them.
QUIET = ("/health/live", "/health/ready", "/metrics")


def metrics_token(env: Mapping[str, str], *,
                  error: type[Exception] = ValueError) -> str | None:
    """``METRICS_TOKEN`` from ``env`` (each process's settings read it); ``None`` when
    unset.

    Raises:
        error: Shorter than 16 characters (each process's settings pass their own).
    """
    token = env.get("METRICS_TOKEN") or None
    if token is not None and len(token) < 16:
        raise error("METRICS_TOKEN must be at least 16 characters")
    return token


def forwarded() -> dict[str, str]:
    """The header that carries this request's id to the next service it calls."""
    rid = REQUEST_ID.get()
    return {HEADER: rid} if rid else {}


def request_id(given: str | None) -> str:
    """The caller's request id when it is a well-formed one, a new one otherwise."""
    if given and _VALID_ID.fullmatch(given):
        return given
    return uuid.uuid4().hex


class Readiness:
    """A process's readiness checks (name → a function answering ``True`` when that
    part answers; plain functions run in a worker thread), each bounded by
    ``CHECK_SECONDS``. Ready once all passed together; it stays so (the module
    docstring says why)."""

    def __init__(self, service: str, checks: Mapping[str, Check] | None = None) -> None:
        self.service = service
        self.checks: dict[str, Check] = dict(checks or {})
        self.ready = False
        metrics.READY.labels(service).set(0)

    def add(self, name: str, check: Check) -> None:
        """One more check (a part that starts later: the model, a listener)."""
        self.checks[name] = check

    async def _one(self, check: Check) -> bool:
        try:
            if inspect.iscoroutinefunction(check):
                result = await asyncio.wait_for(check(), CHECK_SECONDS)
            else:
                result = await asyncio.wait_for(asyncio.to_thread(check), CHECK_SECONDS)
                if inspect.isawaitable(result):
                    result = await asyncio.wait_for(result, CHECK_SECONDS)
            return bool(result)
        except Exception:  # noqa: BLE001 - a check that fails or runs over is "not yet"
            return False

    async def state(self) -> dict[str, bool]:
        """Each check's answer now (all at once)."""
        names = list(self.checks)
        answers = await asyncio.gather(*(self._one(self.checks[n]) for n in names))
        states = dict(zip(names, answers, strict=True))
        if not self.ready and all(answers):
            self.ready = True
            metrics.READY.labels(self.service).set(1)
            logger.info("%s is ready", self.service)
        return states


def _route(request: Any) -> str:
    route = getattr(request, "route", None)
    path = getattr(route, "path", None)
    if not path:
        return "unmatched"
    return "/" + str(path).lstrip("/")


def scrape_refusal(expected: bytes | None, authorization: str, client: str) -> int | None:
    """Why ``/metrics`` is refused to this caller (``401`` a wrong or missing token,
    ``404`` not on loopback when no token is configured), or ``None``: allowed."""
    if expected is not None:
        given = authorization.encode("utf-8", "replace")
        return None if hmac.compare_digest(given, expected) else 401
    try:
        return None if ipaddress.ip_address(client).is_loopback else 404
    except ValueError:
        return 404


class Telemetry:
    """The request-id and metrics middleware and the three routes of one server.

    Args:
        service: The process's name in metrics and logs (``rasa``, ``actions``…).
        readiness: Its readiness checks.
        metrics_token: ``METRICS_TOKEN`` (``None``: ``/metrics`` for loopback callers).
        conversation_of: Finds a request's conversation id (for its log lines) where the
            route alone says it.
    """

    def __init__(self, service: str, readiness: Readiness, *,
                 metrics_token: str | None = None,
                 conversation_of: Callable[[Any], str | None] | None = None) -> None:
        self.service = service
        self.readiness = readiness
        self._expected = f"Bearer {metrics_token}".encode() if metrics_token else None
        self._conversation_of = conversation_of

    # --- middleware ------------------------------------------------------------------
    async def on_request(self, request: Any) -> None:
        """Give the request its id (and conversation, where known)."""
        rid = request_id(request.headers.get(HEADER))
        request.ctx.request_id = rid
        request.ctx.started = time.perf_counter()
        REQUEST_ID.set(rid)
        CONVERSATION_ID.set(None)
        if self._conversation_of is not None:
            # a log field is never worth a failed request
            with contextlib.suppress(Exception):
                CONVERSATION_ID.set(self._conversation_of(request))

    async def on_response(self, request: Any, response: Any) -> None:
        """Send the id back; count the request by its route template and status."""
        rid = getattr(request.ctx, "request_id", None)
        if response is None or rid is None:
            return
        response.headers[HEADER] = rid
        route, status = _route(request), int(getattr(response, "status", 0) or 0)
        took = time.perf_counter() - getattr(request.ctx, "started", time.perf_counter())
        metrics.HTTP_REQUESTS.labels(self.service, route, request.method,
                                     f"{status // 100}xx").inc()
        metrics.HTTP_SECONDS.labels(self.service, route).observe(took)
        if route not in QUIET:
            level = logging.WARNING if status >= 500 else logging.INFO
            logger.log(level, "%s %s %d %.0f ms", request.method, route, status, took * 1000)

    # --- routes ----------------------------------------------------------------------
    async def live(self, request: Any) -> Any:
        """``200`` while the process answers."""
        from sanic import response

        return response.json({"live": True, "service": self.service})

    async def ready(self, request: Any) -> Any:
        """``200`` once ready, ``503`` before. Until ready, and with ``?checks=1``, each
        check's state now; once ready, a balancer's probe (every second, from every
        balancer) costs nothing."""
        from sanic import response

        if self.readiness.ready and not request.args.get("checks"):
            return response.json({"ready": True, "service": self.service})
        states = await self.readiness.state()
        return response.json({"ready": self.readiness.ready, "service": self.service,
                              "checks": states}, status=200 if self.readiness.ready else 503)

    async def metrics(self, request: Any) -> Any:
        """Prometheus' text format, for the token's holder or a loopback caller."""
        from sanic import response

        refused = scrape_refusal(self._expected, request.headers.get("authorization", ""),
                                 request.ip)
        if refused is not None:
            return response.json({"error": "unauthorised" if refused == 401 else
                                  "not found"}, status=refused)
        return response.raw(generate_latest(), content_type=CONTENT_TYPE_LATEST)

    def routes(self) -> list[tuple[Callable[..., Any], str]]:
        """(handler, path) of the three routes."""
        return [(self.live, "/health/live"), (self.ready, "/health/ready"),
                (self.metrics, "/metrics")]

    def install(self, app: Any) -> None:
        """Add the middleware and the routes to a Sanic app that has not started, and
        put the JSON log lines back once Sanic has configured its own loggers."""
        from telemetry.logs import setup

        async def json_logs(*_: Any) -> None:
            setup(self.service)

        app.register_listener(json_logs, "before_server_start")
        app.register_middleware(self.on_request, "request")
        app.register_middleware(self.on_response, "response")
        for handler, path in self.routes():
            app.add_route(handler, path, methods=["GET"], name=f"telemetry_{handler.__name__}")
