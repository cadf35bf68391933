"""The catalog's image vectors in a faiss index, with the id map, saved and hot-reloaded.

Layout of an :class:`IndexStore`::

    CURRENT                   name of the live version (replaced atomically)
    <version>/manifest.json   format, encoder version, score bounds, id map
    <version>/images.faiss    the faiss index (inner product over unit vectors)
    <version>/vectors.npz     the encoder's raw vectors and the projection, if any

Every array file is read with ``allow_pickle=False``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vision.adapt import DECISIONS
from vision.errors import ConfigError, IndexFormatError

FORMAT = 1


@dataclass(frozen=True)
class Hit:
    """A catalog product matched by a photo.

    Attributes:
        product: Product id.
        score: Cosine similarity of the best-matching image of the product.
        image: Key of that image (its URI or media id).
    """

    product: str
    score: float
    image: str


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


class ImageIndex:
    """Catalog images (several per product allowed) searchable by a photo's vector.

    Args:
        dim: Length of the encoder's vectors.
        model_version: The encoder version the vectors come from; queries must match.
        projection: Optional ``dim x d`` matrix applied to every vector (and
            query) before normalising, e.g. one learned by
            :func:`vision.adapt.fit_projection`.
        threshold: Lowest score of a confident match (``None``: not calibrated).
        floor: Lowest score worth showing as an alternative (``None``: not calibrated).
        decision: The rule of the score ``threshold`` applies to
            (:func:`vision.adapt.decision_scores`; ``score``: the best score alone).
    """

    def __init__(self, *, dim: int, model_version: str, projection: np.ndarray | None = None,
                 threshold: float | None = None, floor: float | None = None,
                 decision: str = "score") -> None:
        if dim < 1 or (projection is not None and projection.shape[0] != dim):
            raise ConfigError("dim >= 1 and a projection with dim rows required")
        self.dim, self.model_version, self.threshold = dim, model_version, threshold
        self.floor, self.decision = floor, decision
        self.projection = None if projection is None else projection.astype(np.float32)
        self._ids = np.zeros(0, np.int64)
        self._products: list[str] = []
        self._images: list[str] = []
        self._raw = np.zeros((0, dim), np.float32)
        self._faiss: Any = None

    # --- contents -------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._products)

    def entries(self) -> set[tuple[str, str]]:
        """Every indexed ``(product, image)`` pair."""
        return set(zip(self._products, self._images, strict=True))

    def products(self) -> set[str]:
        return set(self._products)

    @property
    def memory_bytes(self) -> int:
        """Bytes the searchable vectors take (the faiss index, without Python overhead)."""
        return int(len(self) * self.out_dim * 4)

    @property
    def out_dim(self) -> int:
        return self.dim if self.projection is None else int(self.projection.shape[1])

    def add(self, products: Sequence[str], images: Sequence[str], vectors: np.ndarray) -> None:
        """Index images; an already indexed ``(product, image)`` pair is replaced."""
        if not (len(products) == len(images) == len(vectors)) or \
                (len(vectors) and vectors.shape[1] != self.dim):
            raise ConfigError(f"one {self.dim}-d vector per product image required")
        if not len(vectors):
            return
        self.remove(pairs=set(zip(products, images, strict=True)))
        self._products += list(products)
        self._images += list(images)
        self._raw = np.vstack([self._raw, _normalise(vectors)])
        self._faiss = None

    def remove(self, *, products: Iterable[str] = (), images: Iterable[str] = (),
               pairs: Iterable[tuple[str, str]] = ()) -> int:
        """Drop every image of ``products``, every entry of ``images`` and the ``pairs``.

        Returns:
            How many entries were removed.
        """
        drop_p, drop_i, drop_pairs = set(products), set(images), set(pairs)
        keep = [i for i, (p, im) in enumerate(zip(self._products, self._images, strict=True))
                if p not in drop_p and im not in drop_i and (p, im) not in drop_pairs]
        removed = len(self) - len(keep)
        if removed:
            self._products = [self._products[i] for i in keep]
            self._images = [self._images[i] for i in keep]
            self._raw = self._raw[keep]
            self._faiss = None
        return removed

    def set_projection(self, projection: np.ndarray | None) -> None:
        """Replace the projection (every vector is re-projected from its raw form)."""
        if projection is not None and projection.shape[0] != self.dim:
            raise ConfigError(f"the projection needs {self.dim} rows")
        self.projection = None if projection is None else projection.astype(np.float32)
        self._faiss = None

    def raw_vectors(self) -> tuple[list[str], list[str], np.ndarray]:
        """Products, images and the encoder's (unprojected) vectors, row for row."""
        return list(self._products), list(self._images), self._raw.copy()

    # --- search ---------------------------------------------------------------------

    def project(self, vectors: np.ndarray) -> np.ndarray:
        """Unit vectors in the searched space."""
        vectors = _normalise(vectors)
        return vectors if self.projection is None else _normalise(vectors @ self.projection)

    def _searcher(self) -> Any:
        if self._faiss is None:
            import faiss

            faiss.omp_set_num_threads(1)  # one query at a time: threads only contend
            index = faiss.IndexFlatIP(self.out_dim)
            if len(self):
                index.add(self.project(self._raw))
            self._faiss = index
        return self._faiss

    def search(self, queries: np.ndarray, k: int = 5) -> list[list[Hit]]:
        """The ``k`` best products for each query vector, best image per product."""
        if k < 1:
            raise ConfigError("k >= 1 required")
        if queries.ndim != 2 or queries.shape[1] != self.dim:
            raise ConfigError(f"queries must be n x {self.dim}")
        if not len(self):
            return [[] for _ in range(len(queries))]
        projected = self.project(queries)
        depth = min(len(self), max(k * 8, 32))
        results: list[list[Hit] | None] = [None] * len(queries)
        todo = np.arange(len(queries))
        while len(todo):  # a product with many photos can fill the depth: look deeper
            scores, rows = self._searcher().search(projected[todo], depth)
            again = []
            for q, score_row, id_row in zip(todo.tolist(), scores, rows, strict=True):
                best: dict[str, Hit] = {}
                for score, row in zip(score_row.tolist(), id_row.tolist(), strict=True):
                    if row >= 0 and self._products[row] not in best:
                        best[self._products[row]] = Hit(self._products[row], float(score),
                                                        self._images[row])
                        if len(best) == k:
                            break
                if len(best) < k and depth < len(self):
                    again.append(q)
                else:
                    results[q] = list(best.values())
            todo = np.asarray(again, np.int64)
            depth = min(len(self), depth * 4)
        return [r or [] for r in results]

    # --- persistence ----------------------------------------------------------------

    def save(self, folder: Path) -> Path:
        """Write the index into ``folder`` (created; must not exist)."""
        import faiss

        folder.mkdir(parents=True)
        faiss.write_index(self._searcher(), str(folder / "images.faiss"))
        arrays: dict[str, Any] = {"raw": self._raw}
        if self.projection is not None:
            arrays["projection"] = self.projection
        np.savez(folder / "vectors.npz", **arrays)
        manifest = {"format": FORMAT, "model_version": self.model_version, "dim": self.dim,
                    "threshold": self.threshold, "floor": self.floor, "decision": self.decision,
                    "products": self._products,
                    "images": self._images,
                    "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
        (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False))
        return folder

    @classmethod
    def load(cls, folder: Path) -> ImageIndex:
        """Read an index :meth:`save` wrote.

        Raises:
            IndexFormatError: If a file is missing, unreadable or inconsistent.
        """
        import faiss

        try:
            manifest = json.loads((folder / "manifest.json").read_text())
            if manifest.get("format") != FORMAT:
                raise IndexFormatError(f"{folder}: format {manifest.get('format')}, "
                                       f"expected {FORMAT}")
            with np.load(folder / "vectors.npz", allow_pickle=False) as arrays:
                raw = arrays["raw"].astype(np.float32)
                projection = arrays.get("projection")
            index = cls(dim=int(manifest["dim"]), model_version=str(manifest["model_version"]),
                        projection=projection, threshold=manifest.get("threshold"),
                        floor=manifest.get("floor"),
                        decision=str(manifest.get("decision") or "score"))
            if index.decision not in DECISIONS:
                raise ValueError(f"unknown decision rule {index.decision!r}")
            searcher = faiss.read_index(str(folder / "images.faiss"))
        except (OSError, KeyError, ValueError, RuntimeError) as exc:
            raise IndexFormatError(f"{folder}: unreadable image index ({exc})") from exc
        products, images = list(manifest["products"]), list(manifest["images"])
        if not (len(products) == len(images) == len(raw) == searcher.ntotal) \
                or searcher.d != index.out_dim:
            raise IndexFormatError(f"{folder}: the id map and the vectors disagree")
        index._products, index._images, index._raw = products, images, raw
        index._faiss = searcher
        return index


