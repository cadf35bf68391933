"""How upset a customer's message is: the sign the handoff policy offers a person on.

Every message gets ``sentiment: {"negative": p, "upset": bool, "language": ...}``
in its parse data (so Rasa's tracker keeps it and the policy reads it):

- **Chinese**: a logistic regression over character 1-3-grams (TF-IDF), trained
  by ``make sentiment`` on the Chinese shopping reviews (``DATASETS``) into
  ``$SHOP_DATA_DIR/sentiment/zh.json``; ``rasa train`` copies that file into the
  model, so a trained model needs no data directory. Plain arrays and JSON, never
  pickles. Without the file, Chinese messages are not scored (a warning says so).
- **English**: VADER's lexicon (``vaderSentiment``, inside its wheel);
  ``p = (1 - compound) / 2``.

``upset`` is ``p >= thresholds[language]``; the thresholds are chosen by
``make bench-sentiment`` on labelled customer messages held out of everything
else (``evaluation/sentiment``), and set in ``config.yml``.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.components.language import detect_language

logger = logging.getLogger(__name__)
MODEL_FILE = "zh.json"
SENTIMENT = "sentiment"
MAX_TEXT = 1000


def char_grams(text: str, low: int, high: int) -> Dict[str, int]:
    """Counts of the character n-grams of ``text`` (``low`` to ``high`` long)."""
    counts: Dict[str, int] = {}
    for n in range(low, high + 1):
        for i in range(len(text) - n + 1):
            gram = text[i:i + n]
            counts[gram] = counts.get(gram, 0) + 1
    return counts


class ChineseModel:
    """The Chinese review model: TF-IDF character n-grams and a logistic regression."""

    def __init__(self, data: Dict[str, Any]) -> None:
        self.vocabulary: Dict[str, int] = data["vocabulary"]
        self.idf: List[float] = data["idf"]
        self.coef: List[float] = data["coef"]
        self.intercept = float(data["intercept"])
        self.low, self.high = data["ngram"]

    def negative(self, text: str) -> float:
        """Probability that ``text`` is negative."""
        weights: Dict[int, float] = {}
        for gram, count in char_grams(text.lower()[:MAX_TEXT], self.low, self.high).items():
            column = self.vocabulary.get(gram)
            if column is not None:
                weights[column] = (1 + math.log(count)) * self.idf[column]
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        score = self.intercept + sum(self.coef[c] * w / norm for c, w in weights.items())
        return 1 / (1 + math.exp(-max(min(score, 50), -50)))


@lru_cache(maxsize=1)
def _vader() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def english_negative(text: str) -> float:
    """VADER's compound score mapped to a probability-like 0-1 (1 = very negative)."""
    compound = _vader().polarity_scores(text[:MAX_TEXT])["compound"]
    return (1 - compound) / 2


def default_model_path() -> Path:
    """Where ``make sentiment`` writes the Chinese model."""
    return Path(os.environ.get("SHOP_DATA_DIR", "data")) / "sentiment" / MODEL_FILE


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER],
                          is_trainable=True)
class SentimentScorer(GraphComponent):
    """Scores each message's negativity (see the module docstring).

    Options:
        thresholds: ``{"en": ..., "zh": ...}``, the score at which a message is upset.
        zh_model: Path of the Chinese model at training time (default:
            ``$SHOP_DATA_DIR/sentiment/zh.json``).
    """

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """Default options (see the class docstring)."""
        return {"thresholds": {"en": 0.75, "zh": 0.9}, "zh_model": None}

    def __init__(self, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
                 chinese: ChineseModel | None = None) -> None:
        self._config = {**self.get_default_config(), **config}
        self._storage = model_storage
        self._resource = resource
        self._chinese = chinese

    @classmethod
    def create(cls, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "SentimentScorer":
        """An untrained scorer."""
        return cls(config, model_storage, resource)

    @classmethod
    def load(cls, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "SentimentScorer":
        """The scorer with the Chinese model saved in the Rasa model, if there is one."""
        chinese = None
        try:
            with model_storage.read_from(resource) as directory:
                chinese = ChineseModel(json.loads((directory / MODEL_FILE).read_text("utf-8")))
        except (ValueError, FileNotFoundError, KeyError):
            logger.warning("SentimentScorer: no Chinese model in the Rasa model (run `make "
                           "sentiment`, then `make train`); Chinese messages are not scored")
        return cls(config, model_storage, resource, chinese)

    def train(self, training_data: TrainingData) -> Resource:
        """Copy the Chinese model into the Rasa model (nothing is learnt here)."""
        source = Path(self._config["zh_model"] or default_model_path())
        if not source.exists():
            logger.warning("SentimentScorer: %s is missing (run `make sentiment`); the model "
                           "will score English messages only", source)
            return self._resource
        with self._storage.write_to(self._resource) as directory:
            shutil.copyfile(source, directory / MODEL_FILE)
        return self._resource

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Training examples are not scored."""
        return training_data

    def score(self, text: str) -> Dict[str, Any] | None:
        """The sentiment of one message, or ``None`` when it cannot be scored."""
        if not text or text.startswith("/"):
            return None
        language = detect_language(text) or "en"
        if language == "zh":
            if self._chinese is None:
                return None
            negative = self._chinese.negative(text)
        else:
            negative = english_negative(text)
        threshold = float(self._config["thresholds"].get(language, 1.01))
        return {"negative": round(negative, 4), "upset": negative >= threshold,
                "language": language}

    def process(self, messages: List[Message]) -> List[Message]:
        """Add ``sentiment`` to each message's parse data."""
        for message in messages:
            result = self.score(message.get(TEXT) or "")
            if result is not None:
                message.set(SENTIMENT, result, add_to_output=True)
        return messages
