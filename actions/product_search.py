"""Search the catalog by category, brand, colour and price."""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import MATCH_THRESHOLD, answered_about_a_product, language, latest_entities
from actions.constants import ActionName, Entity, Response, Slot
from actions.parsing import amount_only, asks_cheaper, parse_money, price_limits
from actions.presentation import (
    currency_for,
    format_money,
    lowest_shown_price,
    product_lines,
    shown_prices,
)
from actions.product_info import ActionProductInfo
from actions.services import product_graph, text_encoder
from actions.settings import settings
from knowledge_graph.graph import ProductGraph, ProductSummary, SearchResult


def _criteria_text(graph: ProductGraph, lang: str, criteria: dict[str, Any]) -> str:
    color = criteria.get("color_label") or ""
    brand = criteria.get("brand_label") or ""
    category = criteria.get("category_label") or ("商品" if lang == "zh" else "products")
    low, high, cur = criteria.get("min"), criteria.get("max"), criteria["currency"]
    if lang == "zh":
        price = ""
        if low is not None and high is not None:
            price = f"{format_money(low, cur)}到{format_money(high, cur)}之间的"
        elif high is not None:
            price = f"{format_money(high, cur)}以下的"
        elif low is not None:
            price = f"{format_money(low, cur)}以上的"
        return f"{price}{brand}{color}{category}"
    words = " ".join(w for w in (color, brand, category) if w)
    if low is not None and high is not None:
        return f"{words} between {format_money(low, cur)} and {format_money(high, cur)}"
    if high is not None:
        return f"{words} under {format_money(high, cur)}"
    if low is not None:
        return f"{words} over {format_money(low, cur)}"
    return words


