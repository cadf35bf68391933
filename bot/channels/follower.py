"""The Rasa server follows the one record of who holds each conversation.

:mod:`handoff` owns that record and publishes every change of it once
(``conversation_changes``, written in the same transaction as the change). This
module applies each change to what the Rasa server keeps of the conversation, then
marks it applied:

- ``requested``: the ``handoff_state`` slot says ``waiting``;
- ``claimed``, ``assigned``, ``transferred``: ``assigned`` and the agent's name, and
  the customer is told who joined (a notice, also written into the history);
- ``timed_out``: nobody took it in time; the customer is told once that a person
  will answer their message later (it stays in the queue);
- ``cancelled``, ``to_platform``, ``from_platform``: the assistant (or the platform)
  holds it again, the slots say so;
- ``handed_back``: the agent's typing hint is cleared, a form the customer was in
  is left (an external event never reaches a form's validation), the slots are
  cleared and the ``handoff_returned`` intent greets the customer back and asks the
  satisfaction question.

Every application is idempotent: the events it writes carry the change's id in
their metadata, under Rasa's conversation lock, in one tracker save; a change
whose id the tracker already holds is only marked applied. So a Rasa server killed
between the desk's handback and the greeting greets the customer when it is back
(:meth:`StateFollower.run` reads what is pending at start), and a change is never
applied twice. Changes are applied at once when the desk wakes the server
(``POST /webhooks/internal/wake``), before the conversation's next message
(:meth:`StateFollower.catch_up`), and by a poll every second otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any, Callable, Dict, List

from rasa.shared.core.constants import IS_EXTERNAL, REQUESTED_SLOT
from rasa.shared.core.events import ActiveLoop, BotUttered, SlotSet, UserUttered

from bot.channels.push_output import PushOutput
from handoff import ASSIGNED, WAITING, Change, HandoffService

logger = logging.getLogger(__name__)

RETURNED_INTENT = "handoff_returned"
STATE_SLOT, AGENT_SLOT, NOTE_SLOT = "handoff_state", "handoff_agent", "handoff_note"
MARK = "handoff_change"
#: what the customer is told when a person joins or takes over
NOTICES = {
    "joined": {"en": "{agent} from our team has joined the conversation.",
               "zh": "客服 {agent} 已接入，正在为您服务。"},
    "transferred": {"en": "{agent} from our team is taking over your conversation.",
                    "zh": "客服 {agent} 将继续为您服务。"},
    "timed_out": {"en": "Sorry, no one from our team has been able to take your conversation "
                        "yet. Leave a message here and a person will reply as soon as "
                        "possible; meanwhile I'm happy to keep helping.",
                  "zh": "抱歉，目前还没有客服能够接入。请在这里留言，客服会尽快回复您；"
                        "在此期间我可以继续为您服务。"},
}
#: events read back when looking for a change's mark
WINDOW = 400


def notice(kind: str, language: str | None, **values: Any) -> str:
    """A notice in the customer's language."""
    return NOTICES[kind]["zh" if language == "zh" else "en"].format(**values)


def _mark(change: Change) -> Dict[str, Any]:
    return {MARK: change.id}


def applied_in(tracker: Any, change: Change) -> bool:
    """Whether the tracker already holds the events of ``change``."""
    for event in list(tracker.events)[-WINDOW:]:
        meta = getattr(event, "metadata", None) or {}
        if meta.get(MARK) == change.id:
            return True
    return False


