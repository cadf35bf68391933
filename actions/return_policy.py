"""Say how long a customer has to return an order (the shop's return window)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.constants import ActionName, Response
from actions.services import order_service


class ActionReturnPolicy(Action):
    """Answers "how long do I have to return it?" with the window the order service
    applies, so the answer and a refused return never disagree."""

    def name(self) -> str:
        return ActionName.RETURN_POLICY

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        dispatcher.utter_message(response=Response.RETURN_POLICY,
                                 days=order_service().return_window_days)
        return []
