"""Meta's Graph API, as the Messenger and WhatsApp channels use it
(``bot/channels/messenger.py``, ``bot/channels/whatsapp.py``).

- :class:`GraphApi`: ``POST`` and ``GET`` over ``aiohttp`` with a timeout per call
  and retries with backoff on 5xx, network errors and Meta's rate limits
  (codes 4, 17, 32, 613; WhatsApp's 80007, 130429, 131056). Errors are
  :class:`GraphError` with Meta's code and subcode (and WhatsApp's details);
  callers log them, nothing is raised into Rasa. Messenger's calls: the Send API
  (messages, ``typing_on``, ``mark_seen``) and thread control
  (``pass_thread_control``); the access token goes as a query parameter
  (Messenger) or ``Authorization: Bearer`` (WhatsApp).
- :func:`fetch_attachment`: a customer's photo from Meta's CDN: ``https`` only,
  from the configured CDN hosts only, no redirect followed, no private,
  loopback or link-local address (checked on the resolved address, and the
  connection pinned to it), with size and time limits.

The base URL and API version are configurable (``MESSENGER_API_BASE``,
``WHATSAPP_API_BASE``, ...): the tests point them at fakes of Meta's APIs.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import socket
from typing import Any, Awaitable, Callable, Dict, Sequence
from urllib.parse import urlsplit

from bot.channels.checks import read_at_most
from telemetry import metrics

logger = logging.getLogger(__name__)

OAUTH_ERROR = 190  # Meta's OAuthException: the access token is invalid or expired
RATE_LIMITED = (4, 17, 32, 613, 80007, 130429, 131056)
OUTSIDE_WINDOW_SUBCODES = (2018278, 2018108, 2018109)  # Messenger: 24 h / 7 days passed
OUTSIDE_WINDOW_CODES = (131047,)  # WhatsApp: more than 24 hours since the customer wrote
PAGE_INBOX_APP_ID = "263902037430900"
ANSWER_BYTES = 256 * 1024  # more is not a Graph API answer: cut short, read as {}


class GraphError(Exception):
    """A Graph API call failed (``code``/``subcode`` from Meta's error object, or the
    HTTP status for an answer without one)."""

    def __init__(self, code: int, message: str, *, status: int,
                 subcode: int | None = None) -> None:
        super().__init__(f"Graph API error {code}"
                         f"{f'/{subcode}' if subcode else ''}: {message}")
        self.code = code
        self.subcode = subcode
        self.message = message
        self.status = status

    @property
    def outside_window(self) -> bool:
        """Meta refused because the customer's messaging window has closed."""
        return self.subcode in OUTSIDE_WINDOW_SUBCODES or self.code in OUTSIDE_WINDOW_CODES or (
            self.code == 10 and "window" in self.message.lower())


class AttachmentRefused(Exception):
    """An attachment URL that must not be fetched, or a file that could not be."""


