"""What every customer-facing channel needs, in one place.

A channel (REST, the web widget, WeChat, Messenger) is a
thin platform adapter. Everything that does not depend on the platform lives
here, so that a check written once holds on every door:

- **Input checks**: :func:`parse_json_object` and :func:`check_storable` refuse
  bodies that are too big or too deep, not JSON, or carry text that cannot be
  stored (lone UTF-16 surrogates, control characters in ids);
  :func:`check_id` and :func:`clean_text` normalise ids and messages.
- **Identity by proof**: :meth:`ChannelGate.admit` verifies the signed customer
  id (:mod:`shop.identity`) against the conversation it is sent in and puts the
  result under ``metadata["verified"]``, overwriting whatever a client sent
  there. Downstream code trusts only that key.
- **Limits**: per conversation, per client address and per customer, answered
  with a polite message in the customer's language (:class:`RateLimiter`).
- **Media intake**: :class:`MediaIntake` stores checked photos and binds each
  media id to the conversation that uploaded it, with a per-conversation quota.
- **Safe hand-over to Rasa**: :func:`deliver` makes sure that nothing raised
  while handling one message, not even ``SystemExit``, leaves the channel.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import threading
import time
import traceback
import unicodedata
from asyncio import CancelledError
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Awaitable, Callable, Mapping

from bot.components.language import detect_language, locale_of
from bot.settings import ChannelSettings, settings
from shop.identity import IdentityStatus, verify
from vision.images import Limits
from vision.media import MediaRef, MediaStore

logger = logging.getLogger(__name__)

VERIFIED = "verified"   # metadata key only a channel writes
TAPPED = "tapped"       # metadata key only a channel writes: the title the customer tapped
CLAIM_KEYS = ("customer_id", "customer_sig", "customer_expires")
_INVISIBLE = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")

POLITE = {
    "rate_limited": {
        "en": "You're sending messages faster than I can answer. Please wait a moment "
              "and try again.",
        "zh": "您发送消息的速度有点快，请稍等片刻再试。",
    },
    "failed": {
        "en": "Sorry, something went wrong on my side and I couldn't answer that. "
              "Please try again in a moment.",
        "zh": "抱歉，我这边出了点问题，没能回复您。请稍后再试。",
    },
    "unsupported_media": {
        "en": "Sorry, I can only read text and photos for now. Please tell me what you "
              "need, or send a photo of the product.",
        "zh": "抱歉，我目前只能看懂文字和图片。请用文字描述您的问题，或发一张商品照片。",
    },
    "photo_failed": {
        "en": "Sorry, I couldn't get that photo. Please send it again.",
        "zh": "抱歉，这张图片没能收到，请再发一次。",
    },
    "upload_limited": {
        "en": "That's a lot of photos in a short time. Please wait a little before "
              "sending another one.",
        "zh": "短时间内上传的图片太多了，请稍后再发送。",
    },
}

IDENTITY_ERRORS = {
    IdentityStatus.NO_SECRET: "customer ids are not accepted: this server has no "
                              "CUSTOMER_ID_SECRET, so it cannot check who a customer is",
    IdentityStatus.UNSIGNED: "customer_id must come with customer_expires and customer_sig "
                             "(HMAC-SHA256 of 'customer_id|sender|expires')",
    IdentityStatus.FORGED: "customer_sig does not match this customer and conversation",
    IdentityStatus.EXPIRED: "customer_sig has expired: sign the customer id again",
    IdentityStatus.TOO_LONG: "customer_expires is too far in the future",
}


class BadRequest(ValueError):
    """The request cannot be accepted; ``status`` is the HTTP status to answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class Throttled(Exception):
    """A limit was reached; ``retry_after`` seconds until the next request counts."""

    def __init__(self, scope: str, retry_after: float) -> None:
        super().__init__(f"limit reached ({scope})")
        self.scope = scope
        self.retry_after = max(1, int(retry_after + 0.999))


def polite(kind: str, text: str | None) -> str:
    """The channel's notice ``kind`` in the language of ``text``."""
    return POLITE[kind][detect_language(text) or "en"]


# --- input checks --------------------------------------------------------------------------


