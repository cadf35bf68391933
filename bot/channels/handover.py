"""The channels' side of human handoff (part of the shared seam, like :mod:`.base`).

Who holds a conversation (the assistant, the queue, an agent, the platform's inbox)
is one record in :mod:`handoff`; the Rasa server follows it
(:mod:`bot.channels.follower`). Every channel calls :func:`for_a_person` before
handing a customer's message to Rasa: it reads the record (:func:`holding`, which
first applies the conversation's pending changes, so the tracker agrees with the
record before the message is read), and while a person holds the conversation it
calls :func:`to_person` instead of Rasa, which

- appends the message to the conversation's Rasa tracker as a ``user`` event
  with no intent (no NLU, no policy, no action runs), under Rasa's
  conversation lock, so analytics and later training see it and nothing is
  answered twice;
- records it in the handoff's feed and tells the agent desk at once
  (``DESK_URL``), so the agent sees it live; nothing is lost when the desk is
  down (it reads the feed when it is back).

A message written while the conversation waits in the queue goes to the assistant
(which may answer it, or keep it for the person: the handoff policy) and also to
the handoff's feed (also :func:`for_a_person`), so the agent who takes it reads it.

The desk sends into a conversation through ``/webhooks/internal/...``
(:mod:`bot.channels.internal_api`); these helpers write what it sends into the
tracker, with who wrote it:

- :func:`record_agent_message`: a ``bot`` event whose metadata names the agent
  (``role: agent``, ``author``);
- :func:`record_note`: an internal note as a slot event (``handoff_note``): part
  of the history, never shown to the customer.

Claims, transfers and handbacks are not sent to the Rasa server: the desk changes
the record, and the follower applies the change (once, even across a restart).
:class:`bot.channels.push_output.PushOutput` sends the assistant's own messages the
same way.
"""

from __future__ import annotations

import asyncio
import logging
import time
from functools import lru_cache
from typing import Any, Dict

import sqlalchemy as sa
from rasa.shared.core.events import BotUttered, SlotSet, UserUttered

from bot.channels.follower import follower
from bot.channels.gate import TAPPED
from bot.channels.sql import server_options, when_reachable
from bot.settings import settings
from handoff import QUEUE, HandoffService, Holding
from telemetry.web import forwarded

logger = logging.getLogger(__name__)

NOTE_SLOT = "handoff_note"
_background: set[asyncio.Task[Any]] = set()


@lru_cache(maxsize=1)
def service() -> HandoffService:
    """The process's view of the handoff queue (same database as the desk's). On a
    database server, a server that does not answer or a network path that stalls is
    given up on within seconds (the assistant then answers, see :func:`holding`)."""
    url = settings().handoff_db_url
    handoffs = HandoffService(engine=sa.create_engine(url, future=True, **server_options(url)))
    when_reachable(handoffs.create_schema, what="the handoff queue's tables")
    return handoffs


async def holding(conversation: str) -> Holding | None:
    """Who holds the conversation, once the Rasa server has applied every published
    change of it (None: the queue's database is down, and the assistant answers). One
    trip to the database when nothing is pending, as for almost every message."""
    try:
        current, pending = await asyncio.to_thread(service().state_of, conversation)
    except Exception:  # noqa: BLE001 - the queue's database is down: the assistant answers
        logger.exception("handoff queue unavailable; the assistant answers")
        return None
    following = follower()
    if pending and following is not None:
        try:
            await following.catch_up(conversation, pending)
        except Exception:  # noqa: BLE001 - the record still decides; retried by the poll
            logger.exception("pending changes of a conversation not applied yet")
    return current


async def held(conversation: str) -> Holding | None:
    """The conversation's record if a person of the shop's team holds it now."""
    current = await holding(conversation)
    return current if current is not None and current.with_person else None


async def _append(agent: Any, conversation: str, *events: Any) -> None:
    """Append events to a conversation's tracker under Rasa's conversation lock."""
    async with agent.lock_store.lock(conversation):
        tracker = await agent.processor.get_tracker(conversation)
        for event in events:
            tracker.update(event)
        await agent.processor.save_tracker(tracker)


async def queued_since(conversation: str, since: float) -> bool:
    """Whether the conversation went to the queue at or after ``since`` (wall-clock
    seconds) and still waits for a person."""
    current = await asyncio.to_thread(service().holding, conversation)
    return current.holder == QUEUE and current.updated_at >= since - 1


async def handed_to_platform(conversation: str, *, platform: str, channel: str) -> None:
    """The platform's own support system took the waiting conversation (WeChat's
    customer service, Messenger's Page Inbox): one step of the record (the shop's
    queue cancels its handoff, the platform holds it), followed like every other."""
    await asyncio.to_thread(service().to_platform, conversation, platform, channel=channel)
    current = follower()
    if current is not None:
        await current.catch_up(conversation)


