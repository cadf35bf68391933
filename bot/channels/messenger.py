"""Facebook Messenger channel: ``/webhooks/messenger/webhook``.

A platform adapter on the one pipeline (:mod:`bot.channels.pipeline`: storage before
the acknowledgement, de-duplication, order per customer, history, the gate, photos,
held → person, delivery and windows); only what is Messenger's is here. It replaces
Rasa 3.6's ``facebook`` channel, which checks only the old SHA-1 signature (and
answers 200 when it fails), handles only the first event of a batched delivery,
takes echoed attachments for customer messages, passes photos on as URL text and
calls the Send API with blocking ``requests``.

**Receiving.** ``GET`` answers Meta's verification (``hub.mode=subscribe``, the
verify token, ``hub.challenge``); anything else gets 403. Every ``POST`` is
checked with ``X-Hub-Signature-256`` (HMAC-SHA256 of the raw body with the app
secret, compared in constant time) before anything is read; a missing or wrong
signature gets 403. A signed delivery is stored and acknowledged with 200 at once
(Meta retries slow webhooks): every ``entry`` and every ``messaging`` item, keyed
by its ``mid``. Echoes of every kind, deliveries, reads and reactions are not
customer messages; ``standby`` items (another app holds the thread) are left
alone.

Text, quick-reply payloads and postbacks drive the assistant (the customer's words
or the button's title are what the history and the desk show). Image attachments
are fetched from Meta's CDN (:func:`fetch_attachment`: https, CDN hosts only, no
redirects, no private addresses, size and time limits); stickers, audio, video and
files get a polite answer. The PSID is the conversation's sender; a linked PSID
(:mod:`bot.channels.links`) is that customer.

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

**Human handoff.** The shop's desk by default. ``MESSENGER_HANDOFF=page_inbox``
passes thread control to the Page Inbox instead (app 263902037430900) when the
assistant queues a handoff; the record says the platform holds the conversation
(:mod:`handoff`), and the assistant is silent until the Page Inbox passes it back.
"""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable, Dict, List

from bot.channels.graph_api import GraphError, fetch_attachment
from bot.channels.meta import MetaChannel, cut, lang_of, signed_text, split_text
from bot.channels.pipeline import (
    CONTROL,
    MESSAGE,
    PHOTO,
    UNSUPPORTED,
    Incoming,
    ReplySlot,
    SendFailed,
)
from bot.settings import MessengerSettings

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

POLITE = {
    "more": {"en": "More options:", "zh": "更多选项："},
    "tell_more": {"en": "Tell me more", "zh": "了解详情"},
}


