"""Reading customers' photos safely: type, size and pixel checks, then decoding to RGB.

Only Pillow and the standard library are used, so the Rasa channel (another
Python) can run the same checks before anything is stored.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from vision.errors import ImageError

MIME_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif",
              "WEBP": "image/webp"}
EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif",
              "image/webp": ".webp"}
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_PIXELS = 40_000_000
DEFAULT_MIN_SIDE = 16


@dataclass(frozen=True)
class ImageInfo:
    """What the header and a full decode of an image file say.

    Attributes:
        mime: ``image/jpeg``, ``image/png``, ``image/gif`` or ``image/webp``.
        width: Pixels across, before EXIF rotation.
        height: Pixels down, before EXIF rotation.
        frames: Number of frames (more than one for animations).
        size: Bytes.
    """

    mime: str
    width: int
    height: int
    frames: int
    size: int


@dataclass(frozen=True)
class Limits:
    """What an acceptable photo is.

    Attributes:
        max_bytes: Largest file.
        max_pixels: Most pixels (width times height), checked from the header
            before decoding so a decompression bomb is never expanded.
        min_side: Shortest acceptable side in pixels.
    """

    max_bytes: int = DEFAULT_MAX_BYTES
    max_pixels: int = DEFAULT_MAX_PIXELS
    min_side: int = DEFAULT_MIN_SIDE


def _open(data: bytes, limits: Limits) -> Image.Image:
    if not data:
        raise ImageError("empty", "the file is empty")
    if len(data) > limits.max_bytes:
        raise ImageError("too_large", f"the file is larger than {limits.max_bytes} bytes")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, Image.DecompressionBombWarning,
            Image.DecompressionBombError) as exc:
        if isinstance(exc, UnidentifiedImageError):
            raise ImageError("not_an_image", "the file is not an image") from None
        raise ImageError("too_many_pixels", "the image has too many pixels") from None
    except (OSError, ValueError, SyntaxError):
        raise ImageError("corrupt", "the image file is damaged") from None
    if image.format not in MIME_TYPES:
        raise ImageError("unsupported", f"{image.format} images are not supported; "
                                        "send a JPEG, PNG, GIF or WebP")
    width, height = image.size
    if width * height > limits.max_pixels:
        raise ImageError("too_many_pixels",
                         f"the image has {width}x{height} pixels, more than {limits.max_pixels}")
    if min(width, height) < limits.min_side:
        raise ImageError("too_small", f"the image is {width}x{height} pixels; at least "
                                      f"{limits.min_side} on each side is needed")
    return image


def inspect(data: bytes, limits: Limits = Limits()) -> ImageInfo:
    """Check that ``data`` is a whole, decodable image within ``limits``.

    Raises:
        ImageError: With a reason code and a message for the customer's client.
    """
    image = _open(data, limits)
    try:
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        image.load()  # decodes the first frame: truncated or broken data fails here
        # counting frames reads the rest: a truncated GIF made Pillow raise IndexError
        # here (make fuzz-parsers found it), so any failure of the decoder is the file's
        frames = int(getattr(image, "n_frames", 1))
    except Exception:  # noqa: BLE001 - Pillow's decoders raise many kinds on bad data
        raise ImageError("corrupt", "the image file is damaged or truncated") from None
    return ImageInfo(MIME_TYPES[str(image.format)], image.size[0], image.size[1],
                     frames, len(data))


def to_rgb(image: Image.Image) -> Image.Image:
    """An upright RGB copy: first frame, EXIF rotation applied, transparency on white."""
    if getattr(image, "n_frames", 1) > 1:
        image.seek(0)
    image = ImageOps.exif_transpose(image) or image
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("RGBA", "LA", "PA", "RGBa"):
        rgba = image.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, (255, 255, 255))
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    if image.mode.startswith("I"):  # 16-bit greyscale (scientific or scanner PNGs)
        image = image.point(lambda v: v / 256).convert("L")
    return image.convert("RGB") if image.mode != "RGB" else image.copy()


def decode(data: bytes, limits: Limits = Limits()) -> Image.Image:
    """Check ``data`` (see :func:`inspect`) and return it as an upright RGB image.

    Raises:
        ImageError: If the file is not a usable image.
    """
    inspect(data, limits)
    image = _open(data, limits)
    try:
        return to_rgb(image)
    except Exception:  # noqa: BLE001 - Pillow's decoders raise many kinds on bad data
        raise ImageError("corrupt", "the image file is damaged or truncated") from None
