"""A policy that tells the customer when a custom action could not run.

When the action server is down or fails, Rasa logs the error and drops the
action's events, so the customer would get no answer at all. This policy
notices that situation (a custom action or form ran after the latest user
message and nothing came back from it) and predicts a polite "I can't look
that up right now" response instead; the conversation then carries on, and
works again as soon as the action server is back.
"""

from __future__ import annotations

from typing import Any, Dict

from rasa.core.policies.policy import PolicyPrediction
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.policies.stateless import StatelessPolicy

FAILURE_RESPONSE = "utter_cannot_lookup"


def failed_action(tracker: DialogueStateTracker, domain: Domain) -> str | None:
    """The custom action or form that just ran without producing any event, if any.

    Only live conversations count: trackers replayed from stories (training,
    ``rasa test``) have no input channel on their user messages and no bot
    messages after custom actions.
    """
    if not tracker.events or not tracker.latest_message or not (
        tracker.latest_message.input_channel
    ):
        return None
    last = tracker.events[-1]
    if not isinstance(last, ActionExecuted) or not last.action_name:
        return None
    name = last.action_name
    custom = set(domain.user_actions) | set(domain.form_names)
    if name not in custom or name.startswith("utter_"):
        return None
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            return name
        if isinstance(event, BotUttered):
            return None
    return None


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT], is_trainable=True
)
class ActionFailurePolicy(StatelessPolicy):
    """Predicts ``utter_cannot_lookup`` right after a custom action failed."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """Outranks the rule policy, but only ever speaks after a failure."""
        return {"priority": 7}

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: Dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        """Certain prediction after a failure, no opinion otherwise."""
        probabilities = self._default_predictions(domain)
        last = tracker.latest_action_name
        if failed_action(tracker, domain) and FAILURE_RESPONSE in domain.action_names_or_texts:
            probabilities[domain.index_for_action(FAILURE_RESPONSE)] = 1.0
        elif last == FAILURE_RESPONSE:
            probabilities[domain.index_for_action(ACTION_LISTEN_NAME)] = 1.0
        return self._prediction(probabilities)

