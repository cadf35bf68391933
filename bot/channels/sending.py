"""Sending to a conversation at any time, outside a reply: every channel registers
its pusher (:func:`register_pusher`) and its typing hint (:func:`register_typist`);
:func:`push` sends an agent's message, a notice or the welcome back through the
delivery pipeline (:mod:`bot.channels.delivery`), which stores each with its status
and retries by one policy.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from typing import Any, Awaitable, Callable

from bot.channels.checks import BadRequest
from bot.settings import settings

logger = logging.getLogger(__name__)


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


def drawn_with_cards(message: dict[str, Any]) -> dict[str, Any]:
    """``message`` as a surface that draws product cards shows it: text that lists the
    cards in words is not shown twice. ``custom.listed`` says how the text lists them:
    ``"lines"`` (one numbered line per card, "1. <title> — <price>": those lines go,
    the heading and any advice after them stay) or ``"all"`` (the text is the card:
    nothing stays). Surfaces that cannot draw cards (REST, WeChat's text replies)
    keep the text."""
    custom = message.get("custom")
    text = message.get("text")
    if not isinstance(custom, dict) or custom.get("type") != "product_cards" or \
            not isinstance(text, str) or custom.get("listed") not in ("lines", "all"):
        return message
    titles = [str(c.get("title") or "") for c in custom.get("cards") or []
              if isinstance(c, dict)]
    kept_lines = [] if custom["listed"] == "all" else [
        line for line in text.split("\n")
        if not (_NUMBERED.match(line) and any(t and t in line for t in titles))]
    left = "\n".join(kept_lines).strip()
    kept = {k: v for k, v in message.items() if k != "text"}
    return {**kept, "text": left} if left else kept


_NUMBERED = re.compile(r"^\s*\d{1,2}\.\s")


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
