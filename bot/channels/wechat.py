"""WeChat Official Account (公众号) channel: ``/webhooks/wechat/webhook``.

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

A message is processed once: the shared outbox stores it under its ``MsgId``
(events: ``FromUserName`` + ``CreateTime`` + event), so a retry, even one that
arrives while the first request is still running, answers ``success`` and
runs nothing. Texts are split at 2,048 UTF-8 bytes; the assistant's buttons
become numbered choices (or ``msgmenu``, ``WECHAT_BUTTONS=msgmenu``) and a
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
import base64
import hmac
import logging
import re
import time
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Dict, List

from rasa.core.channels.channel import (
    CollectingOutputChannel,
    InputChannel,
    OutputChannel,
    UserMessage,
)
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.base import POLITE as SHARED_POLITE
from bot.channels.base import (
    Admitted,
    BadRequest,
    admit_platform,
    deliver,
    message_body,
    photo_message,
    polite,
    register_pusher,
    register_typist,
    shared_gate,
    shared_media,
)
from bot.channels.handover import (
    back_from_platform,
    for_a_person,
    handed_to_platform,
    holding,
    queued_since,
    spoken,
)
from bot.channels.inbox import Inbox, Item
from bot.channels.links import shared_links
from bot.channels.outbox import Outbox
from bot.channels.wechat_api import WeChatApi, WeChatApiError
from bot.components.language import detect_language, locale_of
from bot.settings import ChannelSettings, WeChatSettings, settings
from handoff import PLATFORM

logger = logging.getLogger(__name__)

CHANNEL = "wechat"
WECHAT_KF = "wechat_kf"
MAX_TEXT_BYTES = 2048
WINDOW_SECONDS = 48 * 3600
MAX_FIELDS = 64
WELCOME = '/greet{"language": "zh"}'
OUTGOING = ("assistant", "agent", "notice")
_NUMBER = re.compile(r"^\s*#?\s*(\d{1,2})\s*[.。、]?\s*$")

POLITE = {
    "voice": {"zh": "抱歉，我还听不懂语音，请打字告诉我您需要什么。",
              "en": "Sorry, I can't listen to voice messages yet. Please type what you need."},
    "choose": {"zh": "回复数字即可选择。", "en": "Reply with a number to choose."},
}


# --- the wire format ------------------------------------------------------------------------


def sign(*parts: str) -> str:
    """WeChat's signature: SHA1 of the sorted parts, concatenated (wechatpy's signer)."""
    from wechatpy.utils import WeChatSigner

    signer = WeChatSigner()
    signer.add_data(*parts)
    return str(signer.signature)


def _same(expected: str, given: Any) -> bool:
    return isinstance(given, str) and hmac.compare_digest(expected.encode(), given.encode())


def check_request(config: WeChatSettings, args: Any, *, now: float | None = None) -> None:
    """The query's ``signature`` (Token, timestamp, nonce) and the timestamp's age.

    Raises:
        BadRequest: 403 for a wrong or missing signature or a stale timestamp.
    """
    timestamp, nonce = args.get("timestamp", ""), args.get("nonce", "")
    if not (timestamp.isdigit() and len(timestamp) <= 12 and 0 < len(nonce) <= 64):
        raise BadRequest("timestamp and nonce are required", 403)
    if not _same(sign(config.token or "", timestamp, nonce), args.get("signature")):
        raise BadRequest("signature does not match", 403)
    if abs((now or time.time()) - int(timestamp)) > config.max_skew:
        raise BadRequest("timestamp is too old or in the future (a replay?)", 403)


def parse_xml(body: bytes, *, limit: int) -> Dict[str, str]:
    """A WeChat message's fields (``<xml><Field>value</Field>...</xml>``).

    Parsed by ``defusedxml``: DTDs, entities and external references are refused.

    Raises:
        BadRequest: Too big (413), or not a flat WeChat XML message (400).
    """
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    if len(body) > limit:
        raise BadRequest(f"the message is larger than {limit} bytes", 413)
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise BadRequest("DTDs, entities and external references are not accepted") from None
    except (ParseError, ValueError, UnicodeError):
        raise BadRequest("the body is not well-formed XML") from None
    if root.tag != "xml" or len(root) > MAX_FIELDS:
        raise BadRequest("not a WeChat message (<xml> with its fields)")
    fields: Dict[str, str] = {}
    for child in root:
        if len(child):  # nested elements (ScanCodeInfo, SendPicsInfo): not used
            continue
        fields[str(child.tag)] = (child.text or "").strip() if child.tag != "Content" \
            else (child.text or "")
    return fields


def cdata(text: str) -> str:
    """Text as CDATA, safe even when it contains ``]]>``."""
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


class Envelope:
    """Safe mode: decrypts requests and encrypts replies (wechatpy's ``PrpCrypto``)."""

    def __init__(self, config: WeChatSettings) -> None:
        self.config = config
        self.key = base64.b64decode((config.aes_key or "") + "=")

    def open(self, outer: Dict[str, str], args: Any, *, limit: int) -> Dict[str, str]:
        """The decrypted message of an ``encrypt_type=aes`` request.

        Raises:
            BadRequest: 403 for a wrong ``msg_signature`` or another account's
                message, 400 for a body that does not decrypt.
        """
        from wechatpy.crypto import PrpCrypto
        from wechatpy.exceptions import InvalidAppIdException

        encrypted = outer.get("Encrypt", "")
        if not encrypted:
            raise BadRequest("encrypt_type=aes but no <Encrypt>")
        expected = sign(self.config.token or "", args.get("timestamp", ""),
                        args.get("nonce", ""), encrypted)
        if not _same(expected, args.get("msg_signature")):
            raise BadRequest("msg_signature does not match", 403)
        try:
            inner = PrpCrypto(self.key).decrypt(encrypted, self.config.app_id)
        except InvalidAppIdException:
            raise BadRequest("the message is for another account (AppID)", 403) from None
        except Exception:  # noqa: BLE001 - any failure to decrypt is the sender's
            raise BadRequest("the encrypted message does not decrypt") from None
        return parse_xml(inner.encode("utf-8"), limit=limit)

    def seal(self, xml: str, *, nonce: str, timestamp: str | None = None) -> str:
        """``xml`` encrypted and signed for the reply."""
        from wechatpy.crypto import PrpCrypto

        timestamp = timestamp or str(int(time.time()))
        encrypted = PrpCrypto(self.key).encrypt(xml, self.config.app_id).decode()
        signature = sign(self.config.token or "", timestamp, nonce, encrypted)
        return (f"<xml><Encrypt>{cdata(encrypted)}</Encrypt>"
                f"<MsgSignature>{cdata(signature)}</MsgSignature>"
                f"<TimeStamp>{timestamp}</TimeStamp><Nonce>{cdata(nonce)}</Nonce></xml>")


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
    """One WeChat message: ``text``, ``news``, ``image`` (a URL uploaded first) or
    ``msgmenu``."""

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
        """The passive reply."""
        head = (f"<xml><ToUserName>{cdata(to)}</ToUserName>"
                f"<FromUserName>{cdata(account)}</FromUserName>"
                f"<CreateTime>{int(time.time())}</CreateTime>")
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


@dataclass
class Incoming:
    """A checked WeChat message: who, what, and the key that makes retries one message."""

    openid: str
    account: str
    kind: str
    key: str
    fields: Dict[str, str]
    encrypted: bool


def _kept(message: Incoming) -> Dict[str, Any]:
    """What the inbox keeps of a message to answer it after a restart."""
    return {"account": message.account, "kind": message.kind, "key": message.key,
            "fields": message.fields}


class WeChatOutput(CollectingOutputChannel):
    """Collects a turn's answers (the channel sends them passively or via the API)."""

    @classmethod
    def name(cls) -> str:
        """The channel's name."""
        return CHANNEL


class WeChatInput(InputChannel):
    """The WeChat Official Account channel (see the module docstring)."""

    @classmethod
    def name(cls) -> str:
        """Registered as ``wechat``: ``/webhooks/wechat/webhook``."""
        return CHANNEL

    def __init__(self) -> None:
        self.settings: ChannelSettings = settings()
        self.config = self.settings.wechat
        self.outbox = Outbox(self.settings.channel_db_url, channel=CHANNEL)
        self.inbox = Inbox(self.settings.channel_db_url, channel=CHANNEL)
        self.api: WeChatApi | None = None
        if self.config.token:
            self.api = WeChatApi(base=self.config.api_base, app_id=self.config.app_id,
                                 app_secret=self.config.app_secret,
                                 db_url=self.settings.channel_db_url,
                                 timeout=self.config.api_timeout,
                                 max_media_bytes=self.settings.upload_max_bytes)
        self.envelope = Envelope(self.config) if self.config.aes_key else None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._uploads: Dict[str, tuple[str, float]] = {}  # image URL -> (media_id, when)

    @classmethod
    def from_credentials(cls, credentials: Dict[str, Any] | None) -> "WeChatInput":
        """Settings come from the environment (``WECHAT_*``), not credentials.yml."""
        return cls()

    def get_output_channel(self) -> OutputChannel:
        """Where Rasa's answers outside a request go (reminders, external events):
        sent with ``message/custom/send`` like an agent's messages."""
        from bot.channels.push_output import PushOutput

        return PushOutput(CHANNEL)

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
        openid = fields.get("FromUserName", "")
        if not (0 < len(openid) <= 64 and openid.isascii()
                and openid.replace("-", "").replace("_", "").isalnum()):
            raise BadRequest("FromUserName is not an OpenID")
        if request.args.get("openid") not in (None, openid):
            raise BadRequest("the openid of the URL is not the message's sender", 403)
        kind = fields.get("MsgType", "")
        created = fields.get("CreateTime", "")
        if not kind.isalpha() or not created.isdigit() or len(created) > 12:
            raise BadRequest("MsgType and CreateTime are required")
        msg_id = fields.get("MsgId", "")
        if msg_id and not (msg_id.isdigit() and len(msg_id) <= 32):
            raise BadRequest("MsgId must be a number")
        key = msg_id or f"{kind}:{fields.get('Event', '')[:16]}:{created}:{openid}"
        return Incoming(openid=openid, account=fields.get("ToUserName", "")[:64], kind=kind,
                        key=key, fields=fields, encrypted=encrypted)

    async def _choice(self, openid: str, number: int | None = None,
                      menu_id: str | None = None) -> str | None:
        """The payload of a numbered choice the assistant or an agent offered last."""
        latest = await self.outbox.latest(openid, OUTGOING, limit=1)
        choices = latest[0].body.get("choices") if latest else None
        if not isinstance(choices, list):
            return None
        index = number if number is not None else (int(menu_id) if (menu_id or "").isdigit()
                                                   else 0)
        return str(choices[index - 1]) if 1 <= index <= len(choices) else None

    async def _listed(self, openid: str, number: int) -> str | None:
        """A bare number after a numbered list without buttons ("1. … 2. …" of a
        search) means that item: said the way the assistant understands it."""
        for entry in await self.outbox.latest(openid, OUTGOING, limit=3):
            text = str(entry.body.get("text") or "")
            if any(line.startswith(f"{number}. ") for line in text.splitlines()):
                return f"第{number}个" if _lang(text, "en") == "zh" else f"number {number}"
        return None

    async def _understand(self, message: Incoming, lang: str) -> tuple[str | None, str | None]:
        """``(text for Rasa, polite answer)``: what the message means, or what to say."""
        fields = message.fields
        if message.kind == "text":
            text = fields.get("Content", "")
            menu_id = fields.get("bizmsgmenuid")
            number = choice_number(text)
            if menu_id or number is not None:
                chosen = await self._choice(message.openid, number, menu_id)
                if chosen is None and number is not None:
                    chosen = await self._listed(message.openid, number)
                return chosen or text, None
            return text, None
        if message.kind == "voice":
            recognised = fields.get("Recognition", "").strip()
            return (recognised, None) if recognised else (None, POLITE["voice"][lang])
        if message.kind == "event":
            event = fields.get("Event", "").lower()
            if event == "subscribe":
                return WELCOME, None
            if event == "click" and fields.get("EventKey"):
                return fields["EventKey"], None
            return None, None  # unsubscribe, view, location reports, template results
        if message.kind == "image":
            return "", None
        return None, SHARED_POLITE["unsupported_media"][lang]

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        """``GET`` (URL verification) and ``POST`` (messages) on ``/webhook``."""
        hook = Blueprint("wechat_webhook", __name__)
        for shared in (shared_gate, shared_media, shared_links):
            shared()  # opened at start, not on the first message
        if self.api is not None:
            register_pusher(CHANNEL, self.push)
            register_typist(CHANNEL, self._typing)

        def plain(text: str, status: int = 200) -> HTTPResponse:
            return response.text(text, status=status, headers={
                "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"})

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
            nonce = request.args.get("nonce", "")

            def reply(out: Out | str | None) -> HTTPResponse:
                if out is None:
                    return plain("success")
                xml = out if isinstance(out, str) else out.xml(to=message.openid,
                                                               account=message.account)
                if message.encrypted and self.envelope is not None:
                    xml = self.envelope.seal(xml, nonce=nonce)
                return response.text(xml, content_type="application/xml; charset=utf-8",
                                     headers={"Cache-Control": "no-store"})

            # one message, once: a retry (even while the first still runs) stops here.
            # Kept until answered: a restart in between answers it when the server is back
            try:
                fresh = await self.inbox.put([(message.key, message.openid, _kept(message))])
            except Exception:  # noqa: BLE001 - the store is down: WeChat tries again later
                logger.exception("WeChat message not stored; answering 503")
                return plain("temporarily unavailable", 503)
            if not fresh:
                return plain("success")
            item_id = fresh[0].id
            agent = request.app.ctx.agent
            step = await self._admit(message, agent)
            if not isinstance(step, Admitted):  # answered without the assistant, or not at all
                await self.inbox.done(item_id)
                return reply(step)
            turn = asyncio.get_running_loop().create_task(
                self._turn(on_new_message, message, step, agent))
            self._tasks.add(turn)
            turn.add_done_callback(self._tasks.discard)
            budget = self.config.reply_within - (time.monotonic() - started)
            done, _ = await asyncio.wait({turn}, timeout=max(budget, 0.05))
            if not done:  # too slow for a passive reply: the API delivers it
                turn.add_done_callback(lambda t: self._later(message.openid, t, skip=0,
                                                             item_id=item_id))
                return plain("success")
            outs = turn.result()
            if self.config.handoff == "wechat" and await self._to_wechat_kf(
                    message.openid, time.time() - (time.monotonic() - started), agent):
                await self.inbox.done(item_id)
                return reply(_transfer_xml(message.openid, message.account))
            if outs and outs[0].passive:
                self._later(message.openid, turn, skip=1, item_id=item_id)
                return reply(outs[0])
            self._later(message.openid, turn, skip=0, item_id=item_id)
            return plain("success")

        @hook.listener("after_server_start")
        async def resume(app: Any, loop: Any) -> None:
            """Answer, through the API, what a stopped process took but never answered."""
            if self.api is None:
                return
            left = await asyncio.to_thread(self.inbox.pending)
            if left:
                logger.info("WeChat: answering %d message(s) left by the last run", len(left))
            for item in left:
                task = loop.create_task(self._resume(item, on_new_message, app.ctx.agent))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

        return hook

    async def _admit(self, message: Incoming, agent: Any) -> Admitted | Out | None:
        """What to do with a new message: run the assistant on it (the admitted
        message), answer it politely without the assistant (an :class:`Out`), or
        nothing (``None``: an event, or a message to the person holding the chat)."""
        said = message.fields.get("Content") or message.fields.get("Recognition") or ""
        # kept for history, the 48-hour window and the language
        await self.outbox.customer_message(message.openid, message.key[:64], {
            "text": said[:self.settings.max_message_chars], "msgtype": message.kind,
            "event": message.fields.get("Event", "")[:32]})
        lang = detect_language(said) or await self.outbox.language(message.openid, default="zh")
        text, answer = await self._understand(message, lang)
        if answer is not None:
            return Out("text", text=answer)
        if text is None:
            return None
        admitted = await admit_platform(
            channel=CHANNEL, user=message.openid, text=text, said=said, lang=lang,
            metadata={"wechat": {"msgtype": message.kind}, "locale": lang},
            photo=message.kind == "image")
        if not isinstance(admitted, Admitted):
            return Out("text", text=admitted) if admitted else None
        current = await holding(message.openid)
        if current is not None and current.holder == PLATFORM:
            # WeChat sends a customer's messages to us only once its customer-service
            # session is over: the assistant holds the conversation again
            await back_from_platform(message.openid, platform=WECHAT_KF)
            current = None
        if message.kind != "image" and await for_a_person(
                agent, message.openid, text=spoken(admitted), metadata=admitted.metadata,
                channel=CHANNEL, current=current):
            return None
        return admitted

    async def _resume(self, item: Item,
                      on_new_message: Callable[[UserMessage], Awaitable[Any]],
                      agent: Any) -> None:
        """A message a stopped process took and never answered: answered now, through
        the API (the passive reply's moment has passed)."""
        try:
            kept = item.body
            message = Incoming(openid=item.conversation, account=kept["account"],
                               kind=kept["kind"], key=kept["key"], fields=kept["fields"],
                               encrypted=False)
            step = await self._admit(message, agent)
            if isinstance(step, Admitted):
                outs = await self._turn(on_new_message, message, step, agent)
                await self._send_all(message.openid, outs)
            elif isinstance(step, Out):
                await self._send_all(message.openid, [step])
        except Exception:  # noqa: BLE001 - one bad leftover never stops the others
            logger.exception("WeChat leftover %d not answered", item.id)
        await self.inbox.done(item.id)

    async def _turn(self, on_new_message: Callable[[UserMessage], Awaitable[Any]],
                    message: Incoming, admitted: Admitted, agent: Any) -> List[Out]:
        """Run the assistant on one message; its answer as WeChat messages (stored)."""
        lang = locale_of(admitted.metadata) or "zh"
        if message.kind == "image":
            try:
                data = await self._api().media(message.fields.get("MediaId", ""))
                ref, _ = await asyncio.get_running_loop().run_in_executor(
                    None, lambda: shared_media().put(data, sender=message.openid))
            except Exception as exc:  # noqa: BLE001 - WeChat failed or the file is refused
                logger.info("WeChat photo not taken (%s)", type(exc).__name__)
                return await self._store(message.openid,
                                         [{"text": SHARED_POLITE["photo_failed"][lang]}])
            admitted = photo_message(admitted, ref.media_id)
            if await for_a_person(agent, message.openid, text=spoken(admitted),
                                  metadata=admitted.metadata, channel=CHANNEL):
                return []
        collector = WeChatOutput()
        if not await deliver(on_new_message, UserMessage(
                admitted.text, collector, admitted.sender, input_channel=CHANNEL,
                metadata=admitted.metadata), sender=admitted.sender):
            collector.messages.append({"text": polite("failed", admitted.text)})
        return await self._store(message.openid,
                                 [message_body(m) for m in collector.messages])

    async def _store(self, openid: str, bodies: List[Dict[str, Any]], *,
                     role: str = "assistant") -> List[Out]:
        """Keep a turn's messages (history, numbered choices); its WeChat messages."""
        bodies = [b for b in bodies if b]
        outs, choices = render(bodies, self.config)
        for i, body in enumerate(bodies):
            last = i == len(bodies) - 1
            await self.outbox.append(openid, role, {**body, "choices": choices} if last
                                     and choices else body)
        return outs

    async def _to_wechat_kf(self, openid: str, since: float, agent: Any) -> bool:
        """``WECHAT_HANDOFF=wechat``: a handoff requested in this turn goes to WeChat's
        customer-service system; the shop's queue forgets it."""
        if not await queued_since(openid, since):
            return False
        await handed_to_platform(openid, platform=WECHAT_KF, channel=CHANNEL)
        return True

    def _later(self, openid: str, turn: asyncio.Task[List[Out]], *, skip: int,
               item_id: int) -> None:
        """Send the turn's messages after the first ``skip`` through the API, in order;
        then the message is answered."""
        outs: List[Out] = []
        if turn.cancelled() or turn.exception() is not None:
            logger.error("WeChat turn failed for %s", openid)
        else:
            outs = turn.result()[skip:]

        async def finish() -> None:
            if outs:
                await self._send_all(openid, outs)
            await self.inbox.done(item_id)

        task = asyncio.get_running_loop().create_task(finish())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send_all(self, openid: str, outs: List[Out]) -> None:
        for out in outs:
            try:
                await self._send(openid, out)
            except (WeChatApiError, OSError) as exc:  # WeChat refused, or a photo not fetched
                logger.warning("WeChat message to %s not delivered: %s", openid, exc)
                if isinstance(exc, WeChatApiError) and exc.outside_window:
                    return

    def _api(self) -> WeChatApi:
        if self.api is None:
            raise BadRequest("WeChat is not configured on this server", 404)
        return self.api

    async def _send(self, openid: str, out: Out) -> None:
        media_id = await self._upload(out.image_url) if out.kind == "image" else None
        await self._api().send(out.api(openid, media_id))

    async def _upload(self, url: str) -> str:
        """A product or agent photo uploaded to WeChat (``media/upload``), reused for
        two days (WeChat keeps temporary media three)."""
        known = self._uploads.get(url)
        if known and time.time() - known[1] < 2 * 86400:
            return known[0]
        data = await _fetch_image(url, limit=self.settings.upload_max_bytes,
                                  timeout=self.config.api_timeout)
        media_id = await self._api().upload_image(data)
        self._uploads[url] = (media_id, time.time())
        return media_id

    # --- sending at any time (agents, notices, the handback) -------------------------------

    async def push(self, conversation: str, message: Dict[str, Any], role: str) -> int:
        """Deliver a message outside a reply with ``message/custom/send``.

        Raises:
            BadRequest: 409 when WeChat's 48-hour window has passed or its quota
                is spent, 502 when WeChat refused it otherwise (the desk shows the
                agent why); nothing is stored then.
        """
        body = message_body(message)
        if not body:
            raise BadRequest("the message has nothing to show (text, buttons, image, custom)")
        last = await self.outbox.latest(conversation, ("customer",), limit=1)
        if not last or time.time() - last[0].created_at > WINDOW_SECONDS:
            raise BadRequest("not delivered: WeChat lets an account write to a customer only "
                             "within 48 hours of their last message", 409)
        outs, choices = render([body], self.config)
        for out in outs:
            try:
                await self._send(conversation, out)
            except WeChatApiError as exc:
                status = 409 if exc.outside_window else 502
                raise BadRequest(f"not delivered: {exc}", status) from None
            except OSError as exc:
                raise BadRequest(f"not delivered: the photo could not be fetched ({exc})",
                                 502) from None
        entry = await self.outbox.append(conversation, role if role in OUTGOING else "agent",
                                         {**body, "choices": choices} if choices else body)
        return entry.id

    async def _typing(self, conversation: str, on: bool, author: str) -> bool:
        try:
            await self._api().typing(conversation, on)
            return True
        except (WeChatApiError, BadRequest):
            return False

    def get_metadata(self, request: Request) -> Dict[str, Any] | None:
        """Metadata of a request (the webhook sets its own)."""
        return None


def _transfer_xml(openid: str, account: str) -> str:
    return (f"<xml><ToUserName>{cdata(openid)}</ToUserName>"
            f"<FromUserName>{cdata(account)}</FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime>"
            f"<MsgType><![CDATA[transfer_customer_service]]></MsgType></xml>")


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
            data = await reply.content.read(limit + 1)
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        raise OSError(type(exc).__name__) from None
    if len(data) > limit:
        raise OSError("the photo is too large")
    return bytes(data)