class ActionSearchProducts(Action):
    """Lists matching products, cheapest first, and remembers them for follow-ups."""

    def name(self) -> str:
        return ActionName.SEARCH_PRODUCTS

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        lang = language(tracker)
        graph = product_graph()
        text = tracker.latest_message.get("text") or ""

        def first(entity: str) -> str | None:
            # a catalog term first: "a new laptop from lenovo" may tag "new" as a brand
            # and an amount is the budget, never a brand ("三百以内的" may tag 三百)
            tagged = _head_nouns(graph, latest_entities(tracker, entity), entity)
            values = [str(e.get("value") or "") for e in tagged]
            known = [v for v in values if graph.canonical(entity, v)]
            values = known or [v for v in values if not amount_only(v)]
            return values[0] if values else None

        raw_category, raw_brand, raw_color = (first(Entity.CATEGORY), first(Entity.BRAND),
                                              first(Entity.COLOR))
        if not (raw_category or raw_brand or raw_color):
            # the NLU tagged nothing (e.g. a catalog imported after training):
            # look for category, brand and colour names in the text itself
            found = {kind: graph.terms_in(text, kind) for kind in ("category", "brand", "color")}
            raw_category = found["category"][0] if found["category"] else None
            raw_brand = found["brand"][0] if found["brand"] else None
            raw_color = found["color"][0] if found["color"] else _short_color(graph, text)
        if raw_category and not raw_brand:
            # a brand inside a category tag ("lego sets", "nike shoes") is the brand too;
            # the tag's value may be the category it was mapped to ("toys"): read what
            # the customer wrote
            for written in _written(tracker, text, Entity.CATEGORY):
                inside = graph.terms_in(written, "brand")
                if inside:
                    raw_brand = inside[0]
                    break
        limits = price_limits(text, latest_entities(tracker, Entity.PRICE))
        if limits and not (raw_category or raw_brand or raw_color) and \
                _after_recommendations(tracker):
            # "anything under $100?" right after recommendations: those picks within the
            # budget (a signed-in customer's own), not the catalog cheapest first
            from actions.recommend import ActionRecommend

            return await ActionRecommend().run(dispatcher, tracker, domain)
        if raw_color and not (raw_category or raw_brand) and not limits \
                and answered_about_a_product(tracker) \
                and tracker.get_slot(Slot.PRODUCT):
            # "ok, what about black?" after a question about one product: that product
            # in black, not every black product of the shop
            return await ActionProductInfo().run(dispatcher, tracker, domain)
        fresh = raw_category is not None or raw_brand is not None
        previous = {
            "category": tracker.get_slot(Slot.SEARCH_CATEGORY),
            "brand": tracker.get_slot(Slot.SEARCH_BRAND),
            "color": tracker.get_slot(Slot.SEARCH_COLOR),
        }
        raw_category, raw_brand, raw_color = (
            _known(graph, kind, raw, text) for kind, raw in (
                ("category", raw_category), ("brand", raw_brand), ("color", raw_color)))
        if any(graph.canonical(k, r) for k, r in (("category", raw_category),
                                                   ("brand", raw_brand))):
            # beside a known brand or category, a one-character or three-letter tag
            # that is no catalog term is the entity model's noise ("台", "new"), as is
            # one the entity model was unsure of ("顺便看看耳机" tags 顺便 as a brand)
            unsure = _unsure_tags(tracker)
            raw_category, raw_brand, raw_color = (
                None if r and not graph.canonical(k, r) and (_noise(r) or r in unsure) else r
                for k, r in (("category", raw_category), ("brand", raw_brand),
                             ("color", raw_color)))
        brand_only = graph.canonical("brand", raw_brand) if raw_brand and not raw_category \
            else None
        kind_shown = previous["category"] or _category_shown(graph, tracker) \
            if brand_only or not (fresh or raw_category) else None
        if fresh and brand_only and kind_shown and graph.search(
                currency=currency_for(lang, graph), category=kind_shown, brand=brand_only,
                limit=1).total:
            # "索尼的有吗", "那苹果的呢" after a list of headphones: that brand's headphones,
            # within the budget and colour asked for before
            fresh = False
        category = graph.canonical("category", raw_category) if raw_category else (
            None if fresh else kind_shown)
        brand = graph.canonical("brand", raw_brand) if raw_brand else (
            None if fresh else previous["brand"])
        color = graph.canonical("color", raw_color) if raw_color else (
            None if fresh else previous["color"])
        currency = limits.currency or (None if fresh else tracker.get_slot(Slot.SEARCH_CURRENCY))
        currency = currency or currency_for(lang, graph)
        max_price = limits.max if limits.max is not None else (
            None if fresh or tracker.get_slot(Slot.SEARCH_MAX_PRICE) is None
            else Decimal(str(tracker.get_slot(Slot.SEARCH_MAX_PRICE))))
        min_price = limits.min if limits.min is not None else (
            None if fresh or tracker.get_slot(Slot.SEARCH_MIN_PRICE) is None
            else Decimal(str(tracker.get_slot(Slot.SEARCH_MIN_PRICE))))
        compared = _cheaper_than(graph, tracker, currency)
        if compared is not None:  # "phones cheaper than the iPhone 15"
            ceiling, its_category, its_brand = compared
            max_price = ceiling if max_price is None else min(max_price, ceiling)
            category = category or its_category
            if brand is not None and brand == its_brand:
                # "比戴森V15便宜的": the brand was part of the product's name
                brand = raw_brand = None

        if not any((raw_category, raw_brand, raw_color, limits, category, brand, color)):
            # "想买个吸尘器", "any air fryers?": no category, brand or colour, but a word
            # the entity model took for a product, which names a product line
            tags = [str(e.get("value") or "") for e in latest_entities(tracker, Entity.PRODUCT)]
            raw_category = next((
                tag for tag in tags
                if _by_name(graph, tracker.sender_id, tag, currency, None, None, 1)),
                None) or _line_in_text(graph, text) or _asked_for(text)
        if not any((raw_category, raw_brand, raw_color, limits, category, brand, color)):
            dispatcher.utter_message(response=Response.SEARCH_NEED_CRITERIA)
            return []
        criteria = {
            "color_label": _label(graph, "color", color, lang, raw_color),
            "brand_label": _label(graph, "brand", brand, lang, raw_brand),
            "category_label": _label(graph, "category", category, lang, raw_category),
            "min": min_price, "max": max_price, "currency": currency,
        }
        # a word the catalog has no term for is looked for in product names ("macbooks");
        # "华强耳机" is then no headphones of other brands, but none of 华强
        unknown = next((raw for raw, key in ((raw_category, category), (raw_brand, brand),
                                             (raw_color, color)) if raw and not key), None)
        if unknown is None and category and raw_category and not (brand or color):
            # "有卖咖啡豆吗": 咖啡 (coffee) is a category word, but the customer named a
            # product line inside it, which the shop's product names have (a brand or a
            # colour beside the category is no line: "sony headphones")
            unknown = _line_within(graph, text, _written(tracker, text, Entity.CATEGORY),
                                   category)
        result = _by_name(graph, tracker.sender_id, unknown, currency,
                          min_price, max_price, settings().results_per_page) \
            if unknown else catalog_search(
            graph, tracker.sender_id, currency=currency, category=category, brand=brand,
            color=color, min_price=min_price, max_price=max_price,
            limit=settings().results_per_page)
        events: list[EventType] = [
            SlotSet(Slot.SEARCH_CATEGORY, category), SlotSet(Slot.SEARCH_BRAND, brand),
            SlotSet(Slot.SEARCH_COLOR, color), SlotSet(Slot.SEARCH_CURRENCY, currency),
            SlotSet(Slot.SEARCH_MAX_PRICE, float(max_price) if max_price is not None else None),
            SlotSet(Slot.SEARCH_MIN_PRICE, float(min_price) if min_price is not None else None),
        ]
        if result is None or not result.items:
            dispatcher.utter_message(response=Response.SEARCH_NONE,
                                     criteria=_criteria_text(graph, lang, criteria))
            return events
        dispatcher.utter_message(response=Response.SEARCH_RESULTS, count=result.total,
                                 shown=len(result.items),
                                 items=product_lines(result.items, lang, tracker.sender_id))
        skus = [item.sku for item in result.items]
        return events + [SlotSet(Slot.SHOWN_PRODUCTS, skus), SlotSet(Slot.PRODUCT, None)]