def render(bodies: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """A turn's (or a pushed) messages as Send API ``message`` objects, in order."""
    out: List[Dict[str, Any]] = []
    for body in bodies:
        text = signed_text(body)
        buttons = body.get("buttons") or []
        parts = split_text(text, MAX_TEXT) if text else []
        if buttons:
            groups = [buttons[i:i + MAX_QUICK_REPLIES]
                      for i in range(0, len(buttons), MAX_QUICK_REPLIES)]
            for part in parts[:-1]:
                out.append({"text": part})
            head = parts[-1] if parts else POLITE["more"][lang_of(text)]
            for i, group in enumerate(groups):
                out.append({"text": head if i == 0 else POLITE["more"][lang_of(text)],
                            "quick_replies": [
                                {"content_type": "text", "title": cut(b["title"], MAX_TITLE),
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
    element: Dict[str, Any] = {"title": cut(card.get("title") or card.get("sku") or "?",
                                             MAX_ELEMENT_TEXT),
                               "subtitle": cut(subtitle, MAX_ELEMENT_TEXT)}
    if isinstance(card.get("image"), str) and card["image"].startswith("http"):
        element["image_url"] = card["image"]
    buttons = [b for b in card.get("buttons") or [] if isinstance(b, dict)
               and isinstance(b.get("payload"), str)][:3]
    if buttons:
        element["buttons"] = [{"type": "postback", "title": cut(b.get("title") or
                                                                 POLITE["tell_more"]["en"],
                                                                 MAX_TITLE),
                               "payload": b["payload"][:1000]} for b in buttons]
    return element


def _dict(value: Any) -> Dict[str, Any]:
    return value if isinstance(value, dict) else {}


def parse_item(item: Dict[str, Any], *, app_id: str) -> Incoming | None:
    """One ``messaging`` item as the pipeline's :class:`Incoming`, or ``None`` for what
    is not the channel's to act on: echoes of every kind, deliveries, reads,
    reactions, opt-ins. Keyed by the message's ``mid`` (a postback's too)."""
    sender = item.get("sender") if isinstance(item.get("sender"), dict) else {}
    psid = str(sender.get("id") or "")
    if not (0 < len(psid) <= 64 and psid.isascii() and psid.isalnum()):
        return None
    stamp = str(item.get("timestamp"))[:20]
    if "pass_thread_control" in item or "take_thread_control" in item:
        control = item.get("pass_thread_control") or {}
        back = isinstance(control, dict) and str(control.get("new_owner_app_id") or "") \
            == app_id and bool(app_id)
        # only the thread coming back is ours; another app's moves are not messages
        return Incoming(key=f"control:{psid}:{stamp}", user=psid, kind=CONTROL) if back \
            else None
    message = item.get("message") if isinstance(item.get("message"), dict) else None
    postback = item.get("postback") if isinstance(item.get("postback"), dict) else None
    if postback is None and (message is None or message.get("is_echo")):
        return None
    mid = (message or postback or {}).get("mid")
    key = str(mid)[:128] if isinstance(mid, str) and mid else \
        f"{'postback' if postback else 'message'}:{psid}:{stamp}"
    record = {"kind": "postback" if postback else "message"}
    if postback is not None:
        said = str(postback.get("title") or "")
        return Incoming(key=key, user=psid, kind=MESSAGE, said=said, record=record,
                        text=str(postback.get("payload") or said))
    assert message is not None
    reply = message.get("quick_reply") if isinstance(message.get("quick_reply"), dict) \
        else {}
    said = str(message.get("text") or "")
    text = str(reply.get("payload") or said)
    attachments = [a for a in message.get("attachments") or [] if isinstance(a, dict)]
    image = next((a for a in attachments if a.get("type") == "image"
                  and not _dict(a.get("payload")).get("sticker_id")), None)
    if image is not None:
        return Incoming(key=key, user=psid, kind=PHOTO, text=text, said=said, record=record,
                        media=str(_dict(image.get("payload")).get("url") or ""))
    if attachments:  # stickers, audio, video, files, locations
        first = attachments[0]
        kind = "sticker" if _dict(first.get("payload")).get("sticker_id") else first.get("type")
        return Incoming(key=key, user=psid, kind=UNSUPPORTED, said=said,
                        record={**record, "type": str(kind or "attachment")[:32]})
    return Incoming(key=key, user=psid, kind=MESSAGE, text=text, said=said, record=record)


class MessengerInput(MetaChannel):
    """The Messenger channel (see the module docstring)."""

    channel = CHANNEL
    title = "Messenger"
    delivery_kind = "page"
    default_language = "en"
    platform_inbox = PAGE_INBOX
    window_seconds = float(STANDARD_WINDOW)
    person_window_seconds = float(HUMAN_AGENT_WINDOW)
    draws_cards = True  # a generic template: title, price and reason on every card
    typing_before_answer = True

    def __init__(self) -> None:
        super().__init__()
        self.config: MessengerSettings = self.settings.messenger
        self.connect(self.config, token=self.config.page_token)
        self.platform_handoff = self.config.handoff == PAGE_INBOX

    def items(self, payload: Dict[str, Any]) -> List[Incoming]:
        """Every entry's ``messaging`` items (``standby`` ones are another app's)."""
        return [parsed for raw in payload["entry"] if isinstance(raw, dict)
                for item in raw.get("messaging") or [] if isinstance(item, dict)
                if (parsed := parse_item(item, app_id=self.config.app_id)) is not None]

    async def fetch_media(self, item: Incoming) -> bytes:
        """A photo from Meta's CDN (checked: :func:`fetch_attachment`)."""
        return await fetch_attachment(
            item.media, hosts=self.config.cdn_hosts, limit=self.settings.upload_max_bytes,
            timeout=self.config.api_timeout, test_origin=self.config.test_cdn_origin)

    async def reading(self, item: Incoming) -> None:
        """``mark_seen``."""
        await self._action(item.user, "mark_seen")

    async def _action(self, psid: str, action: str) -> None:
        if self.api is not None:
            await self.api.action(psid, action)

    async def typing(self, user: str, on: bool) -> bool:
        """``typing_on`` / ``typing_off``."""
        await self._action(user, "typing_on" if on else "typing_off")
        return self.api is not None

    def render(self, bodies: List[Dict[str, Any]]) -> tuple[List[Any], Dict[str, Any]]:
        """Send API messages (:func:`render`)."""
        return render(bodies), {}

    async def send(self, user: str, out: Any, *, person: bool) -> None:
        """One Send API call; a person's message carries the ``HUMAN_AGENT`` tag."""
        assert self.api is not None
        try:
            await self.api.send(user, out, tag="HUMAN_AGENT" if person else None)
        except GraphError as exc:
            raise SendFailed(str(exc), outside_window=exc.outside_window) from None

    def window_refusal(self, person: bool) -> str:
        """Meta's rule, in its words."""
        return ("not delivered: Messenger allows a person's reply within 7 days of the "
                "customer's last message" if person else
                "not delivered: Messenger allows automated messages within 24 hours of "
                "the customer's last message")

    async def to_platform(self, user: str, slot: ReplySlot | None,
                          record: Callable[[], Awaitable[None]]) -> bool:
        """``MESSENGER_HANDOFF=page_inbox``: thread control to the Page Inbox."""
        try:
            assert self.api is not None
            await self.api.pass_thread(user, metadata="handoff from the shop assistant")
        except GraphError as exc:
            logger.warning("thread not passed to the Page Inbox (%s): the desk's queue "
                           "keeps it", exc)
            return False
        await record()
        return True
