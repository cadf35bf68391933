"""Helpers shared by the actions: language, money and date formatting, and
resolving which product a customer means."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.constants import ActionName, Entity, Response, Slot
from actions.knowledge_base import GraphKnowledgeBase
from actions.parsing import amount_only, same_size
from actions.presentation import conversation_price, currency_for, join_words
from knowledge_graph.graph import ProductDetails, ProductGraph, ProductSummary, name_tokens
from shop.orders import CustomerIdentity

MATCH_THRESHOLD = 75.0
SUGGEST_THRESHOLD = 55.0


def language(tracker: Tracker) -> str:
    """The language of the customer's latest message (``en`` or ``zh``)."""
    value = tracker.get_slot(Slot.LANGUAGE)
    return value if value in ("en", "zh") else "en"


def latest_entities(tracker: Tracker, entity: str) -> list[dict[str, Any]]:
    """Entities of one type in the latest user message, in text order."""
    found = [e for e in tracker.latest_message.get("entities", []) if e.get("entity") == entity]
    return sorted(found, key=lambda e: e.get("start") or 0)


@dataclass(frozen=True)
class Resolution:
    """Which products a customer referred to, or why it is unclear.

    Exactly one of ``skus`` (non-empty) or ``response`` (what to say) is set.
    """

    skus: tuple[str, ...] = ()
    response: str | None = None
    kwargs: dict[str, Any] | None = None


def _part_of(fragment: str, name: str) -> bool:
    """True when every word of ``fragment`` is a word of ``name`` (Chinese: a substring),
    with words split as the graph's name matching splits them."""
    words, lowered = name_tokens(fragment.lower()), name.lower()
    name_words = set(name_tokens(lowered))
    return bool(words) and all(w in name_words or (not w.isascii() and w in lowered)
                               for w in words)


def product_entities(tracker: Tracker, graph: ProductGraph) -> list[dict[str, Any]]:
    """The latest message's product entities that can be names.

    One without a letter ("100" of "nothing over $100") or that is an amount of
    money ("500元", "2k", "$80") is a number the entity model mistook, and a Latin
    word of three letters or fewer ("max" of "max 80 dollars") counts only when it
    is a product's name, not as a fuzzy guess.
    """
    def plausible(value: str) -> bool:
        value = value.strip()
        if not any(c.isalpha() for c in value) or amount_only(value):
            return False
        if len(value) <= 3 and value.isascii():
            matches = graph.match_names(value, limit=1, min_score=MATCH_THRESHOLD)
            return bool(matches) or graph.has_product(value)
        return True

    return [e for e in latest_entities(tracker, Entity.PRODUCT)
            if plausible(str(e.get("value") or ""))]


