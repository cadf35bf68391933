"""The order form: asks for and validates an order number (and e-mail for guests)."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import customer_identity, language, quote
from actions.constants import ActionName, Intent, Response, Slot
from actions.parsing import ordinal_in
from actions.return_policy import say_return_policy
from actions.services import order_service
from shop.errors import InvalidOrderNumber
from shop.orders import parse_email, parse_order_number

#: A question: a question mark at the end, or Chinese question words and particles.
QUESTION = re.compile(r"[?？]\s*$|[吗呢么嘛]\s*$|谁|什么|怎么|怎样|多少|几天|哪")
#: How many recent orders a known customer is shown to pick from (by number or position).
RECENT_ORDERS = 3
STATUS_WORDS = {
    "en": {"processing": "processing", "shipped": "shipped", "delivered": "delivered",
           "cancelled": "cancelled", "returned": "returned",
           "return_requested": "return requested"},
    "zh": {"processing": "备货中", "shipped": "已发货", "delivered": "已送达",
           "cancelled": "已取消", "returned": "已退货", "return_requested": "退货中"},
}


class ValidateOrderForm(FormValidationAction):
    """Validates the order number's format and the e-mail address."""

    def name(self) -> str:
        return ActionName.VALIDATE_ORDER_FORM

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        """A customer the channel knows needs no e-mail check."""
        if customer_identity(tracker).is_known:
            return [s for s in domain_slots if s != Slot.ORDER_EMAIL]
        return domain_slots

    def validate_order_number(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        """Accept ``SH-123456`` in any common spelling, or for a known customer the position
        of one of the recent orders just listed ("2nd one pls", "第二个那单"); re-ask
        otherwise."""
        text = tracker.latest_message.get("text") or ""
        for candidate in (str(value or ""), text):
            try:
                return {Slot.ORDER_NUMBER: parse_order_number(candidate)}
            except InvalidOrderNumber:
                continue
        position = ordinal_in(text)
        identity = customer_identity(tracker)
        if position is not None and identity.is_known:
            recent = order_service().list_recent(identity, limit=RECENT_ORDERS)
            if 1 <= position <= len(recent) or -len(recent) <= position < 0:
                picked = recent[position - 1 if position > 0 else position]
                return {Slot.ORDER_NUMBER: picked.number}
        # a number read from a word like "first" with no orders listed ("quick question
        # first, ..."): no attempt at an order number, so no '"1" doesn't look like an
        # order number'; the form asks for it again
        no_digits = not any(c.isdigit() for c in text)
        from_words = str(value or "").strip().lstrip("-").isdigit() and no_digits
        if no_digits and QUESTION.search(text):
            # "hold on, who pays for the return postage?": a question in the middle of
            # the form is no failed attempt at an order number. One the classifier
            # thinks may be about the return policy gets that answer; the form asks again
            ranking = tracker.latest_message.get("intent_ranking") or []
            if Intent.ASK_RETURN_POLICY in [r.get("name") for r in ranking[:3]]:
                say_return_policy(dispatcher)
        elif not from_words:
            dispatcher.utter_message(response=Response.INVALID_ORDER_NUMBER,
                                     value=quote(value))
        return {Slot.ORDER_NUMBER: None}

    def validate_order_email(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        """Accept a well-formed e-mail address; re-ask otherwise."""
        # the whole message first: entity extraction may have cut the address short
        email = parse_email(tracker.latest_message.get("text") or "") or parse_email(
            str(value or ""))
        if email is None:
            dispatcher.utter_message(response=Response.INVALID_EMAIL, value=quote(value, 60))
        return {Slot.ORDER_EMAIL: email}


class ActionAskOrderNumber(Action):
    """Asks for the order number, listing a known customer's recent orders."""

    def name(self) -> str:
        return ActionName.ASK_ORDER_NUMBER

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        lang = language(tracker)
        recent = order_service().list_recent(customer_identity(tracker), limit=RECENT_ORDERS)
        if recent:
            orders = ", ".join(f"{o.number} ({STATUS_WORDS[lang][o.status.value]})"
                               for o in recent)
            dispatcher.utter_message(response=Response.RECENT_ORDERS, orders=orders)
        else:
            dispatcher.utter_message(response=Response.ASK_ORDER_NUMBER)
        return []
