"""The shop's REST channel: Rasa's REST channel behind the shared gate.

``POST /webhooks/rest/webhook`` with a JSON object::

    {"sender": "conversation-id", "message": "text",
     "metadata": {"customer_id": "C10001", "customer_expires": 1767225600,
                  "customer_sig": "<hex HMAC-SHA256 of 'C10001|conversation-id|1767225600'>"}}

Replies are a JSON list of bot messages, as with Rasa's REST channel. A client that
may send a message again (its connection dropped) gives it a ``"message_id"`` (its
own id, unique in the conversation): a repeat is answered with the first answer
(``X-Replayed: 1``) and not processed again; a repeat of a message still being
answered waits for that answer, and one whose server died before answering is
answered within seconds (:mod:`bot.channels.replays`). A
customer id counts only when the shop's server signed it for this conversation
(:mod:`shop.identity`); an unsigned, forged or expired one gets ``401``.

Photos: ``POST /webhooks/rest/media?sender=<conversation-id>`` with the image as
the body (or as the ``file`` field of a multipart form) stores it after
checking its size, type and pixels, and answers ``201`` with a ``media_id``
bound to that conversation. A message of the same conversation whose metadata
names it, ``{"metadata": {"image": "<media_id>"}}``, is then understood as "here
is a photo" (intent ``share_image``; the text, if any, is kept as the caption).
Uploads that are too big get ``413``, files that are not a supported image
``415``, damaged or tiny images ``422``, and a media id of another conversation
or an unknown one ``400``; nothing is stored for a rejected upload.

While a person holds the conversation (human handoff), the webhook answers
``[]`` with ``X-Handoff: assigned``: the message went to the person, and their
replies (and anything else sent into the conversation later) are fetched with
``GET /webhooks/rest/messages?sender=<conversation-id>&after=<last id seen>``
(``{"messages": [{"id", "role", "ts", "text", "author", ...}]}``). Conversation
ids are the only key to a REST conversation: a shop's server must make them
unguessable.

Every check is shared with the other channels (:mod:`bot.channels.checks`,
:mod:`bot.channels.gate`, :mod:`bot.channels.media`):
malformed, oversized, too deep or non-storable bodies get a 4xx with a JSON
``error``, never a 500; limits per conversation, client and customer get
``429`` with a polite message in the customer's language.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any, Awaitable, Callable, Dict

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from sqlalchemy.exc import SQLAlchemyError

from bot.channels.checks import (
    BadRequest,
    Throttled,
    check_id,
    client_address,
    headers_for,
    parse_json_object,
)
from bot.channels.gate import polite, shared_gate
from bot.channels.history import MessageHistory, journal_for
from bot.channels.media import photo_message, receive_photo, shared_media
from bot.channels.pipeline import kept_turn, take_turn
from bot.channels.replays import Claim, Replays
from bot.channels.sending import message_body, register_pusher
from bot.channels.wakeups import wakeups_for

logger = logging.getLogger(__name__)


def _error(message: str, status: int) -> HTTPResponse:
    return response.json({"error": message}, status=status, headers=headers_for())


def _throttled(exc: Throttled, sender: str, text: str | None) -> HTTPResponse:
    body = [{"recipient_id": sender, "text": polite("rate_limited", text)}]
    return response.json(body, status=429,
                         headers=headers_for({"Retry-After": str(exc.retry_after)}))


async def _keep(replays: Replays, sender: str, message_id: str,
                answers: list[Dict[str, Any]]) -> None:
    """Keep a message's answer for its repeats; with the database away, a repeat is
    answered again after ``stale_seconds`` (the answer still goes out now)."""
    try:
        await replays.answered(sender, message_id, answers)
    except SQLAlchemyError:
        logger.exception("REST answer not kept for repeats")


class ShopRestInput(RestInput):
    """REST channel with the shared checks; registered as ``rest``."""

    @classmethod
    def name(cls) -> str:
        """The channel's name: its webhook is ``/webhooks/rest/webhook``."""
        return "rest"

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        """The channel's routes."""
        webhook = Blueprint("shop_rest_webhook", __name__)
        gate = shared_gate()
        media = shared_media()
        history = MessageHistory(
            gate.settings.channel_db_url, channel=self.name(),
            wakeups=wakeups_for(gate.settings.redis_url),
            journal=journal_for(gate.settings.redis_url, gate.settings.channel_db_url))

        async def pusher(conversation: str, message: Dict[str, Any], role: str) -> int:
            body = message_body(message)
            if not body:
                raise BadRequest("the message has nothing to show (text, buttons, image, "
                                 "custom)")
            return (await history.append(conversation, role, body)).id

        register_pusher(self.name(), pusher)
        replays = Replays(gate.settings.channel_db_url)

        @webhook.route("/messages", methods=["GET"])
        async def fetch(request: Request) -> HTTPResponse:
            try:
                sender = check_id(request.args.get("sender"), "sender", gate.settings)
                after = request.args.get("after", "0")
                if not after.isdigit() or len(after) > 18:
                    raise BadRequest('"after" must be a message id (a whole number)')
                gate.limiter.hit(f"fetch:{gate.client(client_address(request))}",
                                 limit=gate.settings.messages_per_ip, window=60)
            except BadRequest as exc:
                return _error(str(exc), exc.status)
            except Throttled as exc:
                return response.json({"error": "too many requests"}, status=429,
                                     headers=headers_for({"Retry-After": str(exc.retry_after)}))
            entries = await history.since(sender, int(after))
            return response.json({"messages": [e.as_json() for e in entries]},
                                 headers=headers_for())

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"}, headers=headers_for())

        @webhook.route("/media", methods=["POST"])
        async def upload(request: Request) -> HTTPResponse:
            try:
                sender = check_id(request.args.get("sender"), "sender", gate.settings)
            except BadRequest as exc:
                return _error(str(exc), exc.status)
            status, body = await receive_photo(request, sender=sender, channel=self.name(),
                                               lang_hint=request.args.get("lang"))
            return response.json(body, status=status, headers=headers_for(
                {"Retry-After": str(body["retry_after"])} if "retry_after" in body else None))

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            text: Any = None
            message_id: str | None = None
            try:
                payload = parse_json_object(request.body, gate.settings)
                text = payload.get("message")
                if payload.get("message_id") is not None:
                    message_id = check_id(payload["message_id"], "message_id",
                                          gate.settings)[:64]
                message = gate.admit(sender=payload.get("sender", "default"), text=text,
                                     metadata=payload.get("metadata"),
                                     address=client_address(request), channel=self.name())
                if message.metadata.get("image") is not None:
                    message = photo_message(message, media.resolve(
                        message.metadata["image"], sender=message.sender))
            except BadRequest as exc:
                return _error(str(exc), exc.status)
            except Throttled as exc:
                sender = payload.get("sender")
                return _throttled(exc, sender if isinstance(sender, str) else "",
                                  text if isinstance(text, str) else None)
            if message_id is not None:
                try:
                    claim = await replays.claim(message.sender, message_id)
                except SQLAlchemyError:  # the channels' database is away: answer it
                    logger.exception("REST message_id not checked")
                    claim, message_id = Claim(), None
                if claim is None:
                    return response.json(
                        {"error": "this message is still being answered; send it again"},
                        status=409, headers=headers_for({"Retry-After": "2"}))
                if not claim.mine:
                    return response.json(claim.answers, headers=headers_for(
                        {"X-Replayed": "1"}))
                if claim.taken_over:  # its server died: after keeping the turn?
                    kept = await kept_turn(request.app.ctx.agent, message.sender, message_id)
                    if kept is not None:
                        await _keep(replays, message.sender, message_id, kept)
                        return response.json(kept, headers=headers_for({"X-Replayed": "1"}))
            collector = CollectingOutputChannel()
            async with replays.held(message.sender, message_id) if message_id else \
                    contextlib.nullcontext():
                answered = await take_turn(request.app.ctx.agent, on_new_message, message,
                                           collector, channel=self.name(), said=text,
                                           message_id=message_id)
            if not answered:
                if message_id is not None:
                    await _keep(replays, message.sender, message_id, [])
                # a person answers; GET /messages fetches the answer
                return response.json([], headers=headers_for({"X-Handoff": "assigned"}))
            if message_id is not None:
                await _keep(replays, message.sender, message_id, collector.messages)
            return response.json(collector.messages, headers=headers_for())

        return webhook

    def get_metadata(self, request: Request) -> Dict[str, Any] | None:
        """Metadata of a request (Rasa's generic code paths; the webhook sets its own)."""
        return None
