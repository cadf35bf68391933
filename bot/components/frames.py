"""What a message asks about a product, read without the product's name.

"说说Bose QuietComfort Ultra头戴式耳机", "想了解一下乐高机械组赛车", "what's the
Galaxy Z Flip5 going for these days?": the product's name is most of the
message, and to a classifier over the whole sentence's n-grams and embeddings
it weighs more than the two words that say what is asked ("说说", "going for").
The generated training examples put every product name in random question
templates, so a name leans towards whichever questions it happened to be drawn
for, and a paraphrase the assistant was not taught is decided by the name.

:class:`ProductFrameClassifier` reads the *frame* of a message: its text with
every product and list reference replaced by one placeholder ("说说 ¤",
"what's the ¤ going for these days?"). It is trained on the same examples,
masked by their annotations, with character n-grams (1-4, within words) and a
logistic regression; at inference the spans come from the entity extractors
before it (the gazetteer, DIET, the reference patterns). For a message that
names or points at a product, its probabilities are blended with the intent
classifier's, so the words around the name decide what is asked. Messages
without a product are left alone. Put it after the entity extractors and
before the ``FallbackClassifier``, which thresholds the blend.

The weights are saved as arrays and the n-gram vocabulary as JSON, never
pickled; inference is numpy only.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Dict, List, Sequence

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.components.intent_classifier import both_classes, softmax

logger = logging.getLogger(__name__)
PLACEHOLDER = "¤"
WEIGHTS_FILE = "frame_weights.npz"
META_FILE = "frame_meta.json"
MAX_TEXT = 500  # longer messages are read on their first 500 characters


def masked(entities: Sequence[Dict[str, Any]], kinds: Sequence[str],
           extractors: Dict[str, Sequence[str]] | None = None) -> List[Dict[str, Any]]:
    """The entities of ``kinds`` to mask: for a kind listed in ``extractors``, only those
    one of its extractors found (annotations of training examples name no extractor)."""
    trusted = extractors or {}
    return [e for e in entities if e.get("entity") in kinds
            and (not e.get("extractor") or not trusted.get(e["entity"])
                 or e["extractor"] in trusted[e["entity"]])]


def frame(text: str, entities: Sequence[Dict[str, Any]], kinds: Sequence[str]) -> str:
    """``text`` with the spans of entities of ``kinds`` replaced by the placeholder."""
    spans = sorted({(e["start"], e["end"]) for e in entities
                    if e.get("entity") in kinds and isinstance(e.get("start"), int)
                    and isinstance(e.get("end"), int) and 0 <= e["start"] < e["end"]})
    out, position = [], 0
    for start, end in spans:
        if start < position:  # overlapping spans: the first one wins
            continue
        out.append(text[position:start])
        out.append(f" {PLACEHOLDER} ")
        position = end
    out.append(text[position:])
    return " ".join("".join(out).split())


def char_ngrams(text: str, low: int, high: int) -> List[str]:
    """Character n-grams within words, padded with a space (scikit-learn's ``char_wb``)."""
    grams: List[str] = []
    for word in text.lower().split():
        padded = f" {word} "
        for n in range(low, high + 1):
            if len(padded) < n:
                break
            grams.extend(padded[i:i + n] for i in range(len(padded) - n + 1))
    return grams


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class ProductFrameClassifier(GraphComponent, IntentClassifier):
    """Blends the intent of a message that names a product with the intent of its frame.

    Options:
        entities: the entities masked as the placeholder (default: product, mention).
        extractors: per entity, the extractors trusted to have found one (default: products
            only from the catalog gazetteer: the entity model also tags "Real Madrid" or
            "Paris" as products, and masking them would hide an out-of-scope request).
        weight: share of the frame's probabilities in the blend, 0-1 (default 0.5).
        min_ngram, max_ngram: character n-gram lengths (default 1, 4).
        min_count: n-grams seen in fewer training frames are ignored (default 2).
        l2: the logistic regression's L2 penalty (default 0.001).
        ranking_length: intents kept in the ranking (default 10).
    """

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """Default options (see the class docstring)."""
        return {"entities": ["product", "mention"],
                "extractors": {"product": ["GazetteerEntityExtractor"]}, "weight": 0.5,
                "min_ngram": 1, "max_ngram": 4, "min_count": 2, "l2": 1e-3,
                "ranking_length": 10}

    def __init__(self, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
                 vocabulary: Dict[str, int] | None = None, labels: List[str] | None = None,
                 weights: np.ndarray | None = None, bias: np.ndarray | None = None) -> None:
        self._config = {**self.get_default_config(), **config}
        self._storage = model_storage
        self._resource = resource
        self._vocabulary = vocabulary or {}
        self._labels = labels or []
        self._weights = weights
        self._bias = bias

    @classmethod
    def create(cls, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "ProductFrameClassifier":
        """Create an untrained classifier, refusing nonsensical options."""
        merged = {**cls.get_default_config(), **config}
        weight = merged["weight"]
        if (isinstance(weight, bool) or not isinstance(weight, (int, float))
                or not 0 <= weight <= 1):
            raise InvalidConfigException(f"ProductFrameClassifier: bad 'weight': {weight!r}")
        low, high = merged["min_ngram"], merged["max_ngram"]
        if not (isinstance(low, int) and isinstance(high, int) and 1 <= low <= high <= 8):
            raise InvalidConfigException(
                f"ProductFrameClassifier: bad n-gram range: {low!r}-{high!r}")
        if not merged["entities"]:
            raise InvalidConfigException("ProductFrameClassifier: no entities to mask")
        return cls(merged, model_storage, resource)

    @classmethod
    def load(cls, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "ProductFrameClassifier":
        """Load the weights saved with the model (one that changes nothing if there are none)."""
        try:
            with model_storage.read_from(resource) as directory:
                meta = json.loads((directory / META_FILE).read_text("utf-8"))
                with np.load(directory / WEIGHTS_FILE, allow_pickle=False) as arrays:
                    weights, bias = arrays["weights"], arrays["bias"]
        except (ValueError, FileNotFoundError):
            logger.warning("ProductFrameClassifier: no trained weights; leaving intents alone.")
            return cls(config, model_storage, resource)
        return cls(config, model_storage, resource, meta["vocabulary"], meta["labels"],
                   weights, bias)

    # --- features -------------------------------------------------------------------------

    def _frame(self, message: Message, spans: List[Dict[str, Any]] | None = None) -> str:
        text = (message.get(TEXT) or "")[:MAX_TEXT]
        return frame(text, self._masked(message) if spans is None else spans,
                     self._config["entities"])

    def _masked(self, message: Message) -> List[Dict[str, Any]]:
        return masked(message.get(ENTITIES) or [], self._config["entities"],
                      self._config["extractors"])

    def _features(self, frames: Sequence[str]) -> Any:
        import scipy.sparse as sp

        rows, cols, values = [], [], []
        for row, text in enumerate(frames):
            counts: Dict[int, int] = {}
            for gram in char_ngrams(text, self._config["min_ngram"], self._config["max_ngram"]):
                column = self._vocabulary.get(gram)
                if column is not None:
                    counts[column] = counts.get(column, 0) + 1
            if not counts:
                continue
            data = np.log1p(np.array(list(counts.values()), dtype=np.float32))
            data /= max(float(np.linalg.norm(data)), 1e-9)
            rows.extend([row] * len(counts))
            cols.extend(counts)
            values.extend(data.tolist())
        return sp.csr_matrix((values, (rows, cols)),
                             shape=(len(frames), max(len(self._vocabulary), 1)),
                             dtype=np.float32)

    # --- training -------------------------------------------------------------------------

    def train(self, training_data: TrainingData) -> Resource:
        """Fit on the masked intent examples and save the weights."""
        examples = [m for m in training_data.intent_examples if m.get(TEXT)]
        labels = sorted({m.get(INTENT) for m in examples})
        if len(labels) < 2:
            logger.warning("ProductFrameClassifier: need two intents or more; not training.")
            return self._resource
        frames = [self._frame(m) for m in examples]
        seen: Dict[str, int] = {}
        for text in frames:
            for gram in set(char_ngrams(text, self._config["min_ngram"],
                                        self._config["max_ngram"])):
                seen[gram] = seen.get(gram, 0) + 1
        kept = sorted(g for g, n in seen.items() if n >= self._config["min_count"])
        self._vocabulary = {gram: i for i, gram in enumerate(kept)}
        features = self._features(frames)
        targets = np.array([labels.index(m.get(INTENT)) for m in examples])

        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(C=1.0 / max(float(self._config["l2"]), 1e-6), max_iter=1000)
        model.fit(features, targets)
        weights, bias = both_classes(model.coef_.T.astype(np.float32),
                                     model.intercept_.astype(np.float32))
        self._labels, self._weights, self._bias = labels, weights, bias
        with self._storage.write_to(self._resource) as directory:
            np.savez(directory / WEIGHTS_FILE, weights=weights, bias=bias)
            (directory / META_FILE).write_text(
                json.dumps({"labels": labels, "vocabulary": self._vocabulary},
                           ensure_ascii=False), "utf-8")
        return self._resource

    # --- inference ------------------------------------------------------------------------

    def predict_proba(self, frames: Sequence[str]) -> np.ndarray:
        """Intent probabilities of each frame, columns in ``labels`` order."""
        assert self._weights is not None and self._bias is not None
        return softmax(np.asarray(self._features(frames) @ self._weights) + self._bias)

    @property
    def labels(self) -> List[str]:
        """Intent names, in column order."""
        return list(self._labels)

    def process(self, messages: List[Message]) -> List[Message]:
        """Blend the intent of each message that names a product with its frame's."""
        if self._weights is None:
            return messages
        spans = [(m, self._masked(m)) for m in messages if m.get(TEXT)]
        pointed = [(m, found) for m, found in spans if found]
        if not pointed:
            return messages
        probabilities = self.predict_proba([self._frame(m, found) for m, found in pointed])
        share = float(self._config["weight"])
        for (message, _), row in zip(pointed, probabilities, strict=True):
            blend = {name: share * float(p) for name, p in zip(self._labels, row, strict=True)}
            ranking = message.get(INTENT_RANKING_KEY) or []
            if not ranking and message.get(INTENT):
                ranking = [message.get(INTENT)]
            for entry in ranking:
                name = entry.get("name")
                if name:
                    blend[name] = blend.get(name, 0.0) + (1 - share) * float(
                        entry.get("confidence") or 0.0)
            order = sorted(blend.items(), key=lambda item: -item[1])
            order = order[: self._config["ranking_length"]]
            new_ranking = [{"name": name, "confidence": confidence} for name, confidence in order]
            message.set(INTENT, new_ranking[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, new_ranking, add_to_output=True)
        return messages
