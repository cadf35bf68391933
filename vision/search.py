"""Visual lookup: a customer's photo to catalog products, with an honest "not sure"."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image

from vision.adapt import decision_scores
from vision.encoder import ImageEncoder
from vision.errors import ConfigError
from vision.images import Limits, decode
from vision.index import Hit, ImageIndex, IndexStore


class Status(enum.Enum):
    """How a lookup went."""

    MATCHED = "matched"  # the best product clears the decision threshold: the answer
    UNSURE = "unsure"  # not sold, it seems; products above the floor are alternatives
    NO_MATCH = "no_match"  # not sold, it seems, and nothing reaches the floor
    NOT_A_PHOTO = "not_a_photo"  # a screenshot or a page of text, not a photo of goods
    NO_INDEX = "no_index"  # no catalog images are indexed yet
    STALE_INDEX = "stale_index"  # the index was built by another encoder version


@dataclass(frozen=True)
class LookupResult:
    """What a photo matched.

    Attributes:
        status: See :class:`Status`.
        hits: Best products first, each with its score and matched image.
        threshold: The decision score a match needs (see ``decision``).
        floor: The score an alternative needs.
        decision: The rule of that score (:func:`vision.adapt.decision_scores`).
        model_version: The encoder's version.
    """

    status: Status
    hits: tuple[Hit, ...]
    threshold: float
    floor: float
    model_version: str
    decision: str = "score"

    @property
    def confident(self) -> tuple[Hit, ...]:
        """The match (the best hit) when the photo is answered with one, else nothing."""
        return self.hits[:1] if self.status is Status.MATCHED else ()

    @property
    def plausible(self) -> tuple[Hit, ...]:
        """The hits that reach the floor (confident ones included)."""
        return tuple(h for h in self.hits if h.score >= self.floor)


class VisualSearch:
    """Finds catalog products in a photo.

    Args:
        encoder: Turns photos into vectors.
        store: Where the live image index is published (hot-reloaded), or
        index: a fixed index (benchmarks, tests).
        threshold: Score of a match when the index carries no calibrated
            bounds of its own (the best score alone decides then).
        floor: Score of an alternative worth showing, likewise.
        document_limit: Probability of "screenshot or page of text" (see
            :meth:`ImageEncoder.analyse`) from which a photo is not searched
            (1 turns the check off).
        limits: What an acceptable photo is.
        encoder_for: Given the version of a newly published index, the encoder
            that made it (or ``None``): lets lookups follow an index built with
            newly fine-tuned weights without a restart.
    """

    def __init__(self, *, encoder: ImageEncoder, store: IndexStore | None = None,
                 index: ImageIndex | None = None, threshold: float = 0.5,
                 floor: float = 0.38, document_limit: float = 0.3,
                 limits: Limits = Limits(),
                 encoder_for: Callable[[str], ImageEncoder | None] | None = None) -> None:
        if (store is None) == (index is None) or not -1 <= floor <= threshold <= 1 \
                or not 0 < document_limit <= 1:
            raise ConfigError("exactly one of store and index, -1 <= floor <= threshold <= 1 "
                              "and 0 < document_limit <= 1 required")
        self.encoder, self.store, self.index = encoder, store, index
        self.threshold, self.floor, self.limits = threshold, floor, limits
        self.document_limit = document_limit
        self.encoder_for = encoder_for
        self._unmatched: str | None = None  # an index version encoder_for had no encoder for

    def current_index(self) -> ImageIndex | None:
        return self.index if self.store is None else self.store.current()

    def lookup(self, photo: bytes | Image.Image, k: int = 5) -> LookupResult:
        """The ``k`` best products for ``photo`` (bytes are checked and decoded first).

        Raises:
            vision.errors.ImageError: If ``photo`` is bytes that are not a usable image.
        """
        index = self.current_index()
        if index is not None and index.model_version != self.encoder.version \
                and self.encoder_for is not None and index.model_version != self._unmatched:
            encoder = self.encoder_for(index.model_version)  # asked once per index version
            if encoder is not None and encoder.version == index.model_version:
                self.encoder = encoder
            else:
                self._unmatched = index.model_version
        version = self.encoder.version
        if index is None or not len(index):
            return LookupResult(Status.NO_INDEX, (), self.threshold, self.floor, version)
        calibrated = index.threshold is not None
        threshold = self.threshold if index.threshold is None else float(index.threshold)
        floor = self.floor if index.floor is None else float(index.floor)
        decision = index.decision if calibrated else "score"
        if decision == "score":
            floor = min(floor, threshold)
        if index.model_version != version:
            return LookupResult(Status.STALE_INDEX, (), threshold, floor, version, decision)
        image = decode(photo, self.limits) if isinstance(photo, bytes) else photo
        vectors, document = self.encoder.analyse([image])
        if self.document_limit < 1 and document[0] >= self.document_limit:
            return LookupResult(Status.NOT_A_PHOTO, (), threshold, floor, version, decision)
        hits = tuple(index.search(vectors, max(k, 2))[0])
        best = hits[0].score if hits else float("-inf")
        second = hits[1].score if len(hits) > 1 else -1.0
        score = float(decision_scores(np.asarray([best]), np.asarray([second]),
                                      rule=decision)[0]) if hits else float("-inf")
        status = Status.MATCHED if score >= threshold else \
            Status.UNSURE if best >= floor else Status.NO_MATCH
        return LookupResult(status, hits[:k], threshold, floor, version, decision)