class GraphApi:
    """The page's calls (see the module docstring).

    Args:
        base: ``https://graph.facebook.com``.
        version: ``v21.0``.
        page_token: The page access token.
        timeout: Seconds per call.
        attempts: Tries per call on 5xx, network errors and rate limits.
        backoff: Seconds before the second try (tripled each time).
        bearer: Send the token as ``Authorization: Bearer`` (WhatsApp), not as the
            ``access_token`` parameter (Messenger).
        platform: ``messenger`` or ``whatsapp`` (the metrics' label).
    """

    def __init__(self, *, base: str, version: str, page_token: str, timeout: float,
                 attempts: int = 4, backoff: float = 0.25, bearer: bool = False,
                 platform: str = "messenger") -> None:
        self.base = f"{base.rstrip('/')}/{version}"
        self.platform = platform
        self._token = page_token
        self._bearer = bearer
        self.timeout = timeout
        self.attempts = attempts
        self.backoff = backoff
        self._session: Any = None

    def _http(self) -> Any:
        import aiohttp

        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout))
        return self._session

    async def close(self) -> None:
        """Close the HTTP connections."""
        if self._session is not None:
            await self._session.close()

    @property
    def auth_headers(self) -> Dict[str, str]:
        """``Authorization`` for a bearer token (WhatsApp's media downloads need it)."""
        return {"Authorization": f"Bearer {self._token}"} if self._bearer else {}

    async def get(self, path: str) -> Dict[str, Any]:
        """A Graph API ``GET`` with retries; Meta's JSON answer."""
        return await self.post(path, None)

    async def post(self, path: str, body: Dict[str, Any] | None) -> Dict[str, Any]:
        """A Graph API ``POST`` (``GET`` when ``body`` is ``None``) with retries;
        Meta's JSON answer.

        Raises:
            GraphError: Meta refused it, or did not answer after every try.
        """
        import aiohttp

        delay = self.backoff
        params = {} if self._bearer else {"access_token": self._token}
        headers = {"Content-Type": "application/json", **self.auth_headers}
        for attempt in range(1, self.attempts + 1):
            retry: GraphError | None = None
            try:
                async with self._http().request(
                        "GET" if body is None else "POST", f"{self.base}{path}",
                        params=params, headers=headers, allow_redirects=False,
                        data=None if body is None else
                        json.dumps(body, ensure_ascii=False).encode()) as reply:
                    data = await read_at_most(reply.content, ANSWER_BYTES)
                    answer = _json(data)  # cut short: not JSON, read as {}
                    error = answer.get("error") if isinstance(answer.get("error"), dict) \
                        else None
                    if reply.status < 300 and error is None:
                        return answer
                    details = ((error or {}).get("error_data") or {}).get("details") \
                        if isinstance((error or {}).get("error_data"), dict) else None
                    failure = GraphError(
                        int((error or {}).get("code") or reply.status),
                        (str((error or {}).get("message") or f"HTTP {reply.status}")
                         + (f" ({details})" if details else ""))[:400],
                        subcode=(error or {}).get("error_subcode"), status=reply.status)
                    self._count(failure)
                    if reply.status >= 500 or failure.code in RATE_LIMITED or (
                            error or {}).get("is_transient"):
                        retry = failure
                    else:
                        raise failure
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                retry = GraphError(-1, f"no answer ({type(exc).__name__})", status=503)
                self._count(retry)
            if attempt == self.attempts:
                raise retry
            logger.info("Graph API %s failed (%s), try %d of %d", path, retry, attempt,
                        self.attempts)
            await asyncio.sleep(delay)
            delay *= 3
        raise AssertionError("unreachable")  # pragma: no mutate - the last try returns or raises

    def _count(self, failure: GraphError) -> None:
        kind = ("token" if failure.code == OAUTH_ERROR or failure.status == 401 else
                "window" if failure.outside_window else
                "rate_limited" if failure.code in RATE_LIMITED else
                "unavailable" if failure.status >= 500 else "refused")
        metrics.PLATFORM_API_ERRORS.labels(self.platform, kind).inc()

    async def send(self, psid: str, message: Dict[str, Any], *, tag: str | None = None
                   ) -> Dict[str, Any]:
        """One message to ``psid``: a reply (``RESPONSE``), or a tagged one."""
        body: Dict[str, Any] = {"recipient": {"id": psid}, "message": message,
                                "messaging_type": "MESSAGE_TAG" if tag else "RESPONSE"}
        if tag:
            body["tag"] = tag
        return await self.post("/me/messages", body)

    async def action(self, psid: str, action: str) -> None:
        """``typing_on``, ``typing_off`` or ``mark_seen`` (a hint: failures are logged)."""
        try:
            await self.post("/me/messages", {"recipient": {"id": psid},
                                             "sender_action": action})
        except GraphError as exc:
            logger.info("sender action %s not shown: %s", action, exc)

    async def pass_thread(self, psid: str, *, app_id: str = PAGE_INBOX_APP_ID,
                          metadata: str = "") -> None:
        """Hand the conversation to another app (the Page Inbox)."""
        await self.post("/me/pass_thread_control", {"recipient": {"id": psid},
                                                    "target_app_id": app_id,
                                                    "metadata": metadata[:1000]})


