"""The media store keeps good photos once, by content, and nothing else."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from PIL import Image

from tests.vision.conftest import encode
from vision.errors import ImageError, MediaNotFound
from vision.media import MediaStore


def stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


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
