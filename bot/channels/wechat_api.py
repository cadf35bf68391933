"""WeChat's server API, as the WeChat channel uses it (``bot/channels/wechat.py``).

- :class:`TokenStore`: the ``access_token``, fetched once and kept in the
  channels' SQL database so that every Rasa process shares it; refreshed
  before it expires and when WeChat says it is invalid (40001, 40014, 42001),
  by one process at a time (a lease row), never per message.
- :class:`WeChatApi`: ``message/custom/send``, ``media/get`` and
  ``media/upload`` over ``aiohttp`` (never blocking the event loop), with a
  timeout per call and retries with backoff on 5xx, network errors and WeChat's
  "system busy" (-1). Errors are :class:`WeChatApiError`; callers log them,
  nothing is raised into Rasa.

The API's base URL is configurable (``WECHAT_API_BASE``): the tests point it at
a fake platform that speaks the same wire format.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
from typing import Any, Awaitable, Callable, Dict

import sqlalchemy as sa

from bot.channels.checks import read_at_most
from bot.channels.sql import channel_engine
from telemetry import metrics

logger = logging.getLogger(__name__)

TOKEN_INVALID = (40001, 40014, 42001)   # invalid credential, invalid token, expired
OUTSIDE_WINDOW = (45015, 45047)         # 48-hour window passed; too many messages
BUSY = (-1,)
REFRESH_MARGIN = 300.0                  # refresh this many seconds before expiry
LEASE_SECONDS = 15.0

_metadata = sa.MetaData()
tokens = sa.Table(
    "wechat_tokens", _metadata,
    sa.Column("app_id", sa.String(64), primary_key=True),
    sa.Column("token", sa.String(600), nullable=True),
    sa.Column("expires_at", sa.Float, nullable=False, default=0.0),
    sa.Column("lease_until", sa.Float, nullable=False, default=0.0),
    sa.Column("refreshed", sa.Integer, nullable=False, default=0),
)
# photos uploaded to WeChat (temporary media), shared by every process and machine
uploads = sa.Table(
    "wechat_uploads", _metadata,
    sa.Column("app_id", sa.String(64), primary_key=True),
    sa.Column("url_hash", sa.String(64), primary_key=True),
    sa.Column("media_id", sa.String(256), nullable=False),
    sa.Column("uploaded_at", sa.Float, nullable=False),
)


class WeChatApiError(Exception):
    """A call to WeChat failed; ``code`` is WeChat's ``errcode`` (or the HTTP status)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"WeChat error {code}: {message}")
        self.code = code
        self.message = message
        metrics.PLATFORM_API_ERRORS.labels("wechat", (
            "token" if code in TOKEN_INVALID or code == -2 else
            "window" if self.outside_window else
            "unavailable" if code == -1 or 500 <= code < 600 else "refused")).inc()

    @property
    def outside_window(self) -> bool:
        """The customer can't be written to now (48-hour window or quota)."""
        return self.code in OUTSIDE_WINDOW