def resolve_products(tracker: Tracker, graph: ProductGraph, *, wanted: int = 1) -> Resolution:
    """Resolve the products a message refers to.

    Looks, in order, at product names in the message (fuzzy-matched against the
    graph), mentions of the last list shown resolved by the graph's knowledge
    base ("the second one", "the cheaper one", see
    :class:`actions.knowledge_base.GraphKnowledgeBase`), a whole
    catalog name in the text when the NLU tagged none, and the product under
    discussion ("it").

    Args:
        tracker: The conversation.
        graph: The product graph.
        wanted: How many products the caller needs (2 for a comparison).
    """
    lang = language(tracker)
    skus: list[str] = []
    message = tracker.latest_message.get("text") or ""
    mention_spans = [(e.get("start"), e.get("end")) for e in
                     latest_entities(tracker, Entity.MENTION)]
    # a product "name" inside a reference ("3" of "3号") is the reference's, and one
    # without a letter ("100" of "nothing over $100") is a number, not a name
    entities = [e for e in product_entities(tracker, graph)
                if not any(isinstance(s, int) and isinstance(f, int)
                            and isinstance(e.get("start"), int) and isinstance(e.get("end"), int)
                            and s < e["end"] and e["start"] < f for s, f in mention_spans)]
    # one whole catalog name written in the message decides a tagged part of it; with
    # two names tagged ("Xiaomi 14 and Xiaomi 14 Ultra") each stands for itself
    whole = graph.find_mentioned(message) if len(entities) == 1 else None
    for entity in entities:
        text = str(entity.get("value") or "")
        if graph.has_product(text):  # a button's payload names the SKU itself
            skus.append(text)
            continue
        if whole is not None and _part_of(text, whole.name):
            # the NLU tagged part of a whole catalog name written in the message
            # ("apple" of "granny smith apple"): the whole name decides
            skus.append(whole.sku)
            continue
        matches = graph.match_names(text, limit=3, min_score=SUGGEST_THRESHOLD)
        if matches and matches[0].score >= MATCH_THRESHOLD:
            skus.append(matches[0].sku)
        elif elsewhere := _named_elsewhere(graph, message, text, skus):
            # the tag missed: "quick one - price of a Dell XPS 13?" tags "quick", but
            # the message names a catalog product in full
            skus.append(elsewhere)
        elif _noise(text):
            continue  # one stray character tagged ("排第一的那个", "好吧 那個還有貨嗎")
        elif matches:
            names = [graph.model_name(m.sku, lang) for m in matches]
            return Resolution(response=Response.PRODUCT_SUGGESTIONS,
                              kwargs={"query": quote(text),
                                      "suggestions": join_words(names, lang)})
        else:
            return Resolution(response=Response.PRODUCT_NOT_FOUND, kwargs={"query": quote(text)})
    shown = [s for s in (tracker.get_slot(Slot.SHOWN_PRODUCTS) or []) if isinstance(s, str)]
    currency = currency_for(lang, graph)

    def shown_price(sku: str) -> Decimal | None:
        summary = graph.summary(sku, currency=currency)
        return conversation_price(tracker.sender_id, sku, summary.price, summary.currency)

    mentions = GraphKnowledgeBase(graph, currency=currency, language=lang,
                                  price=shown_price).ordinal_mention_mapping
    for entity in latest_entities(tracker, Entity.MENTION):
        resolve = mentions.get(str(entity.get("value") or "").strip().lower())
        if resolve is None:
            continue
        try:
            skus.append(resolve(shown))
        except IndexError:
            if not shown:  # "the first one" before any list: nothing to count from
                return Resolution(response=Response.MENTION_NOTHING_SHOWN, kwargs={})
            return Resolution(response=Response.MENTION_OUT_OF_RANGE,
                              kwargs={"count": len(shown)})
    if not skus and not latest_entities(tracker, Entity.MENTION):
        # the NLU tagged no product: look for a whole catalog name in the text
        mentioned = graph.find_mentioned(message)
        if mentioned:
            skus.append(mentioned.sku)
    current = tracker.get_slot(Slot.PRODUCT)
    if len(skus) < wanted and isinstance(current, str) and current not in skus:
        skus.insert(0, current)
    if not skus and len(shown) == 1 and wanted == 1 and \
            not latest_entities(tracker, Entity.COLOR):
        skus.append(shown[0])  # "what do those cost" after a list of one: that one
    if not skus and shown and wanted == 1:
        # "the grey one" after a list: the listed product in that colour
        picked = _shown_in_color(graph, shown, latest_entities(tracker, Entity.COLOR))
        if picked:
            skus.append(picked)
    if not skus and not latest_entities(tracker, Entity.MENTION):
        # nothing tagged, named whole or under discussion: a misspelt name in the
        # text ("macbok air"), held to the bar a tagged mention must clear
        misspelt = graph.match_in_text(message, min_score=MATCH_THRESHOLD)
        if misspelt:
            skus.append(misspelt.sku)
    if not skus and wanted == 1 and not latest_entities(tracker, Entity.MENTION):
        # "美的电饭煲什么价", "is the Dyson any good?": a brand the shop sells one
        # product of (in the category named, if any) names that product
        only = _only_product_of_brand(tracker, graph)
        if only:
            skus.append(only)
    if len(skus) < wanted and wanted > 1:
        for sku in shown:
            if len(skus) >= wanted:
                break
            if sku not in skus:
                skus.append(sku)
    skus = [s for s in dict.fromkeys(skus) if graph.has_product(s)]
    if len(skus) < wanted:
        return Resolution(response=Response.COMPARE_NEED_TWO if wanted > 1
                          else Response.WHICH_PRODUCT, kwargs={})
    if wanted == 1:
        # "is the silver one in stock?", "blue then, how much?": that colour's variant
        colors = latest_entities(tracker, Entity.COLOR)
        if colors:
            skus[0] = variant_in_color(graph, skus[0], str(colors[0].get("value") or "")) \
                or skus[0]
    return Resolution(skus=tuple(skus[:max(wanted, 1)] if wanted == 1 else skus))


