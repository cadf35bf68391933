"""The web chat widget's channel: one script tag puts the assistant on a shop page.

Routes (all under ``/webhooks/widget/``):

``GET widget.js``
    The widget script (``make widget`` builds it from ``widget/``).
``POST session``
    Starts or resumes a conversation. Body (JSON, all optional)::

        {"token": "<a token this server issued before>",
         "user": {"sender": "shop-chosen conversation id", "customer_id": "C10001",
                  "customer_expires": 1767225600, "customer_sig": "<hex HMAC>"},
         "reset": false}

    Answers ``{"token", "conversation", "expires"}``. A token is signed by the
    server (``CHANNEL_SECRET``) and names the conversation and the customer;
    it travels in request bodies and the socket's first frame, never in a URL.
    ``user`` is a customer id the shop's server signed (:mod:`shop.identity`)
    for the conversation ``sender``; unsigned, forged or expired claims get
    ``401``. ``reset`` (log out) starts a new anonymous conversation.
``GET socket`` (WebSocket)
    First frame ``{"type": "hello", "token": ..., "since": <last message id>}``;
    the server answers ``{"type": "ready", "history": [...]}`` with what came
    after ``since`` (the recent history when 0), then streams every new message
    of the conversation (the assistant's answers, an agent's, the customer's
    own from another tab) as ``{"type": "message", ...}``. The client sends
    ``{"type": "message", "id": "<client message id>", "text": ...}`` (or
    ``payload`` for a button, ``image`` for an uploaded photo) and gets
    ``{"type": "ack", "id", "entry"}`` once it is stored. A message whose id was
    seen before is acknowledged and not processed again, unless the server that took
    it died mid-turn: then the first server to get it again answers it, once
    (:class:`~bot.channels.replays.Replays`, shared by every server), and a resend of
    a message answered before, or being answered, gets ``"answered": true`` /
    ``false`` in its ack. The page keeps a message it sent until the turn that
    answers it ends (``{"type": "typing", "on": false, "upto": <entry>}``) and
    sends it again on reconnecting. While the channels' database is away the chat
    goes on without the history: ``ready`` says ``"degraded": true`` (the page
    keeps what it shows), a message is answered over the socket itself and then
    acknowledged with ``"answered": true``; the tracker keeps those turns, the
    history does not.
``POST media``
    A photo, as the ``file`` field of a multipart form whose ``token`` field is
    the session token (or the raw body with ``Authorization: Bearer <token>``),
    checked and stored as the REST channel's uploads are
    (:func:`bot.channels.media.receive_photo`).

Preflight requests to these routes are answered by the channel itself (before
Rasa's CORS layer, which knows only ``--cors``), for ``WIDGET_ORIGINS`` only.

Only pages of ``WIDGET_ORIGINS`` may use these routes: other origins get
``403`` (and no CORS headers). Every message passes the shared gate (input
checks, identity, limits); the answers come from the same Rasa code path as
REST, stored in the :class:`~bot.channels.history.MessageHistory` so that a reload, a
second tab or a reconnect gets them, and anything may be pushed into an open
conversation later (:func:`bot.channels.sending.push`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import logging
import time
import uuid
import weakref
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from sqlalchemy.exc import SQLAlchemyError

from bot.channels.checks import (
    BadRequest,
    Throttled,
    check_id,
    check_storable,
    clean_text,
    client_address,
    headers_for,
    parse_json_object,
)
from bot.channels.gate import CLAIM_KEYS, IDENTITY_ERRORS, TAPPED, polite, shared_gate
from bot.channels.handover import held, wake_desk
from bot.channels.history import Entry, MessageHistory, journal_for
from bot.channels.media import photo_message, receive_photo, shared_media
from bot.channels.pipeline import kept_turn, take_turn
from bot.channels.replays import Claim, Replays
from bot.channels.sending import (
    drawn_with_cards,
    message_body,
    register_pusher,
    register_typist,
)
from bot.channels.wakeups import wakeups_for
from bot.components.language import LANGUAGES
from bot.settings import ChannelSettings, settings
from shop.identity import verify

logger = logging.getLogger(__name__)

CHANNEL = "widget"
HELLO_TIMEOUT = 10.0
FOLLOW_AGAIN_SECONDS = 2.0  # the history's database away: how soon to follow it again
MAX_FRAME = 64 * 1024


# --- session tokens ------------------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    """What a widget token proves: a conversation, and the customer if signed in."""

    conversation: str
    expires: int
    customer_id: str | None = None
    customer_sig: str | None = None
    customer_expires: int | None = None

    def claims(self) -> Dict[str, Any]:
        """The shop's signed claim, re-checked by the gate with every message."""
        if not self.customer_id:
            return {}
        return {"customer_id": self.customer_id, "customer_sig": self.customer_sig,
                "customer_expires": self.customer_expires}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue_token(session: Session, secret: str) -> str:
    """A signed, opaque token for ``session``."""
    body = _b64(json.dumps({"c": session.conversation, "x": session.expires,
                            "u": session.customer_id, "s": session.customer_sig,
                            "e": session.customer_expires}, separators=(",", ":")).encode())
    tag = hmac.new(secret.encode(), f"widget|{body}".encode(), hashlib.sha256).digest()
    return f"{body}.{_b64(tag)}"