def _storable_text(value: str, where: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest(f"{where} contains invalid Unicode (a lone surrogate)") from None


def check_storable(value: Any, *, max_depth: int, max_items: int) -> None:
    """Refuse JSON that cannot be stored or is built to exhaust the server.

    Raises:
        BadRequest: Nesting deeper than ``max_depth``, more than ``max_items``
            keys and items in all, or a string (key or value) that is not
            valid Unicode.
    """
    stack: list[tuple[Any, int]] = [(value, 0)]
    items = 0
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str):
            _storable_text(node, "the request")
            continue
        if not isinstance(node, (dict, list)):
            continue
        if depth >= max_depth:
            raise BadRequest(f"the request is nested deeper than {max_depth} levels")
        items += len(node)
        if items > max_items:
            raise BadRequest(f"the request has more than {max_items} fields and items")
        if isinstance(node, dict):
            for key, child in node.items():
                _storable_text(key, "the request")
                stack.append((child, depth + 1))
        else:
            stack.extend((child, depth + 1) for child in node)


def parse_json_object(body: bytes | None, settings: ChannelSettings) -> dict[str, Any]:
    """Parse a request body that must be one JSON object within the limits.

    Raises:
        BadRequest: ``413`` when too big, ``400`` otherwise.
    """
    body = body or b""
    if len(body) > settings.max_body_bytes:
        raise BadRequest(f"request body is larger than {settings.max_body_bytes} bytes", 413)
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("request body is not valid JSON (UTF-8)") from None
    except RecursionError:
        raise BadRequest("the request is nested too deeply") from None
    if not isinstance(payload, dict):
        raise BadRequest("request body must be a JSON object")
    check_storable(payload, max_depth=settings.max_metadata_depth,
                   max_items=settings.max_metadata_items)
    return payload


