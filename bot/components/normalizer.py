"""Normalise how shoppers write before anything else reads the message.

:class:`TextNormalizer` is the first component of the pipeline. It rewrites a
message's text, so the tokenizer, featurizers, entity extractors and (through
Rasa's parse data) the actions all read the same normalised text; the
original stays in the tracker's ``UserUttered`` event. Three steps:

1. **Traditional Chinese to Simplified** with OpenCC (``t2s``, plus ``tw2sp``
   phrase conversion when the text had Traditional characters, so 滑鼠 becomes
   鼠标 and 記憶體 内存): the assistant is trained in Simplified Chinese.
2. **Chinese homophone typos in catalog words**: pinyin input methods
   produce the right sound with the wrong character (手几 for 手机, 耳鸡 for
   耳机). A run of 2–6 Han characters that is not itself a dictionary word and
   whose toneless pinyin (``pypinyin``) equals that of a catalog phrase, with
   at least one character in common, is replaced by the catalog phrase.
3. **English typos in catalog words** (``hedphones``, ``samsng``, ``iphnoe``):
   a word that is in neither SymSpell's English frequency dictionary nor the
   training vocabulary is replaced by the catalog word SymSpell finds within
   edit distance 1 (2 for words of 7+ letters). Order numbers, e-mail
   addresses and anything with a digit are left alone.

The catalog phrases are the training data's lookup tables (``make data``
generates them from the product graph), saved with the model.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any, Dict, Iterable, List, Set, Tuple

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

HAN_CHARS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
HAN_RUN = re.compile(f"[{HAN_CHARS}]+")
LATIN_WORD = re.compile(r"(?<![\w@.\-])[A-Za-z]+(?:'[A-Za-z]+)?(?![\w@\-]|\.\w)")
WORD = re.compile(r"[a-z]+")
VOCABULARY_FILE = "normalizer.json"
MAX_TEXT = 5000
MIN_TYPO_WORD = 4  # shorter words have too many neighbours to correct safely


@lru_cache(maxsize=2)
def _converter(config: str) -> Any:
    import opencc

    return opencc.OpenCC(config)


def to_simplified(text: str) -> str:
    """``text`` with Traditional Chinese converted to Simplified (unchanged otherwise)."""
    if not HAN_RUN.search(text):
        return text
    simplified = _converter("t2s").convert(text)
    if simplified == text:
        return text
    # the text was written in Traditional characters: Taiwan phrasing too (滑鼠 -> 鼠标)
    return str(_converter("tw2sp").convert(text))


@lru_cache(maxsize=1)
def _english_words() -> Set[str]:
    """SymSpell's English frequency dictionary (82,765 words) as a set."""
    from importlib.resources import files

    path = files("symspellpy") / "frequency_dictionary_en_82_765.txt"
    return {line.split(" ", 1)[0] for line in path.read_text("utf-8").splitlines() if line}


@lru_cache(maxsize=1)
def _dictionary_words() -> Dict[str, int]:
    """jieba's word frequencies: runs that are real words are never 'corrected'
    (prefixes of words are listed too, with frequency 0: they are no words)."""
    import jieba

    jieba.setLogLevel(60)
    jieba.initialize()
    return dict(jieba.dt.FREQ)


def _pinyin(text: str) -> Tuple[str, ...]:
    from pypinyin import lazy_pinyin

    return tuple(lazy_pinyin(text))


