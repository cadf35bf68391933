"""What Messenger and WhatsApp share: Meta's webhooks (:class:`MetaChannel`).

Both platforms call the shop the same way: a ``GET`` to verify the subscription
(``hub.mode=subscribe``, the verify token, ``hub.challenge``), then signed ``POST``
deliveries (``X-Hub-Signature-256``: HMAC-SHA256 of the raw body with the app
secret) of one object kind, acknowledged with ``200`` at once because Meta retries
slow webhooks. :class:`MetaChannel` is that, once, on the pipeline; an adapter says
which object kind it takes and what a delivery's items are
(:meth:`MetaChannel.items`). The Graph API client is :mod:`bot.channels.graph_api`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from typing import Any, Dict, List

from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.checks import BadRequest, check_storable
from bot.channels.graph_api import GraphApi
from bot.channels.pipeline import Incoming, PlatformChannel
from bot.components.language import detect_language

logger = logging.getLogger(__name__)


def check_signature(secret: str, body: bytes, header: str | None) -> bool:
    """``X-Hub-Signature-256: sha256=<hex>`` of the raw body, in constant time."""
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header[7:].strip().encode())


def verify_subscription(args: Any, token: str | None) -> tuple[int, str]:
    """Meta's webhook verification (``hub.mode=subscribe``, the verify token,
    ``hub.challenge``): the status and text to answer."""
    if not token:
        return 404, "this channel is not configured on this server"
    given = args.get("hub.verify_token", "")
    challenge = args.get("hub.challenge", "")
    if args.get("hub.mode") != "subscribe" or not hmac.compare_digest(
            given.encode(), token.encode()) or not (0 < len(challenge) <= 256):
        return 403, "verification refused"
    return 200, challenge


def read_delivery(body: bytes, signature: str | None, *, secret: str, limit: int,
                  kind: str) -> Dict[str, Any]:
    """A signed webhook delivery of object ``kind`` (``page``,
    ``whatsapp_business_account``), checked before anything in it is read.

    Raises:
        bot.channels.checks.BadRequest: 413 too large, 403 unsigned or forged, 400 not
            a delivery of that kind.
    """
    if len(body) > limit:
        raise BadRequest("delivery too large", 413)
    if not check_signature(secret, body, signature):
        raise BadRequest("missing or wrong X-Hub-Signature-256", 403)
    try:
        payload = json.loads(body)
        check_storable(payload, max_depth=16, max_items=20_000)
    except (ValueError, RecursionError, BadRequest):
        raise BadRequest("not a delivery (JSON)") from None
    if not isinstance(payload, dict) or payload.get("object") != kind or \
            not isinstance(payload.get("entry"), list):
        raise BadRequest(f"not a {kind} delivery")
    return payload


# --- what both render with ----------------------------------------------------------------


def cut(text: Any, limit: int) -> str:
    """``text`` on one line, cut to ``limit`` characters with "…"."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def lang_of(text: str) -> str:
    """The language of a message's text (``en`` when it says none)."""
    return detect_language(text) or "en"


def signed_text(body: Dict[str, Any]) -> str:
    """A message's text, after its author's name when a person wrote it ("Ann: …")."""
    text = str(body.get("text") or "").strip()
    return f"{body['author']}: {text}" if text and body.get("author") else text


def split_text(text: str, limit: int) -> List[str]:
    """Parts of at most ``limit`` characters, cut at line ends, else at spaces."""
    parts: List[str] = []
    rest = text.strip()
    while len(rest) > limit:
        at = rest.rfind("\n", 0, limit)
        if at < limit // 2:
            at = rest.rfind(" ", 0, limit)
        if at < limit // 2:
            at = limit
        parts.append(rest[:at].strip())
        rest = rest[at:].strip()
    if rest:
        parts.append(rest)
    return parts


class MetaChannel(PlatformChannel):
    """A channel Meta calls (Messenger, WhatsApp): the verification, the signed
    deliveries and the Graph API client, on the pipeline.

    A subclass sets :attr:`delivery_kind` and :attr:`title`, calls :meth:`connect`
    with its settings, and implements :meth:`items`.
    """

    delivery_kind = ""  # the deliveries' "object": "page", "whatsapp_business_account"
    title = ""          # the platform's name in messages and logs

    def connect(self, config: Any, *, token: str | None, bearer: bool = False) -> None:
        """Keep the settings (``app_secret``, ``verify_token``, ``max_body_bytes``,
        ``api_base``, ``api_version``, ``api_timeout``, ``enabled``) and open the Graph
        API client when the channel is configured."""
        self.config = config
        self.api = GraphApi(base=config.api_base, version=config.api_version,
                            page_token=token or "", timeout=config.api_timeout,
                            bearer=bearer, platform=self.name()) if config.enabled else None

    @property
    def enabled(self) -> bool:
        """Configured (its secrets are set)."""
        return self.api is not None

    def items(self, payload: Dict[str, Any]) -> List[Incoming]:
        """The items of a checked delivery the pipeline acts on."""
        raise NotImplementedError

    def routes(self, hook: Blueprint) -> None:
        """``GET`` (verification) and ``POST`` (deliveries) on ``/webhook``."""
        plain = self.plain

        @hook.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            status, text = verify_subscription(
                request.args, self.config.verify_token if self.enabled else None)
            return plain(text, status)

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not self.enabled:
                return plain(f"{self.title} is not configured on this server", 404)
            try:
                payload = read_delivery(
                    bytes(request.body or b""), request.headers.get("x-hub-signature-256"),
                    secret=self.config.app_secret or "", limit=self.config.max_body_bytes,
                    kind=self.delivery_kind)
            except BadRequest as exc:
                logger.info("%s delivery refused: %s", self.title, exc)
                return plain(str(exc), exc.status)
            try:
                items = self.items(payload)
            except (AttributeError, TypeError, ValueError):  # a shape no parser expected
                logger.info("%s delivery refused: malformed items", self.title)
                return plain(f"not a {self.delivery_kind} delivery", 400)
            try:  # acknowledged at once (Meta retries slow webhooks), answered in order
                await self.accept(request, items)
            except Exception:  # noqa: BLE001 - not kept: Meta sends the delivery again
                logger.exception("%s delivery not stored; answering 503", self.title)
                return plain("temporarily unavailable", 503)
            return plain("EVENT_RECEIVED")
