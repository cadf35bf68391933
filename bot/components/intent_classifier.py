"""Intent classifier over the pipeline's sentence features (sparse n-grams + embeddings).

:class:`SentenceIntentClassifier` reads, for every message, the sentence-level
features the featurizers before it produced: the sparse word and character
n-gram counts (``CountVectorsFeaturizer``) and the dense multilingual sentence
embeddings, USE and e5 (:mod:`bot.components.sentence_encoder`). Counts are
damped with ``log(1 + x)`` and L2-normalised, the embeddings are weighted, and
a one-hidden-layer network (or, with ``hidden_units: 0``, a multinomial
logistic regression) trained with scikit-learn predicts the intent. Its
probabilities are blended with a vote of the nearest training examples in the
embedding space (cosine similarity, softmax-weighted), which corrects the
network where a message is a close paraphrase of a training example and
spreads the probability where a message is near nothing the assistant was
taught; the ``FallbackClassifier`` thresholds the result.

On Banking77 and CLINC150 this trains in a couple of minutes on two cores and
is several points more accurate than DIET's intent head on the same features
(``make bench-nlu``; ``docs/benchmarks.md``). DIET stays in the pipeline for
entities. The trained weights are saved as plain arrays (``.npz``) with the
label names as JSON, never pickled, and inference is numpy only.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Dict, List, Sequence

import numpy as np
import scipy.sparse as sp
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

logger = logging.getLogger(__name__)
WEIGHTS_FILE = "weights.npz"
META_FILE = "meta.json"
MEMORY_FILE = "memory.npz"
TYPICALITY_FILE = "typicality.npz"
#: the intent of messages taught as out of scope: not a topic, so not a class to be near
OUT_OF_SCOPE = "out_of_scope"
#: covariance shrinkage towards its mean variance (share of the trace per dimension)
SHRINKAGE = 1e-3
FOLDS = 5


def dense_matrix(messages: Sequence[Message]) -> np.ndarray:
    """The messages' dense sentence features, one row each (zeros where a message has none)."""
    rows: List[np.ndarray] = []
    for message in messages:
        _, dense = message.get_dense_features(TEXT)
        rows.append(
            np.asarray(dense.features, dtype=np.float32).reshape(1, -1)
            if dense is not None
            else np.zeros((1, 0), dtype=np.float32)
        )
    width = max((r.shape[1] for r in rows), default=0)
    return np.vstack(
        [r if r.shape[1] == width else np.zeros((1, width), np.float32) for r in rows]
        or [np.zeros((0, width), np.float32)]
    )


def sentence_matrix(
    messages: Sequence[Message], dense_weight: float, dense: np.ndarray | None = None
) -> sp.csr_matrix:
    """One row per message: normalised sparse sentence features, then weighted dense ones.

    ``dense`` is the messages' :func:`dense_matrix`, when the caller already has it.
    """
    sparse_rows: List[sp.csr_matrix] = []
    for message in messages:
        _, sparse = message.get_sparse_features(TEXT)
        row = sp.csr_matrix(sparse.features, dtype=np.float32) if sparse is not None else None
        sparse_rows.append(row if row is not None else sp.csr_matrix((1, 0), dtype=np.float32))
    width = max((r.shape[1] for r in sparse_rows), default=0)
    sparse_block = (
        sp.vstack([_pad_columns(r, width) for r in sparse_rows]).tocsr() if width else None
    )
    if sparse_block is not None:
        sparse_block.data = np.log1p(np.maximum(sparse_block.data, 0))
        norms = np.sqrt(np.asarray(sparse_block.multiply(sparse_block).sum(axis=1))).ravel()
        norms[norms == 0] = 1.0
        sparse_block = sp.diags(1.0 / norms) @ sparse_block
    blocks = [b for b in [sparse_block] if b is not None]
    dense_block = dense_matrix(messages) if dense is None else dense
    if dense_block.shape[1]:
        blocks.append(sp.csr_matrix(dense_block * dense_weight, dtype=np.float32))
    if not blocks:
        return sp.csr_matrix((len(messages), 0), dtype=np.float32)
    return sp.hstack(blocks).tocsr().astype(np.float32)


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.maximum(norms, 1e-9)).astype(np.float32)


