"""Facebook Messenger channel: ``/webhooks/messenger/webhook``.

Replaces Rasa 3.6's ``facebook`` channel, which checks only the old SHA-1
signature (and answers 200 when it fails), handles only the first event of a
batched delivery, takes echoed attachments for customer messages, passes photos
on as URL text and calls the Send API with blocking ``requests``.

**Receiving.** ``GET`` answers Meta's verification (``hub.mode=subscribe``, the
verify token, ``hub.challenge``); anything else gets 403. Every ``POST`` is
checked with ``X-Hub-Signature-256`` (HMAC-SHA256 of the raw body with the app
secret, compared in constant time) before anything is read; a missing or wrong
signature gets 403. A signed delivery is acknowledged with 200 at once and
processed in the background, because Meta retries slow webhooks: every
``entry`` and every ``messaging`` item, in order per customer (one queue per
PSID). Echoes of every kind, deliveries, reads and reactions are not customer
messages; ``standby`` items (another app holds the thread) are left alone. The
items are stored before the 200 (:class:`bot.channels.inbox.Inbox`), once per
``mid``: a delivery Meta retries is not answered twice, and one acknowledged
just before a restart is answered when the server is back.

Text, quick-reply payloads and postbacks drive the assistant. Image
attachments are fetched from Meta's CDN (:func:`fetch_attachment`: https, CDN
hosts only, no redirects, no private addresses, size and time limits), checked
and stored by the same media intake as every channel, and answered by the photo
lookup; stickers, audio, video and files get a polite answer. The PSID is the
conversation's sender; a linked PSID (:mod:`bot.channels.links`) is that
customer.

**Answering** (:func:`render`): text split at 2,000 characters; buttons become
quick replies (13 per message at most, titles cut to 20 characters; more buttons
go on in a further message); product cards become a generic-template carousel
(10 per message at most, further ones in another carousel; title and subtitle
cut to 80 characters; the photo; a "Tell me more" postback that feeds back into
the assistant). Nothing over a limit is dropped.

**Windows and tags.** Meta allows automated messages within 24 hours of the
customer's last message; an agent's reply may go out with the ``HUMAN_AGENT``
tag for 7 days. Agents' messages always carry it, automated ones never; a
message outside its window is not sent (refused back to the desk for an agent).

**Human handoff.** While a person holds the conversation, the customer's
messages go to them (:mod:`bot.channels.handover`); their replies come through
:meth:`MessengerInput.push`. ``MESSENGER_HANDOFF=page_inbox`` passes thread
control to the Page Inbox instead (app 263902037430900) when the assistant
queues a handoff; the assistant is silent until the Page Inbox passes it back.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
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
    check_storable,
    deliver,
    message_body,
    photo_message,
    polite,
    register_pusher,
    register_typist,
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
from bot.channels.messenger_api import (
    AttachmentRefused,
    GraphApi,
    GraphError,
    fetch_attachment,
)
from bot.channels.outbox import Outbox
from bot.components.language import detect_language
from bot.settings import ChannelSettings, MessengerSettings, settings
from handoff import PLATFORM

logger = logging.getLogger(__name__)

CHANNEL = "messenger"
PAGE_INBOX = "page_inbox"
MAX_TEXT = 2000
MAX_QUICK_REPLIES = 13
MAX_TITLE = 20
MAX_ELEMENTS = 10
MAX_ELEMENT_TEXT = 80
STANDARD_WINDOW = 24 * 3600
HUMAN_AGENT_WINDOW = 7 * 24 * 3600
OUTGOING = ("assistant", "agent", "notice")

POLITE = {
    "more": {"en": "More options:", "zh": "更多选项："},
    "tell_more": {"en": "Tell me more", "zh": "了解详情"},
}


def _cut(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _lang(text: str) -> str:
    return detect_language(text) or "en"


def split_text(text: str, limit: int = MAX_TEXT) -> List[str]:
    """Parts of at most ``limit`` characters, cut at line ends, else at spaces."""
    parts: List[str] = []
    rest = text.strip()
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit)
        if cut < limit // 2:
            cut = rest.rfind(" ", 0, limit)
        if cut < limit // 2:
            cut = limit
        parts.append(rest[:cut].strip())
        rest = rest[cut:].strip()
    if rest:
        parts.append(rest)
    return parts


def check_signature(secret: str, body: bytes, header: str | None) -> bool:
    """``X-Hub-Signature-256: sha256=<hex>`` of the raw body, in constant time."""
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header[7:].strip().encode())


def render(bodies: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """A turn's (or a pushed) messages as Send API ``message`` objects, in order."""
    out: List[Dict[str, Any]] = []
    for body in bodies:
        text = str(body.get("text") or "").strip()
        if text and body.get("author"):
            text = f"{body['author']}: {text}"
        buttons = body.get("buttons") or []
        parts = split_text(text) if text else []
        if buttons:
            groups = [buttons[i:i + MAX_QUICK_REPLIES]
                      for i in range(0, len(buttons), MAX_QUICK_REPLIES)]
            for part in parts[:-1]:
                out.append({"text": part})
            head = parts[-1] if parts else POLITE["more"][_lang(text)]
            for i, group in enumerate(groups):
                out.append({"text": head if i == 0 else POLITE["more"][_lang(text)],
                            "quick_replies": [
                                {"content_type": "text", "title": _cut(b["title"], MAX_TITLE),
                                 "payload": str(b["payload"])[:1000]} for b in group]})
        else:
            out.extend({"text": part} for part in parts)
        if isinstance(body.get("image"), str) and body["image"].startswith("http"):
            out.append({"attachment": {"type": "image", "payload": {
                "url": body["image"], "is_reusable": True}}})
        custom = body.get("custom") or {}
        if custom.get("type") == "product_cards":
            cards = [c for c in custom.get("cards") or [] if isinstance(c, dict)]
            for start in range(0, len(cards), MAX_ELEMENTS):
                elements = [_element(card) for card in cards[start:start + MAX_ELEMENTS]]
                out.append({"attachment": {"type": "template", "payload": {
                    "template_type": "generic", "elements": elements}}})
    return out


