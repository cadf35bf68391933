"""Versioned policy artefacts without pickle, a store that hot-reloads them, and training.

Layout under the store's root::

    CURRENT                 name of the live version (replaced atomically)
    <version>/manifest.json kind, price actions, categories, personal attributes, counts
    <version>/policy.npz    the policy's arrays (read with ``allow_pickle=False``)

Training (:func:`train`) continues the live policy with the outcomes of the
quotes logged since it was published: for each live quote with a known cost,
the units the customer ordered within the attribution window and the reward
they earned. A quote nobody followed with an order earns 0; shadow quotes are
learnt from too, at the list price that was actually quoted.
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

from pricing.config import PricingConfig
from pricing.context import Context, Featurizer
from pricing.engine import LoadedPolicy
from pricing.errors import PolicyError
from pricing.policies import DQN, DemandThompson, Policy, restore

FORMAT = 1
KINDS = (DemandThompson.kind, DQN.kind)


@dataclass(frozen=True)
class Outcome:
    """What followed one logged quote: the price actually quoted and what it sold."""

    context: dict[str, Any]
    action: float
    units: float
    reward: float


def new_policy(kind: str, *, featurizer: Featurizer, config: PricingConfig) -> Policy:
    """An untrained policy of ``kind`` (``thompson`` or ``dqn``)."""
    if kind == DemandThompson.kind:
        return DemandThompson(dim=featurizer.dim, actions=config.actions,
                              margin_columns=featurizer.margin_columns,
                              sales_weight=config.reward.sales_weight, discount=config.discount)
    if kind == DQN.kind:
        return DQN(dim=featurizer.dim, n_actions=len(config.actions))
    raise PolicyError(f"unknown policy kind {kind!r}; choose from {', '.join(KINDS)}")


def train(policy: Policy, featurizer: Featurizer, outcomes: Sequence[Outcome],
          config: PricingConfig) -> int:
    """Teach ``policy`` the ``outcomes`` (in order); returns how many were used.

    Outcomes whose price is not one of the configured actions (a guardrail moved
    it) teach the nearest action.
    """
    if not outcomes:
        return 0
    actions = np.asarray(config.actions)
    x = np.stack([featurizer(Context.from_record(o.context)) for o in outcomes])
    index = np.abs(actions[None, :] - np.asarray([o.action for o in outcomes])[:, None]
                   ).argmin(axis=1)
    units = np.asarray([o.units for o in outcomes], dtype=np.float64)
    rewards = np.asarray([o.reward for o in outcomes], dtype=np.float64)
    if isinstance(policy, DQN):
        policy.fit(x, index, rewards)
        return len(outcomes)
    for i in range(len(outcomes)):
        policy.update(x[i:i + 1], index[i:i + 1], rewards[i:i + 1], units=units[i:i + 1])
    return len(outcomes)


class PolicyStore:
    """Publishes policy versions and serves the current one, reloading when it changes.

    Args:
        root: Folder of the versions.
        keep: Versions kept on disk.
        check_seconds: How often :meth:`current` looks for a new version.
    """

    def __init__(self, root: Path, *, keep: int = 3, check_seconds: float = 5.0) -> None:
        self.root, self.keep, self.check_seconds = root, keep, check_seconds
        self._lock = threading.Lock()
        self._loaded: tuple[str, LoadedPolicy] | None = None
        self._checked = 0.0

    def publish(self, policy: Policy, featurizer: Featurizer, config: PricingConfig, *,
                info: dict[str, Any] | None = None) -> str:
        """Save ``policy`` as a new version and make it current; returns the version."""
        self.root.mkdir(parents=True, exist_ok=True)
        version = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%f")
        folder = self.root / version
        folder.mkdir()
        manifest = {"format": FORMAT, "kind": policy.kind, "actions": list(config.actions),
                    "categories": list(featurizer.categories),
                    "personalise": list(featurizer.personalise), "dim": featurizer.dim,
                    "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                    "info": info or {}}
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=1))
        arrays: dict[str, Any] = policy.state()
        np.savez(folder / "policy.npz", **arrays)
        tmp = self.root / "CURRENT.tmp"
        tmp.write_text(version)
        os.replace(tmp, self.root / "CURRENT")
        self._prune(version)
        return version

    def _prune(self, current: str) -> None:
        versions = sorted(p for p in self.root.iterdir() if p.is_dir())
        for old in versions[:-self.keep]:
            if old.name != current:
                shutil.rmtree(old, ignore_errors=True)

    def current_version(self) -> str | None:
        """Name of the live version, or ``None`` before the first publish."""
        try:
            return (self.root / "CURRENT").read_text().strip() or None
        except FileNotFoundError:
            return None

    def load(self, version: str) -> tuple[LoadedPolicy, dict[str, Any]]:
        """Load ``version`` and its manifest.

        Raises:
            PolicyError: If it is missing or corrupt.
        """
        folder = self.root / version
        try:
            manifest = json.loads((folder / "manifest.json").read_text())
            with np.load(folder / "policy.npz", allow_pickle=False) as arrays:
                state = {k: arrays[k] for k in arrays.files}
        except (OSError, ValueError) as exc:
            raise PolicyError(f"cannot read pricing policy {version}: {exc}") from exc
        if manifest.get("format") != FORMAT:
            raise PolicyError(f"pricing policy {version} has format {manifest.get('format')}")
        featurizer = Featurizer(categories=manifest["categories"],
                                personalise=manifest["personalise"])
        if featurizer.dim != manifest["dim"]:
            raise PolicyError(f"pricing policy {version} was built for another feature layout")
        return LoadedPolicy(restore(manifest["kind"], state), version, featurizer), manifest

    def current(self) -> LoadedPolicy | None:
        """The live policy (reloaded at most every ``check_seconds``), or ``None``."""
        with self._lock:
            now = time.monotonic()
            if self._loaded is not None and now - self._checked < self.check_seconds:
                return self._loaded[1]
            self._checked = now
            version = self.current_version()
            if version is None:
                return None
            if self._loaded is None or self._loaded[0] != version:
                self._loaded = (version, self.load(version)[0])
            return self._loaded[1]


def categories_of(products: Iterable[tuple[str, float]], *, limit: int = 30) -> list[str]:
    """The categories that get a feature of their own: the ``limit`` best sellers."""
    totals: dict[str, float] = {}
    for category, sold in products:
        totals[category] = totals.get(category, 0.0) + sold
    return [c for c, _ in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]]