def read_token(token: Any, secret: str, *, now: float | None = None) -> Session:
    """The session a token proves.

    Raises:
        BadRequest: Not a token of this server, or expired (401).
    """
    if not isinstance(token, str) or len(token) > 2048 or token.count(".") != 1:
        raise BadRequest("the session token is missing or malformed", 401)
    body, tag = token.split(".")
    want = hmac.new(secret.encode(), f"widget|{body}".encode(), hashlib.sha256).digest()
    try:
        valid = hmac.compare_digest(_unb64(tag), want)
        data = json.loads(_unb64(body)) if valid else None
    except (ValueError, UnicodeDecodeError):
        valid, data = False, None
    if not valid or not isinstance(data, dict):
        raise BadRequest("the session token is not valid", 401)
    if int(data.get("x", 0)) < (now or time.time()):
        raise BadRequest("the session token has expired", 401)
    return Session(conversation=str(data["c"]), expires=int(data["x"]),
                   customer_id=data.get("u"), customer_sig=data.get("s"),
                   customer_expires=data.get("e"))


def start_session(payload: Dict[str, Any], config: ChannelSettings) -> Session:
    """The session a ``POST session`` body asks for (see the module docstring).

    Raises:
        BadRequest: A malformed body (400) or an identity it cannot prove (401).
    """
    expires = int(time.time()) + config.widget_session_days * 86400
    user = payload.get("user")
    if user is not None:
        if not isinstance(user, dict):
            raise BadRequest('"user" must be a JSON object')
        sender = check_id(user.get("sender"), "user.sender", config)
        check = verify({k: user.get(k) for k in CLAIM_KEYS}, sender=sender,
                       secret=config.customer_id_secret)
        if check.rejected or not check.customer_id:
            raise BadRequest(IDENTITY_ERRORS.get(check.status, "customer_id is required"), 401)
        return Session(conversation=sender, expires=expires, customer_id=check.customer_id,
                       customer_sig=str(user.get("customer_sig")),
                       customer_expires=int(user.get("customer_expires")))
    token = payload.get("token")
    if token is not None and not payload.get("reset"):
        try:
            previous = read_token(token, config.channel_secret)
        except BadRequest:
            previous = None  # an old or foreign token: a new anonymous conversation
        if previous is not None and not previous.customer_id:
            return Session(conversation=previous.conversation, expires=expires)
    return Session(conversation=f"web-{uuid.uuid4().hex}", expires=expires)


# --- answers and pushes into the history ----------------------------------------------------


