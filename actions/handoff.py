"""Human handoff: ask for a person, offer one, "never mind", welcome back, CSAT.

The queue itself lives in :mod:`handoff` (shared with the Rasa server and the
agent desk through its database); these actions only read the conversation,
call it and say what came of it in the customer's language.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any
from zoneinfo import ZoneInfo

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import language, latest_entities
from actions.constants import ActionName, Entity, Intent, Response, Slot
from actions.follow_up import ANSWERS, answer_as
from actions.services import handoffs
from handoff import ASSIGNED, RESOLVED, HandoffError, InvalidTransition, wait_minutes
from handoff.models import QueueStatus
from telemetry import metrics

logger = logging.getLogger(__name__)

WEEKDAYS = {"en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
                   "Sunday"),
            "zh": ("周一", "周二", "周三", "周四", "周五", "周六", "周日")}


def wait_text(seconds: float | None, lang: str) -> str:
    """"3 minutes" / "3 分钟" (at least one minute)."""
    minutes = wait_minutes(seconds)
    if lang == "zh":
        return f"{minutes} 分钟"
    return f"{minutes} minute" + ("" if minutes == 1 else "s")


def when_text(at: dt.datetime | None, now: dt.datetime, lang: str) -> str:
    """When the team is back, in the shop's time zone: "today at 09:00 (Asia/Shanghai)"."""
    if at is None:
        return "later" if lang == "en" else "稍后"
    zone = at.tzinfo
    today = now.astimezone(zone).date() if zone else now.date()
    clock = at.strftime("%H:%M")
    tz = at.tzinfo.key if isinstance(at.tzinfo, ZoneInfo) else "UTC"
    if at.date() == today:
        day = "today" if lang == "en" else "今天"
    elif at.date() == today + dt.timedelta(days=1):
        day = "tomorrow" if lang == "en" else "明天"
    else:
        day = WEEKDAYS[lang][at.weekday()]
    return f"{day} at {clock} ({tz})" if lang == "en" else f"{day} {clock}（{tz}）"


def _after_offer(tracker: Tracker) -> bool:
    """Whether the customer is answering the assistant's offer of a person."""
    seen_user = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            if seen_user:
                return False
            seen_user = True
        elif seen_user and event.get("event") == "action" \
                and event.get("name") not in (None, "action_listen"):
            return event.get("name") == ActionName.HANDOFF_OFFER
    return False


def _before_this_message(tracker: Tracker, slot: str) -> Any:
    """A slot's value before the customer's latest message was read."""
    seen_user = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            seen_user = True
        elif seen_user and event.get("event") == "slot" and event.get("name") == slot:
            return event.get("value")
    return None


def _say_status(dispatcher: CollectingDispatcher, status: QueueStatus, lang: str,
                *, again: bool) -> None:
    now = dt.datetime.now(dt.timezone.utc)
    if not status.open_now:
        dispatcher.utter_message(response=Response.HANDOFF_CLOSED,
                                 when=when_text(status.next_opening, now, lang))
    elif not status.agents_online:
        dispatcher.utter_message(response=Response.HANDOFF_NOBODY)
    else:
        dispatcher.utter_message(
            response=Response.HANDOFF_QUEUED_ALREADY if again else Response.HANDOFF_QUEUED,
            position=status.position, wait=wait_text(status.expected_wait_seconds, lang))


class ActionHandoffRequest(Action):
    """Puts the conversation in the queue for a person and tells the customer
    their place and wait, or when the team is back."""

    def name(self) -> str:
        return ActionName.HANDOFF_REQUEST

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        lang, service = language(tracker), handoffs()
        reason = (tracker.get_slot(Slot.HANDOFF_REASON) if _after_offer(tracker) else None)
        before = service.open_for(tracker.sender_id)
        ticket = service.request(tracker.sender_id,
                                 channel=tracker.get_latest_input_channel() or "rest",
                                 language=lang, reason=reason or "asked")
        if before is None:
            metrics.HANDOFFS.labels(ticket.reason, lang).inc()
        if ticket.state == ASSIGNED:
            agent = service.agent(ticket.agent).name if ticket.agent else "?"
            dispatcher.utter_message(response=Response.HANDOFF_WITH_AGENT, agent=agent)
            return [SlotSet(Slot.HANDOFF_STATE, ASSIGNED), SlotSet(Slot.HANDOFF_REASON, None)]
        _say_status(dispatcher, service.status(ticket.id), lang, again=before is not None)
        return [SlotSet(Slot.HANDOFF_STATE, "waiting"), SlotSet(Slot.HANDOFF_REASON, None)]


