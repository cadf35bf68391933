"""Catalog gazetteer: exact product, brand, category and colour names as entities.

:class:`GazetteerEntityExtractor` takes the lookup tables of the training data
(``make data`` generates them from the product graph) and finds their entries
in messages with spaCy's ``PhraseMatcher`` on a blank pipeline, which is built
for tens of thousands of phrases: matching is a hash lookup per token, so the
cost per message does not grow with the catalog. Rasa's own route, regex lookup
tables in ``RegexFeaturizer``, compiles every name into one alternation that is
tried at every position of every message; ``make bench-nlu`` measures both.

Matching runs on "match tokens": lowercased Latin words and digits, and single
Chinese characters, so a Chinese name matches however jieba happens to segment
the sentence around it, and "iphone 15" matches "iPhone 15". The longest match
wins; entities DIET found on the same characters with a gazetteer label are
replaced by the gazetteer's (an exact catalog name beats a guess). The
following ``EntitySynonymMapper`` maps values to their canonical keys.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from typing import Any, Dict, Iterable, List, Sequence, Tuple

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.components.tokenizer import HAN

#: what a colour may be named with: the entity model also tags "休闲" (casual) or "slim"
#: as colours; a colour it found that no word here names is dropped
COLOUR_HAN = set("红橙黄绿青蓝紫白黑灰粉棕褐金银米咖色彩")
COLOUR_WORDS = {
    "beige", "black", "blue", "bronze", "brown", "burgundy", "charcoal", "coral", "cream",
    "crimson", "cyan", "gold", "golden", "gray", "green", "grey", "indigo", "ivory", "khaki",
    "lavender", "lilac", "magenta", "maroon", "mauve", "mint", "navy", "olive", "orange",
    "peach", "pink", "plum", "purple", "red", "rose", "ruby", "salmon", "silver", "tan", "teal",
    "turquoise", "violet", "white", "yellow", "multicolor", "multicolour", "colour", "color",
    "dark", "light", "pale", "bright", "transparent", "clear", "camo", "nude", "blush", "sand",
    "stone", "taupe", "wine", "emerald", "sapphire", "champagne", "graphite", "midnight",
    "starlight", "titanium",
}


def names_a_colour(value: str) -> bool:
    """Whether ``value`` could name a colour ("藏青色", "navy blue", "mauve"; not "休闲")."""
    if any(ch in COLOUR_HAN for ch in value):
        return True
    return any(word in COLOUR_WORDS for word in re.findall(r"[a-z]+", value.lower()))


#: words a colour stem + 的 is part of without naming a colour ("明白的", "蛋白的")
_NOT_COLOUR_BEFORE = "明空坦清蛋苍表告"
#: "这双鞋", "那款耳机", "this phone": a product the entity model tagged that only points
#: at the product under discussion
DEMONSTRATIVE = re.compile(r"^(?:这|那|该|此)|^(?:this|that|these|those|the\s+same)\b",
                           re.IGNORECASE)


def colour_stems(colours: Iterable[str]) -> Dict[str, str]:
    """Chinese colour names without 色, to the name: "白的" names 白色 as "white ones" does."""
    return {c[:-1]: c for c in colours if len(c) >= 2 and c.endswith("色")}


@functools.lru_cache(maxsize=8)
def _stem_pattern(stems: Tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(f"(?<![{_NOT_COLOUR_BEFORE}])(" + "|".join(map(re.escape, stems))
                      + ")(?=的)")


def find_colour_stems(text: str, stems: Dict[str, str]) -> List[Dict[str, Any]]:
    """Colours written as stem + 的 ("白的呢", "要黑的"): entities valued with the full name."""
    if not stems or "的" not in text:
        return []
    pattern = _stem_pattern(tuple(sorted(stems, key=len, reverse=True)))
    return [{"entity": "color", "value": stems[m.group(1)], "start": m.start(1),
             "end": m.end(1)} for m in pattern.finditer(text)]


MATCH_TOKEN = re.compile(f"[{HAN}]|[^\\W_{HAN}]+(?:['’.\\-][^\\W_{HAN}]+)*")
PHRASES_FILE = "phrases.json"
MAX_TEXT = 5000  # longer messages are matched on their first 5,000 characters

Span = Tuple[int, int]


def match_tokens(text: str) -> List[Tuple[str, int, int]]:
    """``(normalised token, start, end)`` for matching: lowercased words, single Han characters."""
    folded = unicodedata.normalize("NFKC", text)
    if len(folded) != len(text):  # keep offsets into the original text
        folded = text
    return [(m.group(0).lower(), m.start(), m.end()) for m in MATCH_TOKEN.finditer(folded)]


class PhraseIndex:
    """spaCy ``PhraseMatcher`` over labelled phrases, matched on :func:`match_tokens`."""

    def __init__(self, phrases: Dict[str, Sequence[str]]) -> None:
        import spacy
        from spacy.matcher import PhraseMatcher

        self._nlp = spacy.blank("xx")  # the vocabulary only: no pipeline runs
        self._matcher = PhraseMatcher(self._nlp.vocab, attr="ORTH")
        self.size = 0
        for label, values in phrases.items():
            patterns = []
            for value in dict.fromkeys(values):
                words = [token for token, _, _ in match_tokens(value)]
                if words:
                    patterns.append(self._doc(words))
            if patterns:
                self._matcher.add(label, patterns)
                self.size += len(patterns)

    def _doc(self, words: List[str]) -> Any:
        from spacy.tokens import Doc

        return Doc(self._nlp.vocab, words=words, spaces=[False] * len(words))

    def find(self, text: str) -> List[Tuple[str, int, int]]:
        """Non-overlapping ``(label, start, end)`` character spans, longest first."""
        tokens = match_tokens(text[:MAX_TEXT])
        if not tokens or not self.size:
            return []
        doc = self._doc([token for token, _, _ in tokens])
        found = []
        for match_id, begin, end in self._matcher(doc):
            found.append((self._nlp.vocab.strings[match_id], begin, end))
        # longest first, then leftmost; keep spans that do not overlap a kept one
        found.sort(key=lambda m: (-(m[2] - m[1]), m[1]))
        taken: List[Tuple[int, int]] = []
        spans = []
        for label, begin, end in found:
            if any(begin < t_end and t_begin < end for t_begin, t_end in taken):
                continue
            taken.append((begin, end))
            spans.append((label, tokens[begin][1], tokens[end - 1][2]))
        return sorted(spans, key=lambda s: s[1])


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=True)
class GazetteerEntityExtractor(GraphComponent, EntityExtractorMixin):
    """Finds the training data's lookup-table entries in messages.

    Options:
        entities: the lookup tables to use (default: product, brand, category, color).
        min_length: ignore entries shorter than this many characters (default 2), so a
            one-letter brand cannot match every "a".
    """

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """Default options (see the class docstring)."""
        return {"entities": ["product", "brand", "category", "color"], "min_length": 2}

    def __init__(
        self,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        phrases: Dict[str, List[str]] | None = None,
    ) -> None:
        self._config = config
        self._storage = model_storage
        self._resource = resource
        self._phrases: Dict[str, List[str]] = phrases or {}
        self._index: PhraseIndex | None = None
        self._stems: Dict[str, str] | None = None

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "GazetteerEntityExtractor":
        """Create an untrained gazetteer."""
        if not isinstance(config.get("entities"), list):
            raise InvalidConfigException("GazetteerEntityExtractor: 'entities' must be a list.")
        return cls(config, model_storage, resource)

    @classmethod
    def load(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "GazetteerEntityExtractor":
        """Load the phrases saved with the model."""
        try:
            with model_storage.read_from(resource) as directory:
                phrases = json.loads((directory / PHRASES_FILE).read_text("utf-8"))
        except (ValueError, FileNotFoundError):
            phrases = {}
        return cls(config, model_storage, resource, phrases)

    def train(self, training_data: TrainingData) -> Resource:
        """Collect the lookup-table entries and save them with the model."""
        wanted = set(self._config["entities"])
        minimum = int(self._config["min_length"])
        phrases: Dict[str, List[str]] = {}
        for table in training_data.lookup_tables:
            if table.get("name") not in wanted:
                continue
            elements = table.get("elements") or []
            if isinstance(elements, str):  # a file path: Rasa reads it itself elsewhere
                continue
            values = [str(v).strip() for v in elements if len(str(v).strip()) >= minimum]
            phrases.setdefault(table["name"], []).extend(values)
        self._phrases = {k: sorted(set(v)) for k, v in sorted(phrases.items())}
        self._index = None
        self._stems = None
        with self._storage.write_to(self._resource) as directory:
            (directory / PHRASES_FILE).write_text(
                json.dumps(self._phrases, ensure_ascii=False), "utf-8"
            )
        return self._resource

    @property
    def _colour_stems(self) -> Dict[str, str]:
        """The catalog's colour stems, worked out on first use."""
        if self._stems is None:
            self._stems = colour_stems(self._phrases.get("color", []))
        return self._stems

    @property
    def index(self) -> PhraseIndex:
        """The phrase matcher, built on first use."""
        if self._index is None:
            self._index = PhraseIndex(self._phrases)
        return self._index

    def process(self, messages: List[Message]) -> List[Message]:
        """Add gazetteer entities, replacing overlapping model entities of the same kinds;
        drop colours the entity model guessed that name no colour."""
        labels = set(self._phrases)
        for message in messages:
            text = message.get(TEXT) or ""
            entities = message.get(ENTITIES, [])
            guessed = [e for e in entities
                       if (e.get("entity") == "color"
                           and not names_a_colour(str(e.get("value") or "")))
                       or (e.get("entity") == "product"
                           and DEMONSTRATIVE.match(str(e.get("value") or "")))]
            if guessed:
                entities = [e for e in entities if e not in guessed]
                message.set(ENTITIES, entities, add_to_output=True)
            spans = self.index.find(text) if text else []
            stems = [{**e, "confidence_entity": 1.0, "extractor": self.__class__.__name__}
                     for e in find_colour_stems(text[:MAX_TEXT], self._colour_stems)
                     if not any(e["start"] < end and start < e["end"]
                                for _, start, end in spans)]
            if not spans and not stems:
                continue
            found = stems + [
                {
                    "entity": label,
                    "value": text[start:end],
                    "start": start,
                    "end": end,
                    "confidence_entity": 1.0,
                    "extractor": self.__class__.__name__,
                }
                for label, start, end in spans
            ]
            kept = [e for e in message.get(ENTITIES, []) if not _overlaps(e, found, labels)]
            message.set(
                ENTITIES, sorted(kept + found, key=lambda e: e.get("start", 0)), add_to_output=True
            )
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Training examples keep their annotated entities."""
        return training_data


def _overlaps(entity: Dict[str, Any], found: Iterable[Dict[str, Any]], labels: set[str]) -> bool:
    if entity.get("entity") not in labels:
        return False
    start, end = entity.get("start"), entity.get("end")
    if start is None or end is None:
        return False
    return any(start < f["end"] and f["start"] < end for f in found)