async def back_from_platform(conversation: str, *, platform: str) -> None:
    """The platform's inbox handed the conversation back to the assistant."""
    await asyncio.to_thread(service().from_platform, conversation, platform)
    current = follower()
    if current is not None:
        await current.catch_up(conversation)


def wake_desk(payload: Dict[str, Any]) -> None:
    """Tell the desk at once that something happened (fire and forget)."""
    config = settings()
    if not config.desk_url or not config.desk_token:
        return

    async def post() -> None:
        import aiohttp

        try:
            timeout = aiohttp.ClientTimeout(total=2)
            async with aiohttp.ClientSession(timeout=timeout) as session, session.post(
                    f"{config.desk_url}/desk/internal/wake", json=payload,
                    headers={"Authorization": f"Bearer {config.desk_token}",
                             **forwarded()}) as reply:
                if reply.status >= 400:
                    logger.warning("the desk refused a wake-up: %d", reply.status)
        except Exception as exc:  # noqa: BLE001 - the desk reads its feed when it is back
            logger.info("the desk could not be told at once (%s)", type(exc).__name__)

    task = asyncio.get_running_loop().create_task(post())
    _background.add(task)
    task.add_done_callback(_background.discard)


def spoken(message: Any) -> str:
    """What the customer wrote (a photo's caption rather than its intent text)."""
    caption = message.metadata.get("caption") if message.metadata.get("image") else None
    return caption if isinstance(caption, str) else message.text


async def _to_feed(handoff_id: int, *, text: str, metadata: Dict[str, Any]) -> None:
    """The customer's message in the handoff's feed (the desk's live view). Never raises."""
    image = metadata.get("image") if isinstance(metadata.get("image"), str) else None
    try:
        await asyncio.to_thread(service().customer_said, handoff_id, text=text, image=image)
    except Exception:  # noqa: BLE001 - the history still keeps the message
        logger.exception("a message of handoff %d missed the desk's feed", handoff_id)
    wake_desk({"handoff": handoff_id, "kind": "customer_message"})


async def to_person(agent: Any, ticket: Holding, *, text: str, metadata: Dict[str, Any],
                    channel: str, conversation: str, message_id: str | None = None) -> None:
    """A customer's message to the person holding the conversation (see the module
    docstring); the assistant does not see it. Never raises: a store that fails is
    logged, the other keeps the message."""
    event = UserUttered(text, intent={"name": None, "confidence": 0.0},
                        parse_data={"text": text, "handoff": {"id": ticket.handoff_id,
                                                              "agent": ticket.agent}},
                        input_channel=channel, metadata=metadata, message_id=message_id)
    # two stores, each kept if the other fails: the agent's feed and the history
    if ticket.handoff_id is not None:
        await _to_feed(ticket.handoff_id, text=text, metadata=metadata)
    try:
        await _append(agent, conversation, event)
    except Exception:  # noqa: BLE001 - the desk's feed above has it; never a 500
        logger.exception("a message to the agent of handoff %s missed the tracker",
                         ticket.handoff_id)


async def for_a_person(agent: Any, conversation: str, *, text: str,
                       metadata: Dict[str, Any], channel: str,
                       current: Holding | None = None, message_id: str | None = None) -> bool:
    """The one held -> person rule of every channel: ``True`` when a person holds the
    conversation and the message went to them (:func:`to_person`); ``False`` when the
    assistant reads it. A message written while the conversation waits in the queue
    also goes to the handoff's feed, so whoever takes it reads it. ``current``: the
    record, when the channel has just read it (:func:`holding`); ``message_id``: the
    channel's id of the message, kept on the tracker's event. Never raises."""
    if current is None:
        current = await holding(conversation)
    if current is None:
        return False
    if current.with_person:
        await to_person(agent, current, text=text, metadata=metadata, channel=channel,
                        conversation=conversation, message_id=message_id)
        return True
    if current.holder == QUEUE and current.handoff_id is not None:
        await _to_feed(current.handoff_id, text=text, metadata=metadata)
    return False


async def record_agent_message(agent: Any, conversation: str, message: Dict[str, Any],
                               *, role: str, delivery: int | None = None) -> None:
    """An agent's (or a notice's) message as a ``bot`` event naming who wrote it (and
    its delivery, whose status the desk shows)."""
    data = {k: message[k] for k in ("buttons", "image", "custom", "attachment")
            if message.get(k) is not None}
    meta = {"role": role, "author": message.get("author"), "agent_id": message.get("agent_id"),
            "delivery": delivery}
    await _append(agent, conversation, BotUttered(message.get("text"), data=data,
                                                  metadata=meta, timestamp=time.time()))


