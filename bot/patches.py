"""Fixes for Rasa 3.6: for speed, so that no message can stop the server, and so that
a platform's acknowledgement never waits on the NLU.

**The NLU runs off the event loop.** Rasa 3.6 parses a message (tokenizer, two
sentence encoders, DIET, ...) inside ``MessageProcessor.parse_message``, on the
server's event loop: while one message is understood (100-300 ms, seconds with both
cores busy), no webhook is acknowledged and no timer fires. WeChat drops a delivery
it has not had an answer to within 5 s, and our channel's 4-s timer that answers
``success`` first could not fire while the loop computed. :func:`_parse_message`
runs the same graph on one worker thread (NLU calls stay one at a time, as before)
and returns the same parse data; the event loop keeps answering meanwhile.

**A failed tracker save is one failed turn, not a dead server.** Rasa's
``SQLTrackerStore.session_scope`` treats *any* ``ValueError`` raised while a
session is open as "the PostgreSQL schema is missing" and calls ``sys.exit(1)``.
A ``UnicodeEncodeError`` (a ``ValueError``) from a text the database cannot
encode therefore stopped the whole assistant. :func:`_session_scope` keeps the
schema check (still fatal at start-up, where it belongs) but lets errors from
the work inside the session propagate as :class:`TrackerStoreError`, which the
channel logs and answers with an apology.

**A model loads without tracing its training step.** Rasa 3.6 builds a loaded DIET
or TED model by training it on one example (``RasaModel.load``: ``fit`` on one
batch, then the saved weights over it). That one batch makes TensorFlow trace the
whole training step as a graph: most of the time a Rasa server needed to load the
model (``Agent.load``: 70 s on a 2-core machine, 10 s with this fix).
:func:`_load_model` runs that one batch eagerly (the same weights come out: the
saved ones are loaded over them) and then restores the model's own setting, so
prediction is traced as before and a model loaded to be fine-tuned trains as before.

**A message is processed once, whichever server gets it.** A channel that hands a
message to Rasa again (a REST or widget resend with its id, a platform's redelivery,
a message taken over from a server that stopped renewing it) looks in the tracker
first; but a server that is alive and whose event loop stalled for longer than the
takeover delay (6 s) went on to answer a message another server had taken over
meanwhile. :func:`_handle_message_with_tracker` makes the check where it cannot be
raced: under the conversation's lock, on the tracker the turn was read with, before
the NLU runs. A message whose channel id (``message_id``) the tracker already holds
is not processed again: a collecting channel (REST) gets the answers the tracker
kept, another channel nothing (its answers went to the conversation's history when
they were given).

Rasa 3.6 checks every action-server response with ``jsonschema.validate``,
which re-checks the schema itself and builds a new validator on every call:
about 19 ms per custom action on our CI machines, more than the action server
needs to answer a product search (about 3 ms). :func:`apply` swaps in the same
check with the validator built once. The schema, the errors raised and their
messages stay exactly as Rasa's (``tests/bot/test_patches.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import logging
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any, Dict, Iterable, Iterator, List

logger = logging.getLogger(__name__)

_applied = False
_rasa_load: Any = None  # Rasa's own ``RasaModel.load`` (tests compare with it)
_rasa_handle: Any = None  # Rasa's own ``MessageProcessor.handle_message``
_rasa_log: Any = None  # and ``MessageProcessor._handle_message_with_tracker``
#: Set while a channel's message is handled (not the HTTP API's ``/messages``).
_HANDLING: contextvars.ContextVar[bool] = contextvars.ContextVar("shop_handling",
                                                                 default=False)


def kept_answers(events: Iterable[Any], conversation: str,
                 message_id: str) -> List[Dict[str, Any]] | None:
    """What the assistant answered to the user message ``message_id`` when the
    tracker's ``events`` hold it (``None`` when they don't), as a channel sends them."""
    from rasa.shared.core.events import BotUttered, UserUttered

    answers: List[Dict[str, Any]] = []
    for event in reversed(list(events)):
        if isinstance(event, UserUttered):
            if event.message_id == message_id:
                return answers[::-1]
            answers = []
        elif isinstance(event, BotUttered):
            answers.append({"recipient_id": conversation, "text": event.text,
                            **{k: v for k, v in (event.data or {}).items() if v}})
    return None


class AlreadyKept(Exception):
    """The message's turn is in the tracker already (it is not processed again)."""

    def __init__(self, answers: List[Dict[str, Any]]) -> None:
        super().__init__("the tracker holds this message's turn")
        self.answers = answers


async def _handle_message(self: Any, message: Any) -> List[Dict[str, Any]] | None:
    """Drop-in for ``MessageProcessor.handle_message`` (module docstring)."""
    from rasa.core.channels.channel import CollectingOutputChannel

    token = _HANDLING.set(True)
    try:
        return await _rasa_handle(self, message)
    except AlreadyKept as kept:
        logger.warning("message %s of %s is in the tracker already: not processed again",
                       message.message_id, message.sender_id)
        if isinstance(message.output_channel, CollectingOutputChannel):
            message.output_channel.messages.extend(kept.answers)
            return message.output_channel.messages
        return None
    finally:
        _HANDLING.reset(token)


