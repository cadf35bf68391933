"""The Rasa server's internal routes, as the desk uses them (real HTTP, a bearer token).

- :meth:`BotClient.send`: a message into a conversation on its channel
  (``POST /webhooks/internal/push``); it is also written into the
  conversation's history with its author;
- :meth:`BotClient.event`: an internal note (``POST /webhooks/internal/handoff``);
- :meth:`BotClient.wake`: the handoff record changed (a claim, transfer or
  handback): the Rasa server applies the change now rather than at its next poll
  (``POST /webhooks/internal/wake``); best effort, since the change is already
  stored and the server applies it when it is back;
- :meth:`BotClient.deliveries` / :meth:`BotClient.retry`: what became of the messages
  pushed into a conversation, and sending a failed one again;
- :meth:`BotClient.history`: a conversation's history
  (``GET /webhooks/internal/conversations/<id>``).

Calls run in a worker thread with a short timeout; a failure raises
:class:`BotUnavailable` with a message an agent can read.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

import requests

from telemetry.web import forwarded


class BotUnavailable(RuntimeError):
    """The Rasa server did not take the request (``delivery``: the id of a message it
    kept undelivered, which can be retried)."""

    def __init__(self, message: str, *, delivery: int | None = None,
                 status: int | None = None) -> None:
        super().__init__(message)
        self.delivery = delivery
        self.status = status


class BotClient:
    """A client of the Rasa server's internal routes.

    Args:
        base_url: The Rasa server, e.g. ``http://127.0.0.1:5005``.
        token: Its ``CHANNEL_PUSH_TOKEN``.
        timeout: Seconds per call.
    """

    def __init__(self, base_url: str, token: str | None, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self._http = requests.Session()

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        if not self.token:
            raise BotUnavailable("the desk has no CHANNEL_PUSH_TOKEN: it cannot reach the "
                                 "assistant's server")
        try:
            reply = self._http.request(method, f"{self.base_url}/webhooks/internal/{path}",
                                       json=body, timeout=self.timeout,
                                       headers={"Authorization": f"Bearer {self.token}",
                                                **forwarded()})
        except requests.RequestException as exc:
            raise BotUnavailable(f"the assistant's server did not answer "
                                 f"({type(exc).__name__})") from exc
        if reply.status_code == 404 and path.startswith("conversations/"):
            return None
        if reply.status_code >= 400:
            try:
                answer = reply.json()
            except ValueError:
                answer = {"error": reply.text[:200]}
            delivery = answer.get("delivery")
            if isinstance(delivery, int):  # kept undelivered: the agent reads why
                raise BotUnavailable(str(answer.get("error") or "not delivered"),
                                     delivery=delivery, status=reply.status_code)
            raise BotUnavailable(f"the assistant's server refused it ({reply.status_code}: "
                                 f"{answer.get('error')})", status=reply.status_code)
        return reply.json()

    async def send(self, channel: str, conversation: str, message: dict[str, Any], *,
                   role: str = "agent") -> int:
        """Deliver ``message`` to the customer; the stored message's id."""
        result = await asyncio.to_thread(self._call, "POST", "push", {
            "channel": channel, "conversation": conversation, "role": role,
            "message": message})
        return int(result["id"])

    async def wake(self) -> bool:
        """Ask the Rasa server to apply the record's changes now; whether it answered."""
        try:
            await asyncio.to_thread(self._call, "POST", "wake", {})
            return True
        except BotUnavailable:
            return False

    async def event(self, conversation: str, kind: str, detail: dict[str, Any], *,
                    channel: str = "") -> None:
        """Record an internal note in the conversation."""
        await asyncio.to_thread(self._call, "POST", "handoff", {
            "conversation": conversation, "kind": kind, "channel": channel,
            "detail": detail})

    async def history(self, conversation: str) -> dict[str, Any] | None:
        """The conversation's history (``None`` when Rasa has none)."""
        result = await asyncio.to_thread(self._call, "GET",
                                         f"conversations/{quote(conversation, safe='')}")
        return result if isinstance(result, dict) else None

    async def deliveries(self, channel: str, conversation: str) -> list[dict[str, Any]]:
        """What became of the messages pushed into a conversation, oldest first."""
        result = await asyncio.to_thread(
            self._call, "GET", f"deliveries?channel={quote(channel, safe='')}"
                               f"&conversation={quote(conversation, safe='')}")
        return list((result or {}).get("deliveries") or [])

    async def retry(self, delivery: int, conversation: str) -> dict[str, Any]:
        """Send a kept message again; the delivery as it stands after."""
        result = await asyncio.to_thread(self._call, "POST", f"deliveries/{int(delivery)}/retry",
                                         {"conversation": conversation})
        return dict(result["delivery"])

    async def typing(self, channel: str, conversation: str, *, on: bool, author: str) -> None:
        """Show (or stop showing) that the agent is typing, where the channel can."""
        await asyncio.to_thread(self._call, "POST", "typing", {
            "channel": channel, "conversation": conversation, "on": on, "author": author})
