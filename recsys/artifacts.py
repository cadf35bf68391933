"""Versioned model artefacts without pickle, and a store that hot-reloads new versions.

Layout under the store's root::

    CURRENT                      name of the live version (replaced atomically)
    <version>/manifest.json      format, configuration, feature names, ids
    <version>/data.npz           interactions the model serves from
    <version>/<channel>.npz      each recall channel's arrays
    <version>/ranker.txt         LightGBM's text model ("" when untrained)

Every array file is read with ``allow_pickle=False``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from recsys.channels.base import sparse_from_state, sparse_state
from recsys.data import Dataset
from recsys.errors import ArtifactError
from recsys.pipeline import CHANNEL_TYPES, Catalog, Recommender
from recsys.ranker import Ranker

FORMAT = 1


def save(model: Recommender, folder: Path, *, info: dict[str, Any] | None = None) -> Path:
    """Write ``model`` into ``folder`` (created; must not exist)."""
    data, catalog = model.dataset(), model.catalog
    assert catalog is not None
    folder.mkdir(parents=True)
    manifest = {
        "format": FORMAT,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "channels": {name: model.channel_config[name] for name in model.channels},
        "candidates": model.candidates,
        "exclude_seen": model.exclude_seen,
        "fresh_slots": model.fresh_slots,
        "ranker": model.ranker_config,
        "rank_columns": model.ranker.rank_columns,
        "ranked_by": model.ranked_by,
        "check_scores": model.check_scores,
        "feature_names": model.feature_names,
        "now": data.now,
        "info": info or {},
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False))
    arrays: dict[str, Any] = dict(
             user_ids=np.asarray(data.user_ids, dtype=str),
             item_ids=np.asarray(data.item_ids, dtype=str),
             categories=np.asarray(catalog.categories or [""] * data.n_items, dtype=str),
             prices=np.asarray(catalog.prices if len(catalog.prices)
                               else np.full(data.n_items, np.nan), dtype=np.float64),
             item_first_time=data.item_first_time, item_last_time=data.item_last_time,
             **sparse_state("matrix", data.matrix), **sparse_state("counts", data.counts),
             **sparse_state("last", data.last_time))
    np.savez(folder / "data.npz", **arrays)
    for name, channel in model.channels.items():
        state: dict[str, Any] = channel.state()
        np.savez(folder / f"{name}.npz", **state)
    (folder / "ranker.txt").write_text(model.ranker.to_text())
    return folder


def load(folder: Path) -> Recommender:
    """Read a model :func:`save` wrote.

    Raises:
        ArtifactError: If a file is missing, unreadable or from another format.
    """
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
        if manifest.get("format") != FORMAT:
            raise ArtifactError(f"{folder}: format {manifest.get('format')}, expected {FORMAT}")
        with np.load(folder / "data.npz", allow_pickle=False) as saved:
            arrays = dict(saved)
        channels = {}
        for name in manifest["channels"]:
            if name not in CHANNEL_TYPES:
                raise ArtifactError(f"{folder}: unknown channel {name!r}")
            with np.load(folder / f"{name}.npz", allow_pickle=False) as saved:
                channels[name] = CHANNEL_TYPES[name].from_state(dict(saved),
                                                                manifest["channels"][name])
        ranker_text = (folder / "ranker.txt").read_text()
    except (OSError, ValueError, KeyError) as exc:
        raise ArtifactError(f"cannot read the model in {folder}: {exc}") from exc
    matrix = sparse_from_state("matrix", arrays)
    item_ids = arrays["item_ids"].tolist()
    data = Dataset(arrays["user_ids"].tolist(), item_ids, matrix,
                   sparse_from_state("counts", arrays), sparse_from_state("last", arrays),
                   arrays["item_last_time"], arrays["item_first_time"], float(manifest["now"]),
                   matrix[:0])
    categories = arrays["categories"].tolist()
    model = Recommender(channels=manifest["channels"], candidates=manifest["candidates"],
                        ranker=manifest["ranker"], exclude_seen=manifest["exclude_seen"],
                        fresh_slots=manifest.get("fresh_slots", 0))
    content = channels.get("content")
    model.catalog = Catalog(item_ids, categories=categories if any(categories) else [],
                            prices=arrays["prices"],
                            vectors=getattr(content, "vectors", None))
    model._set_catalog(model.catalog)
    model.channels, model.data = channels, data
    model.feature_names = manifest["feature_names"]
    model._item_users = np.diff(matrix.tocsc().indptr).astype(np.float64)
    model.ranker = Ranker.from_text(ranker_text, rank_columns=manifest["rank_columns"])
    model.ranked_by = manifest.get("ranked_by", "ranker")
    model.check_scores = dict(manifest.get("check_scores", {}))
    return model


class ModelStore:
    """Saves versions under ``root`` and serves the current one, reloading when it changes.

    Args:
        root: Folder of the versions and the ``CURRENT`` pointer.
        keep: Versions kept on disk (older ones are deleted after a publish).
        check_seconds: How often :meth:`current` looks for a newer version.
    """

    def __init__(self, root: Path, *, keep: int = 3, check_seconds: float = 5.0) -> None:
        self.root, self.keep, self.check_seconds = root, keep, check_seconds
        self._lock = threading.Lock()
        self._model: Recommender | None = None
        self._version: str | None = None
        self._checked = 0.0

    def publish(self, model: Recommender, *, info: dict[str, Any] | None = None) -> str:
        """Save ``model`` as a new version and make it current (atomically)."""
        self.root.mkdir(parents=True, exist_ok=True)
        version = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        staging = self.root / f".staging-{version}"
        save(model, staging, info={**(info or {}), "version": version})
        staging.rename(self.root / version)
        pointer = self.root / ".CURRENT.tmp"
        pointer.write_text(version)
        os.replace(pointer, self.root / "CURRENT")
        self._prune(version)
        return version

    def _prune(self, current: str) -> None:
        versions = sorted(p.name for p in self.root.iterdir()
                          if p.is_dir() and not p.name.startswith("."))
        for old in versions[:-self.keep]:
            if old != current:
                shutil.rmtree(self.root / old, ignore_errors=True)

    def current_version(self) -> str | None:
        """The version ``CURRENT`` names, or ``None`` before the first publish."""
        try:
            return (self.root / "CURRENT").read_text().strip() or None
        except OSError:
            return None

    def current(self) -> tuple[Recommender, str] | None:
        """The live model and its version, loading a newer one when it has appeared.

        A version that fails to load is skipped (the previous model keeps serving).
        """
        now = time.monotonic()
        with self._lock:
            if self._model is not None and now - self._checked < self.check_seconds:
                return self._model, self._version or ""
            self._checked = now
            version = self.current_version()
            if version and version != self._version:
                try:
                    self._model, self._version = load(self.root / version), version
                except ArtifactError:
                    if self._model is None:
                        raise
            if self._model is None:
                return None
            return self._model, self._version or ""
