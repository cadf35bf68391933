"""The media store keeps good photos once, by content, and nothing else: in a folder
(the embedded default) and in a database table every server shares (scaled mode), on
SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image

from tests.databases import database_url
from tests.vision.conftest import encode
from vision.errors import ImageError, MediaNotFound, MediaUnavailable
from vision.media import Media, MediaStore, SQLMediaStore, open_media


def stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


@pytest.fixture(params=["folder", "sqlite", "postgresql"])
def opened(request: pytest.FixtureRequest, tmp_path: Path
           ) -> Iterator[Callable[..., Media]]:
    """Opens the store the way every server does (``open_media``): each call is another
    server's view of the same folder or database."""
    if request.param == "folder":
        yield lambda **kw: open_media(tmp_path / "media", **kw)
        return
    with database_url(request.param, tmp_path, prefix="media") as url:
        stores: list[Media] = []

        def open_one(**kw: object) -> Media:
            stores.append(open_media(tmp_path / "unused", url=url, **kw))  # type: ignore[arg-type]
            return stores[-1]

        yield open_one
        for store in stores:
            if isinstance(store, SQLMediaStore):
                store._engine.dispose()
        assert not (tmp_path / "unused").exists()  # nothing went to the folder


def test_every_store_keeps_a_photo_once_and_every_server_sees_it(
        opened: Callable[..., Media], photo: Image.Image) -> None:
    one, other = opened(), opened()
    data = encode(photo, "PNG")
    ref = one.put(data)
    assert ref.media_id == hashlib.sha256(data).hexdigest() and ref.mime == "image/png"
    assert ref.media_id in other and other.get(ref.media_id) == data
    assert other.put(data) == ref  # the same photo from another server: stored once
    assert other.file_name(ref.media_id) == f"{ref.media_id}.png"
    assert one.older_than(2e9) == [ref.media_id] and one.older_than(0) == []
    assert other.delete(ref.media_id) and ref.media_id not in one
    assert not one.delete(ref.media_id)
    with pytest.raises(MediaNotFound):
        one.get(ref.media_id)


def test_every_store_refuses_bad_photos_and_foreign_ids(
        opened: Callable[..., Media], photo: Image.Image) -> None:
    store = opened()
    for bad in (b"", b"hello", encode(photo, "JPEG")[:200]):
        with pytest.raises(ImageError):
            store.put(bad)
    assert store.older_than(2e9) == []  # nothing was kept
    for bad in ("../secret.txt", "a" * 63, "A" * 64, "", "0" * 64, "x' OR '1'='1"):
        with pytest.raises(MediaNotFound):
            store.get(bad)
        assert bad not in store and not store.delete(bad)


def test_a_database_that_cannot_be_reached_is_said_so_not_a_crash(
        tmp_path: Path, photo: Image.Image) -> None:
    """Scaled mode's photos when PostgreSQL is away: the callers say photo search is
    busy (``MediaUnavailable``), they do not fail with a driver's error."""
    from shop.postgres import server_options

    url = "postgresql+psycopg2://postgres@127.0.0.1:9/nothing"  # nothing listens there
    store = open_media(tmp_path, url=url, engine_options=server_options(url))
    with pytest.raises(MediaUnavailable):
        store.put(encode(photo, "PNG"))
    with pytest.raises(MediaUnavailable):
        store.get("0" * 64)
    with pytest.raises(MediaUnavailable):
        "0" * 64 in store  # noqa: B015 - the check itself is what is tested


def test_a_photo_is_stored_under_its_hash_once(tmp_path: Path, photo: Image.Image) -> None:
    store = MediaStore(tmp_path / "media")
    data = encode(photo, "JPEG")
    ref = store.put(data)
    assert ref.media_id == hashlib.sha256(data).hexdigest()
    assert (ref.mime, ref.width, ref.height, ref.size) == ("image/jpeg", 160, 120, len(data))
    assert store.get(ref.media_id) == data and ref.media_id in store
    assert store.put(data) == ref
    assert len(stored_files(tmp_path)) == 1
    assert store.path(ref.media_id).suffix == ".jpg"


def test_rejected_uploads_leave_nothing_behind(tmp_path: Path, photo: Image.Image) -> None:
    store = MediaStore(tmp_path / "media")
    jpeg = encode(photo, "JPEG")
    for bad in (b"", b"hello", jpeg[:200], encode(Image.new("RGB", (1, 1)), "PNG")):
        with pytest.raises(ImageError):
            store.put(bad)
    assert stored_files(tmp_path) == []


def test_ids_cannot_escape_the_store(tmp_path: Path, photo: Image.Image) -> None:
    store = MediaStore(tmp_path / "media")
    store.put(encode(photo, "PNG"))
    (tmp_path / "secret.txt").write_text("x")
    for bad in ("../secret.txt", "../../etc/passwd", "a" * 63, "A" * 64, "", "0" * 64):
        with pytest.raises(MediaNotFound):
            store.get(bad)
        assert bad not in store


def test_a_truncated_gif_is_damaged_not_a_crash(tmp_path: Path) -> None:
    """Found by make fuzz-parsers: counting a truncated GIF's frames made Pillow raise
    IndexError, which the upload route answered with 500."""
    import base64

    import pytest

    from vision.errors import ImageError
    from vision.images import inspect
    from vision.media import MediaStore

    gif = base64.b64decode("R0lGODdhCAAkAAEAAAAALABhAAAkAAEAAAAALBBhAAAILn4G90dJRjg3YQgAJAY"
                           "ALP8BAAAIBvdHSUY4N2EIACQALAb/AQAAEGEACAwAAQ==")
    with pytest.raises(ImageError) as refused:
        inspect(gif)
    assert refused.value.reason == "corrupt"
    store = MediaStore(tmp_path / "media")
    with pytest.raises(ImageError):
        store.put(gif)
    assert not (tmp_path / "media").exists() or not any((tmp_path / "media").rglob("*.*"))
