"""A content-addressed store for customers' uploaded photos.

Files live under ``root/ab/abcdef….jpg``: the name is the SHA-256 of the
bytes, so the same photo is stored once and a media id cannot point outside
the folder. Only files that pass :func:`vision.images.inspect` are written,
and they are written atomically, so a rejected or interrupted upload leaves
nothing behind.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from vision.errors import MediaNotFound
from vision.images import EXTENSIONS, Limits, inspect

_KEY = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class MediaRef:
    """A stored photo.

    Attributes:
        media_id: SHA-256 of the bytes (hex), the name clients send back.
        mime: Content type found by decoding (not the one the client claimed).
        size: Bytes.
        width: Pixels across.
        height: Pixels down.
    """

    media_id: str
    mime: str
    size: int
    width: int
    height: int


class MediaStore:
    """Photos on disk, addressed by content.

    Args:
        root: Folder of the store (created on first write).
        limits: What an acceptable photo is.
    """

    def __init__(self, root: Path, *, limits: Limits = Limits()) -> None:
        self.root = Path(root)
        self.limits = limits

    def put(self, data: bytes) -> MediaRef:
        """Check and store ``data``; storing the same bytes again is a no-op.

        Raises:
            vision.errors.ImageError: If ``data`` is not an acceptable image
                (nothing is written).
        """
        info = inspect(data, self.limits)
        key = hashlib.sha256(data).hexdigest()
        target = self.root / key[:2] / f"{key}{EXTENSIONS[info.mime]}"
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(data)
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return MediaRef(key, info.mime, info.size, info.width, info.height)

    def path(self, media_id: str) -> Path:
        """Where the photo ``media_id`` is stored.

        Raises:
            MediaNotFound: If the id is malformed or nothing is stored under it.
        """
        if not isinstance(media_id, str) or not _KEY.match(media_id):
            raise MediaNotFound("malformed media id")
        for ext in EXTENSIONS.values():
            candidate = self.root / media_id[:2] / f"{media_id}{ext}"
            if candidate.is_file():
                return candidate
        raise MediaNotFound(f"no stored photo {media_id}")

    def get(self, media_id: str) -> bytes:
        """The bytes of a stored photo (see :meth:`path` for errors)."""
        return self.path(media_id).read_bytes()

    def __contains__(self, media_id: object) -> bool:
        try:
            self.path(str(media_id))
        except MediaNotFound:
            return False
        return True
