"""The assistant's messages outside a customer's request (the greeting back after a
handback, Rasa's external events): pushed into the conversation through its channel,
like an agent's (:func:`bot.channels.sending.push`, the delivery pipeline)."""

from __future__ import annotations

import logging
from typing import Any, Dict

from rasa.core.channels.channel import OutputChannel

from bot.channels.checks import BadRequest
from bot.channels.sending import push

logger = logging.getLogger(__name__)


class PushOutput(OutputChannel):
    """Sends the assistant's messages into a conversation through its channel's
    pusher (the same route an agent's messages take)."""

    def __init__(self, channel: str) -> None:
        self.channel = channel

    @classmethod
    def name(cls) -> str:
        """The channel's name is the conversation's."""
        return "push"

    async def _push(self, recipient_id: str, message: Dict[str, Any]) -> None:
        try:
            await push(self.channel, recipient_id, message, role="assistant")
        except BadRequest as exc:  # a channel that cannot be sent to: kept in history only
            logger.info("message to %s not pushed: %s", recipient_id, exc)

    async def send_response(self, recipient_id: str, message: Dict[str, Any]) -> None:
        """Every kind of message as one pushed entry."""
        body = {k: v for k, v in message.items()
                if k in ("text", "buttons", "image", "custom", "attachment", "quick_replies")
                and v is not None}
        if body:
            await self._push(recipient_id, body)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        """Plain text."""
        await self._push(recipient_id, {"text": text})