def _digest(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8", "replace")).hexdigest()


class TokenStore:
    """The account's ``access_token``, shared by every process through SQL.

    Args:
        url: SQLAlchemy URL of the channels' database.
        app_id: The account's AppID (one row per account).
        fetch: Coroutine returning ``(token, expires_in)`` from WeChat.
        clock: Wall-clock seconds; injectable for tests.
    """

    def __init__(self, url: str, *, app_id: str,
                 fetch: Callable[[], Awaitable[tuple[str, float]]],
                 clock: Callable[[], float] = time.time) -> None:
        self._engine = channel_engine(url, _metadata)
        self.app_id = app_id
        self._fetch = fetch
        self._clock = clock
        self._cached: tuple[str, float] | None = None
        self._lock = asyncio.Lock()

    # --- SQL, in a worker thread ------------------------------------------------------------

    def _read(self) -> tuple[str | None, float]:
        with self._engine.connect() as db:
            row = db.execute(sa.select(tokens.c.token, tokens.c.expires_at).where(
                tokens.c.app_id == self.app_id)).first()
        return (row.token, float(row.expires_at)) if row else (None, 0.0)

    def _take_lease(self) -> bool:
        now = self._clock()
        with self._engine.connect() as db:
            missing = db.execute(sa.select(tokens.c.app_id).where(
                tokens.c.app_id == self.app_id)).first() is None
        if missing:
            # another process may insert it first: then its row is the one
            with contextlib.suppress(sa.exc.IntegrityError), self._engine.begin() as db:
                db.execute(tokens.insert().values(app_id=self.app_id, token=None,
                                                  expires_at=0.0, lease_until=0.0,
                                                  refreshed=0))
        with self._engine.begin() as db:
            taken = db.execute(tokens.update().where(
                tokens.c.app_id == self.app_id, tokens.c.lease_until < now).values(
                lease_until=now + LEASE_SECONDS))
            return bool(taken.rowcount)

    def _store(self, token: str | None, expires_at: float) -> None:
        with self._engine.begin() as db:
            db.execute(tokens.update().where(tokens.c.app_id == self.app_id).values(
                token=token, expires_at=expires_at, lease_until=0.0,
                refreshed=tokens.c.refreshed + (1 if token else 0)))

    def _expire(self, token: str) -> None:
        with self._engine.begin() as db:
            db.execute(tokens.update().where(tokens.c.app_id == self.app_id,
                                             tokens.c.token == token).values(expires_at=0.0))

    def upload_of(self, url: str, *, max_age: float) -> str | None:
        """The ``media_id`` of ``url``'s photo if any process uploaded it within
        ``max_age`` seconds (SQL: call in a worker thread)."""
        with self._engine.connect() as db:
            row = db.execute(sa.select(uploads.c.media_id).where(
                uploads.c.app_id == self.app_id, uploads.c.url_hash == _digest(url),
                uploads.c.uploaded_at > self._clock() - max_age)).first()
        return str(row.media_id) if row else None

    def remember_upload(self, url: str, media_id: str) -> None:
        """Keep ``url``'s new ``media_id`` for every process (SQL: a worker thread)."""
        key = {"app_id": self.app_id, "url_hash": _digest(url)}
        values = {"media_id": media_id, "uploaded_at": self._clock()}
        with self._engine.begin() as db:
            if not db.execute(uploads.update().filter_by(**key).values(**values)).rowcount:
                with contextlib.suppress(sa.exc.IntegrityError), db.begin_nested():
                    db.execute(uploads.insert().values(**key, **values))

    # --- the token ------------------------------------------------------------------------

    def _fresh(self, entry: tuple[str | None, float] | None) -> str | None:
        if entry and entry[0] and entry[1] - REFRESH_MARGIN > self._clock():
            return entry[0]
        return None

    async def get(self) -> str:
        """A valid token: this process's copy, the shared one, or a new one.

        Raises:
            WeChatApiError: WeChat refused to issue one (wrong AppID/AppSecret,
                an IP not on the account's whitelist) or did not answer.
        """
        if token := self._fresh(self._cached):
            return token
        async with self._lock:  # one refresher per process ...
            if token := self._fresh(self._cached):
                return token
            deadline = self._clock() + LEASE_SECONDS + 5
            while True:
                shared = await asyncio.to_thread(self._read)
                if token := self._fresh(shared):
                    self._cached = (token, shared[1])
                    return token
                if await asyncio.to_thread(self._take_lease):  # ... and one in all
                    try:
                        token, expires_in = await self._fetch()
                    except BaseException:
                        await asyncio.to_thread(self._store, shared[0], shared[1])
                        raise
                    expires_at = self._clock() + expires_in
                    await asyncio.to_thread(self._store, token, expires_at)
                    self._cached = (token, expires_at)
                    logger.info("WeChat access_token refreshed (valid %.0f s)", expires_in)
                    return token
                if self._clock() > deadline:
                    raise WeChatApiError(-2, "no access_token: another process holds the "
                                             "refresh lease and wrote none")
                await asyncio.sleep(0.2)  # another process is refreshing it

    async def invalidate(self, token: str) -> None:
        """WeChat refused ``token``: forget it (only if it is still the current one)."""
        if self._cached and self._cached[0] == token:
            self._cached = None
        await asyncio.to_thread(self._expire, token)

    def refreshed_count(self) -> int:
        """How many tokens were fetched for this account (figures and tests)."""
        with self._engine.connect() as db:
            row = db.execute(sa.select(tokens.c.refreshed).where(
                tokens.c.app_id == self.app_id)).first()
        return int(row.refreshed) if row else 0


class WeChatApi:
    """The calls the channel makes (see the module docstring).

    Args:
        base: API base URL (``https://api.weixin.qq.com``).
        app_id: AppID.
        app_secret: AppSecret.
        db_url: Where the shared token lives.
        timeout: Seconds per HTTP call.
        attempts: Tries per call on 5xx, network errors and -1.
        max_media_bytes: Largest photo downloaded from ``media/get``.
    """

    def __init__(self, *, base: str, app_id: str, app_secret: str, db_url: str,
                 timeout: float = 5.0, attempts: int = 3,
                 max_media_bytes: int = 10 * 1024 * 1024) -> None:
        self.base = base.rstrip("/")
        self.app_id = app_id
        self._secret = app_secret
        self.timeout = timeout
        self.attempts = attempts
        self.max_media_bytes = max_media_bytes
        self.tokens = TokenStore(db_url, app_id=app_id, fetch=self._fetch_token)
        self._session: Any = None

    def _http(self) -> Any:
        import aiohttp

        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                headers={"User-Agent": "shop-assistant-wechat/1"})
        return self._session

    async def close(self) -> None:
        """Close the HTTP connections."""
        if self._session is not None:
            await self._session.close()

    async def _request(self, method: str, path: str, *, params: Dict[str, str],
                       body: bytes | None = None, form: Any = None,
                       content_type: str | None = None,
                       limit: int = 1024 * 1024) -> tuple[str, bytes]:
        """One call with retries on 5xx and network errors: ``(content type, body)``."""
        import aiohttp

        delay = 0.2
        for attempt in range(1, self.attempts + 1):
            try:
                headers = {"Content-Type": content_type} if content_type else None
                async with self._http().request(method, f"{self.base}{path}", params=params,
                                                data=form if form is not None else body,
                                                headers=headers,
                                                allow_redirects=False) as reply:
                    data = await read_at_most(reply.content, limit)
                    if len(data) > limit:
                        raise WeChatApiError(413, f"answer larger than {limit} bytes")
                    if reply.status >= 500 or reply.status == 429:
                        raise _Retry(reply.status)
                    if reply.status >= 300:
                        raise WeChatApiError(reply.status, f"HTTP {reply.status}")
                    return reply.headers.get("Content-Type", ""), data
            except (_Retry, aiohttp.ClientError, asyncio.TimeoutError) as exc:
                if attempt == self.attempts:
                    code = exc.status if isinstance(exc, _Retry) else 503
                    raise WeChatApiError(code, f"WeChat did not answer ({type(exc).__name__}"
                                               f" after {attempt} tries)") from None
                await asyncio.sleep(delay)
                delay *= 3
        raise AssertionError("unreachable")  # pragma: no cover

    async def _fetch_token(self) -> tuple[str, float]:
        _, data = await self._request("GET", "/cgi-bin/token", params={
            "grant_type": "client_credential", "appid": self.app_id, "secret": self._secret})
        answer = _json(data)
        if "access_token" not in answer:
            raise WeChatApiError(int(answer.get("errcode", -2)), str(answer.get("errmsg")))
        return str(answer["access_token"]), float(answer.get("expires_in", 7200))

    async def call(self, method: str, path: str, *, body: Dict[str, Any] | None = None,
                   form: Callable[[], Any] | None = None, params: Dict[str, str] | None = None,
                   raw: bool = False, limit: int = 1024 * 1024) -> Any:
        """An API call with the token; the JSON answer (or the bytes, for ``raw``).

        A token WeChat refuses is dropped and the call made once more with a new one.

        Raises:
            WeChatApiError: WeChat answered with an error code, or not at all.
        """
        data_bytes = (json.dumps(body, ensure_ascii=False).encode("utf-8")
                      if body is not None else None)
        for attempt in (1, 2, 3):
            token = await self.tokens.get()
            content_type, data = await self._request(
                method, path, params={**(params or {}), "access_token": token},
                body=data_bytes, form=form() if form else None, limit=limit,
                content_type="application/json; charset=utf-8" if data_bytes else None)
            if raw and "json" not in content_type and "text/plain" not in content_type:
                return data
            answer = _json(data)
            code = int(answer.get("errcode", 0) or 0)
            if code == 0:
                return data if raw else answer
            if code in TOKEN_INVALID and attempt < 3:
                await self.tokens.invalidate(token)
                continue
            if code in BUSY and attempt < 3:
                await asyncio.sleep(0.5 * attempt)
                continue
            raise WeChatApiError(code, str(answer.get("errmsg", "")))
        raise AssertionError("unreachable")  # pragma: no cover

    async def send(self, message: Dict[str, Any]) -> None:
        """``message/custom/send``: a customer-service message (``touser``, ``msgtype``, ...).

        Raises:
            WeChatApiError: Not delivered (``outside_window`` for 45015/45047).
        """
        await self.call("POST", "/cgi-bin/message/custom/send", body=message)

    async def typing(self, openid: str, on: bool) -> None:
        """``message/custom/typing``: "typing..." in the customer's chat (a hint)."""
        await self.call("POST", "/cgi-bin/message/custom/typing",
                        body={"touser": openid, "command": "Typing" if on else "CancelTyping"})

    async def media(self, media_id: str) -> bytes:
        """A customer's photo (``media/get``), at most ``max_media_bytes``.

        Raises:
            WeChatApiError: Unknown media id, too large, or WeChat failed.
        """
        data = await self.call("GET", "/cgi-bin/media/get", params={"media_id": media_id},
                               raw=True, limit=self.max_media_bytes)
        if not isinstance(data, bytes):  # pragma: no cover - a JSON success is not a file
            raise WeChatApiError(-3, "media/get returned no file")
        return bytes(data)

    async def upload_image(self, data: bytes, *, filename: str = "product.jpg") -> str:
        """``media/upload`` (temporary image, kept 3 days by WeChat): its ``media_id``."""
        import aiohttp

        def form() -> Any:
            parts = aiohttp.FormData()
            parts.add_field("media", data, filename=filename, content_type="image/jpeg")
            return parts

        answer = await self.call("POST", "/cgi-bin/media/upload", params={"type": "image"},
                                 form=form)
        if not isinstance(answer.get("media_id"), str):
            raise WeChatApiError(-3, "media/upload returned no media_id")
        return str(answer["media_id"])


class _Retry(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def _json(data: bytes) -> Dict[str, Any]:
    try:
        answer = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise WeChatApiError(-3, "WeChat's answer is not JSON") from None
    if not isinstance(answer, dict):
        raise WeChatApiError(-3, "WeChat's answer is not a JSON object")
    return answer
