"""Start a return for a delivered order within the return window."""

from __future__ import annotations

from functools import partial
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.constants import ActionName, Response
from actions.order_status import change_order
from actions.services import order_service
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
        # the customer's own words are kept as the return reason
        request = partial(order_service().request_return,
                          reason=tracker.latest_message.get("text"))
        return change_order(dispatcher, tracker, request, Response.RETURN_DONE, REFUSALS)