def _json(data: bytes) -> Dict[str, Any]:
    try:
        answer = json.loads(data or b"{}")
    except (ValueError, UnicodeDecodeError):
        return {}
    return answer if isinstance(answer, dict) else {}


Resolver = Callable[[str, int], Awaitable[Sequence[str]]]


async def _resolve(host: str, port: int) -> Sequence[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port,
                                                          type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return not (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
                or ip.is_reserved or ip.is_unspecified)


def allowed_host(host: str, hosts: Sequence[str]) -> bool:
    """``host`` is one of ``hosts`` or a subdomain of one (``scontent.xx.fbcdn.net``)."""
    host = host.lower().rstrip(".")
    return any(host == h or host.endswith("." + h) for h in hosts)


async def fetch_attachment(url: str, *, hosts: Sequence[str], limit: int, timeout: float,
                           test_origin: str | None = None,
                           resolve: Resolver = _resolve,
                           headers: Dict[str, str] | None = None) -> bytes:
    """A customer's attachment from Meta's CDN (see the module docstring).

    ``test_origin`` (``MESSENGER_TEST_CDN_ORIGIN``, tests only) is one
    ``scheme://host:port`` (as the settings give it: no final slash) allowed as it is,
    for the tests' fake CDN. ``headers``:
    sent with the download (WhatsApp's media URLs need the access token).

    Raises:
        AttachmentRefused: Not allowed, too big, too slow, or not there.
    """
    import aiohttp

    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}"
    if test_origin and origin == test_origin:
        target, pinned = url, None
    else:
        host = parts.hostname
        if parts.scheme != "https" or not host:
            raise AttachmentRefused("only https URLs are fetched")
        if parts.username or parts.password:
            raise AttachmentRefused("URLs with credentials are refused")
        if not allowed_host(host, hosts):
            raise AttachmentRefused(f"{host} is not one of Meta's CDN hosts")
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None:
            raise AttachmentRefused("an address, not a CDN host name")
        try:
            addresses = await resolve(host, parts.port or 443)
        except OSError:
            raise AttachmentRefused(f"{host} does not resolve") from None
        if not addresses or not all(_public(a) for a in addresses):
            raise AttachmentRefused(f"{host} resolves to a private address")
        target, pinned = url, addresses[0]
    connector = None
    if pinned is not None:  # connect to the checked address, not a second lookup's
        connector = aiohttp.TCPConnector(resolver=_Pinned(host, pinned))
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout),
                                         connector=connector) as http, \
                http.get(target, allow_redirects=False, headers=headers or {}) as reply:
            if reply.status != 200:
                raise AttachmentRefused(f"the CDN answered {reply.status}"
                                        + (" (redirects are not followed)"
                                           if 300 <= reply.status < 400 else ""))
            data = await read_at_most(reply.content, limit)
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        raise AttachmentRefused(f"download failed ({type(exc).__name__})") from None
    if len(data) > limit:
        raise AttachmentRefused(f"the file is larger than {limit} bytes")
    return bytes(data)


class _Pinned:
    """An aiohttp resolver that answers one checked address for one host."""

    def __init__(self, host: str, address: str) -> None:
        self.host = host
        self.address = address

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET
                      ) -> list[Dict[str, Any]]:
        if host != self.host:
            raise OSError(f"unexpected host {host}")
        ip = ipaddress.ip_address(self.address)
        return [{"hostname": host, "host": self.address, "port": port,
                 "family": socket.AF_INET6 if ip.version == 6 else socket.AF_INET,
                 "proto": 0, "flags": socket.AI_NUMERICHOST}]

    async def close(self) -> None:
        return None
