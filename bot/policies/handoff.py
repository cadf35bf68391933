"""A policy that offers a person when a conversation goes badly, and lets a waiting
customer say "never mind".

- "Talk to a person" is a request for a person wherever it is said, inside a form
  too (``action_handoff_request``); the form is paused, not left: "never mind"
  while waiting goes back to its question ("算了不用人工了，继续退货吧").
- While the conversation waits for a person (slot ``handoff_state``, which
  follows the handoff record, is ``waiting``), a ``deny`` ("never mind", "算了",
  "forget it, cancel the request") takes the customer out of the queue once
  (``action_handoff_cancel``), then a paused form asks its question again. A shop
  question that opens by taking the request back ("actually forget it, show me
  sneakers", "算了不用了，看看休闲鞋") does the same, and the action answers the
  question after it. A shop
  question the assistant can answer (a product, a price, a photo) is answered; any
  other message was written for the person ("hello? is anyone there?", the
  problem itself): the channel already put it in the handoff's feed, and
  ``action_handoff_hold`` says it is kept, never an unrelated prompt or search.
- After the assistant answered a message, the turns since the last handoff
  action are read by :func:`handoff.triggers.detect` (fallbacks in a row,
  failing lookups, a photo with nothing close, a repeated message, an upset
  message (the sentiment component's ``upset`` mark), or a response the shop lists
  in ``offer_after``); when it finds a
  reason, the policy predicts ``action_handoff_offer`` and sets
  ``handoff_reason`` with the prediction, so the action says the right thing
  and the request that may follow carries the reason.
- Only live conversations count (trackers replayed from stories have no input
  channel), and an offer is made at most once per ``cooldown`` messages.

Configuration (``config.yml``): ``fallbacks``, ``failures``, ``photo``,
``repeats``, ``upset_threshold``, ``unclear_negative``, ``offer_after`` (response
names), ``cooldown``.
"""

from __future__ import annotations

from typing import Any, Dict

from rasa.core.policies.policy import PolicyPrediction
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.policies.stateless import StatelessPolicy
from handoff.triggers import (
    HANDOFF_ACTIONS,
    TriggerConfig,
    detect,
    retracts,
    turns_from_events,
    upset_and_unclear,
)

OFFER = "action_handoff_offer"
CANCEL = "action_handoff_cancel"
RATE = "action_handoff_rate"
REQUEST = "action_handoff_request"
HOLD = "action_handoff_hold"
HANDOFF = "human_handoff"
#: what the assistant answers while the customer waits for a person; any other message
#: (greetings, the problem, order requests, what it did not understand) is for the person
ANSWERED_WHILE_WAITING = frozenset({
    "search_products", "ask_price", "ask_discount", "negotiate_price", "ask_color",
    "ask_material", "ask_stock", "ask_details", "compare_products", "ask_accessories",
    "ask_recommendation", "ask_similar", "ask_complements", "pick_recommendation",
    "share_image", "follow_up", "bot_challenge", "ask_why_needed", "thank",
    "unsupported_language"})
STATE_SLOT, REASON_SLOT = "handoff_state", "handoff_reason"
DENY = "deny"
#: events read back (a conversation's last few dozen turns are enough)
WINDOW = 200


def _since_offer(tracker: DialogueStateTracker) -> int | None:
    """Customer messages since the last offer (None: no offer in the window)."""
    messages = 0
    for event in reversed(list(tracker.events)[-WINDOW:]):
        if isinstance(event, UserUttered):
            messages += 1
        elif isinstance(event, ActionExecuted) and event.action_name == OFFER:
            return messages
    return None


