"""NLU training data derived from the product graph.

Lookup tables (product models, brands, categories, colours) and synonyms
(every label mapped to its canonical key) are generated from whatever catalog
is loaded, so the assistant recognises a shop's own vocabulary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from knowledge_graph.graph import ProductGraph


@dataclass(frozen=True)
class NluVocabulary:
    """Lookup tables and synonyms, ready to be written as Rasa NLU data."""

    lookups: dict[str, list[str]]
    synonyms: dict[str, list[str]]


def build_vocabulary(graph: ProductGraph) -> NluVocabulary:
    """Derive lookup tables and synonyms from ``graph``.

    Returns:
        ``lookups`` maps an entity name (``product``, ``brand``, ``category``,
        ``color``) to its example values; ``synonyms`` maps a canonical key to
        the other words that mean it.
    """
    lookups: dict[str, set[str]] = {"product": set()}
    synonyms: dict[str, set[str]] = {}
    for _, model_en, model_zh in graph.model_names():
        lookups["product"].update((model_en, model_zh))
    for kind in ("brand", "category", "color"):
        table = lookups.setdefault(kind, set())
        for label, key in graph.vocabulary(kind).items():
            if label == key.lower() and "_" in key:
                continue  # an identifier such as "li_ning", not a word people type
            table.add(label)
            if label != key.lower():
                synonyms.setdefault(key, set()).add(label)
    return NluVocabulary(
        lookups={k: sorted(v) for k, v in sorted(lookups.items())},
        synonyms={k: sorted(v) for k, v in sorted(synonyms.items())},
    )


_HAN = re.compile(r"[\u3400-\u9fff]+")


def segmentation_words(graph: ProductGraph) -> list[str]:
    """Chinese words of the catalog (model-name parts, brands, categories, colours).

    Written as a jieba user dictionary so that Chinese product names are
    segmented as whole words and entity boundaries line up with tokens.
    """
    words: set[str] = set()
    for _, _, model_zh in graph.model_names():
        words.update(_HAN.findall(model_zh))
    for kind in ("brand", "category", "color"):
        for label in graph.vocabulary(kind):
            words.update(_HAN.findall(label))
    return sorted(words)


def to_jieba_dictionary(words: list[str], frequency: int = 50000) -> str:
    """Render words as a jieba user dictionary (``word frequency`` per line)."""
    return "".join(f"{w} {frequency}\n" for w in words)


def to_rasa_yaml(vocabulary: NluVocabulary) -> str:
    """Render the vocabulary as a Rasa 3 NLU training-data YAML document."""
    import json

    lines = ['version: "3.1"', "", "# Generated from the product graph by `make data`.",
             "# Do not edit: edit the catalog and rebuild.", "nlu:"]
    for name, values in vocabulary.lookups.items():
        lines.append(f"- lookup: {name}")
        lines.append("  examples: |")
        lines.extend(f"    - {v}" for v in values)
    for key, values in vocabulary.synonyms.items():
        lines.append(f"- synonym: {json.dumps(key, ensure_ascii=False)}")
        lines.append("  examples: |")
        lines.extend(f"    - {v}" for v in values)
    return "\n".join(lines) + "\n"