class StateFollower:
    """Applies the published changes of who holds each conversation (see the module
    docstring).

    Args:
        service: The handoff queue (the record's owner).
        agent: Returns the Rasa agent (None until it is loaded).
        poll_seconds: How often the feed is read when nobody wakes the follower.
    """

    def __init__(self, service: HandoffService, agent: Callable[[], Any], *,
                 poll_seconds: float = 1.0) -> None:
        self.service = service
        self._agent = agent
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Read the feed now (the desk changed something)."""
        self._wake.set()

    async def catch_up(self, conversation: str,
                       changes: List[Change] | None = None) -> None:
        """Apply ``conversation``'s pending changes (before its next message is read;
        ``changes`` when the caller read them already)."""
        agent = self._agent()
        if agent is None:
            return
        if changes is None:
            changes = await asyncio.to_thread(self.service.pending_changes,
                                              conversation=conversation)
        for change in changes:
            await self.apply(agent, change)

    async def drain(self) -> int:
        """Apply every pending change, oldest first; how many were applied. A change
        that fails stays pending for the next round and never holds up the others."""
        agent = self._agent()
        if agent is None:
            return 0
        count, failed = 0, set()
        while True:
            changes = [c for c in await asyncio.to_thread(self.service.pending_changes,
                                                          limit=100 + len(failed))
                       if c.id not in failed]
            if not changes:
                return count
            for change in changes:
                try:
                    await self.apply(agent, change)
                    count += 1
                except asyncio.CancelledError:
                    raise
                except Exception:  # noqa: BLE001 - retried next round, the rest go on
                    logger.exception("change %d of %s not applied; retried later",
                                     change.id, change.conversation)
                    failed.add(change.id)

    async def run(self) -> None:
        """Follow the feed until cancelled (what a stopped server left pending first)."""
        while True:
            try:
                await self.drain()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the feed goes on after a hiccup
                logger.exception("applying conversation changes failed; retried")
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
            self._wake.clear()

    async def apply(self, agent: Any, change: Change) -> None:
        """Apply one change to the conversation's tracker, once, then mark it applied."""
        from bot.channels.sending import show_typing

        if change.kind == "handed_back" and change.channel:
            with contextlib.suppress(Exception):  # a hint: never blocks the handback
                await show_typing(change.channel, change.conversation, on=False,
                                  author=str((change.detail or {}).get("agent_name") or ""))
        async with agent.lock_store.lock(change.conversation):
            processor = agent.processor
            tracker = await processor.get_tracker(change.conversation)
            if not applied_in(tracker, change):
                if change.kind == "handed_back":
                    await self._greet_back(processor, tracker, change)
                else:
                    for event in await self._events(change):
                        tracker.update(event, processor.domain)
                    await processor.save_tracker(tracker)
        await asyncio.to_thread(self.service.mark_applied, change.id)

    async def _events(self, change: Change) -> List[Any]:
        """The slot events (and notices) of every change but the handback."""
        mark, detail = _mark(change), change.detail or {}
        if change.kind == "requested":
            return [SlotSet(STATE_SLOT, WAITING, metadata=mark)]
        if change.kind in ("claimed", "assigned", "transferred"):
            name = str(detail.get("agent_name") or change.agent or "")
            kind = "transferred" if change.kind == "transferred" else "joined"
            text = notice(kind, change.language, agent=name)
            await self._tell(change, text)
            return [SlotSet(STATE_SLOT, ASSIGNED, metadata=mark),
                    SlotSet(AGENT_SLOT, name, metadata=mark),
                    BotUttered(text, metadata={"role": "notice", **mark},
                               timestamp=time.time())]
        if change.kind == "timed_out":  # still waiting: told once, kept in the history
            text = notice("timed_out", change.language)
            await self._tell(change, text)
            return [SlotSet(STATE_SLOT, WAITING, metadata=mark),
                    BotUttered(text, metadata={"role": "notice", **mark},
                               timestamp=time.time())]
        # cancelled, to_platform, from_platform: nobody of the shop's team holds it
        return [SlotSet(STATE_SLOT, None, metadata=mark), SlotSet(AGENT_SLOT, None,
                                                                  metadata=mark)]

    async def _tell(self, change: Change, text: str) -> None:
        from bot.channels.checks import BadRequest
        from bot.channels.sending import push

        if not change.channel:
            return
        try:
            # written into the history by this change's own save, not by the pipeline
            await push(change.channel, change.conversation, {"text": text, "record": False},
                       role="notice")
        except BadRequest as exc:
            logger.info("notice for %s not sent: %s", change.conversation, exc)

    async def _greet_back(self, processor: Any, tracker: Any, change: Change) -> None:
        """The handback (module docstring), in one tracker save."""
        mark, detail = _mark(change), change.detail or {}
        events: List[Any] = []
        if tracker.active_loop_name:
            # the form the customer was in when a person took over is over: its
            # question is not asked again, and the event never reaches its validation
            events += [ActiveLoop(None, metadata=mark),
                       SlotSet(REQUESTED_SLOT, None, metadata=mark)]
        if detail.get("summary"):
            events.append(SlotSet(NOTE_SLOT, {
                "author": detail.get("by_name") or detail.get("agent_name"),
                "text": detail["summary"], "at": time.time(), "kind": "handback"},
                metadata=mark))
        events += [SlotSet(STATE_SLOT, None, metadata=mark),
                   SlotSet(AGENT_SLOT, None, metadata=mark)]
        for event in events:
            tracker.update(event, processor.domain)
        tracker.update(UserUttered(
            text=f"EXTERNAL: {RETURNED_INTENT}", intent={"name": RETURNED_INTENT},
            metadata={IS_EXTERNAL: True, **mark},
            input_channel=change.channel or tracker.get_latest_input_channel()),
            processor.domain)
        output = PushOutput(change.channel or "rest")
        tracker = await processor.run_action_extract_slots(output, tracker)
        await processor._run_prediction_loop(output, tracker)
        await processor.save_tracker(tracker)


_follower: StateFollower | None = None


def follower() -> StateFollower | None:
    """This process's follower, once the server started it."""
    return _follower


def start(app: Any, service: HandoffService) -> asyncio.Task[Any]:
    """Start following the record in the server's loop (``app.ctx.agent`` is Rasa's)."""
    global _follower
    _follower = StateFollower(service, lambda: getattr(app.ctx, "agent", None))
    return asyncio.get_running_loop().create_task(_follower.run())
