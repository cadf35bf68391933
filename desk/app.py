"""The agent desk's web app (Sanic): sign-in, the live queue, a conversation with its
shop context, replies, notes, transfers and the handback.

Pages are served under a strict Content-Security-Policy (scripts and styles only
from this server, no inline code); every piece of customer text and product data
is put on the page as text (Jinja2 autoescape on the server, ``textContent`` in
``desk.js``). Every route but the sign-in page, the health check and the static
files needs a session; every state-changing request needs the session's CSRF
token. An agent sees the queue and the conversations they hold; a supervisor
sees all.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import mimetypes
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from desk.accounts import AccountError, Accounts, Session
from desk.bot import BotClient, BotUnavailable
from desk.i18n import COOKIE as LANG_COOKIE
from desk.i18n import STRINGS, pick_language
from desk.live import Hub, Scheduler
from desk.settings import DeskSettings
from handoff import (
    ASSIGNED,
    AtCapacity,
    Handoff,
    HandoffNotFound,
    HandoffService,
    InvalidTransition,
    NotAllowed,
    UnknownAgent,
)

logger = logging.getLogger(__name__)
HERE = Path(__file__).parent
COOKIE, LOGIN_COOKIE = "desk_session", "desk_login"
MAX_TEXT = 2000
MAX_BODY = 64 * 1024
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
       "img-src 'self' data: http: https:; media-src 'self' data:; form-action 'self'; "
       "base-uri 'none'; frame-ancestors 'none'")
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
           "Referrer-Policy": "no-referrer", "Cache-Control": "no-store",
           "X-Frame-Options": "DENY"}


class Refused(Exception):
    """A request the desk answers with ``status`` and a JSON ``error``."""

    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status = status
        self.error = error


def _json(body: Any, status: int = 200) -> HTTPResponse:
    return response.json(body, status=status, headers=dict(HEADERS), ensure_ascii=False)


def handoff_json(handoff: Handoff, now: float) -> dict[str, Any]:
    """A handoff as the desk's pages get it."""
    data = asdict(handoff)
    data["waiting_seconds"] = round(now - handoff.requested_at)
    return data