def _only_product_of_brand(tracker: Tracker, graph: ProductGraph) -> str | None:
    """The one product group of the brand named in the message, if there is one."""
    brands = {graph.canonical("brand", str(e.get("value") or ""))
              for e in latest_entities(tracker, Entity.BRAND)} - {None}
    if not brands:  # untagged: a brand written in the text ("戴森那个多少钱")
        brands = set(graph.terms_in(tracker.latest_message.get("text") or "", "brand")[:1])
    categories = {graph.canonical("category", str(e.get("value") or ""))
                  for e in latest_entities(tracker, Entity.CATEGORY)} - {None}
    if len(brands) != 1 or len(categories) > 1:
        return None
    found = graph.search(currency=graph.pick_currency("USD"), brand=brands.pop(),
                         category=categories.pop() if categories else None, limit=2)
    return found.items[0].sku if found.total == 1 and found.items else None


def _noise(tagged: str) -> bool:
    """Whether a tagged product "name" is a single character (a particle or a verb the
    entity model caught, never a product name)."""
    return len(tagged.strip()) <= 1


def _named_elsewhere(graph: ProductGraph, message: str, tagged: str,
                     found: list[str]) -> str | None:
    """A catalog product the message names outside the tagged ``tagged`` (whole, or
    misspelt but clearly), not already ``found``; ``None`` when there is none."""
    rest = message.replace(tagged, " ") if tagged else message
    for match in (graph.find_mentioned(rest), graph.match_in_text(rest,
                                                                   min_score=MATCH_THRESHOLD)):
        if match is not None and match.sku not in found:
            return str(match.sku)
    return None


def _shown_in_color(graph: ProductGraph, shown: list[str],
                    colors: list[dict[str, Any]]) -> str | None:
    """Of the products shown, the one listed in the colour named (else the first with a
    variant in it); ``None`` when no colour is named or none has it."""
    if not colors:
        return None
    wanted = str(colors[0].get("value") or "")
    key = graph.canonical("color", wanted) or wanted.lower()
    listed = [s for s in shown if graph.has_product(s)]
    for sku in listed:
        if graph.details(sku, currency=graph.pick_currency("USD")).color_en == key:
            return sku
    return next((v for v in (variant_in_color(graph, s, wanted) for s in listed) if v), None)


def variant_in_color(graph: ProductGraph, sku: str, color: str) -> str | None:
    """The variant of ``sku``'s model in ``color`` (see :func:`pick_variant`), or
    ``None`` when the model has no such colour."""
    details = graph.details(sku, currency=graph.pick_currency("USD"))
    wanted = graph.canonical("color", color) or color.lower()
    pick = pick_variant(graph, details, graph.variants(sku, currency=details.currency), wanted)
    return pick.sku if pick else None


def pick_variant(graph: ProductGraph, details: ProductDetails,
                 variants: list[ProductSummary], color: str) -> ProductSummary | None:
    """Of ``variants``, the one in colour key ``color``: the same size or capacity as
    ``details`` when there is one, in stock first."""
    matching = [v for v in variants if v.color_en == color]
    if not matching:
        return None
    here = (details.size, details.capacity)

    def size_of(v: ProductSummary) -> tuple[str | None, str | None]:
        d = graph.details(v.sku, currency=v.currency)
        return d.size, d.capacity

    pool = [v for v in matching if size_of(v) == here] or matching
    in_stock = [v for v in pool if v.stock > 0]
    return (in_stock or pool)[0]


def variant_in_size(graph: ProductGraph, details: ProductDetails,
                    size: str) -> tuple[ProductSummary | None, list[str]]:
    """The variant of ``details``' model in ``size`` (its colour if that size comes in it,
    in stock first), and every size the model comes in (empty: it has no sizes)."""
    variants = graph.variants(details.sku, currency=details.currency)
    sized = [(v, graph.details(v.sku, currency=v.currency).size) for v in variants]
    sizes = list(dict.fromkeys(s for _, s in sized if s))
    fitting = [v for v, s in sized if same_size(size, s)]
    pool = [v for v in fitting if v.color_en == details.color_en] or fitting
    pool.sort(key=lambda v: v.stock <= 0)
    return (pool[0] if pool else None), sizes