class Normalizer:
    """The three normalisation steps over one catalog vocabulary.

    Args:
        catalog: Catalog phrases (product, brand, category and colour names) in
            both languages.
        known: Words the assistant knows (its training vocabulary); never corrected.
    """

    def __init__(self, catalog: Iterable[str], known: Iterable[str] = ()) -> None:
        from symspellpy import SymSpell

        self._han: Dict[Tuple[str, ...], str] = {}
        latin: Set[str] = set()
        for phrase in catalog:
            for run in HAN_RUN.findall(phrase):
                if 2 <= len(run) <= 6:
                    self._han.setdefault(_pinyin(run), run)
            latin.update(w for w in WORD.findall(phrase.lower()) if len(w) >= MIN_TYPO_WORD)
        self._known = {w.lower() for w in known} | latin
        self._spell = SymSpell(max_dictionary_edit_distance=2, prefix_length=7)
        for word in latin:
            self._spell.create_dictionary_entry(word, 1)
        self._lengths = sorted({len(k) for k in self._han}, reverse=True)

    def __call__(self, text: str) -> str:
        """The normalised text."""
        if not text:
            return text
        head, tail = text[:MAX_TEXT], text[MAX_TEXT:]
        head = to_simplified(head)
        head = HAN_RUN.sub(lambda m: self._fix_han(m.group(0)), head)
        head = LATIN_WORD.sub(lambda m: self._fix_latin(m.group(0)), head)
        return head + tail

    def _fix_han(self, run: str) -> str:
        if not self._han:
            return run
        words = _dictionary_words()
        out, i = [], 0
        while i < len(run):
            for size in self._lengths:
                piece = run[i:i + size]
                if len(piece) < size:
                    continue
                if words.get(piece, 0) > 0:
                    continue  # a real word (jieba also lists every prefix, at 0)
                target = self._han.get(_pinyin(piece))
                if target and target != piece and set(target) & set(piece):
                    out.append(target)
                    i += size
                    break
            else:
                out.append(run[i])
                i += 1
        return "".join(out)

    def _fix_latin(self, word: str) -> str:
        lowered = word.lower()
        if len(lowered) < MIN_TYPO_WORD or lowered in self._known or \
                lowered in _english_words():
            return word
        from symspellpy import Verbosity

        distance = 2 if len(lowered) >= 7 else 1
        found = self._spell.lookup(lowered, Verbosity.TOP, max_edit_distance=distance)
        return found[0].term if found else word


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER],
                          is_trainable=True)
class TextNormalizer(GraphComponent):
    """Rewrites each message's text (see the module docstring). Put it first.

    Options:
        lookup_tables: the lookup tables that hold catalog phrases.
    """

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """Default options (see the class docstring)."""
        return {"lookup_tables": ["product", "brand", "category", "color"]}

    def __init__(self, config: Dict[str, Any], model_storage: ModelStorage,
                 resource: Resource, vocabulary: Dict[str, List[str]] | None = None) -> None:
        self._config = config
        self._storage = model_storage
        self._resource = resource
        self._vocabulary = vocabulary or {"catalog": [], "known": []}
        self._normalizer: Normalizer | None = None

    @classmethod
    def create(cls, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "TextNormalizer":
        """An untrained normalizer (it corrects no catalog words yet)."""
        return cls(config, model_storage, resource)

    @classmethod
    def load(cls, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "TextNormalizer":
        """Load the vocabulary saved with the model."""
        try:
            with model_storage.read_from(resource) as directory:
                vocabulary = json.loads((directory / VOCABULARY_FILE).read_text("utf-8"))
        except (ValueError, FileNotFoundError):
            vocabulary = None
        component = cls(config, model_storage, resource, vocabulary)
        component.normalizer("预热 warm-up")  # dictionaries load with the model, not mid-chat
        return component

    def train(self, training_data: TrainingData) -> Resource:
        """Save the catalog phrases and the training vocabulary with the model."""
        wanted = set(self._config["lookup_tables"])
        catalog: Set[str] = set()
        for table in training_data.lookup_tables:
            elements = table.get("elements") or []
            if table.get("name") in wanted and not isinstance(elements, str):
                catalog.update(str(v).strip() for v in elements if str(v).strip())
        known: Set[str] = set()
        for example in training_data.training_examples:
            known.update(WORD.findall((example.get(TEXT) or "").lower()))
        self._vocabulary = {"catalog": sorted(catalog), "known": sorted(known)}
        self._normalizer = None
        with self._storage.write_to(self._resource) as directory:
            (directory / VOCABULARY_FILE).write_text(
                json.dumps(self._vocabulary, ensure_ascii=False), "utf-8")
        return self._resource

    @property
    def normalizer(self) -> Normalizer:
        """The normalizer, built on first use."""
        if self._normalizer is None:
            self._normalizer = Normalizer(self._vocabulary.get("catalog", []),
                                          self._vocabulary.get("known", []))
        return self._normalizer

    def process(self, messages: List[Message]) -> List[Message]:
        """Normalise each message's text in place."""
        for message in messages:
            text = message.get(TEXT)
            # "/intent{...}" comes from a button or a channel: its entity names and
            # values are exact, not typos ("csat" is no misspelt "cast")
            if isinstance(text, str) and text and not text.startswith("/"):
                normalised = self.normalizer(text)
                if normalised != text:
                    message.set(TEXT, normalised)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Training examples are written clean, and their entity offsets must hold."""
        return training_data