class ActionHandoffOffer(Action):
    """Offers a person when the conversation is going badly (the handoff policy
    decides when, and why, in the ``handoff_reason`` slot)."""

    def name(self) -> str:
        return ActionName.HANDOFF_OFFER

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        upset = tracker.get_slot(Slot.HANDOFF_REASON) == "upset"
        dispatcher.utter_message(
            response=Response.HANDOFF_OFFER_UPSET if upset else Response.HANDOFF_OFFER)
        return []


class ActionHandoffCancel(Action):
    """"Never mind" while waiting for a person: out of the queue, back to the assistant."""

    def name(self) -> str:
        return ActionName.HANDOFF_CANCEL

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        try:
            handoffs().cancel(tracker.sender_id)
        except InvalidTransition as exc:
            if exc.state == ASSIGNED:  # an agent took it meanwhile: they will answer
                return [SlotSet(Slot.HANDOFF_STATE, ASSIGNED)]
        except HandoffError:
            pass  # nothing was waiting any more: the customer is with the assistant
        dispatcher.utter_message(response=Response.HANDOFF_CANCELLED)
        events: list[EventType] = [SlotSet(Slot.HANDOFF_STATE, None),
                                   SlotSet(Slot.HANDOFF_REASON, None)]
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if intent not in ANSWERS and any(latest_entities(tracker, e) for e in (
                Entity.CATEGORY, Entity.BRAND, Entity.PRODUCT)):
            intent = Intent.SEARCH_PRODUCTS  # "算了不用了，给我看看休闲鞋吧" read as a "no"
        if intent in ANSWERS:  # "actually forget it, show me sneakers": then the sneakers
            events += await answer_as(str(intent), dispatcher, tracker, domain)
        return events


class ActionHandoffHold(Action):
    """A message written for the person while the customer waits ("hello? is anyone
    there?", the problem they want solved): the channel already put it in the
    handoff's feed, so this only says it is kept, and where the customer stands."""

    def name(self) -> str:
        return ActionName.HANDOFF_HOLD

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        lang, service = language(tracker), handoffs()
        ticket = service.open_for(tracker.sender_id)
        if ticket is None:  # taken out of the queue meanwhile: nothing is waiting
            return [SlotSet(Slot.HANDOFF_STATE, None)]
        # a message for the person changes nothing the assistant was doing: the order
        # a paused form is about stays the one it was ("my parcel is late" is no
        # status request that replaces a return)
        kept = _before_this_message(tracker, Slot.ORDER_ACTION)
        events: list[EventType] = []
        if kept != tracker.get_slot(Slot.ORDER_ACTION):
            events.append(SlotSet(Slot.ORDER_ACTION, kept))
        status = service.status(ticket.id)
        if status.open_now and status.agents_online and ticket.state != ASSIGNED:
            dispatcher.utter_message(response=Response.HANDOFF_KEPT, position=status.position,
                                     wait=wait_text(status.expected_wait_seconds, lang))
        else:
            now = dt.datetime.now(dt.timezone.utc)
            when = (when_text(status.next_opening, now, lang) if not status.open_now
                    else ("as soon as someone is free" if lang == "en" else "尽快"))
            dispatcher.utter_message(response=Response.HANDOFF_KEPT_TICKET, when=when)
        return events


class ActionHandoffReturn(Action):
    """Greets the customer back after an agent handed the conversation back, and
    asks the one-question satisfaction survey."""

    def name(self) -> str:
        return ActionName.HANDOFF_RETURN

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        service = handoffs()
        last = service.latest_for(tracker.sender_id)
        name = "?"
        if last is not None and last.agent:
            try:
                name = service.agent(last.agent).name
            except HandoffError:
                name = last.agent
        dispatcher.utter_message(response=Response.HANDOFF_BACK, agent=name)
        if last is not None and last.state == RESOLVED and last.csat is None:
            dispatcher.utter_message(response=Response.HANDOFF_CSAT)
        return [SlotSet(Slot.HANDOFF_STATE, None), SlotSet(Slot.HANDOFF_REASON, None)]


class ActionHandoffRate(Action):
    """Stores the customer's answer to the satisfaction question (once)."""

    def name(self) -> str:
        return ActionName.HANDOFF_RATE

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        value = next(tracker.get_latest_entity_values(Entity.CSAT), None)
        service = handoffs()
        last = service.latest_for(tracker.sender_id)
        try:
            score = int(str(value))
            if last is not None:
                service.rate(last.id, score)
        except (TypeError, ValueError):
            logger.info("CSAT answer that is not 1-5 ignored")
        except HandoffError:
            pass  # rated already, or not a resolved handoff: thank once more, store nothing
        dispatcher.utter_message(response=Response.HANDOFF_CSAT_THANKS)
        return []
