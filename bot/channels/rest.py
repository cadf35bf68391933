"""The shop's REST channel: Rasa's REST channel behind the shared gate.

``POST /webhooks/rest/webhook`` with a JSON object::

    {"sender": "conversation-id", "message": "text",
     "metadata": {"customer_id": "C10001", "customer_expires": 1767225600,
                  "customer_sig": "<hex HMAC-SHA256 of 'C10001|conversation-id|1767225600'>"}}

Replies are a JSON list of bot messages, as with Rasa's REST channel. A
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

Every check lives in :mod:`bot.channels.base` (shared with the other channels):
malformed, oversized, too deep or non-storable bodies get a 4xx with a JSON
``error``, never a 500; limits per conversation, client and customer get
``429`` with a polite message in the customer's language.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Awaitable, Callable, Dict

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.base import (
    Admitted,
    BadRequest,
    Throttled,
    check_id,
    deliver,
    headers_for,
    parse_json_object,
    polite,
    shared_gate,
    shared_media,
)
from bot.components.language import detect_language
from vision.errors import ImageError

logger = logging.getLogger(__name__)

SHARE_IMAGE_INTENT = "share_image"
UPLOAD_STATUS = {"too_large": 413, "too_many_pixels": 413, "not_an_image": 415,
                 "unsupported": 415, "empty": 400, "too_small": 422, "corrupt": 422}


def photo_message(message: Admitted, media_id: str) -> Admitted:
    """Turn a message carrying a photo into the ``share_image`` intent.

    The customer's text becomes ``metadata.caption`` and ``metadata.image`` the
    stored photo's id; the caption's language, when it has one, is passed on
    as the ``language`` entity.
    """
    caption = message.text
    language = detect_language(caption) if caption else None
    entities = json.dumps({"language": language}) if language else ""
    metadata = {**message.metadata, "image": media_id, "caption": caption}
    return Admitted(sender=message.sender, text=f"/{SHARE_IMAGE_INTENT}{entities}",
                    metadata=metadata, customer_id=message.customer_id)


def upload_body(request: Request) -> bytes:
    """The uploaded file: a multipart ``file`` field, or the raw body."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        upload = request.files.get("file") if request.files else None
        if upload is None:
            raise BadRequest('the multipart form needs a "file" field')
        return bytes(upload.body)
    return bytes(request.body or b"")


def client_address(request: Request) -> str:
    """The client's address: the proxy-reported one only when the server is
    configured to trust a proxy (Sanic's ``PROXIES_COUNT``/``REAL_IP_HEADER``)."""
    return str(request.remote_addr or request.ip or "")


def _error(message: str, status: int) -> HTTPResponse:
    return response.json({"error": message}, status=status, headers=headers_for())


def _throttled(exc: Throttled, sender: str, text: str | None, kind: str) -> HTTPResponse:
    body: Any = [{"recipient_id": sender, "text": polite(kind, text)}] \
        if kind == "rate_limited" else {"error": "too many uploads", "text": polite(kind, text)}
    return response.json(body, status=429,
                         headers=headers_for({"Retry-After": str(exc.retry_after)}))


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
        slack = 64 * 1024  # multipart framing around the file

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"}, headers=headers_for())

        @webhook.route("/media", methods=["POST"])
        async def upload(request: Request) -> HTTPResponse:
            if len(request.body or b"") > media.settings.upload_max_bytes + slack:
                return _error(f"the file is larger than {media.settings.upload_max_bytes} "
                              "bytes", 413)
            try:
                sender = check_id(request.args.get("sender"), "sender", gate.settings)
                media.admit(sender=sender, client=gate.client(client_address(request)),
                            channel=self.name())
                data = upload_body(request)
                # decoding a large photo takes a while: keep the event loop free
                ref, media_id = await asyncio.get_running_loop().run_in_executor(
                    None, lambda: media.put(data, sender=sender))
            except BadRequest as exc:
                return _error(str(exc), exc.status)
            except Throttled as exc:
                return _throttled(exc, str(request.args.get("sender")), request.args.get("lang"),
                                  "upload_limited")
            except ImageError as exc:
                return response.json({"error": str(exc), "reason": exc.reason},
                                     status=UPLOAD_STATUS.get(exc.reason, 400),
                                     headers=headers_for())
            return response.json({"media_id": media_id, "mime": ref.mime,
                                  "size": ref.size, "width": ref.width,
                                  "height": ref.height}, status=201, headers=headers_for())

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            text: Any = None
            try:
                payload = parse_json_object(request.body, gate.settings)
                text = payload.get("message")
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
                                  text if isinstance(text, str) else None, "rate_limited")
            collector = CollectingOutputChannel()
            if not await deliver(on_new_message, UserMessage(
                    message.text, collector, message.sender, input_channel=self.name(),
                    metadata=message.metadata), sender=message.sender):
                collector.messages.append({"recipient_id": message.sender,
                                           "text": polite("failed", text)})
            return response.json(collector.messages, headers=headers_for())

        return webhook

    def get_metadata(self, request: Request) -> Dict[str, Any] | None:
        """Metadata of a request (Rasa's generic code paths; the webhook sets its own)."""
        return None