def _after_recommendations(tracker: Tracker) -> bool:
    """Whether the products shown last are a recommendation list."""
    shown = tracker.get_slot(Slot.SHOWN_PRODUCTS) or []
    picks = tracker.get_slot(Slot.RECOMMENDATION)
    return bool(shown) and isinstance(picks, dict) and list(picks.get("items") or []) == shown


def _head_nouns(graph: ProductGraph, tagged: list[dict[str, Any]],
                kind: str) -> list[dict[str, Any]]:
    """The tags without a category word that only qualifies the next one.

    "phone chargers", "手机充电器", "laptop bag": two category words side by side are one
    compound noun, and in English as in Chinese the last word says what it is (chargers,
    充电器); the first only says what for. Apart ("chargers for my phone") both stay.
    """
    if kind != Entity.CATEGORY or len(tagged) < 2:
        return tagged
    dropped: set[int] = set()
    for i, (left, right) in enumerate(zip(tagged, tagged[1:], strict=False)):
        keys = [graph.canonical(kind, str(e.get("value") or "")) for e in (left, right)]
        gap = (right.get("start") or 0) - (left.get("end") or 0)
        if all(keys) and keys[0] != keys[1] and 0 <= gap <= 1:
            dropped.add(i)
    return [e for i, e in enumerate(tagged) if i not in dropped]


def _category_shown(graph: ProductGraph, tracker: Tracker) -> str | None:
    """The category every product shown last belongs to (a recommendation list of
    jackets), so "only the black ones" after it means black jackets; else ``None``."""
    shown = [s for s in (tracker.get_slot(Slot.SHOWN_PRODUCTS) or [])
             if isinstance(s, str) and graph.has_product(s)]
    currency = graph.pick_currency("USD")
    categories = {graph.details(s, currency=currency).category_key for s in shown}
    return categories.pop() if len(categories) == 1 else None


#: How far a published price may lie from the list price, either way: a price limit is
#: searched this much wider on list prices, then held to the prices the customer sees.
PRICE_BAND = (Decimal("0.75"), Decimal("1.34"))


def catalog_search(graph: ProductGraph, conversation: str, *, currency: str,
                   min_price: Decimal | None, max_price: Decimal | None, limit: int,
                   **criteria: Any) -> SearchResult:
    """A catalog search whose price limits and order hold for the prices the customer is
    shown (the published price, or the one quoted in ``conversation``), not the list
    prices: "under $100" never lists a product at $104.49, and "cheapest first" is
    cheapest as shown."""
    wide = graph.search(currency=currency, limit=max(10 * limit, 100), **criteria,
                        min_price=None if min_price is None else min_price * PRICE_BAND[0],
                        max_price=None if max_price is None else max_price * PRICE_BAND[1])
    if min_price is not None or max_price is not None:
        return _within(conversation, wide.items, min_price, max_price, limit)
    shown = shown_prices(conversation, wide.items)  # a price on request comes last
    ordered = sorted(wide.items, key=lambda i: (i.sku not in shown, shown.get(i.sku, 0)))
    return SearchResult(total=wide.total, items=tuple(ordered[:limit]))