def _element(card: Dict[str, Any]) -> Dict[str, Any]:
    subtitle = " · ".join(str(x) for x in (card.get("price"), card.get("reason")) if x)
    element: Dict[str, Any] = {"title": _cut(card.get("title") or card.get("sku") or "?",
                                             MAX_ELEMENT_TEXT),
                               "subtitle": _cut(subtitle, MAX_ELEMENT_TEXT)}
    if isinstance(card.get("image"), str) and card["image"].startswith("http"):
        element["image_url"] = card["image"]
    buttons = [b for b in card.get("buttons") or [] if isinstance(b, dict)
               and isinstance(b.get("payload"), str)][:3]
    if buttons:
        element["buttons"] = [{"type": "postback", "title": _cut(b.get("title") or
                                                                 POLITE["tell_more"]["en"],
                                                                 MAX_TITLE),
                               "payload": b["payload"][:1000]} for b in buttons]
    return element


def _worth_keeping(item: Dict[str, Any]) -> tuple[str, str, Dict[str, Any]] | None:
    """``(key, psid, item)`` for an item the channel acts on: a customer's message or
    postback (keyed by its ``mid``), or a thread-control change. Echoes, deliveries,
    reads and reactions are not kept."""
    sender = item.get("sender") if isinstance(item.get("sender"), dict) else {}
    psid = str(sender.get("id") or "")
    if not (0 < len(psid) <= 64 and psid.isascii() and psid.isalnum()):
        return None
    if "pass_thread_control" in item or "take_thread_control" in item:
        return f"control:{psid}:{item.get('timestamp')}", psid, item
    message = item.get("message") if isinstance(item.get("message"), dict) else None
    postback = item.get("postback") if isinstance(item.get("postback"), dict) else None
    if postback is None and (message is None or message.get("is_echo")):
        return None
    mid = (message or postback or {}).get("mid")
    key = str(mid) if isinstance(mid, str) and mid else \
        f"{'postback' if postback else 'message'}:{psid}:{item.get('timestamp')}"
    return key, psid, item


class MessengerOutput(CollectingOutputChannel):
    """Collects a turn's answers; the channel sends them through the Send API."""

    @classmethod
    def name(cls) -> str:
        """The channel's name."""
        return CHANNEL


