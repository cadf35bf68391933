"""A content-addressed store for customers' uploaded photos (and the catalog's own).

A photo's id is the SHA-256 of its bytes, so the same photo is stored once. Only
photos that pass :func:`vision.images.inspect` are stored, and they are stored
atomically, so a rejected or interrupted upload leaves nothing behind. Two places
hold them, chosen by configuration (:func:`open_media`):

- :class:`MediaStore`, a folder: ``root/ab/abcdef….jpg`` (the embedded default; a
  media id cannot point outside the folder);
- :class:`SQLMediaStore`, a table in a database every server reaches (scaled mode:
  PostgreSQL), so servers on several machines share the photos without a shared
  volume.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from vision.errors import ConfigError, MediaNotFound, MediaUnavailable
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


class Media(Protocol):
    """What every media store does (:class:`MediaStore`, :class:`SQLMediaStore`)."""

    limits: Limits
    #: Whether ``in`` is a local look (a file), cheap enough for an event loop.
    local: bool

    def put(self, data: bytes) -> MediaRef:
        """Check and store ``data`` (see :meth:`MediaStore.put`)."""

    def get(self, media_id: str) -> bytes:
        """The stored photo's bytes; :class:`MediaNotFound` if there is none."""

    def file_name(self, media_id: str) -> str:
        """``<media id><extension>``; :class:`MediaNotFound` if there is none."""

    def delete(self, media_id: str) -> bool:
        """Remove a stored photo; whether there was one."""

    def older_than(self, cutoff: float) -> list[str]:
        """Ids of the photos stored before ``cutoff`` (Unix seconds)."""

    def __contains__(self, media_id: object) -> bool:
        """Whether a photo is stored under ``media_id``."""


def _checked(media_id: object) -> str:
    if not isinstance(media_id, str) or not _KEY.match(media_id):
        raise MediaNotFound("malformed media id")
    return media_id


class MediaStore:
    """Photos on disk, addressed by content.

    Args:
        root: Folder of the store (created on first write).
        limits: What an acceptable photo is.
    """

    local = True

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
        _checked(media_id)
        for ext in EXTENSIONS.values():
            candidate = self.root / media_id[:2] / f"{media_id}{ext}"
            if candidate.is_file():
                return candidate
        raise MediaNotFound(f"no stored photo {media_id}")

    def get(self, media_id: str) -> bytes:
        """The bytes of a stored photo (see :meth:`path` for errors)."""
        return self.path(media_id).read_bytes()

    def file_name(self, media_id: str) -> str:
        """The stored file's name (see :meth:`path` for errors)."""
        return self.path(media_id).name

    def delete(self, media_id: str) -> bool:
        """Remove the photo ``media_id``; whether one was stored."""
        try:
            self.path(media_id).unlink(missing_ok=True)
        except MediaNotFound:
            return False
        return True

    def older_than(self, cutoff: float) -> list[str]:
        """Ids of the photos written before ``cutoff`` (Unix seconds)."""
        if not self.root.is_dir():
            return []
        suffixes = set(EXTENSIONS.values())
        return sorted(p.stem for p in self.root.glob("*/*") if p.suffix in suffixes
                      and _KEY.match(p.stem) and p.stat().st_mtime < cutoff)

    def __contains__(self, media_id: object) -> bool:
        try:
            self.path(str(media_id))
        except MediaNotFound:
            return False
        return True


