"""When the assistant should offer a person: read from a conversation's turns.

The assistant hands over at once when the customer asks for a person. It
*offers* a person (one tap to accept) when the conversation shows it is
failing or the customer is upset:

- ``fallbacks``: it did not understand ``fallbacks`` messages in a row;
- ``failures``: a lookup failed ``failures`` times since the last offer;
- ``photo``: a photo found nothing close in the catalog;
- ``repeated``: the customer sent the same message again (it was not helped);
- ``upset``: the sentiment model marked the message upset (or its negative
  score reached ``upset_threshold``);
- shop-configured cases (``configured``): responses a shop lists, e.g. a
  refused cancellation of a shipped order, a return outside the window, a
  haggle the price rules cannot meet.

:func:`turns_from_events` reads Rasa's event JSON (plain dicts: no Rasa import),
so the policy that decides to offer and the action that makes the offer read
the same turns and agree on the reason.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: reasons, in the order they are checked
REASONS = ("configured", "failures", "photo", "fallbacks", "upset", "repeated")
FALLBACK_INTENT = "nlu_fallback"
FALLBACK_RESPONSES = frozenset({"utter_default", "utter_ask_rephrase"})
#: intents of messages the assistant has no answer for
UNCLEAR_INTENTS = frozenset({FALLBACK_INTENT, "out_of_scope"})
FAILURE_RESPONSE = "utter_cannot_lookup"
PHOTO_MISS_RESPONSE = "utter_visual_none"
#: actions that mean a person was offered or asked for (a new count starts after them)
HANDOFF_ACTIONS = frozenset({"action_handoff_offer", "action_handoff_request",
                             "action_handoff_cancel", "action_handoff_return"})
#: short conversational acts: "no thanks" is not upset whatever a lexicon says
CALM_INTENTS = frozenset({"deny", "affirm", "thank", "greet", "goodbye"})
_SHORT = re.compile(r"^[\W\d_]*$")
#: a message that opens by taking back the request for a person before asking something
#: else: "actually forget it, show me sneakers", "算了不用了，给我看看休闲鞋"
_RETRACTS = re.compile(
    r"^\W*(?:(?:ok(?:ay)?|oh|ah|actually|wait|no|nah|hmm+|um+)\W+)*"
    r"(?:forget (?:it|that|about it|the (?:person|agent|request))|never ?mind|no need"
    r"|scratch that|cancel (?:that|it|the request)|don'?t bother|i'?ll pass)\b"
    r"|^\W*(?:(?:哦|啊|嗯|等等|等下)\W*)*(?:算了|不用了|不需要了|不要了|不找了|取消吧)",
    re.IGNORECASE)


def retracts(text: str) -> bool:
    """Whether ``text`` opens by taking back a request ("forget it, …", "算了，…"): said
    while waiting for a person, it leaves the queue before the rest is answered."""
    return bool(_RETRACTS.search(unicodedata.normalize("NFKC", text or "")))


@dataclass(frozen=True)
class TriggerConfig:
    """Which signs of trouble lead to an offer (keyword arguments; 0 turns one off).

    Args:
        fallbacks: Not-understood messages in a row.
        failures: Failed lookups since the last offer.
        photo: Offer after a photo that found nothing close.
        repeats: The same message sent this many times in a row.
        upset_threshold: Negative score that counts as upset whatever the model
            said (1.01: only the model's own ``upset`` mark counts).
        unclear_negative: Negative score from which a message the assistant has no
            answer for gets the offer instead of "I didn't follow that" ("这也太离谱了"
            reads 0.63, below the upset mark); 1.01: only upset ones.
        configured: Response names (``utter_...``) after which a shop wants
            a person offered.
    """

    fallbacks: int = 2
    failures: int = 2
    photo: bool = True
    repeats: int = 2
    upset_threshold: float = 1.01
    unclear_negative: float = 1.01
    configured: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Turn:
    """One customer message and what the assistant did with it.

    Attributes:
        text: The customer's words.
        intent: The recognised intent.
        negative: The message's negative score, 0-1 (``None``: not scored).
        upset: The sentiment model's mark: upset enough for a person.
        responses: Names of the responses the assistant gave to it.
    """

    text: str
    intent: str | None
    negative: float | None = None
    upset: bool = False
    responses: tuple[str, ...] = ()


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return re.sub(r"[\s\W_]+", " ", text).strip()


def turns_from_events(events: Iterable[Mapping[str, Any]]) -> list[Turn]:
    """The customer turns since the last handoff action (offer, request, return).

    Args:
        events: Rasa events as JSON dicts (``event``, ``parse_data``, ``metadata``, ...).
    """
    turns: list[Turn] = []
    current: dict[str, Any] | None = None
    for event in events:
        kind = event.get("event")
        if kind == "user":
            if current is not None:
                turns.append(_turn(current))
            parse = event.get("parse_data") or {}
            intent = (parse.get("intent") or {}).get("name")
            sentiment = parse.get("sentiment") or {}
            negative = sentiment.get("negative") if isinstance(sentiment, dict) else None
            current = {"text": str(event.get("text") or ""), "intent": intent,
                       "negative": negative if isinstance(negative, (int, float)) else None,
                       "upset": isinstance(sentiment, dict) and sentiment.get("upset") is True,
                       "responses": []}
        elif kind == "bot" and current is not None:
            name = (event.get("metadata") or {}).get("utter_action")
            if isinstance(name, str):
                current["responses"].append(name)
        elif kind == "action" and event.get("name") in HANDOFF_ACTIONS:
            turns, current = [], None
    if current is not None:
        turns.append(_turn(current))
    return turns


def _turn(data: dict[str, Any]) -> Turn:
    return Turn(text=data["text"], intent=data["intent"], negative=data["negative"],
                upset=data["upset"], responses=tuple(data["responses"]))


def _not_understood(turn: Turn) -> bool:
    return turn.intent == FALLBACK_INTENT or bool(FALLBACK_RESPONSES & set(turn.responses))


def _upset(turn: Turn, config: TriggerConfig) -> bool:
    return turn.upset or (turn.negative is not None and turn.negative >= config.upset_threshold)


def upset_and_unclear(turn: Turn, config: TriggerConfig) -> bool:
    """An upset message the assistant cannot act on ("that's annoying", "好麻烦啊").

    Offering a person is the whole answer: "sorry, I didn't follow that" first would
    tell an unhappy customer that they were not understood either.
    """
    negative = turn.negative is not None and turn.negative >= config.unclear_negative
    return (_upset(turn, config) or negative) and turn.intent in UNCLEAR_INTENTS


def detect(turns: Sequence[Turn], config: TriggerConfig) -> str | None:
    """Why a person should be offered now, or ``None``.

    Only the latest turn can start an offer: a conversation that was in
    trouble earlier and is fine now gets none.
    """
    if not turns:
        return None
    last = turns[-1]
    if config.configured & set(last.responses):
        return "configured"
    if config.failures and FAILURE_RESPONSE in last.responses and sum(
            FAILURE_RESPONSE in t.responses for t in turns) >= config.failures:
        return "failures"
    if config.photo and PHOTO_MISS_RESPONSE in last.responses:
        return "photo"
    if config.fallbacks and len(turns) >= config.fallbacks and all(
            _not_understood(t) for t in turns[-config.fallbacks:]):
        return "fallbacks"
    if _upset(last, config) and last.intent not in CALM_INTENTS:
        return "upset"
    if config.repeats >= 2 and len(turns) >= config.repeats:
        said = [_normalise(t.text) for t in turns[-config.repeats:]]
        if said[0] and not _SHORT.match(said[0]) and len(said[0]) >= 4 \
                and all(s == said[0] for s in said):
            return "repeated"
    return None
