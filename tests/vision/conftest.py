"""Fixtures: real photos written in every format and shape customers send."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image


def encode(image: Image.Image, fmt: str, **kwargs: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **kwargs)
    return out.getvalue()


@pytest.fixture
def photo() -> Image.Image:
    """A 160x120 RGB picture: a red block on the left, green on the right."""
    array = np.zeros((120, 160, 3), np.uint8)
    array[:, :80] = (200, 30, 30)
    array[:, 80:] = (30, 200, 30)
    return Image.fromarray(array)
