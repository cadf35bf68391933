"""Checking and decoding photos: every kind of bad upload gets a clear reason."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from tests.vision.conftest import encode
from vision.errors import ImageError
from vision.images import Limits, decode, inspect


def reason(data: bytes, limits: Limits = Limits()) -> str:
    with pytest.raises(ImageError) as caught:
        decode(data, limits)
    return caught.value.reason


def test_jpeg_png_gif_webp_are_accepted_with_the_decoded_type(photo: Image.Image) -> None:
    for fmt, mime in (("JPEG", "image/jpeg"), ("PNG", "image/png"), ("GIF", "image/gif"),
                      ("WEBP", "image/webp")):
        data = encode(photo, fmt)
        info = inspect(data)
        assert (info.mime, info.width, info.height, info.size) == (mime, 160, 120, len(data))
        image = decode(data)
        assert image.mode == "RGB" and image.size == (160, 120)


def test_not_an_image_empty_and_text_files_are_refused() -> None:
    assert reason(b"") == "empty"
    assert reason(b"%PDF-1.4 not a photo") == "not_an_image"
    assert reason(b"SELECT * FROM products; DROP TABLE orders;--") == "not_an_image"


def test_a_truncated_jpeg_is_corrupt(photo: Image.Image) -> None:
    data = encode(photo, "JPEG", quality=90)
    assert reason(data[: len(data) // 2]) == "corrupt"


def test_oversized_files_are_refused_before_decoding(photo: Image.Image) -> None:
    data = encode(photo, "PNG")
    assert reason(data, Limits(max_bytes=len(data) - 1)) == "too_large"
    assert reason(b"\xff" * (30 * 1024 * 1024)) == "too_large"  # a 30 MB upload


def png_bomb(width: int, height: int) -> bytes:
    """A valid PNG header claiming ``width x height`` pixels, with a tiny compressed body."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    body = zlib.compress(row * 64, 9)  # only a few rows: never decoded anyway
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + \
        chunk(b"IEND", b"")


def test_a_decompression_bomb_is_refused_from_its_header() -> None:
    data = png_bomb(60_000, 60_000)  # 3.6 gigapixels in a few hundred bytes
    assert len(data) < 10_000
    assert reason(data) == "too_many_pixels"
    assert reason(png_bomb(9_000, 9_000), Limits(max_pixels=50_000_000)) == "too_many_pixels"


def test_a_one_pixel_image_is_too_small() -> None:
    assert reason(encode(Image.new("RGB", (1, 1), "red"), "PNG")) == "too_small"


def test_unsupported_formats_are_named(photo: Image.Image) -> None:
    assert reason(encode(photo, "BMP")) == "unsupported"
    assert reason(encode(photo, "TIFF")) == "unsupported"


def test_transparency_is_flattened_on_white() -> None:
    rgba = Image.new("RGBA", (40, 40), (0, 0, 0, 0))
    rgba.paste((255, 0, 0, 255), (10, 10, 30, 30))
    image = decode(encode(rgba, "PNG"))
    assert image.mode == "RGB"
    assert image.getpixel((0, 0)) == (255, 255, 255) and image.getpixel((20, 20)) == (255, 0, 0)


def test_cmyk_jpeg_becomes_rgb(photo: Image.Image) -> None:
    image = decode(encode(photo.convert("CMYK"), "JPEG", quality=95))
    red = np.asarray(image)[60, 20]
    assert image.mode == "RGB" and red[0] > 150 and red[1] < 90


def test_animated_gif_uses_its_first_frame() -> None:
    frames = [Image.new("RGB", (32, 32), c) for c in ("blue", "yellow", "red")]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    data = out.getvalue()
    assert inspect(data).frames == 3
    r, g, b = decode(data).getpixel((16, 16))
    assert b > 200 and r < 50


def test_exif_orientation_is_applied(photo: Image.Image) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was rotated: display rotated 90° clockwise
    image = decode(encode(photo, "JPEG", exif=exif.tobytes(), quality=95))
    assert image.size == (120, 160)
    top = np.asarray(image)[5, 60]
    assert top[0] > 150  # the red left half is now on top


def test_greyscale_and_palette_images_become_rgb(photo: Image.Image) -> None:
    assert decode(encode(photo.convert("L"), "PNG")).mode == "RGB"
    deep = Image.fromarray(np.full((20, 30), 40_000, np.uint16))  # a 16-bit greyscale PNG
    grey = decode(encode(deep, "PNG"))
    assert grey.mode == "RGB" and 150 < grey.getpixel((5, 5))[0] < 160
    assert decode(encode(photo.convert("P"), "PNG")).mode == "RGB"
