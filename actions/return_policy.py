"""Say how long a customer has to return an order (the shop's return window) and who
pays to send it back."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.constants import ActionName, Response
from actions.services import order_service


class ActionReturnPolicy(Action):
    """Answers "how long do I have to return it?" and "who pays the return postage?"
    with the window and the postage rule the order service applies, so the answer and
    a refused return never disagree."""

    def name(self) -> str:
        return ActionName.RETURN_POLICY

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        say_return_policy(dispatcher)
        return []


def say_return_policy(dispatcher: CollectingDispatcher) -> None:
    """The return window and who pays the postage (also asked inside the order form)."""
    orders = order_service()
    response = Response.RETURN_POLICY if orders.return_postage_paid_by == "shop" \
        else Response.RETURN_POLICY_CUSTOMER_POSTAGE
    dispatcher.utter_message(response=response, days=orders.return_window_days)