def _within(conversation: str, items: Sequence[ProductSummary], min_price: Decimal | None,
            max_price: Decimal | None, limit: int) -> SearchResult:
    """Of ``items``, those shown in ``conversation`` within the limits, in stock first,
    cheapest (as shown) first."""
    shown = shown_prices(conversation, items)
    fits = sorted((i for i in items if i.sku in shown
                   and (min_price is None or shown[i.sku] >= min_price)
                   and (max_price is None or shown[i.sku] <= max_price)),
                  key=lambda i: (i.stock <= 0, shown[i.sku]))
    return SearchResult(total=len(fits), items=tuple(fits[:limit]))


def _by_name(graph: ProductGraph, conversation: str, term: str | None, currency: str,
             min_price: Decimal | None, max_price: Decimal | None,
             limit: int) -> SearchResult | None:
    """Products whose names hold a word the catalog has no category or brand for
    ("show me macbooks", "any thinkpads?"): a product line is searched like a category.
    ``None`` when no product name matches well."""
    if not term:
        return None
    groups: dict[str, str] = {}
    category = None  # the best match's: "iphones" lists phones, not an iPhone's case
    for match in graph.match_names(term, limit=20, min_score=MATCH_THRESHOLD):
        details = graph.details(match.sku, currency=currency)
        category = category or details.category_key
        if details.category_key == category:
            groups.setdefault(details.group_id, match.sku)
    if not groups:
        return None
    found = _within(conversation, [graph.summary(sku, currency=currency)
                                   for sku in groups.values()], min_price, max_price, limit)
    return found if found.items else None


def _cheaper_than(graph: ProductGraph, tracker: Tracker,
                  currency: str) -> tuple[Decimal, str, str | None] | None:
    """For "cheaper than the <product>": a price just under its cheapest variant, its
    category and its brand; ``None`` when the message compares with no product.

    The product is a tagged name, else a name written in the text with the
    tolerance a tagged one gets ("有没有比戴森V15便宜的吸尘器" tags only 吸尘器).
    """
    text = tracker.latest_message.get("text") or ""
    if not asks_cheaper(text):
        return None
    candidates = [m for entity in latest_entities(tracker, Entity.PRODUCT)
                  for m in graph.match_names(str(entity.get("value") or ""), limit=1,
                                             min_score=MATCH_THRESHOLD)]
    written = graph.match_in_text(text, min_score=MATCH_THRESHOLD)
    for match in candidates + ([written] if written else []):
        # cheaper than it is shown to this customer (the published or quoted price)
        lowest = lowest_shown_price(tracker.sender_id, graph, match.sku, currency)
        if lowest is not None:
            details = graph.details(match.sku, currency=currency)
            return (lowest - Decimal("0.01"), details.category_key,
                    graph.canonical("brand", details.brand_en))
    return None


# a colour character after the start, a non-Chinese character or a word that comes
# before a choice ("有白的吗", "要黑的", "那款红的"), never inside a word ("明白的")
SHORT_COLOR = re.compile(r"(?:^|(?<=[^\u4e00-\u9fff])|(?<=[要有那买看是和或选换拿个款件双台只条]))"
                         r"([\u4e00-\u9fff])的")


def _short_color(graph: ProductGraph, text: str) -> str | None:
    """A colour said the short Chinese way, "白的" for 白色: a character followed by 的
    whose colour name (the character plus 色) the catalog knows."""
    for match in SHORT_COLOR.finditer(text):
        if graph.canonical("color", f"{match.group(1)}色"):
            return f"{match.group(1)}色"
    return None


#: Below this confidence a learnt entity tag the catalog does not know is not trusted
#: beside a catalog term it does know.
UNSURE_TAG = 0.8
#: A product line is read from a message without tags only on a close name match.
LINE_IN_TEXT = 88.0
_HAN_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'-]+")
#: words around, never inside, a product line's name ("do you have any air purifiers")
_FUNCTION_WORDS = frozenset({
    "a", "an", "the", "any", "some", "do", "does", "you", "your", "have", "has", "got",
    "get", "i", "i'm", "me", "my", "we", "want", "need", "looking", "for", "to", "of", "in",
    "on", "at", "with", "and", "or", "is", "are", "there", "sell", "selling", "buy", "show",
    "find", "please", "pls", "what", "which", "something", "anything", "stuff", "things",
    "new", "good", "cheap", "pair", "pairs", "ones", "just", "only"})