def create_app(config: DeskSettings, *, name: str = "agent_desk") -> Sanic:
    """The desk's app, with its own queue, accounts and connection to the Rasa server."""
    app = Sanic(name)
    app.config.REQUEST_MAX_SIZE = MAX_BODY
    app.config.RESPONSE_TIMEOUT = 3600  # the live feed stays open
    app.config.KEEP_ALIVE_TIMEOUT = 30
    engine = sa.create_engine(config.db_url, future=True)
    if config.db_url.startswith("sqlite"):
        @sa.event.listens_for(engine, "connect")
        def _pragmas(connection: Any, _record: Any) -> None:  # pragma: no cover - sqlite
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.close()
    handoffs = HandoffService(engine=engine, hours=config.hours,
                              wait_timeout=config.wait_timeout,
                              default_wait=config.default_wait)
    accounts = Accounts(engine=engine, handoffs=handoffs,
                        session_seconds=config.session_hours * 3600,
                        idle_seconds=config.idle_minutes * 60,
                        max_failures=config.login_failures)
    bot = BotClient(config.bot_url, config.push_token)
    hub = Hub(handoffs)
    scheduler = Scheduler(handoffs, bot, hub, auto_assign=config.assignment == "auto",
                          update_seconds=config.queue_update_seconds)
    pages = Environment(loader=FileSystemLoader(HERE / "templates"),
                        autoescape=select_autoescape(["html"]))
    app.ctx.handoffs, app.ctx.accounts, app.ctx.bot, app.ctx.hub = handoffs, accounts, bot, hub

    @app.before_server_start
    async def start(app: Sanic, _loop: Any) -> None:
        handoffs.create_schema()
        accounts.create_schema()
        for agent in handoffs.agents():  # nobody has a page open yet
            if agent.online:
                handoffs.set_online(agent.id, False)
        app.ctx.tasks = [asyncio.create_task(hub.run()), asyncio.create_task(scheduler.run())]

    @app.before_server_stop
    async def stop(app: Sanic, _loop: Any) -> None:
        for task in getattr(app.ctx, "tasks", []):
            task.cancel()

    @app.exception(Refused)
    async def refused(request: Request, exc: Refused) -> HTTPResponse:
        return _json({"error": exc.error}, exc.status)

    @app.exception(Exception)
    async def failed(request: Request, exc: Exception) -> HTTPResponse:
        status = getattr(exc, "status_code", 500)
        if status >= 500:
            logger.exception("desk request failed")
            return _json({"error": "something went wrong on the desk's side"}, 500)
        return _json({"error": str(exc)[:200] or "bad request"}, status)

    # --- sessions -------------------------------------------------------------------------

    def session_of(request: Request) -> Session | None:
        return accounts.session(request.cookies.get(COOKIE))

    def need(request: Request, *, write: bool = False) -> Session:
        current = session_of(request)
        if current is None:
            raise Refused(401, "sign in first")
        if write and not accounts.csrf_ok(current, request.headers.get("x-csrf-token")):
            raise Refused(403, "missing or wrong CSRF token")
        return current

    def body_of(request: Request) -> dict[str, Any]:
        try:
            body = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise Refused(400, "the body must be a JSON object") from None
        if not isinstance(body, dict):
            raise Refused(400, "the body must be a JSON object")
        return body

    def text_of(body: dict[str, Any], key: str, *, required: bool = True) -> str:
        value = body.get(key, "")
        if not isinstance(value, str):
            raise Refused(400, f'"{key}" must be text')
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise Refused(400, f'"{key}" is not valid Unicode') from None
        value = value.strip()
        if required and not value:
            raise Refused(400, f'"{key}" is empty')
        if len(value) > MAX_TEXT:
            raise Refused(413, f'"{key}" is longer than {MAX_TEXT} characters')
        return value

    async def viewable(current: Session, handoff_id: int) -> Handoff:
        try:
            handoff = await asyncio.to_thread(handoffs.get, handoff_id)
            allowed = await asyncio.to_thread(handoffs.may_view, handoff_id, current.user.id)
        except (HandoffNotFound, UnknownAgent):
            raise Refused(404, "no such conversation") from None
        if not allowed:
            # the same answer as for one that does not exist
            raise Refused(404, "no such conversation")
        return handoff

    async def held(current: Session, handoff_id: int) -> Handoff:
        handoff = await viewable(current, handoff_id)
        if handoff.state != ASSIGNED or handoff.agent != current.user.id:
            raise Refused(409, "claim the conversation first")
        return handoff

    def guard(fn: Callable[..., Awaitable[HTTPResponse]]) -> Callable[..., Awaitable[HTTPResponse]]:
        async def wrapped(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
            try:
                return await fn(request, *args, **kwargs)
            except AtCapacity as exc:
                raise Refused(409, str(exc)) from None
            except (InvalidTransition, NotAllowed) as exc:
                raise Refused(409, str(exc)) from None
            except (HandoffNotFound, UnknownAgent):
                raise Refused(404, "not found") from None
            except BotUnavailable as exc:
                raise Refused(502, str(exc)) from None
            except AccountError as exc:
                raise Refused(403 if "supervisor" in str(exc) else 400, str(exc)) from None
        wrapped.__name__ = fn.__name__
        return wrapped

    # --- pages ----------------------------------------------------------------------------

    @app.get("/desk/health")
    async def health(request: Request) -> HTTPResponse:
        return _json({"status": "ok"})

    @app.get("/desk/static/<name>")
    async def static(request: Request, name: str) -> HTTPResponse:
        path = (HERE / "static" / name).resolve()
        if path.parent != (HERE / "static").resolve() or not path.is_file():
            raise Refused(404, "not found")
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return response.raw(path.read_bytes(), content_type=kind,
                            headers={**HEADERS, "Cache-Control": "no-cache"})

    def language(request: Request) -> str:
        return pick_language(asked=request.args.get("lang"),
                             cookie=request.cookies.get(LANG_COOKIE),
                             accept=request.headers.get("accept-language"))

    def render(request: Request, template: str, status: int = 200,
               **values: Any) -> HTTPResponse:
        lang = language(request)
        page = pages.get_template(template).render(
            lang=lang, t=STRINGS[lang], strings=json.dumps(STRINGS[lang], ensure_ascii=False),
            **values)
        reply = response.html(page, status=status, headers=dict(HEADERS))
        if request.args.get("lang") == lang:  # chosen on the page: kept for a year
            _set_cookie(reply, LANG_COOKIE, lang, config, max_age=365 * 86400)
        return reply

    @app.get("/desk/login")
    async def login_page(request: Request) -> HTTPResponse:
        token = secrets.token_urlsafe(24)
        reply = render(request, "login.html", csrf=token, error=None)
        _set_cookie(reply, LOGIN_COOKIE, token, config, max_age=1800)
        return reply

    @app.post("/desk/login")
    async def login(request: Request) -> HTTPResponse:
        form = request.form or {}
        given, expected = form.get("csrf") or "", request.cookies.get(LOGIN_COOKIE) or ""
        words = STRINGS[language(request)]
        if not expected or not secrets.compare_digest(str(given), expected):
            return render(request, "login.html", 403, csrf=expected or "",
                          error=words["expired"])
        result = await asyncio.to_thread(
            accounts.sign_in, str(form.get("username") or ""), str(form.get("password") or ""),
            address=str(request.remote_addr or request.ip or ""))
        if result is None:
            return render(request, "login.html", 401, csrf=expected, error=words["wrong"])
        token, _ = result
        reply = response.redirect("/desk/", headers=dict(HEADERS))
        _set_cookie(reply, COOKIE, token, config, max_age=int(config.session_hours * 3600))
        _set_cookie(reply, LOGIN_COOKIE, "", config, max_age=0)
        return reply

    @app.post("/desk/logout")
    async def logout(request: Request) -> HTTPResponse:
        need(request, write=True)
        accounts.sign_out(request.cookies.get(COOKIE))
        reply = _json({"ok": True})
        _set_cookie(reply, COOKIE, "", config, max_age=0)
        return reply

    @app.get("/desk/")
    async def desk_page(request: Request) -> HTTPResponse:
        current = session_of(request)
        if current is None:
            return response.redirect("/desk/login", headers=dict(HEADERS))
        return render(request, "desk.html", user=current.user, csrf=current.csrf)

    # --- the queue ------------------------------------------------------------------------

    @app.get("/desk/api/me")
    async def me(request: Request) -> HTTPResponse:
        current = need(request)
        agent = await asyncio.to_thread(handoffs.agent, current.user.id)
        return _json({"user": asdict(current.user), "online": agent.online,
                      "capacity": agent.capacity, "holding": agent.holding,
                      "assignment": config.assignment})

    @app.get("/desk/api/queue")
    async def queue(request: Request) -> HTTPResponse:
        current = need(request)
        items = await asyncio.to_thread(handoffs.visible_to, current.user.id)
        now = time.time()
        return _json({"handoffs": [handoff_json(h, now) for h in items]})

    @app.get("/desk/api/agents")
    async def agents(request: Request) -> HTTPResponse:
        need(request)
        return _json({"agents": [asdict(a) for a in await asyncio.to_thread(handoffs.agents)]})

    @app.post("/desk/api/status")
    @guard
    async def status(request: Request) -> HTTPResponse:
        current = need(request, write=True)
        online = bool(body_of(request).get("online"))
        agent = await asyncio.to_thread(handoffs.set_online, current.user.id, online)
        hub.publish({"type": "agents"})
        return _json({"online": agent.online})

    @app.get("/desk/api/stream")
    async def stream(request: Request) -> None:
        current = need(request)
        subscriber = hub.subscribe(current.user)
        await asyncio.to_thread(handoffs.set_online, current.user.id, True)
        hub.publish({"type": "agents"})
        reply = await request.respond(content_type="text/event-stream", headers={
            **HEADERS, "X-Accel-Buffering": "no"})
        try:
            await reply.send("retry: 2000\n\n")
            await reply.send(f"data: {json.dumps({'type': 'hello'})}\n\n")
            while True:
                try:
                    payload = await asyncio.wait_for(subscriber.queue.get(), timeout=15)
                except asyncio.TimeoutError:
                    await reply.send(": keep-alive\n\n")
                    continue
                if accounts.session(request.cookies.get(COOKIE)) is None:
                    await reply.send('data: {"type": "signed_out"}\n\n')
                    break
                await reply.send(f"data: {json.dumps(payload, ensure_ascii=False)}\n\n")
        except Exception:  # noqa: BLE001 - the page went away
            pass
        finally:
            hub.unsubscribe(subscriber)
            if not hub.online(current.user.id):
                await asyncio.to_thread(handoffs.set_online, current.user.id, False)
                hub.publish({"type": "agents"})
            with contextlib.suppress(Exception):
                await reply.eof()

    @app.post("/desk/internal/wake")
    async def wake(request: Request) -> HTTPResponse:
        token = config.desk_token
        auth = request.headers.get("authorization", "")
        given = auth[7:] if auth.lower().startswith("bearer ") else ""
        if not token or not secrets.compare_digest(given.encode(), token.encode()):
            raise Refused(401, "a valid bearer token is required")
        hub.wake()
        try:
            body = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError, RecursionError):
            body = {}
        if isinstance(body, dict) and body.get("kind") == "customer_typing" \
                and isinstance(body.get("handoff"), int):
            with contextlib.suppress(HandoffNotFound):
                handoff = await asyncio.to_thread(handoffs.get, body["handoff"])
                hub.publish({"type": "typing", "handoff": handoff.id,
                             "on": bool(body.get("on"))}, handoff=handoff)
        return _json({"ok": True})

    # --- one conversation -----------------------------------------------------------------

    @app.get("/desk/api/handoffs/<handoff_id:int>")
    @guard
    async def conversation(request: Request, handoff_id: int) -> HTTPResponse:
        current = need(request)
        handoff = await viewable(current, handoff_id)
        history = await bot.history(handoff.conversation) or {
            "conversation": handoff.conversation, "messages": [], "notes": [], "shown": [],
            "photos": [], "slots": {}, "customer_id": None}
        from desk.context import shop_context

        context = await asyncio.to_thread(shop_context, history, lang=handoff.language)
        events = await asyncio.to_thread(handoffs.events, handoff_id)
        return _json({"handoff": handoff_json(handoff, time.time()), "history": history,
                      "context": context, "events": [asdict(e) for e in events]})

    @app.get("/desk/api/handoffs/<handoff_id:int>/photos/<media_id>")
    @guard
    async def photo(request: Request, handoff_id: int, media_id: str) -> HTTPResponse:
        current = need(request)
        handoff = await viewable(current, handoff_id)
        history = await bot.history(handoff.conversation) or {}
        if media_id not in (history.get("photos") or []):
            raise Refused(404, "no such photo in this conversation")
        from vision.media import MediaStore

        try:
            data = await asyncio.to_thread(MediaStore(config.media_dir).get, media_id)
        except Exception:  # noqa: BLE001 - gone or unreadable
            raise Refused(404, "the photo is no longer stored") from None
        kind = ("image/png" if data[:8] == b"\x89PNG\r\n\x1a\n" else
                "image/webp" if data[8:12] == b"WEBP" else "image/jpeg")
        return response.raw(data, content_type=kind, headers=dict(HEADERS))

    @app.post("/desk/api/handoffs/<handoff_id:int>/claim")
    @guard
    async def claim(request: Request, handoff_id: int) -> HTTPResponse:
        current = need(request, write=True)
        await viewable(current, handoff_id)
        handoff = await asyncio.to_thread(handoffs.claim, handoff_id, current.user.id)
        await bot.wake()  # the record changed: the customer is told who joined
        return _json({"handoff": asdict(handoff)})

    @app.post("/desk/api/handoffs/<handoff_id:int>/reply")
    @guard
    async def reply(request: Request, handoff_id: int) -> HTTPResponse:
        current = need(request, write=True)
        handoff = await held(current, handoff_id)
        body = body_of(request)
        author = {"author": current.user.name, "agent_id": current.user.id}
        if body.get("product"):
            sku = text_of(body, "product")
            from desk.context import product_card_of

            card = await asyncio.to_thread(product_card_of, sku, lang=handoff.language,
                                           conversation=handoff.conversation)
            if card is None:
                raise Refused(404, "no such product")
            message = {"text": f"{card['title']} — {card['price']}",
                       "custom": {"type": "product_cards", "cards": [card], "source": "agent"},
                       **author}
            kind, shown = "product", card["title"]
        else:
            text = text_of(body, "text")
            message, kind, shown = {"text": text, **author}, "text", text
        entry = await bot.send(handoff.channel, handoff.conversation, message)
        await asyncio.to_thread(handoffs.replied, handoff_id, current.user.id, kind=kind,
                                text=shown)
        return _json({"id": entry, "message": message})

    @app.post("/desk/api/handoffs/<handoff_id:int>/note")
    @guard
    async def note(request: Request, handoff_id: int) -> HTTPResponse:
        current = need(request, write=True)
        handoff = await viewable(current, handoff_id)
        text = text_of(body_of(request), "text")
        await bot.event(handoff.conversation, "note", {"author": current.user.name,
                                                        "text": text})
        await asyncio.to_thread(handoffs.noted, handoff_id, current.user.id, text)
        return _json({"ok": True})

    @app.post("/desk/api/handoffs/<handoff_id:int>/transfer")
    @guard
    async def transfer(request: Request, handoff_id: int) -> HTTPResponse:
        current = need(request, write=True)
        await viewable(current, handoff_id)
        target = text_of(body_of(request), "to")
        updated = await asyncio.to_thread(handoffs.transfer, handoff_id, by=current.user.id,
                                          to=target)
        await bot.wake()
        return _json({"handoff": asdict(updated)})

    @app.post("/desk/api/handoffs/<handoff_id:int>/handback")
    @guard
    async def handback(request: Request, handoff_id: int) -> HTTPResponse:
        current = need(request, write=True)
        handoff = await held(current, handoff_id)
        summary = text_of(body_of(request), "summary", required=False) or None
        # one atomic step of the record; the Rasa server greets the customer back when it
        # applies it (now, or when it is back if it is down): nothing to tie together here
        updated = await asyncio.to_thread(handoffs.hand_back, handoff.id, current.user.id,
                                          summary=summary)
        await bot.wake()
        return _json({"handoff": asdict(updated)})

    @app.post("/desk/api/handoffs/<handoff_id:int>/typing")
    @guard
    async def typing(request: Request, handoff_id: int) -> HTTPResponse:
        current = need(request, write=True)
        on = bool(body_of(request).get("on"))
        # showing the hint needs the conversation; taking it away never does (after a
        # handback or a transfer the page may still clear what it showed)
        handoff = await (held(current, handoff_id) if on else viewable(current, handoff_id))
        await bot.typing(handoff.channel, handoff.conversation, on=on,
                         author=current.user.name)
        return _json({"ok": True})

    # --- catalog and canned responses -----------------------------------------------------

    @app.get("/desk/api/products")
    @guard
    async def products(request: Request) -> HTTPResponse:
        need(request)
        query = str(request.args.get("q") or "")[:100]
        lang = "zh" if request.args.get("lang") == "zh" else "en"
        from desk.context import search_products

        cards = await asyncio.to_thread(search_products, query, lang=lang, conversation=None)
        return _json({"products": cards})

    @app.get("/desk/api/canned")
    async def canned_list(request: Request) -> HTTPResponse:
        need(request)
        return _json({"canned": [asdict(c) for c in await asyncio.to_thread(accounts.canned)]})

    @app.post("/desk/api/canned")
    @guard
    async def canned_add(request: Request) -> HTTPResponse:
        current = need(request, write=True)
        body = body_of(request)
        item = await asyncio.to_thread(
            lambda: accounts.add_canned(language=str(body.get("language") or ""),
                                        title=text_of(body, "title"),
                                        text=text_of(body, "text"), by=current.user))
        return _json({"canned": asdict(item)}, 201)

    @app.delete("/desk/api/canned/<canned_id:int>")
    @guard
    async def canned_delete(request: Request, canned_id: int) -> HTTPResponse:
        current = need(request, write=True)
        if not await asyncio.to_thread(accounts.delete_canned, canned_id, by=current.user):
            raise Refused(404, "not found")
        return _json({"ok": True})

    return app


def _set_cookie(reply: HTTPResponse, name: str, value: str, config: DeskSettings, *,
                max_age: int) -> None:
    reply.cookies[name] = value
    cookie = reply.cookies[name]
    cookie["httponly"] = True
    cookie["samesite"] = "Strict"
    cookie["path"] = "/desk/"
    cookie["max-age"] = max_age
    if config.secure_cookies:
        cookie["secure"] = True