async def _handle_message_with_tracker(self: Any, message: Any, tracker: Any) -> None:
    """Drop-in for ``MessageProcessor._handle_message_with_tracker``: raises
    :class:`AlreadyKept` for a channel's message whose turn the tracker holds."""
    if _HANDLING.get() and message.message_id:
        answers = kept_answers(tracker.events, tracker.sender_id, message.message_id)
        if answers is not None:
            raise AlreadyKept(answers)
    await _rasa_log(self, message, tracker)


@lru_cache(maxsize=1)
def _action_response_validator() -> Any:
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _validate_action_result(self: Any, result: Dict[str, Any]) -> bool:
    """Drop-in for ``RemoteAction._validate_action_result`` with a cached validator."""
    from jsonschema.exceptions import best_match
    from rasa.shared.constants import DOCS_BASE_URL

    error = best_match(_action_response_validator().iter_errors(result))
    if error is not None:
        error.message += (
            f". Failed to validate Action server response from API, "
            f"make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit "
            f"{DOCS_BASE_URL}/custom-actions"
        )
        raise error
    return True


class TrackerStoreError(RuntimeError):
    """Reading or saving a conversation failed (the server keeps running)."""


@contextlib.contextmanager
def _session_scope(self: Any) -> Iterator[Any]:
    """Drop-in for ``SQLTrackerStore.session_scope`` that never exits on a bad turn."""
    from rasa.core.tracker_store import ensure_schema_exists
    from rasa.shared.utils.cli import print_error_and_exit

    session = self.sessionmaker()
    try:
        try:
            ensure_schema_exists(session)
        except ValueError as e:
            print_error_and_exit(
                f"Requested PostgreSQL schema '{e}' was not found in the database. "
                "Create it, or unset POSTGRESQL_SCHEMA. Exiting application.")
        try:
            yield session
        except ValueError as e:
            session.rollback()
            raise TrackerStoreError(f"tracker store operation failed: {type(e).__name__}") \
                from None
    finally:
        session.close()


@lru_cache(maxsize=1)
def _nlu_thread() -> ThreadPoolExecutor:
    """One thread for every message's NLU: one at a time, as on the event loop."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="nlu")


async def _parse_message(self: Any, message: Any, tracker: Any = None,
                         only_output_properties: bool = True) -> Dict[str, Any]:
    """Drop-in for ``MessageProcessor.parse_message`` with the graph on the NLU thread."""
    if self.http_interpreter:
        return await self.http_interpreter.parse(message)  # type: ignore[no-any-return]
    if tracker is None:
        from rasa.shared.core.trackers import DialogueStateTracker

        tracker = DialogueStateTracker.from_events(message.sender_id, [])
    parse = functools.partial(self._parse_message_with_graph, message, tracker,
                              only_output_properties)
    parse_data: Dict[str, Any] = await asyncio.get_running_loop().run_in_executor(
        _nlu_thread(), parse)
    self._update_full_retrieval_intent(parse_data)
    self._check_for_unseen_features(parse_data)
    return parse_data


def _load_model(cls: Any, model_file_name: str, model_data_example: Any,
                predict_data_example: Any = None, finetune_mode: bool = False,
                *args: Any, **kwargs: Any) -> Any:
    """Drop-in for ``RasaModel.load`` whose weight-building batch runs eagerly."""
    import tensorflow as tf
    from rasa.utils.tensorflow.constants import LEARNING_RATE, RUN_EAGERLY
    from rasa.utils.tensorflow.data_generator import RasaBatchDataGenerator

    model = cls(*args, **kwargs)
    config = kwargs.get("config", {})
    run_eagerly = config.get(RUN_EAGERLY)
    model.compile(optimizer=tf.keras.optimizers.Adam(config.get(LEARNING_RATE, 0.001)),
                  run_eagerly=True)
    model.fit(RasaBatchDataGenerator(model_data_example, batch_size=1), verbose=False)
    model.run_eagerly = run_eagerly  # prediction (and fine-tuning) as configured
    model.train_function = None  # built eagerly above: made again if it trains
    model.load_weights(model_file_name)
    if not finetune_mode and predict_data_example:
        model.run_inference(predict_data_example)  # traces prediction, as Rasa does
    return model


def apply() -> None:
    """Install the fixes (idempotent)."""
    global _applied
    if _applied:
        return
    from rasa.core.actions.action import RemoteAction
    from rasa.core.processor import MessageProcessor
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.utils.tensorflow.models import RasaModel

    global _rasa_load, _rasa_handle, _rasa_log
    _rasa_load = RasaModel.__dict__["load"]
    _rasa_handle = MessageProcessor.handle_message
    _rasa_log = MessageProcessor._handle_message_with_tracker
    MessageProcessor.parse_message = _parse_message  # type: ignore[method-assign]
    MessageProcessor.handle_message = _handle_message  # type: ignore[method-assign]
    MessageProcessor._handle_message_with_tracker = (  # type: ignore[method-assign]
        _handle_message_with_tracker)
    RasaModel.load = classmethod(_load_model)  # type: ignore[method-assign,assignment]
    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
    SQLTrackerStore.session_scope = _session_scope  # type: ignore[method-assign,assignment]
    _applied = True