async def record_note(agent: Any, conversation: str, detail: Dict[str, Any]) -> None:
    """An agent's internal note as a slot event of the conversation (history only)."""
    await _append(agent, conversation, SlotSet(NOTE_SLOT, {
        "author": detail.get("author"), "text": detail.get("text"), "at": time.time()}))


STARS = "★★★★★"


def tapped(event: Any, titles: Dict[str, str]) -> str:
    """What the customer wrote or tapped, never an internal name: a button's payload
    (``/rate_handoff{"csat": "5"}``) is shown as its title, a satisfaction score as
    stars (★★★★★)."""
    text = event.text or ""
    if not text.startswith("/"):
        return text
    intent = (event.intent or {}).get("name")
    if intent == "rate_handoff":
        score = next((str(e.get("value")) for e in event.entities or []
                      if e.get("entity") == "csat"), "")
        if score.isdigit() and 1 <= int(score) <= 5:
            return STARS[:int(score)] + "☆" * (5 - int(score))
    # what the channel saw the customer tap (a button's, a list row's, a card's title)
    shown = (event.metadata or {}).get(TAPPED)
    if isinstance(shown, str) and shown.strip():
        return shown
    return titles.get(text) or "(tapped a button)"


#: slots the desk shows as the shop context the assistant built
CONTEXT_SLOTS = ("language", "product", "shown_products", "recommendation", "order_number",
                 "search_category", "search_brand", "search_color", "search_max_price",
                 "handoff_state", "handoff_agent", "handoff_reason")


def history(tracker: Any) -> Dict[str, Any]:
    """A conversation as the agent desk shows it.

    ``messages``: every customer, assistant, agent and notice message, oldest
    first, with the recognised intent and confidence of customer messages and
    the author of agents' messages; ``notes``: internal notes; ``shown``: every
    product the customer was shown, in order; ``photos``: media ids of photos the
    customer sent; ``slots``: the context the assistant holds now;
    ``customer_id``: the verified customer, if the shop signed one.
    """
    messages: list[Dict[str, Any]] = []
    notes: list[Dict[str, Any]] = []
    shown: list[str] = []
    photos: list[str] = []
    customer_id = None
    titles: Dict[str, str] = {}  # button payload -> what the customer saw on it
    for event in tracker.events:
        if isinstance(event, UserUttered):
            meta = event.metadata or {}
            verified = meta.get("verified") if isinstance(meta.get("verified"), dict) else {}
            customer_id = verified.get("customer_id") or customer_id
            if meta.get("is_external") or (event.text is None and not meta):
                continue  # an external trigger (the handback), not the customer
            intent = event.intent or {}
            image = meta.get("image") if isinstance(meta.get("image"), str) else None
            if image:
                photos.append(image)
            text = meta.get("caption") if image else tapped(event, titles)
            messages.append({"role": "customer", "text": text or "", "ts": event.timestamp,
                             "intent": intent.get("name"),
                             "confidence": intent.get("confidence"), "image": image,
                             "to_person": bool((event.parse_data or {}).get("handoff"))})
        elif isinstance(event, BotUttered):
            meta = event.metadata or {}
            role = meta.get("role") if meta.get("role") in ("agent", "notice") else "assistant"
            data = {k: v for k, v in (event.data or {}).items() if v}
            titles.update({str(b.get("payload")): str(b.get("title") or "")
                           for b in data.get("buttons") or [] if isinstance(b, dict)})
            cards = (data.get("custom") or {}).get("cards") if isinstance(
                data.get("custom"), dict) else None
            titles.update({str(b.get("payload")): str(card.get("title") or "")
                           for card in cards or [] if isinstance(card, dict)
                           for b in card.get("buttons") or [] if isinstance(b, dict)})
            messages.append({"role": role, "text": event.text or "", "ts": event.timestamp,
                             "author": meta.get("author"), "data": data,
                             "response": meta.get("utter_action"),
                             "delivery": meta.get("delivery")})
        elif isinstance(event, SlotSet):
            if event.key == "shown_products" and isinstance(event.value, list):
                shown.extend(str(s) for s in event.value if str(s) not in shown)
            elif event.key == NOTE_SLOT and isinstance(event.value, dict):
                notes.append(event.value)
    return {"conversation": tracker.sender_id, "messages": messages, "notes": notes,
            "shown": shown, "photos": photos, "customer_id": customer_id,
            "slots": {k: tracker.get_slot(k) for k in CONTEXT_SLOTS}}
