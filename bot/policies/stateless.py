"""The shared shape of the policies that learn nothing (they read the tracker)."""

from __future__ import annotations

from typing import Any, Dict, List, TypeVar

from rasa.core.policies.policy import Policy
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.domain import Domain
from rasa.shared.core.generator import TrackerWithCachedStates

Self = TypeVar("Self", bound="StatelessPolicy")


class StatelessPolicy(Policy):
    """A policy with options but nothing to train or save; subclasses implement
    ``predict_action_probabilities``."""

    def __init__(
        self,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        featurizer: Any = None,
    ) -> None:
        super().__init__(config, model_storage, resource, execution_context, featurizer)

    def train(
        self,
        training_trackers: List[TrackerWithCachedStates],
        domain: Domain,
        **kwargs: Any,
    ) -> Resource:
        """Nothing to learn."""
        return self._resource

    @classmethod
    def load(
        cls: type[Self],
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> Self:
        """Nothing is persisted: loading is creating."""
        return cls(config, model_storage, resource, execution_context)
