"""Errors raised by the :mod:`vision` package."""

from __future__ import annotations


class VisionError(Exception):
    """Root of every error the vision package raises."""


class ConfigError(VisionError, ValueError):
    """A configuration value is missing, malformed or out of range."""


class ImageError(VisionError):
    """An uploaded file cannot be used as a photo.

    Attributes:
        reason: A short machine-readable code (``not_an_image``, ``too_large``,
            ``too_many_pixels``, ``too_small``, ``corrupt``, ``unsupported``,
            ``empty``) that callers map to replies and HTTP statuses.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class MediaNotFound(VisionError, KeyError):
    """No stored file has this media id (or the id is malformed)."""


class MediaUnavailable(VisionError):
    """The media store cannot be reached now (its database is away or too slow)."""


class IndexFormatError(VisionError):
    """A saved image index is missing, incomplete or from an incompatible version."""


class ModelUnavailable(VisionError):
    """The image encoder's weights (a registry package) are not installed."""
