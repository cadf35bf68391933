"""Order status and tracking."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import customer_identity, language, quote
from actions.constants import ActionName, Response, Slot
from actions.presentation import format_date, format_money
from actions.services import order_service
from actions.settings import settings
from shop.errors import InvalidOrderNumber, OrderNotFound, TooManyAttempts
from shop.orders import ActionOutcome, CustomerIdentity, OrderView, Refusal


def order_kwargs(order: OrderView, lang: str) -> dict[str, Any]:
    """Template variables describing an order."""
    items = ("、" if lang == "zh" else ", ").join(
        f"{line.quantity} × {line.name_zh if lang == 'zh' else line.name_en}"
        for line in order.lines)
    return {
        "order_number": order.number,
        "placed": format_date(order.placed_at, lang),
        "shipped": format_date(order.shipped_at, lang),
        "delivered": format_date(order.delivered_at, lang),
        "deadline": format_date(order.return_deadline, lang),
        "carrier": order.carrier or "-",
        "tracking": order.tracking_number or "-",
        "total": format_money(order.total, order.currency),
        "items": items,
        "days": settings().return_window_days,
    }


def not_found(dispatcher: CollectingDispatcher, number: str | None) -> list[EventType]:
    """Say the order is not visible to this customer and forget the number."""
    dispatcher.utter_message(response=Response.ORDER_NOT_FOUND, order_number=quote(number) or "-")
    return [SlotSet(Slot.ORDER_NUMBER, None), SlotSet(Slot.ORDER_EMAIL, None)]


def locked(dispatcher: CollectingDispatcher, wait: TooManyAttempts) -> list[EventType]:
    """Say a guest must wait after too many failed look-ups, and forget the attempt."""
    dispatcher.utter_message(response=Response.ORDER_LOOKUP_LOCKED,
                             minutes=max(1, round(wait.retry_after / 60)))
    return [SlotSet(Slot.ORDER_NUMBER, None), SlotSet(Slot.ORDER_EMAIL, None)]


def change_order(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    change: Callable[[str, CustomerIdentity], ActionOutcome],
    done: str,
    refusals: dict[Refusal, str],
) -> list[EventType]:
    """Apply a change (cancel, return) to the order in the slots and report the outcome.

    Args:
        dispatcher: Where the reply goes.
        tracker: The conversation (order number and identity).
        change: The order-service operation.
        done: Response when the change was made.
        refusals: Response for each reason the change can be refused.
    """
    number = tracker.get_slot(Slot.ORDER_NUMBER)
    try:
        outcome = change(str(number or ""), customer_identity(tracker))
    except (OrderNotFound, InvalidOrderNumber):
        return not_found(dispatcher, number)
    except TooManyAttempts as wait:
        return locked(dispatcher, wait)
    response = done if outcome.done or outcome.refusal is None else refusals[outcome.refusal]
    dispatcher.utter_message(response=response, **order_kwargs(outcome.order, language(tracker)))
    return []


class ActionOrderStatus(Action):
    """Tells the status of an order, with tracking once it has shipped."""

    def name(self) -> str:
        return ActionName.ORDER_STATUS

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        lang = language(tracker)
        number = tracker.get_slot(Slot.ORDER_NUMBER)
        try:
            order = order_service().get(str(number or ""), customer_identity(tracker))
        except (OrderNotFound, InvalidOrderNumber):
            return not_found(dispatcher, number)
        except TooManyAttempts as wait:
            return locked(dispatcher, wait)
        dispatcher.utter_message(response=Response.ORDER_STATUS_PREFIX + order.status.value,
                                 **order_kwargs(order, lang))
        return []