def neighbour_votes(
    queries: np.ndarray,
    memory: np.ndarray,
    memory_labels: np.ndarray,
    classes: int,
    *,
    neighbours: int,
    temperature: float,
    background: float,
) -> np.ndarray:
    """Class distribution from the nearest training examples (cosine, softmax-weighted).

    Besides the ``neighbours`` nearest examples, as many uniform pseudo-examples at
    cosine similarity ``background`` vote for every class equally. A message far from
    everything the model was taught therefore gets a flat vote (a sign it is out of
    scope); a close paraphrase of training examples, a sharp one. ``queries`` and
    ``memory`` have unit rows; a zero query gets a uniform distribution.
    """
    votes = np.full((len(queries), classes), 1.0 / classes)
    if not len(memory) or not len(queries):
        return votes
    k = min(neighbours, len(memory))
    similarity = queries @ memory.T
    nearest = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
    for row, indices in enumerate(nearest):
        if not queries[row].any():
            continue
        weights = np.exp((similarity[row, indices] - 1.0) / temperature)
        votes[row] = np.bincount(memory_labels[indices], weights=weights, minlength=classes)
        votes[row] += k * np.exp((background - 1.0) / temperature) / classes
        votes[row] /= max(float(votes[row].sum()), 1e-12)
    return votes


class Typicality:
    """How typical a message's sentence embedding is of the intents taught (out-of-scope
    detection by distance, not by the classifier's confidence).

    The score is the relative Mahalanobis distance (Ren et al. 2021, *A Simple Fix to
    Mahalanobis Distance for Improving Near-OOD Detection*): the distance to the nearest
    intent's mean under the intents' shared covariance, minus the distance to the mean of
    all messages under their own covariance. It is turned into a p-value: the share of
    the training messages that score lower when scored by a model fitted without them
    (``FOLDS``-fold cross-fitting, so a training message is no more typical than a new
    one). ``p`` near 0: the message is further from what was taught than almost every
    in-scope example.
    """

    def __init__(self, means: np.ndarray, precision: np.ndarray, centre: np.ndarray,
                 background: np.ndarray, calibration: np.ndarray) -> None:
        self.means, self.precision = means, precision
        self.centre, self.background = centre, background
        self.calibration = np.sort(calibration)

    @classmethod
    def fit(cls, vectors: np.ndarray, labels: np.ndarray, excluded: Sequence[int] = (),
            seed: int = 42) -> "Typicality | None":
        """Fit on unit-row embeddings and their class indices (``excluded`` classes, such as
        the out-of-scope intent, are no topic); ``None`` when there is too little data."""
        keep = ~np.isin(labels, list(excluded))
        vectors, labels = vectors[keep].astype(np.float64), labels[keep]
        if len(np.unique(labels)) < 2 or len(vectors) < 2 * FOLDS:
            return None
        fold = np.random.default_rng(seed).integers(0, FOLDS, len(vectors))
        calibration = []
        for k in range(FOLDS):
            part = cls._fitted(vectors[fold != k], labels[fold != k])
            calibration.append(part.relative(vectors[fold == k]))
        full = cls._fitted(vectors, labels)
        full.calibration = np.sort(np.concatenate(calibration))
        return full

    @classmethod
    def _fitted(cls, vectors: np.ndarray, labels: np.ndarray) -> "Typicality":
        classes = np.unique(labels)
        means = np.stack([vectors[labels == c].mean(axis=0) for c in classes])
        within = vectors - means[np.searchsorted(classes, labels)]
        centre = vectors.mean(axis=0)
        return cls(means.astype(np.float32), _precision(within), centre.astype(np.float32),
                   _precision(vectors - centre), np.zeros(0))

    def relative(self, vectors: np.ndarray) -> np.ndarray:
        """Minus the relative Mahalanobis distance (higher: more typical)."""
        x = np.asarray(vectors, dtype=np.float64)
        projected = x @ self.precision
        means = self.means.astype(np.float64)
        to_means = ((projected * x).sum(axis=1)[:, None] - 2 * projected @ means.T
                    + ((means @ self.precision) * means).sum(axis=1)[None, :])
        centred = x - self.centre
        to_centre = ((centred @ self.background) * centred).sum(axis=1)
        return -(to_means.min(axis=1) - to_centre)

    def p_value(self, vectors: np.ndarray) -> np.ndarray:
        """Share of held-out training messages less typical than each message (0..1); a
        zero row (an empty message) gets 1: no opinion."""
        p = np.searchsorted(self.calibration, self.relative(vectors)) / max(
            len(self.calibration), 1)
        p[~np.asarray(vectors).any(axis=1)] = 1.0
        return p

    def arrays(self) -> Dict[str, np.ndarray]:
        """What :meth:`from_arrays` reads back (saved with the model, never pickled)."""
        return {"means": self.means, "precision": self.precision.astype(np.float32),
                "centre": self.centre, "background": self.background.astype(np.float32),
                "calibration": self.calibration.astype(np.float32)}

    @classmethod
    def from_arrays(cls, arrays: Any) -> "Typicality":
        return cls(*(np.asarray(arrays[k]) for k in
                     ("means", "precision", "centre", "background", "calibration")))


