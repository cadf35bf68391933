"""Cancel an order that has not shipped; a delivered one gets whether it can still be
returned, and until when."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.constants import ActionName, Response
from actions.order_status import change_order
from actions.services import order_service
from shop.orders import Refusal

REFUSALS = {
    Refusal.ALREADY_SHIPPED: Response.CANCEL_REFUSED_SHIPPED,
    Refusal.ALREADY_DELIVERED: Response.CANCEL_REFUSED_DELIVERED,
    Refusal.RETURN_WINDOW_CLOSED: Response.CANCEL_REFUSED_DELIVERED_LATE,
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
        return change_order(dispatcher, tracker, order_service().cancel,
                            Response.CANCEL_DONE, REFUSALS)