class SQLMediaStore:
    """Photos in a database table (``media``), addressed by content: every server that
    reaches the database sees every photo, on any machine.

    Args:
        url: A SQLAlchemy URL (``postgresql+psycopg2://…``, ``sqlite:///…``); or pass
            ``engine``.
        engine: An engine to use instead of ``url``.
        limits: What an acceptable photo is.
        engine_options: ``create_engine`` options for ``url`` (time limits).
        clock: Unix seconds now (tests pass their own).
    """

    local = False

    def __init__(self, url: str | None = None, *, engine: Any = None,
                 limits: Limits = Limits(), engine_options: Mapping[str, Any] | None = None,
                 clock: Any = time.time) -> None:
        import sqlalchemy as sa

        if engine is None:
            if not url:
                raise ConfigError("SQLMediaStore needs a url or an engine")
            engine = sa.create_engine(url, future=True, **dict(engine_options or {}))
        self._sa, self._engine, self.limits, self._clock = sa, engine, limits, clock
        metadata = sa.MetaData()
        self._table = sa.Table(
            "media", metadata,
            sa.Column("media_id", sa.String(64), primary_key=True),
            sa.Column("mime", sa.String(32), nullable=False),
            sa.Column("size", sa.Integer, nullable=False),
            sa.Column("width", sa.Integer, nullable=False),
            sa.Column("height", sa.Integer, nullable=False),
            sa.Column("stored_at", sa.Float, nullable=False, index=True),
            sa.Column("data", sa.LargeBinary, nullable=False))
        self._ready = False

    @contextlib.contextmanager
    def _reached(self, write: bool = False) -> Iterator[Any]:
        """A connection (a transaction if ``write``); a database that is away, refuses
        or gives up on the statement is :class:`MediaUnavailable`."""
        try:
            if not self._ready:
                try:
                    self._table.metadata.create_all(self._engine)
                except (self._sa.exc.ProgrammingError, self._sa.exc.IntegrityError):
                    self._table.metadata.create_all(self._engine)  # made by another server
                self._ready = True
            with (self._engine.begin() if write else self._engine.connect()) as db:
                yield db
        except self._sa.exc.IntegrityError:
            raise
        except self._sa.exc.SQLAlchemyError as exc:
            raise MediaUnavailable(f"the media database cannot be reached: {exc}") from exc

    def put(self, data: bytes) -> MediaRef:
        """Check and store ``data``; storing the same bytes again is a no-op.

        Raises:
            vision.errors.ImageError: If ``data`` is not an acceptable image
                (nothing is written).
            vision.errors.MediaUnavailable: The database cannot be reached.
        """
        info = inspect(data, self.limits)
        ref = MediaRef(hashlib.sha256(data).hexdigest(), info.mime, info.size,
                       info.width, info.height)
        table = self._table
        if ref.media_id not in self:
            try:
                with self._reached(write=True) as db:
                    db.execute(table.insert().values(
                        media_id=ref.media_id, mime=ref.mime, size=ref.size,
                        width=ref.width, height=ref.height, stored_at=self._clock(),
                        data=data))
            except self._sa.exc.IntegrityError:  # the same photo, stored by another server
                pass
        return ref

    def _one(self, column: Any, media_id: object) -> Any:
        table = self._table
        with self._reached() as db:
            value = db.execute(self._sa.select(column).where(
                table.c.media_id == _checked(media_id))).scalar()
        if value is None:
            raise MediaNotFound(f"no stored photo {media_id}")
        return value

    def get(self, media_id: str) -> bytes:
        """The bytes of a stored photo.

        Raises:
            MediaNotFound: If the id is malformed or nothing is stored under it.
            MediaUnavailable: The database cannot be reached.
        """
        return bytes(self._one(self._table.c.data, media_id))

    def file_name(self, media_id: str) -> str:
        """``<media id><extension>`` (see :meth:`get` for errors)."""
        return f"{media_id}{EXTENSIONS.get(self._one(self._table.c.mime, media_id), '')}"

    def delete(self, media_id: str) -> bool:
        """Remove the photo ``media_id``; whether one was stored."""
        try:
            key = _checked(media_id)
        except MediaNotFound:
            return False
        table = self._table
        with self._reached(write=True) as db:
            return bool(db.execute(table.delete().where(table.c.media_id == key)).rowcount)

    def older_than(self, cutoff: float) -> list[str]:
        """Ids of the photos stored before ``cutoff`` (Unix seconds)."""
        table = self._table
        with self._reached() as db:
            return sorted(db.execute(self._sa.select(table.c.media_id).where(
                table.c.stored_at < cutoff)).scalars())

    def __contains__(self, media_id: object) -> bool:
        try:
            self._one(self._table.c.size, media_id)
        except MediaNotFound:
            return False
        return True


def open_media(root: str | Path, *, url: str | None = None, limits: Limits = Limits(),
               engine_options: Mapping[str, Any] | None = None) -> Media:
    """The shop's media store: the table at ``url`` when one is configured
    (``MEDIA_DB_URL``), else the folder ``root`` (``MEDIA_DIR``)."""
    if url:
        return SQLMediaStore(url, limits=limits, engine_options=engine_options)
    return MediaStore(Path(root), limits=limits)
