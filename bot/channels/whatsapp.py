"""WhatsApp channel (WhatsApp Business Cloud API): ``/webhooks/whatsapp/webhook``.

A platform adapter on the one pipeline (:mod:`bot.channels.pipeline`): only what is
WhatsApp's is here.

**Receiving.** Meta's verification and signed deliveries as for Messenger
(:class:`bot.channels.meta.MetaChannel`). A delivery's ``messages`` changes for this phone number
become items: ``text``; ``interactive`` replies (a reply button's or a list row's
id is what the assistant reads, its title what the customer tapped); a template's
quick-reply ``button``; ``image`` (fetched through the media endpoint: ``GET
/<media-id>`` for a short-lived URL, then that URL with the access token, from
Meta's hosts only); everything else (audio, video, documents, stickers,
locations, contacts) gets a polite answer. ``statuses`` are not messages: a
failed one is logged with WhatsApp's error code. The ``wa_id`` is the
conversation's sender; a linked ``wa_id`` (:mod:`bot.channels.links`) is that
customer. Each message is marked read, with WhatsApp's typing indicator.

**Answering** (:func:`render`): texts split at 4,096 characters; up to three
buttons become reply buttons (titles cut to 20 characters, body at most 1,024),
more become a list (10 rows per message, row titles 24, descriptions 72; further
rows in another list); product cards become photos with a caption and one list
of the products, each row a "tell me more" that feeds back into the assistant.

**The window.** WhatsApp lets a business write freely within 24 hours of the
customer's last message. Outside it, a person's reply goes out as the approved
template ``WHATSAPP_TEMPLATE`` (their words as its body parameter) when one is
configured; otherwise, and for automated messages, nothing is sent and the desk is
told why.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List

from bot.channels.graph_api import GraphError, fetch_attachment
from bot.channels.meta import MetaChannel, cut, lang_of, signed_text, split_text
from bot.channels.pipeline import (
    MESSAGE,
    PHOTO,
    UNSUPPORTED,
    Incoming,
    SendFailed,
)
from bot.settings import WhatsAppSettings

logger = logging.getLogger(__name__)

CHANNEL = "whatsapp"
MAX_TEXT = 4096
MAX_BODY = 1024
MAX_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_ROWS = 10
MAX_ROW_TITLE = 24
MAX_ROW_DESCRIPTION = 72
MAX_ID = 256
MAX_CAPTION = 1024
WINDOW = 24 * 3600.0

WORDS = {
    "options": {"en": "Options", "zh": "选项"},
    "choose": {"en": "Please choose:", "zh": "请选择："},
    "more": {"en": "More options:", "zh": "更多选项："},
    "products": {"en": "Tell me more about:", "zh": "想了解哪一款？"},
}


def _choices(text: str, rows: List[Dict[str, str]], lang: str) -> List[Dict[str, Any]]:
    """Reply buttons (up to three, titles distinct) or lists of rows ``{id, title[,
    description]}`` (ids distinct, as WhatsApp requires)."""
    rows = list({r["id"]: r for r in reversed(rows)}.values())[::-1]
    if len(rows) <= MAX_BUTTONS and len({r["title"] for r in rows}) == len(rows):
        return [{"type": "interactive", "interactive": {
            "type": "button", "body": {"text": text}, "action": {"buttons": [
                {"type": "reply", "reply": {"id": r["id"], "title": r["title"]}}
                for r in rows]}}}]
    out = []
    for start in range(0, len(rows), MAX_ROWS):
        out.append({"type": "interactive", "interactive": {
            "type": "list", "body": {"text": text if start == 0 else WORDS["more"][lang]},
            "action": {"button": WORDS["options"][lang], "sections": [{
                "title": WORDS["options"][lang], "rows": rows[start:start + MAX_ROWS]}]}}})
    return out


def render(bodies: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """A turn's (or a pushed) messages as Cloud API message objects, in order."""
    out: List[Dict[str, Any]] = []
    for body in bodies:
        text = signed_text(body)
        lang = lang_of(text)
        buttons = body.get("buttons") or []
        rows = [{"id": str(b["payload"])[:MAX_ID], "title": cut(b["title"], MAX_ROW_TITLE)}
                for b in buttons]
        if rows:
            parts = split_text(text, MAX_BODY) or [WORDS["choose"][lang]]
            out.extend({"type": "text", "text": {"body": p}} for p in parts[:-1])
            if len(rows) <= MAX_BUTTONS:
                rows = [{**r, "title": cut(r["title"], MAX_BUTTON_TITLE)} for r in rows]
            out.extend(_choices(parts[-1], rows, lang))
        else:
            out.extend({"type": "text", "text": {"body": p}} for p in split_text(text, MAX_TEXT))
        if isinstance(body.get("image"), str) and body["image"].startswith("http"):
            out.append({"type": "image", "image": {"link": body["image"]}})
        custom = body.get("custom") or {}
        if custom.get("type") == "product_cards":
            cards = [c for c in custom.get("cards") or [] if isinstance(c, dict)]
            products = []
            for card in cards:
                title = str(card.get("title") or card.get("sku") or "?")
                price = str(card.get("price") or "")
                if isinstance(card.get("image"), str) and card["image"].startswith("http"):
                    out.append({"type": "image", "image": {"link": card["image"], "caption":
                                cut(" — ".join(x for x in (title, price) if x), MAX_CAPTION)}})
                payload = next((b["payload"] for b in card.get("buttons") or []
                                if isinstance(b, dict) and isinstance(b.get("payload"), str)),
                               None)
                if payload:
                    row = {"id": payload[:MAX_ID], "title": cut(title, MAX_ROW_TITLE)}
                    detail = " · ".join(str(x) for x in (price, card.get("reason")) if x)
                    products.append({**row, "description": cut(detail, MAX_ROW_DESCRIPTION)}
                                    if detail else row)
            if products:
                lang = lang_of(" ".join(p["title"] for p in products))
                if len(products) <= MAX_BUTTONS:
                    products = [{"id": p["id"], "title": cut(p["title"], MAX_BUTTON_TITLE)}
                                for p in products]
                out.extend(_choices(WORDS["products"][lang], products, lang))
    return out


