"""The agent desk's web app (Sanic): sign-in, the live queue, a conversation with its
shop context, replies, notes, transfers and the handback.

:func:`create_app` builds the desk's services (:class:`desk.web.Desk`) and lets each
resource add its routes (:mod:`desk.routes`: pages, the queue, one conversation, the
catalog and canned responses). Every route but the sign-in page, the health check and
the static files needs a session; every state-changing request needs the session's
CSRF token. An agent sees the queue and the conversations they hold; a supervisor sees
all.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import sqlalchemy as sa
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sanic import Sanic
from sanic.request import Request
from sanic.response import HTTPResponse

from desk.accounts import Accounts
from desk.bot import BotClient
from desk.live import Hub, Scheduler
from desk.routes import catalog, conversations, pages, queue
from desk.settings import DeskSettings
from desk.web import HERE, MAX_BODY, Desk, Refused, json_reply
from handoff import HandoffService
from shop.postgres import server_options
from vision.media import open_media

logger = logging.getLogger(__name__)


def database(url: str) -> sa.engine.Engine:
    """The desk's database: on a server, one that does not answer or whose network path
    stalls is given up on within seconds (:func:`shop.postgres.server_options`), so an
    agent's request fails instead of hanging; a SQLite file in WAL mode, shared with
    the Rasa and action servers."""
    engine = sa.create_engine(url, future=True, **server_options(url))
    if url.startswith("sqlite"):
        @sa.event.listens_for(engine, "connect")
        def _pragmas(connection: Any, _record: Any) -> None:  # pragma: no cover - sqlite
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.close()
    return engine


def create_app(config: DeskSettings, *, name: str = "agent_desk") -> Sanic:
    """The desk's app, with its own queue, accounts and connection to the Rasa server."""
    app = Sanic(name)
    app.config.REQUEST_MAX_SIZE = MAX_BODY
    app.config.RESPONSE_TIMEOUT = 3600  # the live feed stays open
    app.config.KEEP_ALIVE_TIMEOUT = 30
    engine = database(config.db_url)
    handoffs = HandoffService(engine=engine, hours=config.hours,
                              wait_timeout=config.wait_timeout,
                              default_wait=config.default_wait)
    accounts = Accounts(engine=engine, handoffs=handoffs,
                        session_seconds=config.session_hours * 3600,
                        idle_seconds=config.idle_minutes * 60,
                        max_failures=config.login_failures)
    bot = BotClient(config.bot_url, config.push_token)
    hub = Hub(handoffs)
    desk = Desk(config=config, handoffs=handoffs, accounts=accounts, bot=bot, hub=hub,
                scheduler=Scheduler(handoffs, bot, hub, auto_assign=config.assignment == "auto",
                                    update_seconds=config.queue_update_seconds),
                pages=Environment(loader=FileSystemLoader(HERE / "templates"),
                                  autoescape=select_autoescape(["html"])),
                media=open_media(config.media_dir, url=config.media_db_url,
                                 engine_options=server_options(config.media_db_url)))
    app.ctx.handoffs, app.ctx.accounts, app.ctx.bot, app.ctx.hub = handoffs, accounts, bot, hub

    @app.before_server_start
    async def start(app: Sanic, _loop: Any) -> None:
        handoffs.create_schema()
        accounts.create_schema()
        for agent in handoffs.agents():  # nobody has a page open yet
            if agent.online:
                handoffs.set_online(agent.id, False)
        app.ctx.tasks = [asyncio.create_task(hub.run()),
                         asyncio.create_task(desk.scheduler.run())]

    @app.before_server_stop
    async def stop(app: Sanic, _loop: Any) -> None:
        for task in getattr(app.ctx, "tasks", []):
            task.cancel()

    @app.exception(Refused)
    async def refused(request: Request, exc: Refused) -> HTTPResponse:
        return json_reply({**exc.extra, "error": exc.error}, exc.status)

    @app.exception(Exception)
    async def failed(request: Request, exc: Exception) -> HTTPResponse:
        status = getattr(exc, "status_code", 500)
        if status >= 500:
            logger.exception("desk request failed")
            return json_reply({"error": "something went wrong on the desk's side"}, 500)
        return json_reply({"error": str(exc)[:200] or "bad request"}, status)

    for resource in (pages, queue, conversations, catalog):
        resource.register(app, desk)
    _install_telemetry(app, config, engine)
    return app


def _install_telemetry(app: Sanic, config: DeskSettings, engine: sa.engine.Engine) -> None:
    """Request ids, HTTP metrics, ``/metrics`` and the health routes; ready once its
    database answers (its tables are made before the server listens)."""
    from telemetry.web import Readiness, Telemetry

    def database() -> bool:
        with engine.connect() as connection:
            return connection.execute(sa.text("SELECT 1")).scalar() == 1

    Telemetry("desk", Readiness("desk", {"database": database}),
              metrics_token=config.metrics_token).install(app)
