"""Photos from customers, on every channel: checked uploads stored once and bound to
the conversation that sent them (:class:`MediaIntake`), with a quota per client and
per conversation; the upload route's answers (:func:`receive_photo`); a photo turned
into the assistant's ``share_image`` intent (:func:`photo_message`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from bot.channels.checks import BadRequest, Throttled, client_address
from bot.channels.gate import POLITE, Admitted, RateLimiter, shared_gate
from bot.components.language import detect_language, locale_of
from bot.settings import ChannelSettings
from shop.postgres import server_options
from telemetry import metrics
from vision.images import Limits
from vision.media import Media, MediaRef, open_media

logger = logging.getLogger(__name__)


@dataclass
class MediaIntake:
    """Checked photo uploads, each bound to the conversation that sent it.

    A media id handed to a client is ``<content id>.<tag>``, where the tag is an
    HMAC of the conversation and the content id: a message in another
    conversation cannot use it.
    """

    settings: ChannelSettings
    limiter: RateLimiter
    store: Media = field(init=False)

    def __post_init__(self) -> None:
        url = self.settings.media_db_url
        self.store = open_media(self.settings.media_dir, url=url, limits=Limits(
            max_bytes=self.settings.upload_max_bytes,
            max_pixels=self.settings.upload_max_pixels),
            engine_options=server_options(url))

    def _tag(self, sender: str, media_id: str) -> str:
        key = self.settings.channel_secret.encode()
        return hmac.new(key, f"media|{sender}|{media_id}".encode(), hashlib.sha256
                        ).hexdigest()[:24]

    def admit(self, *, sender: str, client: str, channel: str, platform: bool = False) -> None:
        """Count an upload against the per-client and per-conversation quotas.

        A ``platform`` upload (a WeChat or Messenger photo) comes from the
        platform's servers: it counts per conversation only.

        Raises:
            Throttled: A quota is spent.
        """
        if not platform:
            self.limiter.hit(f"upload-ip:{client}", limit=self.settings.uploads_per_ip,
                             window=60)
        self.limiter.hit(f"upload-conversation:{channel}:{sender}",
                         limit=self.settings.uploads_per_sender, window=86400)

    def put(self, data: bytes, *, sender: str) -> tuple[MediaRef, str]:
        """Check and store a photo; returns it and the media id bound to ``sender``.

        Raises:
            vision.errors.ImageError: The file is refused (nothing is stored).
        """
        ref = self.store.put(data)
        return ref, f"{ref.media_id}.{self._tag(sender, ref.media_id)}"

    def _stored(self, media_id: str) -> bool:
        """Whether the photo is stored, where that is a local look (a file). A shared
        store's database is not asked here, on the event loop (up to its time limit
        while it is away): the signed id is taken at its word, and the action, which
        reads the photo off the loop, says so if it is gone or the store is away."""
        return media_id in self.store if self.store.local else True

    def resolve(self, bound_id: Any, *, sender: str) -> str:
        """The stored photo's id, if ``bound_id`` was issued to ``sender``.

        Raises:
            BadRequest: Not a media id of this conversation, or no longer stored.
        """
        if isinstance(bound_id, str) and bound_id.count(".") == 1:
            media_id, tag = bound_id.split(".")
            if hmac.compare_digest(self._tag(sender, media_id), tag) and self._stored(media_id):
                return media_id
        raise BadRequest('"metadata.image" must be a media_id this conversation uploaded '
                         "(POST the photo to /webhooks/rest/media?sender=<sender> first)")


SHARE_IMAGE_INTENT = "share_image"


UPLOAD_STATUS = {"too_large": 413, "too_many_pixels": 413, "not_an_image": 415,
                 "unsupported": 415, "empty": 400, "too_small": 422, "corrupt": 422}


UPLOAD_SLACK = 64 * 1024  # multipart framing around the file


UPLOAD_REFUSED = {
    "too_large": {"en": "That photo is too large. Please send one under {mb} MB.",
                  "zh": "这张图片太大了，请发送小于 {mb} MB 的图片。"},
    "not_an_image": {"en": "That file isn't a photo I can read. Please send a JPEG, PNG "
                           "or WebP image.",
                     "zh": "这个文件不是我能识别的图片，请发送 JPEG、PNG 或 WebP 格式的图片。"},
    "damaged": {"en": "I couldn't open that photo: it seems damaged or too small. Please "
                      "try another one.",
                "zh": "这张图片打不开，可能已损坏或太小，请换一张试试。"},
}


_REFUSAL_KIND = {"too_large": "too_large", "too_many_pixels": "too_large",
                 "not_an_image": "not_an_image", "unsupported": "not_an_image",
                 "empty": "damaged", "too_small": "damaged", "corrupt": "damaged"}


def photo_message(message: Admitted, media_id: str) -> Admitted:
    """Turn a message carrying a photo into the ``share_image`` intent.

    The customer's text becomes ``metadata.caption`` and ``metadata.image`` the
    stored photo's id; the caption's language, when it has one (else the chat
    window's, ``metadata.locale``), is passed on as the ``language`` entity.
    """
    caption = message.text
    # a photo with no words: the language of the customer's chat window, if it says
    language = (detect_language(caption) if caption else None) or locale_of(message.metadata)
    entities = json.dumps({"language": language}) if language else ""
    metadata = {**message.metadata, "image": media_id, "caption": caption}
    return Admitted(sender=message.sender, text=f"/{SHARE_IMAGE_INTENT}{entities}",
                    metadata=metadata, customer_id=message.customer_id)


def upload_body(request: Any) -> bytes:
    """The uploaded file: a multipart ``file`` field, or the raw body."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        upload = request.files.get("file") if request.files else None
        if upload is None:
            raise BadRequest('the multipart form needs a "file" field')
        return bytes(upload.body)
    return bytes(request.body or b"")


async def receive_photo(request: Any, *, sender: str, channel: str,
                        lang_hint: str | None = None) -> tuple[int, dict[str, Any]]:
    """Check, count and store a photo uploaded over HTTP for conversation ``sender``.

    Every channel with an upload route answers with this: ``201`` and the
    ``media_id`` bound to the conversation, or a 4xx whose body has an
    ``error`` for developers and, for refusals a customer should see, a polite
    ``text`` in ``lang_hint``'s language (``en`` or ``zh``).
    """
    from vision.errors import ImageError, MediaUnavailable

    gate, media = shared_gate(), shared_media()
    lang = "zh" if (lang_hint or "").lower().startswith("zh") else "en"
    mb = media.settings.upload_max_bytes // (1024 * 1024)

    def refused(status: int, error: str, reason: str) -> tuple[int, dict[str, Any]]:
        metrics.UPLOAD_REFUSALS.labels(channel, reason[:40]).inc()
        kind = _REFUSAL_KIND.get(reason, "damaged")
        return status, {"error": error, "reason": reason,
                        "text": UPLOAD_REFUSED[kind][lang].format(mb=mb)}

    if len(request.body or b"") > media.settings.upload_max_bytes + UPLOAD_SLACK:
        return refused(413, f"the file is larger than {media.settings.upload_max_bytes} bytes",
                       "too_large")
    try:
        media.admit(sender=sender, client=gate.client(client_address(request)),
                    channel=channel)
        data = upload_body(request)
        # decoding a large photo takes a while: keep the event loop free
        import asyncio

        ref, media_id = await asyncio.get_running_loop().run_in_executor(
            None, lambda: media.put(data, sender=sender))
    except BadRequest as exc:
        return exc.status, {"error": str(exc)}
    except Throttled as exc:
        return 429, {"error": "too many uploads", "retry_after": exc.retry_after,
                     "text": POLITE["upload_limited"][lang]}
    except ImageError as exc:
        return refused(UPLOAD_STATUS.get(exc.reason, 400), str(exc), exc.reason)
    except MediaUnavailable:  # the shared photo store's database is away: said so
        logger.warning("photo not stored: the media database cannot be reached")
        metrics.UPLOAD_REFUSALS.labels(channel, "store_unavailable").inc()
        return 503, {"error": "photos cannot be stored right now", "retry_after": 60,
                     "text": POLITE["photo_busy"][lang]}
    return 201, {"media_id": media_id, "mime": ref.mime, "size": ref.size,
                 "width": ref.width, "height": ref.height}


@lru_cache(maxsize=1)
def shared_media() -> MediaIntake:
    """The process's photo intake (same store, quotas and limits for every channel)."""
    gate = shared_gate()
    return MediaIntake(gate.settings, gate.limiter)