def parse_message(message: Dict[str, Any]) -> Incoming | None:
    """One item of a change's ``messages`` as the pipeline's :class:`Incoming`, or
    ``None`` when it is not one (reactions, system notices, malformed)."""
    user, wamid, kind = (str(message.get(k) or "") for k in ("from", "id", "type"))
    if not (0 < len(user) <= 20 and user.isdigit() and 0 < len(wamid) <= 128
            and wamid.isprintable()):
        return None
    common: Dict[str, Any] = {"key": wamid, "user": user, "meta": {"id": wamid},
                              "metadata": {"whatsapp": {"type": kind[:32]}},
                              "record": {"type": kind[:32]}}
    content = message.get(kind) if isinstance(message.get(kind), dict) else {}
    if kind == "text":
        said = str(content.get("body") or "")
        return Incoming(kind=MESSAGE, text=said, said=said, **common)
    if kind == "interactive":  # a reply button or a list row the customer tapped
        reply = content.get(str(content.get("type") or ""))
        if isinstance(reply, dict) and isinstance(reply.get("id"), str):
            said = str(reply.get("title") or reply["id"])
            return Incoming(kind=MESSAGE, text=reply["id"], said=said, **common)
        return None
    if kind == "button":  # a template's quick reply
        said = str(content.get("text") or "")
        return Incoming(kind=MESSAGE, text=str(content.get("payload") or said), said=said,
                        **common)
    if kind == "image" and isinstance(content.get("id"), str):
        caption = str(content.get("caption") or "")
        return Incoming(kind=PHOTO, text=caption, said=caption, media=content["id"][:128],
                        **common)
    if kind in ("reaction", "system", "ephemeral", "request_welcome"):
        return None
    return Incoming(kind=UNSUPPORTED, **common)  # audio, video, document, sticker, ...