class IndexStore:
    """Versions of the image index in a folder; readers pick up new ones on their own.

    Args:
        root: The store's folder.
        check_seconds: How often :meth:`current` looks at ``CURRENT``.
        keep: Old versions kept when publishing.
    """

    def __init__(self, root: Path, *, check_seconds: float = 5.0, keep: int = 3) -> None:
        self.root, self.check_seconds, self.keep = Path(root), check_seconds, keep
        self._lock = threading.Lock()
        self._loaded: tuple[str, ImageIndex] | None = None
        self._checked = 0.0

    def publish(self, index: ImageIndex) -> str:
        """Save ``index`` as a new version and make it the live one."""
        self.root.mkdir(parents=True, exist_ok=True)
        version = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        index.save(self.root / version)
        tmp = self.root / f".CURRENT.{os.getpid()}"
        tmp.write_text(version)
        os.replace(tmp, self.root / "CURRENT")
        versions = sorted(p for p in self.root.iterdir() if p.is_dir() and p.name[0].isdigit())
        for old in versions[:-self.keep]:
            if old.name != version:
                shutil.rmtree(old, ignore_errors=True)
        return version

    def version(self) -> str | None:
        try:
            return (self.root / "CURRENT").read_text().strip() or None
        except OSError:
            return None

    def load_current(self) -> ImageIndex | None:
        """The live version read from disk (``None`` when none was published)."""
        version = self.version()
        return None if version is None else ImageIndex.load(self.root / version)

    def current(self) -> ImageIndex | None:
        """The live index, reloaded when a new version was published.

        A version that cannot be read is skipped (the one in memory stays).
        """
        now = time.monotonic()
        with self._lock:
            if self._loaded is not None and now - self._checked < self.check_seconds:
                return self._loaded[1]
            self._checked = now
            version = self.version()
            if version is None:
                return self._loaded[1] if self._loaded else None
            if self._loaded is None or self._loaded[0] != version:
                try:
                    self._loaded = (version, ImageIndex.load(self.root / version))
                except IndexFormatError:
                    return self._loaded[1] if self._loaded else None
            return self._loaded[1]