def check_id(value: Any, what: str, settings: ChannelSettings) -> str:
    """A conversation or platform id: a short string of printable characters.

    Integers are accepted and turned into strings.

    Raises:
        BadRequest: Empty, too long, not a string, or with control, format or
            unassigned characters.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    limit = settings.max_id_chars
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise BadRequest(f'"{what}" must be a non-empty string of at most {limit} characters')
    _storable_text(value, f'"{what}"')
    if any(unicodedata.category(c)[0] == "C" for c in value):
        raise BadRequest(f'"{what}" must not contain control or invisible characters')
    return value


def clean_text(text: str, limit: int) -> str:
    """Normalise a customer's message for understanding.

    NFC-normalises, drops zero-width and bidi control characters and other
    control characters (keeping newlines and tabs), and cuts to ``limit``
    characters (customers sometimes paste whole pages).
    """
    text = unicodedata.normalize("NFC", text)
    text = _INVISIBLE.sub("", text)
    text = "".join(c for c in text if c in "\n\t" or unicodedata.category(c) != "Cc")
    return text[:limit].strip()


# --- limits --------------------------------------------------------------------------------


class RateLimiter:
    """Sliding-window counters per key, in this process's memory.

    Args:
        max_keys: Keys remembered at once; the least recently used are dropped
            first, so a flood of new keys cannot exhaust memory.
        clock: Monotonic seconds; injectable for tests.
    """

    def __init__(self, *, max_keys: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()
        self._max_keys = max_keys
        self._clock = clock
        self._lock = threading.Lock()

    def hit(self, key: str, *, limit: int, window: float) -> None:
        """Count one request for ``key``.

        Raises:
            Throttled: ``limit`` requests were already counted in the last
                ``window`` seconds (the refused one is not counted).
        """
        now = self._clock()
        with self._lock:
            hits = self._hits.pop(key, None) or deque()
            while hits and hits[0] <= now - window:
                hits.popleft()
            self._hits[key] = hits
            while len(self._hits) > self._max_keys:
                self._hits.popitem(last=False)
            if len(hits) >= limit:
                raise Throttled(key.split(":", 1)[0], hits[0] + window - now)
            hits.append(now)


# --- the gate every message passes -----------------------------------------------------------


@dataclass(frozen=True)
class Admitted:
    """A message that passed the gate: what Rasa gets."""

    sender: str
    text: str
    metadata: dict[str, Any]
    customer_id: str | None = None


@dataclass
class ChannelGate:
    """Input checks, identity and limits for one channel's messages.

    Args:
        settings: The channel settings.
        limiter: Shared counters (one per process, shared by every channel).
    """

    settings: ChannelSettings
    limiter: RateLimiter = field(default_factory=RateLimiter)

    def client(self, address: str | None) -> str:
        """A pseudonym of a client address (logs and counters never keep the address)."""
        digest = hmac.new(self.settings.channel_secret.encode(), (address or "-").encode(),
                          hashlib.sha256).hexdigest()
        return digest[:16]

    def admit(self, *, sender: Any, text: Any, metadata: Any,
              address: str | None, channel: str, platform: bool = False,
              customer_id: str | None = None) -> Admitted:
        """Check one incoming message and count it against the limits.

        Args:
            sender: The conversation id as the platform gave it.
            text: The message text.
            metadata: The client's metadata (may claim a signed customer id).
            address: The client's network address.
            channel: The channel's name (kept with the message).
            platform: The message came from a messaging platform whose signature
                the channel checked (WeChat, Messenger): ``address`` is the
                platform's, so it is not counted per address, and ``metadata``
                is the channel's own (no signed claim is looked for).
            customer_id: The customer the platform's user is linked to
                (:mod:`bot.channels.links`), for a ``platform`` message only.

        Raises:
            BadRequest: The message is malformed (400) or claims an identity
                it cannot prove (401).
            Throttled: A limit was reached.
        """
        sender = check_id(sender, "sender", self.settings)
        if not isinstance(text, str):
            raise BadRequest('"message" must be a string')
        if metadata is not None and not isinstance(metadata, dict):
            raise BadRequest('"metadata" must be a JSON object')
        metadata = dict(metadata or {})
        check_storable(metadata, max_depth=self.settings.max_metadata_depth,
                       max_items=self.settings.max_metadata_items)
        client = self.client(address)
        if platform:
            proven = customer_id
        else:
            # counted before the identity check: forged signatures are throttled too
            self.limiter.hit(f"ip:{client}", limit=self.settings.messages_per_ip, window=60)
            check = verify(metadata, sender=sender, secret=self.settings.customer_id_secret)
            if check.rejected:
                raise BadRequest(IDENTITY_ERRORS[check.status], 401)
            proven = check.customer_id
        self.limiter.hit(f"conversation:{channel}:{sender}",
                         limit=self.settings.messages_per_sender, window=60)
        if proven:
            self.limiter.hit(f"customer:{proven}",
                             limit=self.settings.messages_per_customer, window=60)
        for key in (*CLAIM_KEYS, VERIFIED, *(() if platform else (TAPPED,))):
            metadata.pop(key, None)  # only a channel says these
        metadata[VERIFIED] = {"customer_id": proven, "client": client, "channel": channel}
        return Admitted(sender=sender, text=clean_text(text, self.settings.max_message_chars),
                        metadata=metadata, customer_id=proven)


# --- media -----------------------------------------------------------------------------------


@dataclass
class MediaIntake:
    """Checked photo uploads, each bound to the conversation that sent it.

    A media id handed to a client is ``<content id>.<tag>``, where the tag is an
    HMAC of the conversation and the content id: a message in another
    conversation cannot use it.
    """

    settings: ChannelSettings
    limiter: RateLimiter
    store: MediaStore = field(init=False)

    def __post_init__(self) -> None:
        self.store = MediaStore(self.settings.media_dir, limits=Limits(
            max_bytes=self.settings.upload_max_bytes,
            max_pixels=self.settings.upload_max_pixels))

    def _tag(self, sender: str, media_id: str) -> str:
        key = self.settings.channel_secret.encode()
        return hmac.new(key, f"media|{sender}|{media_id}".encode(), hashlib.sha256
                        ).hexdigest()[:24]

    def admit(self, *, sender: str, client: str, channel: str, platform: bool = False) -> None:
        """Count an upload against the per-client and per-conversation quotas.

        A ``platform`` upload (a WeChat or Messenger photo) comes from the
        platform's servers: it counts per conversation only.

        Raises:
            Throttled: A quota is spent.
        """
        if not platform:
            self.limiter.hit(f"upload-ip:{client}", limit=self.settings.uploads_per_ip,
                             window=60)
        self.limiter.hit(f"upload-conversation:{channel}:{sender}",
                         limit=self.settings.uploads_per_sender, window=86400)

    def put(self, data: bytes, *, sender: str) -> tuple[MediaRef, str]:
        """Check and store a photo; returns it and the media id bound to ``sender``.

        Raises:
            vision.errors.ImageError: The file is refused (nothing is stored).
        """
        ref = self.store.put(data)
        return ref, f"{ref.media_id}.{self._tag(sender, ref.media_id)}"

    def resolve(self, bound_id: Any, *, sender: str) -> str:
        """The stored photo's id, if ``bound_id`` was issued to ``sender``.

        Raises:
            BadRequest: Not a media id of this conversation, or no longer stored.
        """
        if isinstance(bound_id, str) and bound_id.count(".") == 1:
            media_id, tag = bound_id.split(".")
            if hmac.compare_digest(self._tag(sender, media_id), tag) and media_id in self.store:
                return media_id
        raise BadRequest('"metadata.image" must be a media_id this conversation uploaded '
                         "(POST the photo to /webhooks/rest/media?sender=<sender> first)")


SHARE_IMAGE_INTENT = "share_image"
UPLOAD_STATUS = {"too_large": 413, "too_many_pixels": 413, "not_an_image": 415,
                 "unsupported": 415, "empty": 400, "too_small": 422, "corrupt": 422}
UPLOAD_SLACK = 64 * 1024  # multipart framing around the file

UPLOAD_REFUSED = {
    "too_large": {"en": "That photo is too large. Please send one under {mb} MB.",
                  "zh": "这张图片太大了，请发送小于 {mb} MB 的图片。"},
    "not_an_image": {"en": "That file isn't a photo I can read. Please send a JPEG, PNG "
                           "or WebP image.",
                     "zh": "这个文件不是我能识别的图片，请发送 JPEG、PNG 或 WebP 格式的图片。"},
    "damaged": {"en": "I couldn't open that photo: it seems damaged or too small. Please "
                      "try another one.",
                "zh": "这张图片打不开，可能已损坏或太小，请换一张试试。"},
}
_REFUSAL_KIND = {"too_large": "too_large", "too_many_pixels": "too_large",
                 "not_an_image": "not_an_image", "unsupported": "not_an_image",
                 "empty": "damaged", "too_small": "damaged", "corrupt": "damaged"}


async def admit_platform(*, channel: str, user: str, text: str, said: str, lang: str,
                         metadata: dict[str, Any], photo: bool) -> Admitted | str | None:
    """A messaging platform's message through the one gate (WeChat, Messenger): the
    user's linked customer (:mod:`bot.channels.links`), the limits per conversation and
    customer (never per address: every platform message comes from the platform's
    servers), and the photo quota.

    Returns:
        The admitted message; the polite answer to send when a limit is reached; or
        ``None`` when the message is refused (logged, nothing to answer).
    """
    from bot.channels.links import shared_links

    customer = await shared_links().lookup(channel, user)
    try:
        admitted = shared_gate().admit(sender=user, text=text, metadata=metadata,
                                       address=None, channel=channel, platform=True,
                                       customer_id=customer)
        if photo:
            shared_media().admit(sender=user, client=channel, channel=channel, platform=True)
    except Throttled:
        return polite("rate_limited", said or ("你好" if lang == "zh" else "hi"))
    except BadRequest as exc:
        logger.info("%s message refused: %s", channel, exc)
        return None
    return admitted


def photo_message(message: Admitted, media_id: str) -> Admitted:
    """Turn a message carrying a photo into the ``share_image`` intent.

    The customer's text becomes ``metadata.caption`` and ``metadata.image`` the
    stored photo's id; the caption's language, when it has one (else the chat
    window's, ``metadata.locale``), is passed on as the ``language`` entity.
    """
    caption = message.text
    # a photo with no words: the language of the customer's chat window, if it says
    language = (detect_language(caption) if caption else None) or locale_of(message.metadata)
    entities = json.dumps({"language": language}) if language else ""
    metadata = {**message.metadata, "image": media_id, "caption": caption}
    return Admitted(sender=message.sender, text=f"/{SHARE_IMAGE_INTENT}{entities}",
                    metadata=metadata, customer_id=message.customer_id)


def client_address(request: Any) -> str:
    """The client's address: the proxy-reported one only when the server is
    configured to trust a proxy (Sanic's ``PROXIES_COUNT``/``REAL_IP_HEADER``)."""
    return str(request.remote_addr or request.ip or "")


def upload_body(request: Any) -> bytes:
    """The uploaded file: a multipart ``file`` field, or the raw body."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        upload = request.files.get("file") if request.files else None
        if upload is None:
            raise BadRequest('the multipart form needs a "file" field')
        return bytes(upload.body)
    return bytes(request.body or b"")


async def receive_photo(request: Any, *, sender: str, channel: str,
                        lang_hint: str | None = None) -> tuple[int, dict[str, Any]]:
    """Check, count and store a photo uploaded over HTTP for conversation ``sender``.

    Every channel with an upload route answers with this: ``201`` and the
    ``media_id`` bound to the conversation, or a 4xx whose body has an
    ``error`` for developers and, for refusals a customer should see, a polite
    ``text`` in ``lang_hint``'s language (``en`` or ``zh``).
    """
    from vision.errors import ImageError

    gate, media = shared_gate(), shared_media()
    lang = "zh" if (lang_hint or "").lower().startswith("zh") else "en"
    mb = media.settings.upload_max_bytes // (1024 * 1024)

    def refused(status: int, error: str, reason: str) -> tuple[int, dict[str, Any]]:
        kind = _REFUSAL_KIND.get(reason, "damaged")
        return status, {"error": error, "reason": reason,
                        "text": UPLOAD_REFUSED[kind][lang].format(mb=mb)}

    if len(request.body or b"") > media.settings.upload_max_bytes + UPLOAD_SLACK:
        return refused(413, f"the file is larger than {media.settings.upload_max_bytes} bytes",
                       "too_large")
    try:
        media.admit(sender=sender, client=gate.client(client_address(request)),
                    channel=channel)
        data = upload_body(request)
        # decoding a large photo takes a while: keep the event loop free
        import asyncio

        ref, media_id = await asyncio.get_running_loop().run_in_executor(
            None, lambda: media.put(data, sender=sender))
    except BadRequest as exc:
        return exc.status, {"error": str(exc)}
    except Throttled as exc:
        return 429, {"error": "too many uploads", "retry_after": exc.retry_after,
                     "text": POLITE["upload_limited"][lang]}
    except ImageError as exc:
        return refused(UPLOAD_STATUS.get(exc.reason, 400), str(exc), exc.reason)
    return 201, {"media_id": media_id, "mime": ref.mime, "size": ref.size,
                 "width": ref.width, "height": ref.height}


# --- handing a message to Rasa -------------------------------------------------------------


async def deliver(handler: Callable[[Any], Awaitable[Any]], message: Any,
                  *, sender: str) -> bool:
    """Run Rasa's message handler; ``False`` when it failed.

    Nothing escapes: not an exception, not ``SystemExit`` (Rasa exits on some
    database errors), so one bad turn never stops the server. The log names
    the conversation and the error type only, never the message.
    """
    try:
        await handler(message)
        return True
    except CancelledError:
        logger.error("message handling timed out for conversation %s", sender)
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - the server must stay up
        # the type and where it was raised, not its message: database errors quote
        # the customer's text and ids in theirs
        frames = traceback.extract_tb(exc.__traceback__)
        where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
        logger.error("message handling failed for conversation %s: %s at %s", sender,
                     type(exc).__name__, where)
    return False


def headers_for(mapping: Mapping[str, str] | None = None) -> dict[str, str]:
    """Security headers every channel response carries (plus ``mapping``)."""
    return {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store",
            "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
            "Referrer-Policy": "no-referrer", **(mapping or {})}


@lru_cache(maxsize=1)
def shared_gate() -> ChannelGate:
    """The process's gate: every channel counts against the same limits."""
    return ChannelGate(settings())


@lru_cache(maxsize=1)
def shared_media() -> MediaIntake:
    """The process's photo intake (same store, quotas and limits for every channel)."""
    gate = shared_gate()
    return MediaIntake(gate.settings, gate.limiter)


# --- sending to a conversation at any time -----------------------------------------------

MAX_BUTTONS = 20


def _clean_buttons(buttons: Any) -> list[dict[str, str]]:
    out = []
    for button in buttons if isinstance(buttons, list) else []:
        if isinstance(button, dict) and isinstance(button.get("title"), str):
            payload = button.get("payload")
            out.append({"title": button["title"],
                        "payload": payload if isinstance(payload, str) else button["title"]})
    return out[:MAX_BUTTONS]


def message_body(message: dict[str, Any]) -> dict[str, Any]:
    """What of a bot or agent message a channel shows: text, buttons, image, custom,
    and the author of a person's message."""
    body: dict[str, Any] = {}
    if isinstance(message.get("text"), str) and message["text"]:
        body["text"] = message["text"]
    buttons = _clean_buttons(message.get("buttons") or message.get("quick_replies"))
    if buttons:
        body["buttons"] = buttons
    if isinstance(message.get("image"), str):
        body["image"] = message["image"]
    if isinstance(message.get("custom"), dict):
        body["custom"] = message["custom"]
    if isinstance(message.get("author"), str):
        body["author"] = message["author"][:80]
    return body



Pusher = Callable[[str, dict[str, Any], str], Awaitable[int]]
_pushers: dict[str, Pusher] = {}


def register_pusher(channel: str, pusher: Pusher) -> None:
    """Make ``channel`` reachable by :func:`push`.

    ``pusher(conversation, message, role)`` stores the message for the
    conversation and delivers it to the customer now or as soon as they are
    back (a channel decides how); it returns the stored message's id.
    """
    _pushers[channel] = pusher


def pushable_channels() -> list[str]:
    """Channels that can be sent to at any time."""
    return sorted(_pushers)


class Undelivered(BadRequest):
    """A pushed message the platform did not take (409: its window is closed; 502: it
    refused); ``delivery`` is its id in the delivery pipeline, so it can be retried."""

    def __init__(self, message: str, status: int, delivery: int) -> None:
        super().__init__(message, status)
        self.delivery = delivery


async def _through_pusher(channel: str, conversation: str, message: dict[str, Any],
                          role: str) -> int:
    """The dispatcher's sender: the channel's pusher, its refusals as delivery outcomes."""
    from bot.channels.delivery import Refused

    pusher = _pushers.get(channel)
    if pusher is None:
        raise Refused(f"channel {channel!r} cannot be sent to")
    try:
        return await pusher(conversation, message, role)
    except BadRequest as exc:
        raise Refused(str(exc), expired=exc.status == 409) from None


@lru_cache(maxsize=1)
def dispatcher() -> Any:
    """The process's delivery pipeline (:mod:`bot.channels.delivery`)."""
    from bot.channels.delivery import Dispatcher

    return Dispatcher(settings().channel_db_url, send=_through_pusher)


async def push(channel: str, conversation: str, message: dict[str, Any], *,
               role: str = "agent") -> int:
    """Send ``message`` (``text``, ``buttons``, ``image``, ``custom``; ``author`` for a
    person) to ``conversation`` on ``channel``, outside any reply, through the delivery
    pipeline (stored with its status, retried by one policy); the stored message's id.

    Raises:
        BadRequest: The channel cannot be pushed to (404) or the message has nothing
            to show (400); nothing is stored.
        Undelivered: The platform did not take it (409 window closed, 502 refused);
            kept as ``expired`` or ``failed`` for a retry.
    """
    if channel not in _pushers:
        raise BadRequest(f"channel {channel!r} cannot be sent to; pushable: "
                         f"{', '.join(pushable_channels()) or 'none'}", 404)
    if not message_body(message):
        raise BadRequest("the message has nothing to show (text, buttons, image, custom)")
    delivery = await dispatcher().send(channel, conversation, message, role=role)
    if delivery.status != "sent":
        raise Undelivered(delivery.error or "not delivered",
                          409 if delivery.status == "expired" else 502, delivery.id)
    return int(delivery.entry_id or 0)


Typist = Callable[[str, bool, str], Awaitable[bool]]
_typists: dict[str, Typist] = {}


def register_typist(channel: str, typist: Typist) -> None:
    """Let :func:`show_typing` reach ``channel``'s open chat windows.

    ``typist(conversation, on, author)`` shows or hides "<author> is typing" in
    the conversation's open windows of this process; whether any was open.
    """
    _typists[channel] = typist


async def show_typing(channel: str, conversation: str, *, on: bool, author: str) -> bool:
    """Show that a person is typing (a hint, never stored); ``False`` where the
    channel cannot show it or no window is open."""
    typist = _typists.get(channel)
    return bool(typist and await typist(conversation, on, author[:80]))
