"""A/B experiments: deterministic variant assignment and per-variant outcomes."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from recsys.errors import ConfigError

BUCKETS = 10_000


@dataclass(frozen=True)
class Experiment:
    """An experiment splitting users between variants by weight.

    Attributes:
        name: Experiment name; part of the hash, so a new experiment reshuffles users.
        variants: Variant name to its share of traffic (any positive weights).
    """

    name: str
    variants: Mapping[str, float]

    def __post_init__(self) -> None:
        if not self.name or not self.variants:
            raise ConfigError("an experiment needs a name and at least one variant")
        if any(not isinstance(w, (int, float)) or w <= 0 or math.isnan(w)
               for w in self.variants.values()):
            raise ConfigError("variant weights must be positive numbers")

    def assign(self, user: str) -> str:
        """The variant of ``user``: the same for the same user and experiment, always."""
        digest = hashlib.sha256(f"{self.name}\x00{user}".encode()).digest()
        bucket = int.from_bytes(digest[:8], "big") % BUCKETS
        total = sum(self.variants.values())
        edge = 0.0
        names = sorted(self.variants)
        for name in names:
            edge += self.variants[name] / total * BUCKETS
            if bucket < edge:
                return name
        return names[-1]

    @classmethod
    def parse(cls, name: str, spec: str) -> Experiment:
        """Parse ``"pipeline:50,popular:50"`` (name:weight pairs).

        Raises:
            ConfigError: On a malformed spec.
        """
        variants: dict[str, float] = {}
        for part in filter(None, (p.strip() for p in spec.split(","))):
            variant, _, weight = part.partition(":")
            try:
                variants[variant.strip()] = float(weight) if weight else 1.0
            except ValueError as exc:
                raise ConfigError(f"bad variant weight in {part!r}") from exc
        return cls(name, variants)


@dataclass(frozen=True)
class Event:
    """One logged recommendation event.

    Attributes:
        request: Id of the recommendation request (one list shown).
        user: Who saw it.
        variant: The user's variant when it was shown.
        item: The product.
        kind: ``shown``, ``click`` or ``purchase``.
    """

    request: str
    user: str
    variant: str
    item: str
    kind: str


@dataclass(frozen=True)
class VariantStats:
    """Outcomes of one variant. Rates come with 95 % Wilson intervals."""

    variant: str
    users: int
    requests: int
    impressions: int
    clicks: int
    purchases: int
    ctr: float
    ctr_interval: tuple[float, float]
    conversion: float
    conversion_interval: tuple[float, float]


def wilson(successes: int, trials: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion."""
    if trials == 0:
        return (0.0, 0.0)
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / \
        (1 + z * z / trials)
    return (max(0.0, centre - half), min(1.0, centre + half))


def report(events: Iterable[Event]) -> list[VariantStats]:
    """Click-through (clicked impressions / impressions) and conversion (purchased
    impressions / impressions) per variant; a click or purchase counts only for an
    item that request showed."""
    shown: dict[tuple[str, str], str] = {}
    users: dict[str, set[str]] = {}
    requests: dict[str, set[str]] = {}
    clicked: set[tuple[str, str]] = set()
    bought: set[tuple[str, str]] = set()
    later = []
    for e in events:
        if e.kind == "shown":
            shown[(e.request, e.item)] = e.variant
            users.setdefault(e.variant, set()).add(e.user)
            requests.setdefault(e.variant, set()).add(e.request)
        else:
            later.append(e)
    for e in later:
        key = (e.request, e.item)
        if key in shown:
            (clicked if e.kind == "click" else bought).add(key)
    out = []
    for variant in sorted(set(shown.values())):
        keys = [k for k, v in shown.items() if v == variant]
        clicks = sum(1 for k in keys if k in clicked)
        purchases = sum(1 for k in keys if k in bought)
        n = len(keys)
        out.append(VariantStats(variant, len(users[variant]), len(requests[variant]), n, clicks,
                                purchases, clicks / n if n else 0.0, wilson(clicks, n),
                                purchases / n if n else 0.0, wilson(purchases, n)))
    return out