def _precision(centred: np.ndarray) -> np.ndarray:
    """Inverse of the shrunk covariance of centred rows."""
    covariance = centred.T @ centred / max(len(centred), 1)
    covariance += SHRINKAGE * max(float(np.trace(covariance)), 1e-12) / len(covariance) * np.eye(
        len(covariance))
    return np.linalg.inv(covariance)


def both_classes(weights: np.ndarray, bias: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An output layer with a column per class: scikit-learn fits two classes with one
    logit z, and softmax([0, z]) = sigmoid(z), so a zero column is put before it."""
    if bias.shape[0] != 1:
        return weights, bias
    return (np.hstack([np.zeros_like(weights), weights]),
            np.concatenate([np.zeros_like(bias), bias]))


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class SentenceIntentClassifier(GraphComponent, IntentClassifier):
    """A small network over sparse and dense sentence features.

    Options:
        hidden_units: width of the hidden layer; 0 trains a logistic regression (default 256).
        l2: L2 penalty (default 0.0001).
        epochs: passes over the training data (default 20).
        min_updates: at least this many mini-batch updates (batches of 200), so a small
            training set gets more passes than a large one (default 1500).
        dense_weight: scale of the dense (sentence embedding) block against the
            normalised sparse block (default 2.0).
        ranking_length: intents kept in the ranking (default 10).
        random_seed: seed for weight initialisation and shuffling (default 42).
        ensemble: number of networks trained with consecutive seeds whose probabilities are
            averaged (default 1).
        knn_weight: share of the final probabilities that comes from the nearest training
            examples in the dense (sentence embedding) space; 0 turns it off (default 0.5).
        knn_neighbours: how many nearest examples vote (default 10).
        knn_temperature: softmax temperature of their cosine similarities (default 0.05).
        knn_background: cosine similarity at which as many uniform pseudo-examples vote,
            so that messages far from every training example get a flat vote (default 0.5).
        ood_floor: out-of-scope detection by distance (:class:`Typicality`): a message less
            typical of the intents taught than this share of held-out training messages has
            its probabilities scaled down by ``p / ood_floor``, so the ``FallbackClassifier``
            turns it into a fallback; 0 turns it off (default 0.0).
    """

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """Default options (see the class docstring)."""
        return {
            "hidden_units": 256,
            "l2": 1e-4,
            "epochs": 20,
            "min_updates": 1500,
            "dense_weight": 2.0,
            "ranking_length": 10,
            "random_seed": 42,
            "ensemble": 1,
            "knn_weight": 0.5,
            "knn_neighbours": 10,
            "knn_temperature": 0.05,
            "knn_background": 0.5,
            "ood_floor": 0.0,
        }

    def __init__(
        self,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        weights: List[np.ndarray] | None = None,
        labels: List[str] | None = None,
        width: int = 0,
        members: int = 1,
        memory: np.ndarray | None = None,
        memory_labels: np.ndarray | None = None,
        typicality: Typicality | None = None,
    ) -> None:
        self._config = {**self.get_default_config(), **config}
        self._storage = model_storage
        self._resource = resource
        self._weights = weights or []
        self._labels = labels or []
        self._width = width
        self._members = members
        self._memory = memory if memory is not None else np.zeros((0, 0), np.float32)
        self._memory_labels = memory_labels if memory_labels is not None else np.zeros(0, np.int64)
        self._typicality = typicality

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "SentenceIntentClassifier":
        """Create an untrained classifier, refusing nonsensical options."""
        merged = {**cls.get_default_config(), **config}
        integers = ("hidden_units", "epochs", "min_updates", "ranking_length", "ensemble")
        for key in (*integers, "knn_neighbours"):
            value = merged[key]
            if (
                not isinstance(value, int)
                or isinstance(value, bool)
                or value < (0 if key == "hidden_units" else 1)
            ):
                raise InvalidConfigException(f"SentenceIntentClassifier: bad '{key}': {value!r}")
        for key in ("l2", "dense_weight", "knn_weight", "knn_temperature", "knn_background",
                    "ood_floor"):
            value = merged[key]
            if (
                not isinstance(value, (int, float))
                or isinstance(value, bool)
                or value < (-1 if key == "knn_background" else 0)
                or (key == "knn_background" and value > 1)
                or (key in ("knn_weight", "ood_floor") and value > 1)
                or (key == "knn_temperature" and value == 0)
            ):
                raise InvalidConfigException(f"SentenceIntentClassifier: bad '{key}': {value!r}")
        return cls(merged, model_storage, resource)

    @classmethod
    def load(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "SentenceIntentClassifier":
        """Load the weights saved with the model (an untrained one if there are none)."""
        try:
            with model_storage.read_from(resource) as directory:
                meta = json.loads((directory / META_FILE).read_text("utf-8"))
                with np.load(directory / WEIGHTS_FILE, allow_pickle=False) as arrays:
                    weights = [arrays[f"w{i}"] for i in range(len(arrays.files))]
                memory = memory_labels = typicality = None
                if (directory / MEMORY_FILE).exists():
                    with np.load(directory / MEMORY_FILE, allow_pickle=False) as arrays:
                        memory, memory_labels = arrays["vectors"], arrays["labels"]
                if (directory / TYPICALITY_FILE).exists():
                    with np.load(directory / TYPICALITY_FILE, allow_pickle=False) as arrays:
                        typicality = Typicality.from_arrays(arrays)
        except (ValueError, FileNotFoundError):
            logger.warning("SentenceIntentClassifier: no trained weights; predicting nothing.")
            return cls(config, model_storage, resource)
        return cls(
            config,
            model_storage,
            resource,
            weights,
            meta["labels"],
            meta["width"],
            int(meta.get("members", 1)),
            memory,
            memory_labels,
            typicality,
        )

    def train(self, training_data: TrainingData) -> Resource:
        """Fit on the intent examples and save the weights."""
        examples = [m for m in training_data.intent_examples if m.get(TEXT)]
        labels = sorted({m.get(INTENT) for m in examples})
        if len(labels) < 2:
            logger.warning("SentenceIntentClassifier: need two intents or more; not training.")
            return self._resource
        dense = dense_matrix(examples)
        features = sentence_matrix(examples, self._config["dense_weight"], dense)
        targets = np.array([labels.index(m.get(INTENT)) for m in examples])
        self._weights = self._fit_ensemble(features, targets)
        self._labels = labels
        self._width = features.shape[1]
        self._members = self._config["ensemble"]
        if self._config["knn_weight"] > 0:
            self._memory = unit_rows(dense)
            self._memory_labels = targets
        self._typicality = (
            self._fit_typicality(unit_rows(dense), targets)
            if self._config["ood_floor"] > 0 and dense.shape[1] else None
        )
        with self._storage.write_to(self._resource) as directory:
            np.savez(directory / WEIGHTS_FILE, **{f"w{i}": w for i, w in enumerate(self._weights)})
            if self._memory.size:
                np.savez(directory / MEMORY_FILE, vectors=self._memory, labels=self._memory_labels)
            if self._typicality is not None:
                np.savez(directory / TYPICALITY_FILE, **self._typicality.arrays())
            (directory / META_FILE).write_text(
                json.dumps(
                    {"labels": labels, "width": self._width, "members": self._members},
                    ensure_ascii=False,
                ),
                "utf-8",
            )
        return self._resource

    def _fit_typicality(self, vectors: np.ndarray, targets: np.ndarray) -> Typicality | None:
        excluded = [self._labels.index(OUT_OF_SCOPE)] if OUT_OF_SCOPE in self._labels else []
        return Typicality.fit(vectors, targets, excluded, self._config["random_seed"])

    def _fit_ensemble(self, features: sp.csr_matrix, targets: np.ndarray) -> List[np.ndarray]:
        """Train ``ensemble`` members with consecutive seeds; their arrays, concatenated."""
        weights: List[np.ndarray] = []
        for member in range(self._config["ensemble"]):
            weights.extend(self._fit(features, targets, self._config["random_seed"] + member))
        return weights

    def _fit(self, features: sp.csr_matrix, targets: np.ndarray, seed: int) -> List[np.ndarray]:
        """Train one model with scikit-learn; return [W1, b1, W2, b2] or [W, b]."""
        import warnings

        from sklearn.exceptions import ConvergenceWarning

        config = self._config
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            if config["hidden_units"]:
                from sklearn.neural_network import MLPClassifier

                batches = -(-features.shape[0] // 200)
                epochs = max(config["epochs"], -(-config["min_updates"] // batches))
                model = MLPClassifier(
                    hidden_layer_sizes=(config["hidden_units"],),
                    alpha=config["l2"],
                    max_iter=epochs,
                    batch_size=200,
                    random_state=seed,
                )
                model.fit(features, targets)
                weights = [
                    model.coefs_[0],
                    model.intercepts_[0],
                    model.coefs_[1],
                    model.intercepts_[1],
                ]
            else:
                from sklearn.linear_model import LogisticRegression

                model = LogisticRegression(
                    C=1.0 / max(config["l2"], 1e-6), max_iter=config["epochs"] * 10
                )
                model.fit(features, targets)
                weights = [model.coef_.T, model.intercept_]
        if len(model.classes_) != int(targets.max()) + 1:
            raise InvalidConfigException(
                "SentenceIntentClassifier: an intent has no usable examples."
            )
        weights[-2], weights[-1] = both_classes(weights[-2], weights[-1])
        return [np.asarray(w, dtype=np.float32) for w in weights]

    def predict_proba(self, messages: Sequence[Message]) -> np.ndarray:
        """Intent probabilities, one row per message, columns in ``labels`` order."""
        network, dense = self._network_proba(messages)
        queries = unit_rows(dense)
        probabilities = self._blend(network, queries)
        floor = self._config["ood_floor"]
        if floor > 0:  # scaled by min(1, p / ood_floor)
            probabilities = probabilities * np.minimum(1.0, self._typical(queries) / floor)[:, None]
        return probabilities

    def _typical(self, queries: np.ndarray) -> np.ndarray:
        """Each message's typicality p-value (1 where the model has no typicality)."""
        if self._typicality is None or queries.shape[1] != self._typicality.centre.shape[0]:
            return np.ones(len(queries))
        return self._typicality.p_value(queries)

    def _blend(self, network: np.ndarray, queries: np.ndarray) -> np.ndarray:
        """The network's probabilities blended with the nearest examples' vote
        (``queries``: the messages' unit-length dense features)."""
        share = self._config["knn_weight"]
        if share > 0 and self._memory.size and queries.shape[1] == self._memory.shape[1]:
            votes = neighbour_votes(
                queries,
                self._memory,
                self._memory_labels,
                len(self._labels),
                neighbours=self._config["knn_neighbours"],
                temperature=self._config["knn_temperature"],
                background=self._config["knn_background"],
            )
            return (1 - share) * network + share * votes
        return network

    def _network_proba(self, messages: Sequence[Message]) -> tuple[np.ndarray, np.ndarray]:
        """The network's probabilities (ensemble mean) and the messages' dense features."""
        dense = dense_matrix(messages)
        features = sentence_matrix(messages, self._config["dense_weight"], dense)
        features = _pad_columns(features, self._width)
        size = len(self._weights) // max(self._members, 1)
        total = None
        for begin in range(0, len(self._weights), size):
            member = self._weights[begin : begin + size]
            hidden = features @ member[0] + member[1]
            if len(member) == 4:
                hidden = np.maximum(hidden, 0) @ member[2] + member[3]
            probabilities = softmax(np.asarray(hidden))
            total = probabilities if total is None else total + probabilities
        assert total is not None
        return total / (len(self._weights) // size), dense

    def explain(
        self, messages: Sequence[Message], neighbours: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """What :meth:`predict_proba` blends, for tuning its options outside the model
        (``make bench-nlu``): the network's probabilities, the cosine similarities and
        labels of each message's ``neighbours`` nearest training examples, nearest first,
        and each message's typicality p-value (1 where there is none)."""
        network, dense = self._network_proba(messages)
        queries = unit_rows(dense)
        if self._typicality is None and self._memory.size:
            # trained without the floor: fitted here, on the same training vectors, so the
            # benchmark can choose a floor without retraining (kept for later batches)
            self._typicality = self._fit_typicality(self._memory, self._memory_labels)
        typical = self._typical(queries)
        if not self._memory.size or queries.shape[1] != self._memory.shape[1]:
            empty = np.zeros((len(messages), 0))
            return network, empty, empty.astype(int), typical
        similarity = queries @ self._memory.T
        k = min(neighbours, similarity.shape[1])
        order = np.argsort(-similarity, axis=1)[:, :k]
        return (network, np.take_along_axis(similarity, order, axis=1),
                self._memory_labels[order], typical)

    @property
    def labels(self) -> List[str]:
        """Intent names, in column order."""
        return list(self._labels)

    def process(self, messages: List[Message]) -> List[Message]:
        """Set each message's intent and intent ranking."""
        if not self._weights or not messages:
            return messages
        probabilities = self.predict_proba(messages)
        for message, row in zip(messages, probabilities, strict=True):
            ranking = self._ranking(row)
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages

    def _ranking(self, row: np.ndarray) -> List[Dict[str, Any]]:
        order = np.argsort(-row)[: self._config["ranking_length"]]
        return [{"name": self._labels[i], "confidence": float(row[i])} for i in order]


def _pad_columns(features: sp.csr_matrix, width: int) -> sp.csr_matrix:
    """Fit a feature matrix to ``width`` columns: zero columns added on the right, or
    extra ones cut (featurizers are trained together, so at inference this only
    matters for an empty or malformed message)."""
    if features.shape[1] == width:
        return features
    if features.shape[1] > width:
        return features[:, :width]
    return sp.csr_matrix(
        (features.data, features.indices, features.indptr), shape=(features.shape[0], width)
    )