#: particles and verbs that end a question after the thing asked for ("…有没有卖的吗")
_TRAILING = "吗呢吧啊呀嘛的了么有没卖买要"


def _unsure_tags(tracker: Tracker) -> set[str]:
    """Values of the entity model's tags in the latest message it was unsure of."""
    return {str(e.get("value") or "") for e in tracker.latest_message.get("entities") or []
            if e.get("extractor") == "DIETClassifier"
            and float(e.get("confidence_entity") or 1.0) < UNSURE_TAG}


#: "got any kettles?", "do you sell toasters", "有没有卖电水壶", "有电水壶卖吗", "你们卖自行车吗":
#: what is asked for
_ASKED_EN = re.compile(r"(?i)\b(?:got|have|sell|stock|carry|there)\s+(?:any|some)\s+"
                       r"(?P<item>[a-z][a-z' -]{2,40}?)\s*(?:[?.!]|$|\bfor\b|\bunder\b)|"
                       r"\b(?:do you|you)\s+(?:sell|stock|carry)\s+(?P<item2>[a-z][a-z' -]{2,40}?)"
                       r"\s*(?:[?.!]|$)")
_ASKED_ZH = re.compile(r"(?:有没有卖|有没有|卖不卖|有卖)(?P<item>[\u4e00-\u9fff]{2,8}?)"
                       r"(?:卖)?(?:吗|呢|么|吧)?[？?。！!]*$|有(?P<item2>[\u4e00-\u9fff]{2,8}?)卖吗|"
                       r"(?:^|你们|您们|店里|这里|这儿|贵店)(?:也)?卖(?P<item3>[\u4e00-\u9fff]{2,8}?)"
                       r"(?:吗|么|不)[？?。！!]*$")
#: what is too vague to be told "we don't sell it"
_VAGUE = frozenset({"thing", "things", "stuff", "products", "product", "items", "item",
                    "something", "anything", "deals", "offers", "discounts", "discount",
                    "sale", "sales", "promo", "promos", "coupons", "coupon", "东西", "商品",
                    "产品", "好东西", "优惠", "活动", "货"})


def _asked_for(text: str) -> str | None:
    """The thing a customer asks the shop for, in their words, when nothing in the
    catalog is called that ("got any kettles or toasters?" → "kettles or toasters",
    "有没有卖电水壶" → "电水壶"): the search then says the shop has none of it, instead
    of asking what the customer is looking for. ``None`` for vague words."""
    for pattern in (_ASKED_ZH, _ASKED_EN):
        match = pattern.search(text or "")
        if match:
            item = next((g for g in match.groupdict().values() if g), "").strip(" '-")
            if item and item.lower() not in _VAGUE and not item.lower().startswith(
                    ("thing", "something", "anything")):
                return item
    return None


def _line_in_text(graph: ProductGraph, text: str) -> str | None:
    """A product line named in an untagged message ("想买个吸尘器", "有没有咖啡机", "do you
    have any air purifiers"): of the endings of its Chinese runs (in "想买个…", "有没有…"
    the thing asked for comes last), the one that matches a product name best, the
    longer on a tie; else the longest run of English words (neither starting nor ending
    with a word like "any" or "you") that matches one closely; ``None`` when none does."""
    best: tuple[float, int, str] | None = None
    for run in _HAN_RUN.findall(text or ""):
        run = run.rstrip(_TRAILING)  # "咖啡豆有吗": the thing before the question words
        for start in range(len(run) - 1):
            ending = run[start:]
            matches = graph.match_names(ending, limit=1, min_score=LINE_IN_TEXT)
            if matches and (best is None or (matches[0].score, len(ending)) > best[:2]):
                best = (matches[0].score, len(ending), ending)
    if best:
        return best[2]
    words = _LATIN_WORD.findall(text or "")
    english: tuple[int, float, str] | None = None
    for size in (3, 2, 1):
        for start in range(len(words) - size + 1):
            gram = words[start:start + size]
            if {gram[0].lower(), gram[-1].lower()} & _FUNCTION_WORDS or (
                    size == 1 and len(gram[0]) < 5):
                continue
            for phrase in _singulars(" ".join(gram)):
                matches = graph.match_names(phrase, limit=1, min_score=LINE_IN_TEXT)
                if matches and (english is None or (size, matches[0].score) > english[:2]):
                    english = (size, matches[0].score, phrase)
    return english[2] if english else None


