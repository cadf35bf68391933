"""The shared shape of the pipeline's components that learn nothing."""

from __future__ import annotations

from typing import Any, Dict, TypeVar

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage

Self = TypeVar("Self", bound="StatelessComponent")


class StatelessComponent(GraphComponent):
    """A component with options but nothing to train or save.

    Subclasses implement ``process`` and, for options, override
    ``get_default_config``; training data passes through unchanged.
    """

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """No options."""
        return {}

    def __init__(self, config: Dict[str, Any]) -> None:
        self._config = config

    @classmethod
    def create(cls: type[Self], config: Dict[str, Any], model_storage: ModelStorage,
               resource: Resource, execution_context: ExecutionContext) -> Self:
        """Create the component (it has nothing to train)."""
        return cls(config)

    def process_training_data(self, training_data: Any) -> Any:
        """Training examples pass through unchanged."""
        return training_data
