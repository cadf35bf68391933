"""WeChat Official Account (公众号) channel: ``/webhooks/wechat/webhook``.

A platform adapter on the one pipeline (:mod:`bot.channels.pipeline`: storage,
de-duplication, order per customer, history, the gate, photos, held → person,
delivery and the window); only what is WeChat's is here.

The account's server configuration points at this URL. Every request is
signed by WeChat (SHA1 of the sorted Token, timestamp and nonce); in safe mode
(``encrypt_type=aes``) the message is AES-256-CBC encrypted with the
EncodingAESKey (``random16 + msg_len + msg + appid``, PKCS#7 to 32 bytes) and
signed again (``msg_signature``). The crypto is wechatpy's; the XML is parsed
by ``defusedxml`` (no DTD, no entities, no external references) after a size
check. A request that fails any check gets a 4xx and nothing is processed.

**WeChat's rules.** WeChat waits 5 seconds for an answer, then sends the same
message again (three times in all). The channel waits up to
``WECHAT_REPLY_WITHIN_MS`` (4 s) for the assistant:

- ready in time: the answer's text is the passive reply (encrypted in safe
  mode); its product cards and photos follow through ``message/custom/send``;
- not ready: ``success`` at once, and the whole answer goes through
  ``message/custom/send`` when it is ready.

A message is processed once: the pipeline stores it under its ``MsgId``
(events: ``FromUserName`` + ``CreateTime`` + event) before anything runs, so a
retry, even one that arrives while the first request is still running, answers
``success`` and runs nothing; the passive reply is the pipeline's reply slot
(:class:`bot.channels.pipeline.ReplySlot`). Texts are split at 2,048 UTF-8 bytes;
the assistant's buttons become numbered choices (or ``msgmenu``, ``WECHAT_BUTTONS=msgmenu``) and a
reply with the number is the button's payload; product cards become one news
article each (or a photo and a caption, ``WECHAT_CARDS=image``, uploaded with
``media/upload`` first).

**What customers send.** Text; photos (fetched with ``media/get`` and stored
by the same media intake and limits as the other channels, then the photo
lookup answers); voice (WeChat's ``Recognition`` when the account has it,
otherwise a polite request to type); ``subscribe`` (a welcome in Chinese);
``unsubscribe`` (nothing); menu clicks (the key is the message: a shop names
keys like ``/track_order`` or with words); location, link, video and file get a
polite answer. The OpenID is the conversation's sender; a linked OpenID
(:mod:`bot.channels.links`) is that customer.

**Human handoff.** While a person holds the conversation, the customer's
messages go to them (:mod:`bot.channels.handover`) and their replies are sent
with ``message/custom/send`` within WeChat's 48-hour window (:meth:`WeChatInput.push`);
a reply that cannot be delivered is refused back to the desk with the reason.
``WECHAT_HANDOFF=wechat`` hands over to WeChat's own customer-service system
instead (a ``transfer_customer_service`` passive reply).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import unicodedata
from dataclasses import dataclass, field, replace
from typing import Any, Awaitable, Callable, Dict, List

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.checks import BadRequest, read_at_most
from bot.channels.pipeline import (
    MESSAGE,
    NOTHING,
    OUTGOING,
    PHOTO,
    UNSUPPORTED,
    Incoming,
    PlatformChannel,
    ReplySlot,
    SendFailed,
)
from bot.channels.wechat_api import WeChatApi, WeChatApiError
from bot.channels.wechat_envelope import Envelope, cdata, check_request, parse_xml
from bot.components.language import detect_language
from bot.settings import WeChatSettings

logger = logging.getLogger(__name__)

CHANNEL = "wechat"
WECHAT_KF = "wechat_kf"
MAX_TEXT_BYTES = 2048
WINDOW_SECONDS = 48 * 3600
WELCOME = '/greet{"language": "zh"}'
_NUMBER = re.compile(r"^\s*#?\s*(\d{1,2})\s*[.。、]?\s*$")

POLITE = {
    "voice": {"zh": "抱歉，我还听不懂语音，请打字告诉我您需要什么。",
              "en": "Sorry, I can't listen to voice messages yet. Please type what you need."},
    "choose": {"zh": "回复数字即可选择。", "en": "Reply with a number to choose."},
}


# --- the wire format ------------------------------------------------------------------------


def split_text(text: str, limit: int = MAX_TEXT_BYTES) -> List[str]:
    """Parts of at most ``limit`` UTF-8 bytes, cut at line ends where possible."""
    parts: List[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while len(line.encode()) > limit:  # one line too long: cut it by characters
            cut = line.encode()[:limit].decode("utf-8", "ignore")
            if current:
                parts.append(current)
                current = ""
            parts.append(cut)
            line = line[len(cut):]
        if len((current + line).encode()) > limit:
            parts.append(current)
            current = ""
        current += line
    if current.strip():
        parts.append(current)
    return [p.strip("\n") for p in parts if p.strip()]


# --- what the assistant says, as WeChat messages ------------------------------------------


@dataclass
class Out:
    """One WeChat message: ``text``, ``news``, ``image`` (a URL uploaded first),
    ``msgmenu``, or ``transfer`` (a passive reply handing over to WeChat's customer
    service)."""

    kind: str
    text: str = ""
    title: str = ""
    description: str = ""
    pic_url: str = ""
    url: str = ""
    image_url: str = ""
    menu: List[tuple[str, str]] = field(default_factory=list)

    @property
    def passive(self) -> bool:
        """Can be the passive reply (images need an upload first, msgmenu is API-only)."""
        return self.kind in ("text", "news")

    def xml(self, *, to: str, account: str) -> str:
        """The passive reply (``transfer``: to WeChat's customer service)."""
        head = (f"<xml><ToUserName>{cdata(to)}</ToUserName>"
                f"<FromUserName>{cdata(account)}</FromUserName>"
                f"<CreateTime>{int(time.time())}</CreateTime>")
        if self.kind == "transfer":
            return f"{head}<MsgType><![CDATA[transfer_customer_service]]></MsgType></xml>"
        if self.kind == "news":
            return (f"{head}<MsgType><![CDATA[news]]></MsgType><ArticleCount>1</ArticleCount>"
                    f"<Articles><item><Title>{cdata(self.title)}</Title>"
                    f"<Description>{cdata(self.description)}</Description>"
                    f"<PicUrl>{cdata(self.pic_url)}</PicUrl><Url>{cdata(self.url)}</Url>"
                    f"</item></Articles></xml>")
        return (f"{head}<MsgType><![CDATA[text]]></MsgType>"
                f"<Content>{cdata(self.text)}</Content></xml>")

    def api(self, openid: str, media_id: str | None = None) -> Dict[str, Any]:
        """The ``message/custom/send`` body."""
        if self.kind == "news":
            return {"touser": openid, "msgtype": "news", "news": {"articles": [
                {"title": self.title, "description": self.description, "url": self.url,
                 "picurl": self.pic_url}]}}
        if self.kind == "image":
            return {"touser": openid, "msgtype": "image", "image": {"media_id": media_id}}
        if self.kind == "msgmenu":
            return {"touser": openid, "msgtype": "msgmenu", "msgmenu": {
                "head_content": self.text, "tail_content": "",
                "list": [{"id": key, "content": title} for key, title in self.menu]}}
        return {"touser": openid, "msgtype": "text", "text": {"content": self.text}}


def _lang(text: str, default: str = "zh") -> str:
    return detect_language(text) or default


def render(bodies: List[Dict[str, Any]], config: WeChatSettings) -> tuple[List[Out], List[str]]:
    """A turn's messages as WeChat messages, and the payloads of its numbered choices.

    Texts of the turn are merged (one passive reply can carry one message); buttons
    become numbered lines (or a ``msgmenu``); product cards with a photo become news
    articles (or photo + caption), the first ``max_cards`` of them (the assistant's
    text lists every product already); every card's "tell me more" payload is a
    choice, numbered as the assistant's list numbers them.
    """
    texts: List[str] = []
    media: List[Out] = []
    choices: List[str] = []
    for body in bodies:
        text = str(body.get("text") or "").strip()
        if text and body.get("author"):
            text = f"{body['author']}：{text}" if _lang(text) == "zh" else \
                f"{body['author']}: {text}"
        buttons = body.get("buttons") or []
        if buttons and config.buttons == "msgmenu":
            menu = []
            for button in buttons:
                choices.append(button["payload"])
                menu.append((str(len(choices)), button["title"][:60]))
            media.append(Out("msgmenu", text=text, menu=menu))
            text = ""
        elif buttons:
            lines = []
            for button in buttons:
                choices.append(button["payload"])
                lines.append(f"{len(choices)}. {button['title']}")
            text = "\n".join([t for t in (text, "\n".join(lines),
                                          POLITE["choose"][_lang(text)]) if t])
        if text:
            texts.append(text)
        if isinstance(body.get("image"), str):
            media.append(Out("image", image_url=body["image"]))
        custom = body.get("custom") or {}
        if custom.get("type") == "product_cards":
            cards = [c for c in custom.get("cards") or [] if isinstance(c, dict)]
            for i, card in enumerate(cards):
                payloads = [b.get("payload") for b in card.get("buttons") or []
                            if isinstance(b, dict) and isinstance(b.get("payload"), str)]
                if payloads:
                    choices.append(payloads[0])
                if i >= config.max_cards:
                    continue
                number = f"{len(choices)}. " if payloads else ""
                title = f"{number}{card.get('title', '')} — {card.get('price', '')}"[:120]
                image = card.get("image") if isinstance(card.get("image"), str) else ""
                if config.cards == "image" and image:
                    media.extend([Out("image", image_url=image), Out("text", text=title)])
                elif image:
                    link = (config.product_url or "").replace("{sku}", str(card.get("sku", "")))
                    media.append(Out("news", title=title, pic_url=image, url=link,
                                     description=str(card.get("reason") or "")[:120]))
                # a card without a photo adds nothing to the assistant's numbered list
    outs = [Out("text", text=part) for part in split_text("\n\n".join(texts))] + media
    for out in outs:  # a msgmenu's head and a caption obey the text limit too
        if out.kind in ("text", "msgmenu") and len(out.text.encode()) > MAX_TEXT_BYTES:
            out.text = split_text(out.text)[0]
    return outs, choices


def choice_number(text: str) -> int | None:
    """The number a customer answered with ("2", "２", "#2"), if the message is one."""
    digits = "".join(str(unicodedata.digit(c)) if unicodedata.category(c) == "Nd" else c
                     for c in text)
    match = _NUMBER.match(digits)
    return int(match.group(1)) if match else None


# --- the channel ----------------------------------------------------------------------------


def parse_message(fields: Dict[str, str], *, encrypted: bool) -> Incoming:
    """A checked WeChat message as the pipeline's :class:`Incoming` (keyed by its
    ``MsgId``; an event by its sender, time and name).

    Raises:
        BadRequest: Not a message from an OpenID with its type and time.
    """
    openid = fields.get("FromUserName", "")
    if not (0 < len(openid) <= 64 and openid.isascii()
            and openid.replace("-", "").replace("_", "").isalnum()):
        raise BadRequest("FromUserName is not an OpenID")
    kind = fields.get("MsgType", "")
    created = fields.get("CreateTime", "")
    if not kind.isalpha() or not created.isdigit() or len(created) > 12:
        raise BadRequest("MsgType and CreateTime are required")
    msg_id = fields.get("MsgId", "")
    if msg_id and not (msg_id.isdigit() and len(msg_id) <= 32):
        raise BadRequest("MsgId must be a number")
    event = fields.get("Event", "")
    key = msg_id or f"{kind}:{event[:16]}:{created}:{openid}"
    meta = {"account": fields.get("ToUserName", "")[:64], "encrypted": encrypted,
            "menu_id": fields.get("bizmsgmenuid", "")[:16]}
    common: Dict[str, Any] = {"key": key, "user": openid, "meta": meta,
                              "metadata": {"wechat": {"msgtype": kind}},
                              "record": {"msgtype": kind, "event": event[:32]}}
    if kind == "text":
        said = fields.get("Content", "")
        return Incoming(kind=MESSAGE, text=said, said=said, **common)
    if kind == "voice":  # WeChat's speech recognition, when the account has it
        said = fields.get("Recognition", "").strip()
        return Incoming(kind=MESSAGE, text=said, said=said, **common)
    if kind == "image":
        return Incoming(kind=PHOTO, media=fields.get("MediaId", "")[:128], **common)
    if kind == "event":
        name = event.lower()
        if name == "subscribe":
            return Incoming(kind=MESSAGE, text=WELCOME, **common)
        if name == "click" and fields.get("EventKey"):
            return Incoming(kind=MESSAGE, text=fields["EventKey"], **common)
        return Incoming(kind=NOTHING, **common)  # unsubscribe, view, location reports
    return Incoming(kind=UNSUPPORTED, **common)  # location, link, video, file


UPLOAD_REUSE_SECONDS = 2 * 86400  # WeChat keeps temporary media three days


class WeChatInput(PlatformChannel):
    """The WeChat Official Account channel (see the module docstring)."""

    channel = CHANNEL
    default_language = "zh"
    platform_inbox = WECHAT_KF
    window_seconds = person_window_seconds = float(WINDOW_SECONDS)
    releases_on_message = True  # WeChat sends messages to us only once its session ended

    def __init__(self) -> None:
        super().__init__()
        self.config = self.settings.wechat
        self.platform_handoff = self.config.handoff == "wechat"
        self.api: WeChatApi | None = None
        if self.config.token:
            self.api = WeChatApi(base=self.config.api_base, app_id=self.config.app_id,
                                 app_secret=self.config.app_secret,
                                 db_url=self.settings.channel_db_url,
                                 timeout=self.config.api_timeout,
                                 max_media_bytes=self.settings.upload_max_bytes)
        self.envelope = Envelope(self.config) if self.config.aes_key else None
        self._uploads: Dict[str, tuple[str, float]] = {}  # image URL -> (media_id, when)

    @property
    def enabled(self) -> bool:
        """Configured with a token."""
        return self.api is not None

    # --- receiving ------------------------------------------------------------------------

    def _incoming(self, request: Request) -> Incoming:
        """Check and open a request; the message it carries."""
        config = self.config
        check_request(config, request.args)
        body = bytes(request.body or b"")
        outer = parse_xml(body, limit=config.max_xml_bytes)
        encrypted = request.args.get("encrypt_type") == "aes"
        if encrypted:
            if self.envelope is None:
                raise BadRequest("safe mode needs WECHAT_ENCODING_AES_KEY on this server")
            fields = self.envelope.open(outer, request.args, limit=config.max_xml_bytes)
        elif config.require_aes:
            raise BadRequest("plaintext messages are refused (WECHAT_REQUIRE_AES=1)", 403)
        else:
            fields = outer
        message = parse_message(fields, encrypted=encrypted)
        if request.args.get("openid") not in (None, message.user):
            raise BadRequest("the openid of the URL is not the message's sender", 403)
        return message

    async def _choice(self, openid: str, number: int | None = None,
                      menu_id: str | None = None) -> str | None:
        """The payload of a numbered choice the assistant or an agent offered last."""
        latest = await self.history.latest(openid, OUTGOING, limit=1)
        choices = latest[0].body.get("choices") if latest else None
        if not isinstance(choices, list):
            return None
        index = number if number is not None else (int(menu_id) if (menu_id or "").isdigit()
                                                   else 0)
        return str(choices[index - 1]) if 1 <= index <= len(choices) else None

    async def _listed(self, openid: str, number: int) -> str | None:
        """A bare number after a numbered list without buttons ("1. … 2. …" of a
        search) means that item: said the way the assistant understands it."""
        for entry in await self.history.latest(openid, OUTGOING, limit=3):
            text = str(entry.body.get("text") or "")
            if any(line.startswith(f"{number}. ") for line in text.splitlines()):
                return f"第{number}个" if _lang(text, "en") == "zh" else f"number {number}"
        return None

    async def understand(self, item: Incoming, lang: str) -> Incoming | str | None:
        """A number (or a ``msgmenu`` tap) is the choice it names; a voice message
        WeChat could not transcribe gets a polite request to type."""
        if item.record.get("msgtype") == "voice" and not item.text:
            return POLITE["voice"][lang]
        if item.record.get("msgtype") != "text":
            return item
        menu_id = item.meta.get("menu_id") or None
        number = choice_number(item.text)
        if menu_id is None and number is None:
            return item
        chosen = await self._choice(item.user, number, menu_id)
        if chosen is None and number is not None:
            chosen = await self._listed(item.user, number)
        return replace(item, text=chosen) if chosen else item

    async def fetch_media(self, item: Incoming) -> bytes:
        """``media/get``."""
        return await self._api().media(item.media)

    def routes(self, hook: Blueprint) -> None:
        """``GET`` (URL verification) and ``POST`` (messages) on ``/webhook``."""
        plain = self.plain

        @hook.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            if not self.config.token:
                return plain("WeChat is not configured on this server", 404)
            try:
                check_request(self.config, request.args)
            except BadRequest as exc:
                return plain(str(exc), exc.status)
            echo = request.args.get("echostr", "")
            if not (0 < len(echo) <= 128 and echo.isalnum()):
                return plain("echostr is missing or malformed", 400)
            return plain(echo)

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            started = time.monotonic()
            if not self.config.token or self.api is None:
                return plain("WeChat is not configured on this server", 404)
            try:
                message = self._incoming(request)
            except BadRequest as exc:
                logger.info("WeChat request refused (%d): %s", exc.status, exc)
                return plain(str(exc), exc.status)
            # one message, once: a retry (even while the first still runs) stops here
            try:
                slots = await self.accept(request, [message],
                                          slot=lambda: ReplySlot(lambda out: out.passive))
            except Exception:  # noqa: BLE001 - the store is down: WeChat tries again later
                logger.exception("WeChat message not stored; answering 503")
                return plain("temporarily unavailable", 503)
            if not slots or slots[0] is None:
                return plain("success")
            # the passive reply if the answer is ready in time; else the API delivers it
            out = await slots[0].wait(self.config.reply_within -
                                      (time.monotonic() - started))
            if out is None:
                return plain("success")
            xml = out.xml(to=message.user, account=message.meta["account"])
            if message.meta["encrypted"] and self.envelope is not None:
                xml = self.envelope.seal(xml, nonce=request.args.get("nonce", ""))
            return response.text(xml, content_type="application/xml; charset=utf-8",
                                 headers={"Cache-Control": "no-store"})

    async def to_platform(self, user: str, slot: ReplySlot | None,
                          record: Callable[[], Awaitable[None]]) -> bool:
        """``WECHAT_HANDOFF=wechat``: the passive reply hands the conversation to
        WeChat's customer-service system (only while WeChat still waits for it),
        recorded first. Should WeChat stop waiting meanwhile, the assistant's answer
        goes out instead, and the customer's next message ends the hold."""
        if slot is None or not slot.waiting:
            return False
        await record()
        return slot.give(Out("transfer"))

    # --- sending --------------------------------------------------------------------------

    def render(self, bodies: List[Dict[str, Any]]) -> tuple[List[Any], Dict[str, Any]]:
        """WeChat messages (:func:`render`); the numbered choices are kept."""
        outs, choices = render(bodies, self.config)
        return outs, ({"choices": choices} if choices else {})

    def window_refusal(self, person: bool) -> str:
        """WeChat's rule."""
        return ("not delivered: WeChat lets an account write to a customer only within "
                "48 hours of their last message")

    def _api(self) -> WeChatApi:
        if self.api is None:
            raise BadRequest("WeChat is not configured on this server", 404)
        return self.api

    async def send(self, user: str, out: Any, *, person: bool) -> None:
        """``message/custom/send`` (a photo is uploaded first)."""
        try:
            media_id = await self._upload(out.image_url) if out.kind == "image" else None
            await self._api().send(out.api(user, media_id))
        except WeChatApiError as exc:
            raise SendFailed(str(exc), outside_window=exc.outside_window) from None
        except OSError as exc:
            raise SendFailed(f"the photo could not be fetched ({exc})") from None

    async def _upload(self, url: str) -> str:
        """A product or agent photo uploaded to WeChat (``media/upload``), reused for
        two days (WeChat keeps temporary media three) by every process: this one's
        copy, else the one another process (or machine) uploaded, else a new upload."""
        known = self._uploads.get(url)
        if known and time.time() - known[1] < UPLOAD_REUSE_SECONDS:
            return known[0]
        api = self._api()
        shared = await asyncio.to_thread(api.tokens.upload_of, url,
                                         max_age=UPLOAD_REUSE_SECONDS)
        if shared:
            self._uploads[url] = (shared, time.time())
            return shared
        data = await _fetch_image(url, limit=self.settings.upload_max_bytes,
                                  timeout=self.config.api_timeout)
        media_id = await api.upload_image(data)
        self._uploads[url] = (media_id, time.time())
        await asyncio.to_thread(api.tokens.remember_upload, url, media_id)
        return media_id

    async def typing(self, user: str, on: bool) -> bool:
        """The customer-service "Typing" command."""
        try:
            await self._api().typing(user, on)
            return True
        except (WeChatApiError, BadRequest):
            return False


async def _fetch_image(url: str, *, limit: int, timeout: float) -> bytes:
    """A photo the shop serves (product images, an agent's photo), for ``media/upload``.

    Only http(s), no redirects, at most ``limit`` bytes.

    Raises:
        OSError: It could not be fetched.
    """
    import aiohttp

    if not url.startswith(("http://", "https://")):
        raise OSError("not an http(s) URL")
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as http, \
                http.get(url, allow_redirects=False) as reply:
            if reply.status != 200:
                raise OSError(f"HTTP {reply.status}")
            data = await read_at_most(reply.content, limit)
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        raise OSError(type(exc).__name__) from None
    if len(data) > limit:
        raise OSError("the photo is too large")
    return bytes(data)

