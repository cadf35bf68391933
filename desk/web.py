"""What every route of the desk shares: its services, sessions and CSRF, reading a body,
answering with a JSON error, and the security headers of every answer.

Pages are served under a strict Content-Security-Policy (scripts and styles only from
this server, no inline code); every piece of customer text and product data is put on
the page as text (Jinja2 autoescape on the server, ``textContent`` in the scripts).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment
from sanic import response
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
from vision.media import Media

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

Handler = Callable[..., Awaitable[HTTPResponse]]


class Refused(Exception):
    """A request the desk answers with ``status`` and a JSON ``error`` (and ``extra``)."""

    def __init__(self, status: int, error: str,
                 extra: dict[str, Any] | None = None) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.extra = extra or {}


def json_reply(body: Any, status: int = 200) -> HTTPResponse:
    """A JSON answer with the desk's headers."""
    return response.json(body, status=status, headers=dict(HEADERS), ensure_ascii=False)


def handoff_json(handoff: Handoff, now: float) -> dict[str, Any]:
    """A handoff as the desk's pages get it."""
    data = asdict(handoff)
    data["waiting_seconds"] = round(now - handoff.requested_at)
    return data


def set_cookie(reply: HTTPResponse, name: str, value: str, config: DeskSettings, *,
               max_age: int) -> None:
    """An HttpOnly, SameSite=Strict cookie for the desk's paths (Secure when configured)."""
    reply.cookies[name] = value
    cookie = reply.cookies[name]
    cookie["httponly"] = True
    cookie["samesite"] = "Strict"
    cookie["path"] = "/desk/"
    cookie["max-age"] = max_age
    if config.secure_cookies:
        cookie["secure"] = True


def body_of(request: Request) -> dict[str, Any]:
    """The request's JSON object (400 otherwise)."""
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise Refused(400, "the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise Refused(400, "the body must be a JSON object")
    return body


def text_of(body: dict[str, Any], key: str, *, required: bool = True) -> str:
    """A text field of a body: valid Unicode, trimmed, at most ``MAX_TEXT`` characters."""
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


def guard(fn: Handler) -> Handler:
    """The queue's and the Rasa server's refusals as the desk's answers (409, 404, 502)."""
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
            if exc.delivery is not None:  # kept undelivered: the page offers a retry
                raise Refused(409 if exc.status == 409 else 502, str(exc),
                              {"delivery": exc.delivery}) from None
            raise Refused(502, str(exc)) from None
        except AccountError as exc:
            raise Refused(403 if "supervisor" in str(exc) else 400, str(exc)) from None
    wrapped.__name__ = fn.__name__
    return wrapped


def cookie(request: Request, name: str) -> str | None:
    """A cookie's value; ``None`` when absent, or when a stranger's ``Cookie`` header
    cannot be read at all (an illegal name in it made every desk route fail with 500)."""
    from http.cookies import CookieError

    try:
        return request.cookies.get(name)
    except CookieError:
        return None


@dataclass
class Desk:
    """The desk's services, shared by its routes."""

    config: DeskSettings
    handoffs: HandoffService
    accounts: Accounts
    bot: BotClient
    hub: Hub
    scheduler: Scheduler
    pages: Environment
    media: Media

    def session_of(self, request: Request) -> Session | None:
        """The signed-in agent's session, if any."""
        return self.accounts.session(cookie(request, COOKIE))

    def need(self, request: Request, *, write: bool = False) -> Session:
        """A session (401), and its CSRF token for a change (403)."""
        current = self.session_of(request)
        if current is None:
            raise Refused(401, "sign in first")
        if write and not self.accounts.csrf_ok(current, request.headers.get("x-csrf-token")):
            raise Refused(403, "missing or wrong CSRF token")
        return current

    async def viewable(self, current: Session, handoff_id: int) -> Handoff:
        """A handoff the agent may see (404 for one they may not, as for none)."""
        try:
            handoff = await asyncio.to_thread(self.handoffs.get, handoff_id)
            allowed = await asyncio.to_thread(self.handoffs.may_view, handoff_id,
                                              current.user.id)
        except (HandoffNotFound, UnknownAgent):
            raise Refused(404, "no such conversation") from None
        if not allowed:
            raise Refused(404, "no such conversation")
        return handoff

    async def held(self, current: Session, handoff_id: int) -> Handoff:
        """A handoff the agent holds (409 otherwise)."""
        handoff = await self.viewable(current, handoff_id)
        if handoff.state != ASSIGNED or handoff.agent != current.user.id:
            raise Refused(409, "claim the conversation first")
        return handoff

    def language(self, request: Request) -> str:
        """The agent's language (:mod:`desk.i18n`)."""
        return pick_language(asked=request.args.get("lang"),
                             cookie=cookie(request, LANG_COOKIE),
                             accept=request.headers.get("accept-language"))

    def render(self, request: Request, template: str, status: int = 200,
               **values: Any) -> HTTPResponse:
        """A page in the agent's language (a language chosen on it is kept a year)."""
        lang = self.language(request)
        page = self.pages.get_template(template).render(
            lang=lang, t=STRINGS[lang], strings=json.dumps(STRINGS[lang], ensure_ascii=False),
            **values)
        reply = response.html(page, status=status, headers=dict(HEADERS))
        if request.args.get("lang") == lang:
            set_cookie(reply, LANG_COOKIE, lang, self.config, max_age=365 * 86400)
        return reply
