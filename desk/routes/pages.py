"""Pages: sign-in and sign-out, the desk page, its static files, the health check."""

from __future__ import annotations

import asyncio
import mimetypes
import secrets

from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from desk.i18n import STRINGS
from desk.web import (
    COOKIE,
    HEADERS,
    HERE,
    LOGIN_COOKIE,
    Desk,
    Refused,
    cookie,
    json_reply,
    set_cookie,
)


def register(app: Sanic, desk: Desk) -> None:
    """The page routes."""

    @app.get("/desk/health")
    async def health(request: Request) -> HTTPResponse:
        return json_reply({"status": "ok"})

    # the desk's own files, named once: a name a stranger makes up is never a path
    # (a 300-character one made the file system refuse it with a 500; make fuzz)
    shipped = {p.name: p for p in (HERE / "static").iterdir() if p.is_file()}

    @app.get("/desk/static/<name>")
    async def static(request: Request, name: str) -> HTTPResponse:
        path = shipped.get(name)
        if path is None:
            raise Refused(404, "not found")
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return response.raw(path.read_bytes(), content_type=kind,
                            headers={**HEADERS, "Cache-Control": "no-cache"})

    @app.get("/desk/login")
    async def login_page(request: Request) -> HTTPResponse:
        token = secrets.token_urlsafe(24)
        reply = desk.render(request, "login.html", csrf=token, error=None)
        set_cookie(reply, LOGIN_COOKIE, token, desk.config, max_age=1800)
        return reply

    @app.post("/desk/login")
    async def login(request: Request) -> HTTPResponse:
        form = request.form or {}
        given, expected = form.get("csrf") or "", cookie(request, LOGIN_COOKIE) or ""
        words = STRINGS[desk.language(request)]
        if not expected or not secrets.compare_digest(str(given), expected):
            return desk.render(request, "login.html", 403, csrf=expected or "",
                               error=words["expired"])
        result = await asyncio.to_thread(
            desk.accounts.sign_in, str(form.get("username") or ""),
            str(form.get("password") or ""),
            address=str(request.remote_addr or request.ip or ""))
        if result is None:
            return desk.render(request, "login.html", 401, csrf=expected, error=words["wrong"])
        token, _ = result
        reply = response.redirect("/desk/", headers=dict(HEADERS))
        set_cookie(reply, COOKIE, token, desk.config,
                   max_age=int(desk.config.session_hours * 3600))
        set_cookie(reply, LOGIN_COOKIE, "", desk.config, max_age=0)
        return reply

    @app.post("/desk/logout")
    async def logout(request: Request) -> HTTPResponse:
        desk.need(request, write=True)
        desk.accounts.sign_out(cookie(request, COOKIE))
        reply = json_reply({"ok": True})
        set_cookie(reply, COOKIE, "", desk.config, max_age=0)
        return reply

    @app.get("/desk/")
    async def desk_page(request: Request) -> HTTPResponse:
        current = desk.session_of(request)
        if current is None:
            return response.redirect("/desk/login", headers=dict(HEADERS))
        return desk.render(request, "desk.html", user=current.user, csrf=current.csrf)