class WidgetOutput(OutputChannel):
    """Rasa's answers to widget conversations, stored and streamed to open pages.

    Works for any conversation, not only the one being answered: Rasa's
    ``output_channel=widget`` (reminders, external events) lands here too.
    """

    def __init__(self, history: MessageHistory, *, direct: Any = None) -> None:
        self.history = history
        self.direct = direct  # the page's socket, for answers the history cannot keep
        self.last_id = 0  # the last message this output stored (the end of a turn)

    @classmethod
    def name(cls) -> str:
        """The channel's name."""
        return CHANNEL

    async def send_response(self, recipient_id: str, message: Dict[str, Any]) -> None:
        """One answer; product cards the widget draws are not listed again in words."""
        await super().send_response(recipient_id, drawn_with_cards(message))

    async def _put(self, recipient_id: str, message: Dict[str, Any]) -> None:
        body = message_body(message)
        if not body:
            return
        try:
            self.last_id = (await self.history.append(recipient_id, "assistant", body)).id
        except SQLAlchemyError:
            if self.direct is None:
                raise
            # the channels' database is away: the open page still gets the answer (the
            # tracker keeps the turn; with Redis, the history's journal keeps the entry
            # and a page reloaded once the database is back shows it)
            logger.warning("widget answer not kept in the history; sent to the page")
            await _send_quietly(self.direct, {"type": "message", "role": "assistant",
                                              "ts": time.time(), **body})

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        """A text answer."""
        for part in text.strip().split("\n\n"):
            await self._put(recipient_id, {"text": part})

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        """An image."""
        await self._put(recipient_id, {"image": image})

    async def send_attachment(self, recipient_id: str, attachment: str, **kwargs: Any) -> None:
        """An attachment, as a text line."""
        await self._put(recipient_id, {"text": str(attachment)})

    async def send_text_with_buttons(self, recipient_id: str, text: str, buttons: Any,
                                     **kwargs: Any) -> None:
        """Text and quick-reply buttons."""
        await self._put(recipient_id, {"text": text, "buttons": buttons})

    async def send_quick_replies(self, recipient_id: str, text: str, quick_replies: Any,
                                 **kwargs: Any) -> None:
        """Text and quick replies (drawn as buttons)."""
        await self._put(recipient_id, {"text": text, "buttons": quick_replies})

    async def send_elements(self, recipient_id: str, elements: Any, **kwargs: Any) -> None:
        """Generic elements, as a custom payload."""
        await self._put(recipient_id, {"custom": {"elements": elements}})

    async def send_custom_json(self, recipient_id: str, json_message: Dict[str, Any],
                               **kwargs: Any) -> None:
        """Custom payloads (``product_cards`` is drawn as a carousel)."""
        await self._put(recipient_id, {"custom": json_message})


# --- the channel ---------------------------------------------------------------------------


def _upgrade(request: Any) -> bool:
    """Whether a request is a well-formed WebSocket handshake (RFC 6455: GET with
    ``Upgrade: websocket``, ``Connection: upgrade``, a version and a key)."""
    headers = request.headers
    return (headers.get("upgrade", "").strip().lower() == "websocket"
            and "upgrade" in headers.get("connection", "").lower()
            and bool(headers.get("sec-websocket-key", "").strip())
            and headers.get("sec-websocket-version", "").strip() == "13")


def _cors(request: Request, config: ChannelSettings) -> Dict[str, str] | None:
    """CORS headers for an allowed origin; ``None`` for a refused one."""
    origin = request.headers.get("origin")
    if origin is None:
        return {}  # not a browser's cross-origin request (curl, a server)
    if origin.rstrip("/") not in config.widget_origins:
        return None
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin",
            "Access-Control-Allow-Headers": "authorization, content-type",
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Max-Age": "600"}