#: answers about one product: a colour named right after one refines that product
PRODUCT_ANSWERS = {ActionName.PRODUCT_INFO, ActionName.QUOTE_PRICE, ActionName.OFFER_DISCOUNT,
                   ActionName.NEGOTIATE_PRICE, ActionName.RECOMMENDATION_CLICK}


def previous_answer(tracker: Tracker) -> str | None:
    """The last action that answered before the latest message (``action_listen`` and
    slot-only actions aside)."""
    seen_user = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            if seen_user:
                break
            seen_user = True
            continue
        if seen_user and event.get("event") == "action" and event.get("name") not in (
                "action_listen", None):
            return str(event["name"])
    return None


def answered_about_a_product(tracker: Tracker) -> bool:
    """Whether the answer before this message was about one product (a follow-up that
    named or pointed at one counts: "安踏KT9有绿色的吗" ... "那黑色呢")."""
    answer = previous_answer(tracker)
    if answer in PRODUCT_ANSWERS:
        return True
    if answer != ActionName.FOLLOW_UP:
        return False
    users = [e for e in tracker.events if e.get("event") == "user"]
    if len(users) < 2:
        return False
    entities = (users[-2].get("parse_data") or {}).get("entities") or []
    return any(e.get("entity") in (Entity.PRODUCT, Entity.MENTION) for e in entities)


def say(dispatcher: CollectingDispatcher, resolution: Resolution) -> list[SlotSet]:
    """Utter the response of an unresolved :class:`Resolution`."""
    dispatcher.utter_message(response=resolution.response, **(resolution.kwargs or {}))
    return []


def resolve_one(dispatcher: CollectingDispatcher, tracker: Tracker,
                graph: ProductGraph) -> str | None:
    """The one product the message is about, or ``None`` after saying why it is unclear."""
    resolution = resolve_products(tracker, graph)
    if not resolution.skus:
        say(dispatcher, resolution)
        return None
    return resolution.skus[0]


def channel_facts(tracker: Tracker) -> dict[str, Any]:
    """What the channel verified about the latest message (``metadata.verified``).

    Only a channel writes this key (it overwrites whatever a client sent), and
    only our Rasa server can call the action server, so it is the one place an
    action learns who is chatting and from where.
    """
    metadata = tracker.latest_message.get("metadata") or {}
    facts = metadata.get("verified") if isinstance(metadata, dict) else None
    return facts if isinstance(facts, dict) else {}


_MARKUP = str.maketrans({c: " " for c in "<>`{}\\"})


def quote(text: Any, limit: int = 40) -> str:
    """Customer text fit to be repeated in a reply.

    Replies quote what a customer wrote only to say what was not understood.
    The quote is NFKC-normalised, loses control and invisible characters and
    the characters that make markup (``<>`{}\\``), has its whitespace collapsed
    and is cut to ``limit`` characters. Channels still escape everything they
    render; this keeps a careless renderer from being handed a script.
    """
    value = unicodedata.normalize("NFKC", str(text or ""))
    value = "".join(c for c in value if unicodedata.category(c)[0] != "C").translate(_MARKUP)
    value = " ".join(value.split())
    return value if len(value) <= limit else value[:limit - 1].rstrip() + "…"


def customer_identity(tracker: Tracker) -> CustomerIdentity:
    """Who is chatting: the customer id the channel verified, and any e-mail given.

    The id comes from the latest message only, and only when the channel
    checked its signature (``shop.identity``): an id a client merely claims is
    never used, and one message's proof does not carry over to the next.
    """
    facts = channel_facts(tracker)
    customer_id = facts.get("customer_id")
    email = tracker.get_slot(Slot.ORDER_EMAIL)
    return CustomerIdentity(customer_id=customer_id if isinstance(customer_id, str) and
                            customer_id else None,
                            email=email if isinstance(email, str) else None,
                            conversation=tracker.sender_id,
                            client=str(facts.get("client") or "") or None)
