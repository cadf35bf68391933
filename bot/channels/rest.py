"""The shop's REST channel: Rasa's REST channel with strict input checks.

``POST /webhooks/rest/webhook`` with a JSON object::

    {"sender": "conversation-id", "message": "text", "metadata": {"customer_id": "C10001"}}

Replies are a JSON list of bot messages, as with Rasa's REST channel.

Photos: ``POST /webhooks/rest/media`` with the image as the body (or as the
``file`` field of a multipart form) stores it in the media store (a
content-addressed folder, ``MEDIA_DIR``, default ``SHOP_DATA_DIR/media``) after
checking its size, type and pixels, and answers ``201`` with its ``media_id``.
A message whose metadata names it, ``{"metadata": {"image": "<media_id>"}}``,
is then understood as "here is a photo" (intent ``share_image``; the text,
if any, is kept as the caption). Uploads that are too big get ``413``, files
that are not a supported image ``415``, damaged or tiny images ``422``, and an
unknown ``image`` id ``400``; nothing is stored for a rejected upload. Bad
requests get a 4xx with a JSON ``error`` instead of a 500: a body that is not
JSON or not an object, a missing or non-string ``message``, a non-object
``metadata``, a sender id that is not a short string, or a body over
``MAX_BODY_BYTES``. Messages longer than ``MAX_MESSAGE_CHARS`` are cut to that
length before understanding (customers sometimes paste whole pages), and
invisible control characters are removed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import unicodedata
from asyncio import CancelledError
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.components.language import detect_language
from vision.errors import ImageError
from vision.images import Limits
from vision.media import MediaStore

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = int(os.environ.get("REST_MAX_BODY_BYTES", 256 * 1024))
MAX_MESSAGE_CHARS = int(os.environ.get("REST_MAX_MESSAGE_CHARS", 1000))
MAX_SENDER_CHARS = 128
MEDIA_DIR = Path(os.environ.get("MEDIA_DIR")
                 or Path(os.environ.get("SHOP_DATA_DIR", "data")) / "media")
UPLOAD_LIMITS = Limits(max_bytes=int(os.environ.get("UPLOAD_MAX_BYTES", 10 * 1024 * 1024)),
                       max_pixels=int(os.environ.get("UPLOAD_MAX_PIXELS", 40_000_000)))
SHARE_IMAGE_INTENT = "share_image"
UPLOAD_STATUS = {"too_large": 413, "too_many_pixels": 413, "not_an_image": 415,
                 "unsupported": 415, "empty": 400, "too_small": 422, "corrupt": 422}
_INVISIBLE = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")


class BadRequest(ValueError):
    """The request is not a valid chat message."""


def clean_text(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """Normalise a customer's message for understanding.

    NFC-normalises, drops zero-width and bidi control characters and other
    control characters (keeping newlines and tabs), and cuts to ``limit``
    characters.
    """
    text = unicodedata.normalize("NFC", text)
    text = _INVISIBLE.sub("", text)
    text = "".join(c for c in text if c in "\n\t" or unicodedata.category(c) != "Cc")
    return text[:limit].strip()


def parse_payload(body: bytes) -> Dict[str, Any]:
    """Validate a webhook body.

    Returns:
        ``sender``, ``message`` and ``metadata`` of the request.

    Raises:
        BadRequest: With a message saying what is wrong.
    """
    if len(body) > MAX_BODY_BYTES:
        raise BadRequest(f"request body is larger than {MAX_BODY_BYTES} bytes")
    try:
        payload = json.loads(body or b"")
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("request body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise BadRequest("request body must be a JSON object")
    message = payload.get("message")
    if not isinstance(message, str):
        raise BadRequest('"message" must be a string')
    sender = payload.get("sender", "default")
    if isinstance(sender, int) and not isinstance(sender, bool):
        sender = str(sender)
    if not isinstance(sender, str) or not sender.strip() or len(sender) > MAX_SENDER_CHARS:
        raise BadRequest(
            f'"sender" must be a non-empty string of at most {MAX_SENDER_CHARS} characters')
    metadata = payload.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise BadRequest('"metadata" must be a JSON object')
    return {"sender": sender, "message": clean_text(message), "metadata": metadata or {}}


def photo_message(payload: Dict[str, Any], media: MediaStore) -> Dict[str, Any]:
    """Turn a message carrying ``metadata.image`` into the ``share_image`` intent.

    The customer's text becomes ``metadata.caption``; its language, when it
    has one, is passed on as the ``language`` entity.

    Raises:
        BadRequest: If the image id is not a photo in the media store.
    """
    image = payload["metadata"].get("image")
    if image is None:
        return payload
    if not isinstance(image, str) or image not in media:
        raise BadRequest('"metadata.image" must be the media_id of an uploaded photo '
                         "(POST the photo to /webhooks/rest/media first)")
    caption = payload["message"]
    language = detect_language(caption) if caption else None
    entities = json.dumps({"language": language}) if language else ""
    metadata = {**payload["metadata"], "caption": caption}
    return {**payload, "message": f"/{SHARE_IMAGE_INTENT}{entities}", "metadata": metadata}


def upload_body(request: Request) -> bytes:
    """The uploaded file: a multipart ``file`` field, or the raw body."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        upload = request.files.get("file") if request.files else None
        if upload is None:
            raise BadRequest('the multipart form needs a "file" field')
        return bytes(upload.body)
    return bytes(request.body or b"")


class ShopRestInput(RestInput):
    """REST channel with validation; registered as ``rest``."""

    @classmethod
    def name(cls) -> str:
        """The channel's name: its webhook is ``/webhooks/rest/webhook``."""
        return "rest"

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        """The channel's routes."""
        webhook = Blueprint("shop_rest_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        media = MediaStore(MEDIA_DIR, limits=UPLOAD_LIMITS)

        @webhook.route("/media", methods=["POST"])
        async def upload(request: Request) -> HTTPResponse:
            if len(request.body or b"") > UPLOAD_LIMITS.max_bytes + 64 * 1024:
                return response.json({"error": "the file is larger than "
                                      f"{UPLOAD_LIMITS.max_bytes} bytes"}, status=413)
            try:
                data = upload_body(request)
                # decoding a large photo takes a while: keep the event loop free
                ref = await asyncio.get_running_loop().run_in_executor(None, media.put, data)
            except BadRequest as exc:
                return response.json({"error": str(exc)}, status=400)
            except ImageError as exc:
                return response.json({"error": str(exc), "reason": exc.reason},
                                     status=UPLOAD_STATUS.get(exc.reason, 400))
            return response.json({"media_id": ref.media_id, "mime": ref.mime,
                                  "size": ref.size, "width": ref.width,
                                  "height": ref.height}, status=201)

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                payload = photo_message(parse_payload(request.body), media)
            except BadRequest as exc:
                return response.json({"error": str(exc)}, status=400)
            collector = CollectingOutputChannel()
            try:
                await on_new_message(
                    UserMessage(
                        payload["message"],
                        collector,
                        payload["sender"],
                        input_channel=self.name(),
                        metadata=payload["metadata"],
                    )
                )
            except CancelledError:
                logger.error("message handling timed out for sender %s", payload["sender"])
            except Exception:  # never answer a customer with a 500
                logger.exception("message handling failed for sender %s", payload["sender"])
            return response.json(collector.messages)

        return webhook

    def get_metadata(self, request: Request) -> Dict[str, Any] | None:
        """Metadata of a request (used by Rasa's generic code paths)."""
        try:
            return parse_payload(request.body)["metadata"]
        except BadRequest:
            return None
