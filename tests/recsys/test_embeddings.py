"""Product-text embeddings: cached by text, seeded with the demo catalog's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from recsys import embeddings
from recsys.embeddings import EmbeddingCache


def fake_encoder(calls: list[list[str]]) -> Any:
    def encode(texts: list[str], **_: Any) -> np.ndarray:
        calls.append(list(texts))
        out = np.zeros((len(texts), embeddings.DIMENSIONS), np.float32)
        for i, text in enumerate(texts):
            out[i, hash(text) % embeddings.DIMENSIONS] = 1.0
        return out
    return encode


def test_a_seeded_text_is_not_encoded_again_and_the_shops_own_file_wins(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []
    monkeypatch.setattr(embeddings, "encode_texts", fake_encoder(calls))
    seed = tmp_path / "seed.npz"
    assert embeddings.write_seed(["red shoes", "blue phone", "red shoes", " "], seed) == 2
    calls.clear()
    cache = EmbeddingCache(tmp_path / "own.npz", seeds=[seed, tmp_path / "missing.npz"])
    vectors = cache.encode(["red shoes", "green kettle"])
    assert calls == [["green kettle"]]  # the seeded text came from the seed
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    # the shop's own file is written, and read after the seed: its vectors win
    own = EmbeddingCache(tmp_path / "own.npz")
    own._vectors[EmbeddingCache.key("red shoes")] = -vectors[0]
    own.save()
    again = EmbeddingCache(tmp_path / "own.npz", seeds=[seed]).encode(["red shoes"])
    assert np.allclose(again[0], -vectors[0]) and calls == [["green kettle"]]


@pytest.mark.slow
def test_the_shipped_seed_is_the_demo_catalogs_and_matches_the_encoder(
        demo_env: dict[str, str]) -> None:
    """Kept true to the demo shop: every demo product's text is in it, and its vectors
    are what the encoder gives (half precision). `make demo-embeddings` rewrites it."""
    from actions.settings import load_settings
    from scripts.train_recsys import DEMO_EMBEDDINGS
    from shop.db import make_engine, session_factory
    from shop.feedback import FeedbackStore

    engine = make_engine(load_settings(demo_env).database_url)
    texts = [p.text for p in FeedbackStore(session_factory(engine)).products()]
    engine.dispose()
    seeded = embeddings._read(DEMO_EMBEDDINGS)
    assert texts and all(EmbeddingCache.key(t) in seeded for t in texts)
    sample = texts[:: max(1, len(texts) // 3)][:3]
    fresh = embeddings.encode_texts(sample)
    for text, vector in zip(sample, fresh, strict=True):
        assert float(vector @ seeded[EmbeddingCache.key(text)]) > 0.999
