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
    models = graph.model_names()
    for _, model_en, model_zh in models:
        lookups["product"].update((model_en, model_zh))
    lookups["product"].update(short_names(models, brands=graph.vocabulary("brand"),
                                          categories=graph.vocabulary("category")))
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


def short_names(models: list[tuple[str, str, str]], *, brands: dict[str, str],
                categories: dict[str, str]) -> set[str]:
    """The shorter names customers write for catalog models: without the brand
    ("Galaxy S24", "Mate 60 Pro"), without the category word at the end ("JBL Flip 6"
    for "JBL Flip 6 Speaker", "索尼 WH-1000XM5" for "索尼 WH-1000XM5 头戴式耳机"), or both.

    Names cut after their model number are short names too ("Dyson V15", "Legion 5",
    "华为 Mate 60"). A short name is kept only when it still names one model: it has a
    letter (not just "14"), is no brand or category word itself, and no other model
    shortens to it.
    """
    brand_words = sorted((b.lower() for b in brands), key=len, reverse=True)
    category_words = {c.lower() for c in categories}

    def without_brand(name: str) -> str:
        lowered = name.lower()
        for brand in brand_words:
            if lowered.startswith(brand + " "):
                return name[len(brand) + 1:].strip()
        return name

    def without_category(name: str) -> str:
        words = name.split()
        while len(words) > 1:
            last = words[-1].lower()
            two = " ".join(words[-2:]).lower()
            if two in category_words and len(words) > 2:
                words = words[:-2]
            elif last in category_words or (not last.isascii() and any(
                    last.endswith(c) for c in category_words if not c.isascii() and len(c) >= 2)):
                words = words[:-1]
            else:
                break
        return " ".join(words)

    owners: dict[str, set[str]] = {}
    prefix_owners: dict[str, set[str]] = {}
    for group, *names in models:
        for name in names:
            shorter = {without_brand(name), without_category(name),
                       without_category(without_brand(name))}
            for short in shorter:
                owners.setdefault(short, set()).add(group)
            for prefix in {p for n in shorter | {name} for p in _model_number_prefixes(n)}:
                prefix_owners.setdefault(prefix, set()).add(group)
    full = {name for _, *names in models for name in names}
    brand_set = {b.lower() for b in brands}

    def usable(short: str, groups: set[str]) -> bool:
        return (len(groups) == 1 and short not in full
                and bool(re.search(r"[^\W\d_]", short)) and short.lower() not in category_words
                and short.lower() not in brand_set
                and len(short) >= (2 if _HAN.search(short) else 4) and not _plain_word(short))

    kept = {short for short, groups in owners.items() if usable(short, groups)}
    # "Dyson V15" for "Dyson V15 Detect Vacuum": only where no other name or short name
    # is the same words (a prefix never takes "iPhone 15" from the iPhone 15)
    return kept | {prefix for prefix, groups in prefix_owners.items()
                   if prefix not in owners and usable(prefix, groups)}


def _model_number_prefixes(name: str) -> set[str]:
    """Leading words of ``name`` up to a word with a digit in it, the model number:
    "Dyson V15" and "Dyson V15 Detect" of "Dyson V15 Detect Vacuum"."""
    words = name.split()
    return {" ".join(words[:end]) for end in range(1, len(words))
            if any(ch.isdigit() for ch in words[end - 1])}


def _plain_word(name: str) -> bool:
    """One short ordinary Latin word ("Desk"): too common to stand for a model alone."""
    return (" " not in name and name.isascii() and name.isalpha() and len(name) < 6
            and not any(c.isupper() for c in name[1:]))


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
