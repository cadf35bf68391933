"""Cancel an order that has not shipped."""

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
    Refusal.ALREADY_SHIPPED: Response.CANCEL_REFUSED_SHIPPED,
    Refusal.ALREADY_CANCELLED: Response.CANCEL_REFUSED_CANCELLED,
    Refusal.ALREADY_RETURNED: Response.CANCEL_REFUSED_RETURNED,
}


class ActionCancelOrder(Action):
    """Cancels the order, or says why it cannot."""

    def name(self) -> str:
        return ActionName.CANCEL_ORDER

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        number = tracker.get_slot(Slot.ORDER_NUMBER)
        try:
            outcome = order_service().cancel(str(number or ""), customer_identity(tracker))
        except (OrderNotFound, InvalidOrderNumber):
            return not_found(dispatcher, number)
        response = Response.CANCEL_DONE if outcome.done else REFUSALS[outcome.refusal]  # type: ignore[index]
        dispatcher.utter_message(response=response,
                                 **order_kwargs(outcome.order, language(tracker)))
        return []