def _answered(tracker: DialogueStateTracker) -> bool:
    """Whether the assistant has said something since the customer's last message (an
    offer comes after the answer, never between a form and the action it leads to)."""
    for event in reversed(list(tracker.events)[-WINDOW:]):
        if isinstance(event, BotUttered):
            return True
        if isinstance(event, UserUttered):
            return False
    return False


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT], is_trainable=True
)
class HandoffPolicy(StatelessPolicy):
    """Predicts the handoff offer and "never mind" described in the module docstring."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """Outranks the rule policy (it speaks only in the cases above)."""
        return {"priority": 8, "fallbacks": 2, "failures": 2, "photo": True, "repeats": 2,
                "upset_threshold": 1.01, "unclear_negative": 1.01, "offer_after": [],
                "cooldown": 3}

    def __init__(
        self,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        featurizer: Any = None,
    ) -> None:
        super().__init__(config, model_storage, resource, execution_context, featurizer)
        self.triggers = TriggerConfig(
            fallbacks=int(config["fallbacks"]), failures=int(config["failures"]),
            photo=bool(config["photo"]), repeats=int(config["repeats"]),
            upset_threshold=float(config["upset_threshold"]),
            unclear_negative=float(config["unclear_negative"]),
            configured=frozenset(config.get("offer_after") or ()))
        self.cooldown = int(config["cooldown"])

    def _cooling_down(self, tracker: DialogueStateTracker) -> bool:
        """A person was offered fewer than ``cooldown`` messages ago."""
        since = _since_offer(tracker)
        return since is not None and since < self.cooldown

    def _reason(self, tracker: DialogueStateTracker) -> str | None:
        if self._cooling_down(tracker):
            return None
        events = [e.as_dict() for e in list(tracker.events)[-WINDOW:]]
        return detect(turns_from_events(events), self.triggers)

    def _upset_and_unclear(self, tracker: DialogueStateTracker, state: Any) -> bool:
        """An upset message with nothing to act on gets the offer instead of "I didn't
        follow that" (outside forms and handoffs, at most once per ``cooldown``)."""
        if state in ("waiting", "assigned") or tracker.active_loop_name \
                or self._cooling_down(tracker):
            return False
        turns = turns_from_events([tracker.latest_message.as_dict()]) \
            if tracker.latest_message else []
        return bool(turns) and upset_and_unclear(turns[-1], self.triggers)

    @staticmethod
    def _while_held(tracker: DialogueStateTracker, state: Any, intent: Any,
                    names: Any) -> str | None:
        """The action for a new message while waiting for a person or inside a form."""
        if intent == HANDOFF and (state == "waiting" or tracker.active_loop_name):
            return REQUEST  # also inside a form, which is paused
        if state != "waiting":
            return None
        if intent == DENY:
            return CANCEL
        if intent in ANSWERED_WHILE_WAITING and retracts(tracker.latest_message.text or ""):
            return CANCEL  # "forget it, show me sneakers": out of the queue, then answered
        if intent in ANSWERED_WHILE_WAITING or HOLD not in names:
            return None
        return HOLD

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: Dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        """Certain prediction in the cases above, no opinion otherwise."""
        probabilities = self._default_predictions(domain)
        names = domain.action_names_or_texts
        latest = tracker.latest_message
        if OFFER not in names or latest is None or not latest.input_channel:
            return self._prediction(probabilities)
        last = tracker.latest_action_name
        state = tracker.get_slot(STATE_SLOT)
        if last == ACTION_LISTEN_NAME:
            action = self._while_held(tracker, state, latest.intent.get("name"), names)
            if action is not None:
                probabilities[domain.index_for_action(action)] = 1.0
            elif self._upset_and_unclear(tracker, state):
                probabilities[domain.index_for_action(OFFER)] = 1.0
                return self._prediction(probabilities, events=[SlotSet(REASON_SLOT, "upset")])
            return self._prediction(probabilities)
        if last == CANCEL and tracker.active_loop_name in names:
            # the paused form asks its question again (a form that was rejected when "talk
            # to a person" interrupted it is not predicted by the rule policy by itself)
            probabilities[domain.index_for_action(tracker.active_loop_name)] = 1.0
            return self._prediction(probabilities)
        if last in HANDOFF_ACTIONS or last in (RATE, HOLD):
            probabilities[domain.index_for_action(ACTION_LISTEN_NAME)] = 1.0
            return self._prediction(probabilities)
        if state in ("waiting", "assigned") or tracker.active_loop_name \
                or not _answered(tracker):
            return self._prediction(probabilities)
        reason = self._reason(tracker)
        if reason is None:
            return self._prediction(probabilities)
        probabilities[domain.index_for_action(OFFER)] = 1.0
        return self._prediction(probabilities, events=[SlotSet(REASON_SLOT, reason)])