class WhatsAppInput(MetaChannel):
    """The WhatsApp channel (see the module docstring)."""

    channel = CHANNEL
    title = "WhatsApp"
    delivery_kind = "whatsapp_business_account"
    default_language = "en"
    window_seconds = person_window_seconds = WINDOW

    def __init__(self) -> None:
        super().__init__()
        self.config: WhatsAppSettings = self.settings.whatsapp
        self.connect(self.config, token=self.config.access_token, bearer=True)

    def items(self, payload: Dict[str, Any]) -> List[Incoming]:
        """The messages for this phone number; failed statuses are logged."""
        items = []
        for value in self._values(payload):
            items += [parsed for m in value.get("messages") or [] if isinstance(m, dict)
                      if (parsed := parse_message(m)) is not None]
            for status in value.get("statuses") or []:
                if isinstance(status, dict) and status.get("status") == "failed":
                    errors = status.get("errors") or [{}]
                    logger.warning("WhatsApp message %s to %s failed: %s",
                                   str(status.get("id"))[:128],
                                   str(status.get("recipient_id"))[:20],
                                   str(errors[0] if isinstance(errors, list) else "")[:300])
        return items

    def _values(self, payload: Dict[str, Any]) -> List[Dict[str, Any]]:
        """The ``messages`` changes' values for this phone number."""
        return [change["value"] for entry in payload["entry"] if isinstance(entry, dict)
                for change in entry.get("changes") or [] if isinstance(change, dict)
                and change.get("field") == "messages" and isinstance(change.get("value"), dict)
                and str((change["value"].get("metadata") or {}).get("phone_number_id"))
                == self.config.phone_number_id]

    async def fetch_media(self, item: Incoming) -> bytes:
        """The media endpoint's short-lived URL, then the file (Meta's hosts only)."""
        assert self.api is not None
        info = await self.api.get(f"/{item.media}")
        if int(info.get("file_size") or 0) > self.settings.upload_max_bytes:
            raise ValueError("the photo is larger than the upload limit")
        return await fetch_attachment(
            str(info.get("url") or ""), hosts=self.config.media_hosts,
            limit=self.settings.upload_max_bytes, timeout=self.config.api_timeout,
            test_origin=self.config.test_media_origin, headers=self.api.auth_headers)

    async def _post(self, body: Dict[str, Any]) -> None:
        assert self.api is not None
        await self.api.post(f"/{self.config.phone_number_id}/messages",
                            {"messaging_product": "whatsapp", **body})

    async def reading(self, item: Incoming) -> None:
        """Marked read, with the typing indicator (a hint: failures are logged)."""
        try:
            await self._post({"status": "read", "message_id": item.meta["id"],
                              "typing_indicator": {"type": "text"}})
        except GraphError as exc:
            logger.info("WhatsApp read receipt not sent: %s", exc)

    def render(self, bodies: List[Dict[str, Any]]) -> tuple[List[Any], Dict[str, Any]]:
        """Cloud API messages (:func:`render`)."""
        return render(bodies), {}

    async def send(self, user: str, out: Any, *, person: bool) -> None:
        """``POST /<phone-number-id>/messages``."""
        try:
            await self._post({"recipient_type": "individual", "to": user, **out})
        except GraphError as exc:
            raise SendFailed(str(exc), outside_window=exc.outside_window) from None

    async def outside_window(self, user: str, bodies: List[Dict[str, Any]], *,
                             person: bool) -> List[Any] | None:
        """A person's reply as the approved template, if the shop configured one."""
        text = " ".join(str(b.get("text") or "") for b in bodies).strip()
        if not (person and self.config.template and text):
            return None
        lang = await self.history.language(user, default=self.default_language)
        code = dict(self.config.template_languages).get(lang, "en_US")
        return [{"type": "template", "template": {
            "name": self.config.template, "language": {"code": code},
            "components": [{"type": "body", "parameters": [
                {"type": "text", "text": cut(text, MAX_BODY)}]}]}}]

    def window_refusal(self, person: bool) -> str:
        """WhatsApp's rule."""
        return ("not delivered: WhatsApp allows free-form messages within 24 hours of the "
                "customer's last message" + ("" if self.config.template or not person else
                                             " (no WHATSAPP_TEMPLATE is configured)"))