def _singulars(phrase: str) -> list[str]:
    """``phrase`` and its last word made singular the ways English does ("kitchen knives"
    → "kitchen knife", "air purifiers" → "air purifier", "batteries" → "battery")."""
    head, _, last = phrase.rpartition(" ")
    lower = last.lower()
    stems = [last]
    for plural, singular in (("ives", "ife"), ("ves", "f"), ("ies", "y"), ("es", ""), ("s", "")):
        if lower.endswith(plural) and len(lower) > len(plural) + 1:
            stems.append(last[: -len(plural)] + singular)
    return [f"{head} {stem}".strip() for stem in dict.fromkeys(stems)]


def _written(tracker: Tracker, text: str, entity: str) -> list[str]:
    """What the customer wrote where the NLU tagged ``entity`` (a tag's value may be the
    term it was mapped to)."""
    spans = []
    for tag in latest_entities(tracker, entity):
        start, end = tag.get("start"), tag.get("end")
        spans.append(text[start:end] if isinstance(start, int) and isinstance(end, int)
                     else str(tag.get("value") or ""))
    return [s for s in spans if s]


def _line_within(graph: ProductGraph, text: str, written: list[str],
                 category: str) -> str | None:
    """A product line named around a category word ("咖啡豆" around 咖啡, "rice cookers"
    around "cookers"): a longer word of the message that starts or ends with it, or the
    word right after it ("kitchen knives"), itself no category, that names products of
    ``category``; else ``None`` ("蘋果的耳機" names no line of headphones)."""
    line = _line_in_text(graph, text)
    # "rice cookers" around "cookers": the line is read in the singular, so is the word
    words = {form for w in written for form in _singulars(w)}
    if not line or graph.canonical("category", line) or not (any(
            (line.startswith(w) or line.endswith(w)) and len(line) > len(w) for w in words)
            or _right_after(text, written, line)):
        return None
    best = graph.match_names(line, limit=1, min_score=LINE_IN_TEXT)
    currency = graph.pick_currency("USD")
    if best and graph.details(best[0].sku, currency=currency).category_key == category:
        return line
    return None


def _right_after(text: str, written: list[str], line: str) -> bool:
    """"any kitchen knives?": the line ("knife") is the word right after the category
    word, in the singular or the plural."""
    lowered = text.lower()
    for word in written:
        for match in re.finditer(re.escape(word.lower()) + r"\s+([a-z][a-z'-]+)", lowered):
            if line.lower() in (form.lower() for form in _singulars(match.group(1))):
                return True
    return False


def _noise(tag: str) -> bool:
    """A tag too short to be a brand, category or colour the shop lacks: one Chinese
    character, or up to three letters."""
    tag = tag.strip()
    return len(tag) <= (1 if any(not c.isascii() for c in tag) else 3)


def _known(graph: ProductGraph, kind: str, raw: str | None, message: str) -> str | None:
    """What the NLU tagged as a brand, category or colour, made a catalog term if possible.

    A tag that is no catalog term may hold one ("new laptop") or be a price the
    entity model mistook ("一万元"): the term inside is used, a price dropped. A
    word the catalog lacks ("厨房小电器", "kitchen stuff") is read as the category
    whose labels mean the same (sentence embeddings, ``ProductGraph.closest_term``);
    failing that, a category named elsewhere in ``message`` (the tag was a fragment:
    "decorations" of "christmas decorations"). An unknown word stays, so the
    customer hears that the shop has none of it.
    """
    if not raw or graph.canonical(kind, raw):
        return raw
    inside = graph.terms_in(raw, kind)
    if inside:
        return inside[0]
    if parse_money(raw) is not None:
        return None
    if kind != "category":
        return raw
    closest = graph.closest_term(raw, kind, encode=text_encoder())
    if closest:
        return closest
    named = graph.terms_in(message, kind)
    return named[0] if named else raw


def _label(graph: ProductGraph, kind: str, key: str | None, lang: str,
           raw: str | None) -> str | None:
    """The catalog's label for ``key``, or what the customer typed if it is unknown."""
    if key:
        return graph.label(kind, key, lang)
    return raw