class MessengerInput(InputChannel):
    """The Messenger channel (see the module docstring)."""

    @classmethod
    def name(cls) -> str:
        """Registered as ``messenger``: ``/webhooks/messenger/webhook``."""
        return CHANNEL

    def __init__(self) -> None:
        self.settings: ChannelSettings = settings()
        self.config: MessengerSettings = self.settings.messenger
        self.outbox = Outbox(self.settings.channel_db_url, channel=CHANNEL)
        self.inbox = Inbox(self.settings.channel_db_url, channel=CHANNEL)
        self.api = GraphApi(base=self.config.api_base, version=self.config.api_version,
                            page_token=self.config.page_token or "",
                            timeout=self.config.api_timeout) if self.config.enabled else None
        self._queues: Dict[str, asyncio.Queue[Any]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    @classmethod
    def from_credentials(cls, credentials: Dict[str, Any] | None) -> "MessengerInput":
        """Settings come from the environment (``MESSENGER_*``)."""
        return cls()

    def get_output_channel(self) -> OutputChannel:
        """Rasa's messages outside a request (reminders, external events): sent like
        an agent's, through the Send API."""
        from bot.channels.push_output import PushOutput

        return PushOutput(CHANNEL)

    # --- receiving ----------------------------------------------------------------------

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        """``GET`` (verification) and ``POST`` (deliveries) on ``/webhook``."""
        hook = Blueprint("messenger_webhook", __name__)
        if self.api is not None:
            register_pusher(CHANNEL, self.push)
            register_typist(CHANNEL, self._typing)

        def plain(text: str, status: int = 200) -> HTTPResponse:
            return response.text(text, status=status, headers={
                "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"})

        @hook.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            token = self.config.verify_token
            if not self.config.enabled or not token:
                return plain("Messenger is not configured on this server", 404)
            given = request.args.get("hub.verify_token", "")
            challenge = request.args.get("hub.challenge", "")
            if request.args.get("hub.mode") != "subscribe" or not hmac.compare_digest(
                    given.encode(), token.encode()) or not (0 < len(challenge) <= 256):
                return plain("verification refused", 403)
            return plain(challenge)

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not self.config.enabled:
                return plain("Messenger is not configured on this server", 404)
            body = bytes(request.body or b"")
            if len(body) > self.config.max_body_bytes:
                return plain("delivery too large", 413)
            if not check_signature(self.config.app_secret or "", body,
                                   request.headers.get("x-hub-signature-256")):
                logger.info("Messenger delivery refused: missing or wrong signature")
                return plain("missing or wrong X-Hub-Signature-256", 403)
            try:
                payload = json.loads(body)
                check_storable(payload, max_depth=16, max_items=20_000)
            except (ValueError, RecursionError, BadRequest):
                return plain("not a Messenger delivery (JSON)", 400)
            if not isinstance(payload, dict) or payload.get("object") != "page" or \
                    not isinstance(payload.get("entry"), list):
                return plain("not a page delivery", 400)
            entries = [entry for raw in payload["entry"] if isinstance(raw, dict)
                       for item in raw.get("messaging") or [] if isinstance(item, dict)
                       if (entry := _worth_keeping(item)) is not None]
            # standby items: another app holds these threads; they are not ours to answer
            try:  # kept before the 200: a restart between the 200 and the answer loses nothing
                stored = await self.inbox.put(entries)
            except Exception:  # noqa: BLE001 - not kept: Meta sends the delivery again
                logger.exception("Messenger delivery not stored; answering 503")
                return plain("temporarily unavailable", 503)
            for item in stored:
                self._enqueue(item, on_new_message, request.app.ctx.agent)
            return plain("EVENT_RECEIVED")

        @hook.listener("after_server_start")
        async def resume(app: Any, loop: Any) -> None:
            """Answer what a stopped process received but never answered."""
            if not self.config.enabled:
                return
            left = await asyncio.to_thread(self.inbox.pending)
            if left:
                logger.info("Messenger: answering %d item(s) left by the last run", len(left))
            for item in left:
                self._enqueue(item, on_new_message, app.ctx.agent)

        return hook

    def _enqueue(self, item: Item,
                 on_new_message: Callable[[UserMessage], Awaitable[Any]], agent: Any) -> None:
        """Queue one stored item behind the same customer's earlier ones."""
        psid = item.conversation
        queue = self._queues.get(psid)
        if queue is None:
            queue = self._queues[psid] = asyncio.Queue()
            task = asyncio.get_running_loop().create_task(
                self._worker(psid, queue, on_new_message, agent))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        queue.put_nowait(item)

    async def _worker(self, psid: str, queue: asyncio.Queue[Any],
                      on_new_message: Callable[[UserMessage], Awaitable[Any]],
                      agent: Any) -> None:
        """Process one customer's items in order; ends when idle for a minute."""
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), timeout=60)
            except asyncio.TimeoutError:
                if queue.empty():
                    self._queues.pop(psid, None)
                    return
                continue
            try:
                await self._handle(psid, item.body, on_new_message, agent)
            except Exception:  # noqa: BLE001 - one bad item never stops the customer's queue
                logger.exception("Messenger item for %s failed", psid)
            try:
                await self.inbox.done(item.id)
            except Exception:  # noqa: BLE001 - answered; at worst it is answered again
                logger.exception("Messenger item %d not marked done", item.id)

    async def _handle(self, psid: str, item: Dict[str, Any],
                      on_new_message: Callable[[UserMessage], Awaitable[Any]],
                      agent: Any) -> None:
        """One messaging item (see the module docstring)."""
        if "pass_thread_control" in item or "take_thread_control" in item:
            control = item.get("pass_thread_control") or {}
            if str(control.get("new_owner_app_id") or "") == self.config.app_id:
                # the Page Inbox handed the thread back
                await back_from_platform(psid, platform=PAGE_INBOX)
            return
        message = item.get("message") if isinstance(item.get("message"), dict) else None
        postback = item.get("postback") if isinstance(item.get("postback"), dict) else None
        if message is None and postback is None:
            return  # delivery, read, reaction, optin, referral ...
        if message is not None and message.get("is_echo"):
            return  # the page's own messages, of every kind
        key = str((message or postback or {}).get("mid") or
                  f"{'postback' if postback else 'message'}:{item.get('timestamp')}")[:64]
        text, attachments = "", []
        if postback is not None:
            text = str(postback.get("payload") or postback.get("title") or "")
        else:
            assert message is not None
            reply = message.get("quick_reply") if isinstance(message.get("quick_reply"),
                                                             dict) else None
            text = str((reply or {}).get("payload") or message.get("text") or "")
            attachments = [a for a in message.get("attachments") or [] if isinstance(a, dict)]
        said = str((postback or {}).get("title") or (message or {}).get("text") or "")
        # kept for history and the messaging window (the inbox already let it in once)
        await self.outbox.customer_message(psid, key, {
            "text": said[:self.settings.max_message_chars],
            "kind": "postback" if postback else "message"})
        current = await holding(psid)
        if current is not None and current.holder == PLATFORM:
            return  # the Page Inbox holds the thread
        lang = detect_language(said) or await self.outbox.language(psid, default="en")
        image = next((a for a in attachments if a.get("type") == "image"
                      and not (a.get("payload") or {}).get("sticker_id")), None)
        if attachments and image is None:  # stickers, audio, video, files, locations
            await self._send_bodies(psid, [{"text": SHARED_POLITE["unsupported_media"][lang]}])
            return
        await self.api_action(psid, "mark_seen")
        admitted = await admit_platform(channel=CHANNEL, user=psid, text=text, said=said,
                                        lang=lang, metadata={"locale": lang},
                                        photo=image is not None)
        if not isinstance(admitted, Admitted):
            if admitted:  # a limit: said politely
                await self._send_bodies(psid, [{"text": admitted}])
            return
        if image is not None:
            url = str((image.get("payload") or {}).get("url") or "")
            try:
                data = await fetch_attachment(
                    url, hosts=self.config.cdn_hosts, limit=self.settings.upload_max_bytes,
                    timeout=self.config.api_timeout, test_origin=self.config.test_cdn_origin)
                ref, _ = await asyncio.get_running_loop().run_in_executor(
                    None, lambda: shared_media().put(data, sender=psid))
            except Exception as exc:  # noqa: BLE001 - refused URL or file: a polite answer
                logger.info("Messenger photo not taken: %s", exc if isinstance(
                    exc, AttachmentRefused) else type(exc).__name__)
                await self._send_bodies(psid, [{"text": SHARED_POLITE["photo_failed"][lang]}])
                return
            admitted = photo_message(admitted, ref.media_id)
        # the record as read above, unless a photo download took a while meanwhile
        if await for_a_person(agent, psid, text=spoken(admitted),
                              metadata=admitted.metadata, channel=CHANNEL,
                              current=None if image is not None else current):
            return
        started = time.time()
        await self.api_action(psid, "typing_on")
        collector = MessengerOutput()
        if not await deliver(on_new_message, UserMessage(
                admitted.text, collector, psid, input_channel=CHANNEL,
                metadata=admitted.metadata), sender=psid):
            collector.messages.append({"text": polite("failed", said or text)})
        if self.config.handoff == "page_inbox" and await self._to_page_inbox(psid, started,
                                                                             agent):
            return
        await self._send_bodies(psid, [message_body(m) for m in collector.messages])

    async def api_action(self, psid: str, action: str) -> None:
        """A sender action (hint), if the channel is on."""
        if self.api is not None:
            await self.api.action(psid, action)

    async def _to_page_inbox(self, psid: str, since: float, agent: Any) -> bool:
        """``MESSENGER_HANDOFF=page_inbox``: a handoff queued in this turn goes to the
        Page Inbox (thread control); the shop's queue forgets it."""
        if not await queued_since(psid, since):
            return False
        try:
            assert self.api is not None
            await self.api.pass_thread(psid, metadata="handoff from the shop assistant")
        except GraphError as exc:
            logger.warning("thread not passed to the Page Inbox (%s): the desk's queue "
                           "keeps it", exc)
            return False
        await handed_to_platform(psid, platform=PAGE_INBOX, channel=CHANNEL)
        return True

    # --- sending ------------------------------------------------------------------------

    async def _window(self, psid: str) -> float | None:
        """Seconds since the customer's last message (``None``: never wrote)."""
        last = await self.outbox.latest(psid, ("customer",), limit=1)
        return time.time() - last[0].created_at if last else None

    async def _send_bodies(self, psid: str, bodies: List[Dict[str, Any]], *,
                           role: str = "assistant") -> int:
        """Store and send messages; the last stored id. Never raises for automated
        messages (failures are logged); raises :class:`BadRequest` for an agent's."""
        bodies = [b for b in bodies if b]
        if not bodies or self.api is None:
            return 0
        age = await self._window(psid)
        human = role == "agent"
        window = HUMAN_AGENT_WINDOW if human else STANDARD_WINDOW
        if age is None or age > window:
            reason = ("not delivered: Messenger allows a person's reply within 7 days of "
                      "the customer's last message" if human else
                      "not delivered: Messenger allows automated messages within 24 hours "
                      "of the customer's last message")
            if role == "assistant":
                logger.warning("%s (%s)", reason, psid)
                return 0
            raise BadRequest(reason, 409)
        for message in render(bodies):
            try:
                await self.api.send(psid, message, tag="HUMAN_AGENT" if human else None)
            except GraphError as exc:
                if role == "assistant":
                    logger.warning("Messenger message to %s not delivered: %s", psid, exc)
                    return 0
                raise BadRequest(f"not delivered: {exc}", 409 if exc.outside_window
                                 else 502) from None
        last = 0
        for body in bodies:
            last = (await self.outbox.append(psid, role if role in OUTGOING else "agent",
                                             body)).id
        return last

    async def push(self, conversation: str, message: Dict[str, Any], role: str) -> int:
        """Deliver a message outside a reply (an agent's, a notice, the handback).

        Raises:
            BadRequest: 409 outside the messaging window, 502 when Meta refused it.
        """
        body = message_body(message)
        if not body:
            raise BadRequest("the message has nothing to show (text, buttons, image, custom)")
        return await self._send_bodies(conversation, [body],
                                       role="agent" if role == "agent" else "notice")

    async def _typing(self, conversation: str, on: bool, author: str) -> bool:
        await self.api_action(conversation, "typing_on" if on else "typing_off")
        return self.api is not None

    def get_metadata(self, request: Request) -> Dict[str, Any] | None:
        """Metadata of a request (the webhook sets its own)."""
        return None
