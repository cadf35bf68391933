"""Start a return for a delivered order within the return window."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.common import customer_identity, language
from actions.constants import ActionName, Response, Slot
from actions.order_status import not_found, order_kwargs
from actions.services import order_service
from shop.errors import InvalidOrderNumber, OrderNotFound
from shop.orders import Refusal

REFUSALS = {
    Refusal.NOT_DELIVERED: Response.RETURN_REFUSED_NOT_DELIVERED,
    Refusal.RETURN_WINDOW_CLOSED: Response.RETURN_REFUSED_WINDOW,
    Refusal.ALREADY_RETURNED: Response.RETURN_REFUSED_RETURNED,
    Refusal.ALREADY_CANCELLED: Response.RETURN_REFUSED_CANCELLED,
}


class ActionReturnOrder(Action):
    """Starts a return, or says why it cannot."""

    def name(self) -> str:
        return ActionName.RETURN_ORDER

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        number = tracker.get_slot(Slot.ORDER_NUMBER)
        reason = tracker.latest_message.get("text")
        try:
            outcome = order_service().request_return(
                str(number or ""), customer_identity(tracker), reason=reason)
        except (OrderNotFound, InvalidOrderNumber):
            return not_found(dispatcher, number)
        response = Response.RETURN_DONE if outcome.done else REFUSALS[outcome.refusal]  # type: ignore[index]
        dispatcher.utter_message(response=response,
                                 **order_kwargs(outcome.order, language(tracker)))
        return []