class WidgetInput(InputChannel):
    """The web widget's channel; registered in ``bot/credentials.yml``."""

    @classmethod
    def name(cls) -> str:
        """Served under ``/webhooks/widget/``."""
        return CHANNEL

    def __init__(self) -> None:
        self.config = settings()
        self.history = MessageHistory(
            self.config.channel_db_url, channel=CHANNEL,
            wakeups=wakeups_for(self.config.redis_url),
            journal=journal_for(self.config.redis_url, self.config.channel_db_url))
        # a lock per conversation while a turn holds it (gone with the last reference)
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = \
            weakref.WeakValueDictionary()
        self._on_new_message: Callable[[UserMessage], Awaitable[Any]] | None = None
        self._sockets: Dict[str, set[Any]] = {}  # open windows per conversation
        # which server answers a client message id (shared by every server, in SQL):
        # a message resent after its server died mid-turn is taken over, once
        self.replays = Replays(self.config.channel_db_url)

    @classmethod
    def from_credentials(cls, credentials: Dict[str, Any] | None) -> "WidgetInput":
        """Settings come from the environment (:mod:`bot.settings`), not credentials."""
        return cls()

    def get_output_channel(self) -> OutputChannel:
        """Rasa's way to reach the channel outside a reply."""
        return WidgetOutput(self.history)

    async def _push(self, conversation: str, message: Dict[str, Any], role: str) -> int:
        body = message_body(drawn_with_cards(message))
        if not body:
            raise BadRequest("the message has nothing to show (text, buttons, image, custom)")
        return (await self.history.append(conversation, role, body)).id

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        """The widget's routes (see the module docstring)."""
        bp = Blueprint("shop_widget", __name__)
        config, gate, media = self.config, shared_gate(), shared_media()
        self._on_new_message = on_new_message
        register_pusher(CHANNEL, self._push)
        register_typist(CHANNEL, self._typing)

        def refuse(message: str, status: int, cors: Dict[str, str] | None = None
                   ) -> HTTPResponse:
            return response.json({"error": message}, status=status,
                                 headers=headers_for(cors or {}))

        fetched = {f"/webhooks/{CHANNEL}/session", f"/webhooks/{CHANNEL}/media"}
        socket_path = f"/webhooks/{CHANNEL}/socket"

        async def cross_origin(request: Request) -> HTTPResponse | None:
            # the routes a page calls with fetch(): the origin is checked here, once, and
            # a preflight answered for WIDGET_ORIGINS only (Rasa's CORS layer knows only
            # --cors and would answer it first otherwise; hence appendleft below)
            if request.path == socket_path and not _upgrade(request):
                # Sanic's handshake fails with a 500 on a malformed upgrade (schemathesis
                # found an empty Upgrade header): a plain request gets its answer here
                return response.json({"error": "this route is a WebSocket: send a "
                                      "handshake (Upgrade: websocket)"}, status=426,
                                     headers=headers_for({"Upgrade": "websocket"}))
            if request.path not in fetched:
                return None
            cors = _cors(request, config)
            if cors is None:
                return refuse("this origin may not use the widget", 403)
            if request.method == "OPTIONS":
                return response.empty(headers=headers_for(cors))
            request.ctx.cors = cors
            return None

        @bp.listener("before_server_start")
        async def configure(app: Any, loop: Any) -> None:
            app.config.WEBSOCKET_MAX_SIZE = MAX_FRAME
            app.config.WEBSOCKET_PING_INTERVAL = 20
            app.config.WEBSOCKET_PING_TIMEOUT = 20
            app.request_middleware.appendleft(cross_origin)

        @bp.route("/widget.js", methods=["GET"])
        async def script(request: Request) -> HTTPResponse:
            path = config.widget_script
            if not path.is_file():
                return refuse("the widget is not built: run `make widget`", 404)
            return response.raw(path.read_bytes(), content_type="text/javascript; charset=utf-8",
                                headers={"X-Content-Type-Options": "nosniff",
                                         "Cache-Control": "public, max-age=300",
                                         "Cross-Origin-Resource-Policy": "cross-origin"})

        # OPTIONS is routed (Sanic answers 405 before any middleware otherwise) and
        # answered by cross_origin; the handlers see POST only
        @bp.route("/session", methods=["POST", "OPTIONS"])
        async def session(request: Request) -> HTTPResponse:
            cors = request.ctx.cors
            try:
                gate.limiter.hit(f"widget-session:{gate.client(client_address(request))}",
                                 limit=config.messages_per_ip, window=60)
                started = start_session(parse_json_object(request.body, config), config)
            except BadRequest as exc:
                return refuse(str(exc), exc.status, cors)
            except Throttled as exc:
                return response.json({"error": "too many sessions"}, status=429,
                                     headers=headers_for({**cors,
                                                          "Retry-After": str(exc.retry_after)}))
            return response.json({"token": issue_token(started, config.channel_secret),
                                  "conversation": started.conversation,
                                  "customer": started.customer_id is not None,
                                  "expires": started.expires}, headers=headers_for(cors))

        @bp.route("/media", methods=["POST", "OPTIONS"])
        async def upload(request: Request) -> HTTPResponse:
            cors = request.ctx.cors
            auth = request.headers.get("authorization", "")
            try:
                token = auth[7:] if auth.lower().startswith("bearer ") else None
                if token is None and request.headers.get("content-type", "").startswith(
                        "multipart/form-data"):
                    token = request.form.get("token") if request.form else None
                current = read_token(token, config.channel_secret)
            except BadRequest as exc:
                return refuse(str(exc), exc.status, cors)
            status, body = await receive_photo(request, sender=current.conversation,
                                               channel=CHANNEL,
                                               lang_hint=request.args.get("lang"))
            extra = {"Retry-After": str(body["retry_after"])} if "retry_after" in body else {}
            return response.json(body, status=status, headers=headers_for({**cors, **extra}))

        @bp.websocket("/socket")
        async def socket(request: Request, ws: Any) -> None:
            if _cors(request, config) is None or request.headers.get("origin") is None:
                await ws.close(code=4403, reason="origin not allowed")
                return
            try:  # reconnects count too: a client cannot open sockets without end
                gate.limiter.hit(f"widget-socket:{gate.client(client_address(request))}",
                                 limit=config.messages_per_ip, window=60)
            except Throttled:
                await ws.close(code=4429, reason="too many connections, try again later")
                return
            try:
                hello = json.loads(await asyncio.wait_for(ws.recv(), HELLO_TIMEOUT))
                if not isinstance(hello, dict) or hello.get("type") != "hello":
                    raise BadRequest("the first frame must be a hello")
                current = read_token(hello.get("token"), config.channel_secret)
                since = hello.get("since")
                since = since if isinstance(since, int) and since > 0 else 0
            except BadRequest as exc:
                await ws.close(code=4401 if exc.status == 401 else 4400, reason=str(exc)[:100])
                return
            except (asyncio.TimeoutError, ValueError, TypeError):
                await ws.close(code=4400, reason="expected a hello frame")
                return
            conversation = current.conversation
            try:
                history, degraded = await self.history.since(conversation, since), False
            except SQLAlchemyError:  # the channels' database is away: chat on without it
                logger.warning("widget history not read; the page keeps what it shows")
                history, degraded = [], True
            last = history[-1].id if history else since
            await ws.send(json.dumps({"type": "ready", "conversation": conversation,
                                      "history": [e.as_json() for e in history],
                                      **({"degraded": True} if degraded else {})},
                                     ensure_ascii=False))

            async def forward() -> None:
                nonlocal last
                while True:  # the database away: followed again once it is back
                    try:
                        async for entry in self.history.listen(conversation, last):
                            last = max(last, entry.id)
                            await ws.send(json.dumps({"type": "message", **entry.as_json()},
                                                     ensure_ascii=False))
                    except SQLAlchemyError:
                        await asyncio.sleep(FOLLOW_AGAIN_SECONDS)

            self._sockets.setdefault(conversation, set()).add(ws)
            forwarder = asyncio.create_task(forward())
            tasks: set[asyncio.Task] = set()
            address = client_address(request)
            try:
                while not forwarder.done():
                    frame = await ws.recv()
                    if frame is None:
                        break
                    task = asyncio.create_task(self._on_frame(
                        frame, ws, current, address, on_new_message, gate, media,
                        request.app))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
            except Exception:  # noqa: BLE001 - a closed socket ends the conversation's stream
                pass
            finally:
                forwarder.cancel()
                windows = self._sockets.get(conversation, set())
                windows.discard(ws)
                if not windows:
                    self._sockets.pop(conversation, None)

        return bp

    async def _on_frame(self, frame: Any, ws: Any, current: Session, address: str,
                        on_new_message: Callable[[UserMessage], Awaitable[Any]],
                        gate: Any, media: Any, app: Any = None) -> None:
        """One client frame: a message (processed once per client id) or a ping."""
        conversation = current.conversation
        try:
            data = json.loads(frame) if isinstance(frame, (str, bytes)) else None
        except (ValueError, UnicodeDecodeError, RecursionError):
            data = None
        try:
            if not isinstance(data, dict):
                raise BadRequest("a frame must be a JSON object")
            check_storable(data, max_depth=4, max_items=64)
            if data.get("type") == "ping":
                await ws.send(json.dumps({"type": "pong"}))
                return
            if data.get("type") == "typing":  # the customer types: the agent may see it
                await self._customer_typing(conversation, bool(data.get("on")), gate, app)
                return
            if data.get("type") != "message":
                raise BadRequest('unknown frame type (expected "message", "typing" or "ping")')
            client_id = check_id(data.get("id"), "id", self.config)[:64]
            text, payload = data.get("text"), data.get("payload")
            image = data.get("image")
            said = payload if isinstance(payload, str) and payload else text
            if not isinstance(said, str) or (not said.strip() and image is None):
                raise BadRequest('a message needs "text", "payload" or "image"')
            shown = clean_text(text if isinstance(text, str) else said,
                               self.config.max_message_chars)
        except BadRequest as exc:
            await ws.send(json.dumps({"type": "error", "error": str(exc)}))
            return
        # the gate before anything is stored: a flood of messages is refused, not kept
        try:
            message = gate.admit(sender=conversation, text=said, metadata=current.claims(),
                                 address=address, channel=CHANNEL)
        except (Throttled, BadRequest) as exc:
            # not stored, so not resent: the page drops it and shows why
            kind = "rate_limited" if isinstance(exc, Throttled) else "failed"
            await _send_quietly(ws, {"type": "ack", "id": client_id, "refused": True})
            if isinstance(exc, BadRequest) and exc.status != 401:
                await _send_quietly(ws, {"type": "error", "error": str(exc)})
            else:  # a limit, or the shop's signature expired (the customer logs in again)
                await _send_quietly(ws, {"type": "message", "role": "notice", "ts": time.time(),
                                         "text": polite(kind, said)})
            return
        if data.get("locale") in LANGUAGES:  # the chat window's language, for a bare photo
            message.metadata["locale"] = data["locale"]
        if isinstance(payload, str) and payload.startswith("/") and shown:
            message.metadata[TAPPED] = shown[:200]  # the history shows the button's title
        body: Dict[str, Any] = {"text": shown}
        if image is not None:
            body["photo"] = True
        entry: Entry | None
        try:
            entry, _ = await self.history.customer_message(conversation, client_id, body)
        except SQLAlchemyError:  # the database is away: answered, acknowledged after
            logger.warning("widget message not kept in the history; answered all the same")
            entry = None
        else:
            await _send_quietly(ws, {"type": "ack", "id": client_id, "entry": entry.id})
        try:
            if image is not None:
                message = photo_message(message, media.resolve(image, sender=conversation))
        except BadRequest as exc:
            await _send_quietly(ws, {"type": "error", "error": str(exc)})
            return
        # a resend (the page reconnected) is answered only if nobody answered it: its
        # server died mid-turn (Replays: taken over once nobody renewed it for 6 s)
        await self._answer(conversation, message, said, ws, entry, app,
                           key=f"widget:{client_id[:56]}", client_id=client_id)

    async def _typing(self, conversation: str, on: bool, author: str) -> bool:
        windows = list(self._sockets.get(conversation, ()))
        for ws in windows:
            await _send_quietly(ws, {"type": "agent_typing", "on": on, "author": author})
        return bool(windows)

    async def _customer_typing(self, conversation: str, on: bool, gate: Any,
                               app: Any) -> None:
        try:
            gate.limiter.hit(f"typing:{conversation}", limit=30, window=60)
        except Throttled:
            return  # a hint, not a message: dropped
        ticket = await held(conversation) if app is not None else None
        if ticket is not None:
            wake_desk({"kind": "customer_typing", "handoff": ticket.handoff_id, "on": on})

    async def _answer(self, conversation: str, message: Any, said: str, ws: Any,
                      entry: Entry | None, app: Any = None, *, key: str,
                      client_id: str) -> None:
        """Hand one admitted customer message to Rasa (or, while a person holds the
        conversation, to that person), unless another request answered it or is
        answering it (``key`` in :class:`Replays`); answers go to the history, or,
        while the channels' database is away (``entry`` is ``None``), to the page."""
        lock = self._locks.get(conversation)
        if lock is None:
            lock = self._locks[conversation] = asyncio.Lock()
        async with lock:  # one turn at a time per conversation, in the order received
            try:
                claim = await self.replays.claim(conversation, key)
            except SQLAlchemyError:  # the channels' database is away: answer it
                logger.exception("widget message id not checked")
                claim = Claim()
            agent = app.ctx.agent if app is not None else None
            if claim is not None and claim.taken_over and \
                    await kept_turn(agent, conversation, key) is not None:
                # its server died after the assistant kept the turn: the answers are
                # in the history already (the widget's output stores them as they come)
                with contextlib.suppress(SQLAlchemyError):
                    await self.replays.answered(conversation, key, [])
                claim = Claim(answers=[])
            if claim is None or not claim.mine:
                # answered before, or still being answered by a live server: the answer
                # reaches the page through the history; the page may forget the message
                await _send_quietly(ws, {"type": "ack", "id": client_id,
                                         "entry": entry.id if entry else None,
                                         "answered": claim is not None})
                return
            async with self.replays.held(conversation, key):
                await self._turn(conversation, message, said, ws, entry, agent, key=key)
            with contextlib.suppress(SQLAlchemyError):
                await self.replays.answered(conversation, key, [])
            if entry is None:  # answered on the page itself: nothing to send again
                await _send_quietly(ws, {"type": "ack", "id": client_id, "answered": True})

    async def _turn(self, conversation: str, message: Any, said: str, ws: Any,
                    entry: Entry | None, agent: Any, *, key: str) -> None:
        output = WidgetOutput(self.history, direct=ws)

        async def typing() -> None:
            await _send_quietly(ws, {"type": "typing", "on": True})

        if not await take_turn(agent, self._on_new_message, message, output,
                               channel=CHANNEL, said=said, before=typing, message_id=key):
            return
        # the turn ends once the page has drawn the message with id `upto`
        await _send_quietly(ws, {"type": "typing", "on": False,
                                 "upto": max(output.last_id, entry.id if entry else 0)})

    def get_metadata(self, request: Request) -> Dict[str, Any] | None:
        """Metadata comes from the session, not from the request."""
        return None


async def _send_quietly(ws: Any, frame: Dict[str, Any]) -> None:
    # the page may have gone away: the history keeps the answer
    with contextlib.suppress(Exception):
        await ws.send(json.dumps(frame))
