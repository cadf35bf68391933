"""One turn pipeline for every messaging platform (WeChat, Messenger, WhatsApp).

A platform adapter (:class:`PlatformChannel`'s subclass, one module per platform)
supplies only what is truly its platform's: checking and parsing a delivery into
:class:`Incoming` items, what a platform-specific message means
(:meth:`PlatformChannel.understand`), fetching a photo, rendering the assistant's
answer in its formats and limits, sending, its messaging windows, and its own
handoff. Everything else is written here, once:

1. **De-duplication and durability**: :meth:`PlatformChannel.accept` stores the
   items (:class:`bot.channels.inbox.Inbox`, keyed by the platform's message id)
   before the webhook answers the platform; a retried delivery adds nothing, and
   an item stored just before a restart is answered when the server is back, or by
   another server once its lease runs out (:meth:`PlatformChannel.resume`; the
   process answering an item renews its lease, so no two servers answer it).
2. **Ordering**: one queue per conversation; a customer's messages are answered in
   the order they were received, different customers at the same time. Across
   servers, an item waits while another live server answers an earlier item of the
   same conversation (:meth:`bot.channels.inbox.Inbox.wait_for_earlier`).
3. **The turn** (:meth:`PlatformChannel.process`): the message is kept in the
   conversation's history (:class:`bot.channels.history.MessageHistory`: history, language,
   the messaging window); a conversation the platform's own inbox holds is left to
   it (or taken back, where a message means the platform's session ended); what the
   message means; unsupported media answered politely; the gate (linked customer,
   limits); the photo fetched and stored; then :func:`take_turn`: a person holding
   the conversation gets the message, otherwise the assistant answers.
4. **Delivery** (:meth:`PlatformChannel.send_bodies`): the window rule (automated
   and a person's windows, a template outside them where the platform has one),
   render, send, keep. A conversation's messages leave in order, each after the
   ones still being sent; the assistant's answer is sent while the conversation's
   next message is already being read. Agents' messages and notices come through
   :meth:`PlatformChannel.push`, called by the delivery pipeline
   (:mod:`bot.channels.delivery`), which stores each with its status and retries.

:func:`take_turn` is also the turn of the REST channel and the web widget: held →
person, else the assistant, and a polite apology when the assistant fails.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from asyncio import CancelledError
from dataclasses import asdict, dataclass, field
from typing import Any, Awaitable, Callable, Dict, List, Sequence

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.response import HTTPResponse

from bot import observe
from bot.channels.checks import BadRequest
from bot.channels.gate import POLITE as SHARED_POLITE
from bot.channels.gate import TAPPED, Admitted, admit_platform, polite, shared_gate
from bot.channels.handover import (
    back_from_platform,
    for_a_person,
    handed_to_platform,
    holding,
    queued_since,
    spoken,
)
from bot.channels.history import MessageHistory, journal_for
from bot.channels.inbox import Inbox, Item
from bot.channels.links import shared_links
from bot.channels.media import photo_message, shared_media
from bot.channels.sending import (
    drawn_with_cards,
    message_body,
    register_pusher,
    register_typist,
)
from bot.channels.wakeups import wakeups_for
from bot.components.language import detect_language
from bot.patches import kept_answers
from bot.settings import ChannelSettings, settings
from handoff import PLATFORM, Holding
from telemetry import metrics

logger = logging.getLogger(__name__)

OUTGOING = ("assistant", "agent", "notice")
IDLE_SECONDS = 60.0  # a conversation's queue ends when idle this long

Handler = Callable[[UserMessage], Awaitable[Any]]

# what an item is (Incoming.kind)
MESSAGE = "message"          # text, a tapped button, a menu key: the assistant reads it
PHOTO = "photo"              # a photo (Incoming.media is the platform's reference)
UNSUPPORTED = "unsupported"  # audio, video, files, stickers, locations: a polite answer
CONTROL = "control"          # the platform's inbox handed the conversation back
NOTHING = "nothing"          # kept for the history and the window only (an event)


@dataclass(frozen=True)
class Incoming:
    """One item of a platform's delivery, parsed by its adapter.

    Attributes:
        key: The platform's id of the message (de-duplication).
        user: The platform's id of the customer: the conversation's sender.
        kind: :data:`MESSAGE`, :data:`PHOTO`, :data:`UNSUPPORTED`, :data:`CONTROL`
            or :data:`NOTHING`.
        text: What the assistant reads (a button's payload rather than its title).
        said: What the customer wrote or tapped (history, language, the desk).
        media: The platform's reference to a photo (a media id, a CDN URL).
        meta: The adapter's own (kept with the item; e.g. the platform's message id
            to mark read, the account a reply comes from).
        metadata: The adapter's metadata for Rasa (``locale`` is added here).
        record: The adapter's fields kept with the message in the history.
    """

    key: str
    user: str
    kind: str
    text: str = ""
    said: str = ""
    media: str = ""
    meta: Dict[str, Any] = field(default_factory=dict)
    metadata: Dict[str, Any] = field(default_factory=dict)
    record: Dict[str, Any] = field(default_factory=dict)

    @classmethod
    def kept(cls, body: Dict[str, Any]) -> "Incoming":
        """The item as :meth:`PlatformChannel.accept` stored it."""
        return cls(**{k: body[k] for k in cls.__dataclass_fields__ if k in body})


async def deliver(handler: Callable[[Any], Awaitable[Any]], message: Any,
                  *, sender: str) -> bool:
    """Run Rasa's message handler; ``False`` when it failed.

    Nothing escapes: not an exception, not ``SystemExit`` (Rasa exits on some
    database errors), so one bad turn never stops the server. The log names
    the conversation and the error type only, never the message.
    """
    try:
        await handler(message)
        return True
    except CancelledError:
        logger.error("message handling timed out for conversation %s", sender)
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - the server must stay up
        # the type and where it was raised, not its message: database errors quote
        # the customer's text and ids in theirs
        frames = traceback.extract_tb(exc.__traceback__)
        where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
        logger.error("message handling failed for conversation %s: %s at %s", sender,
                     type(exc).__name__, where)
    return False


class SendFailed(Exception):
    """The platform did not take a message (``outside_window``: its window is closed)."""

    def __init__(self, message: str, *, outside_window: bool = False) -> None:
        super().__init__(message)
        self.outside_window = outside_window


class ReplySlot:
    """The webhook's own answer while the platform still waits for it (WeChat's
    passive reply): the first rendered message that ``accepts`` takes is the reply,
    the rest go through the platform's API. Once the webhook stopped waiting, every
    message goes through the API."""

    def __init__(self, accepts: Callable[[Any], bool]) -> None:
        self._future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._accepts = accepts

    @property
    def waiting(self) -> bool:
        """Whether the webhook still waits for its reply."""
        return not self._future.done()

    def give(self, out: Any) -> bool:
        """Make ``out`` the reply; ``False`` when the webhook no longer waits."""
        if self._future.done():
            return False
        self._future.set_result(out)
        return True

    def offer(self, outs: List[Any]) -> List[Any]:
        """The messages left to send after the reply took its part."""
        if outs and self._accepts(outs[0]) and self.give(outs[0]):
            return outs[1:]
        self.close()
        return outs

    def close(self) -> None:
        """No reply from this turn (the webhook answers with an empty one)."""
        if not self._future.done():
            self._future.set_result(None)

    async def wait(self, seconds: float) -> Any | None:
        """The reply if it comes within ``seconds``; ``None`` otherwise (and later
        messages go through the API)."""
        try:
            return await asyncio.wait_for(asyncio.shield(self._future), max(seconds, 0.01))
        except asyncio.TimeoutError:
            self.close()
            return self._future.result()


async def take_turn(agent: Any, on_new_message: Handler, message: Admitted, output: Any, *,
                    channel: str, said: str, current: Holding | None = None,
                    before: Callable[[], Awaitable[Any]] | None = None,
                    message_id: str | None = None) -> bool:
    """The turn of every channel: while a person holds the conversation the message
    goes to them (``False``: no answer from the assistant); otherwise the assistant
    answers into ``output``, or, when it fails, a polite apology in the customer's
    language does (``True``). ``before`` runs once the assistant is to answer (a
    typing hint). ``message_id``: the channel's id of the message, kept on the
    tracker's user event (:func:`kept_turn` looks for it)."""
    if await for_a_person(agent, message.sender, text=spoken(message),
                          metadata=message.metadata, channel=channel, current=current,
                          message_id=message_id):
        return False
    if before is not None:
        await before()
    with observe.turn(channel, message.sender):
        answered = await deliver(on_new_message, UserMessage(
            message.text, output, message.sender, input_channel=channel,
            metadata=message.metadata, message_id=message_id), sender=message.sender)
    if not answered:
        observe.failed(channel)
        await output.send_text_message(message.sender, polite("failed", said or message.text))
    return True


async def kept_turn(agent: Any, conversation: str,
                    message_id: str) -> List[Dict[str, Any]] | None:
    """What the assistant answered to ``message_id`` when its turn is in the tracker:
    a message taken over from a server that died after it kept the turn, before it
    said so (:class:`~bot.channels.replays.Replays`, the inbox's leases), is not
    processed again. ``None`` when the tracker has no such message (the turn never
    ran, or never finished). Read under the conversation's lock, so a turn another
    server is still running ends first. Never raises: a tracker that cannot be read
    is ``None`` (the message is answered, as it would have been before)."""
    if agent is None or agent.tracker_store is None or agent.lock_store is None:
        return None
    try:
        async with agent.lock_store.lock(conversation):
            tracker = await agent.tracker_store.retrieve(conversation)
    except Exception:  # noqa: BLE001 - answered again rather than not at all
        logger.exception("the tracker of a message taken over was not read")
        return None
    if tracker is None:
        return None
    return kept_answers(tracker.events, conversation, message_id)


class PlatformChannel(InputChannel):
    """A messaging platform's channel on the one pipeline (see the module docstring).

    A subclass sets the class attributes and implements :meth:`routes`,
    :meth:`render` and :meth:`send`; the other hooks have defaults.
    """

    channel = ""                       # the channel's name (the URL prefix)
    default_language = "en"            # a customer's language before they wrote any
    platform_inbox = ""                # the platform's own support inbox, if any
    draws_cards = False                # product cards drawn: their list in words not sent
    window_seconds = 24 * 3600.0       # automated messages after the customer's last
    person_window_seconds = 24 * 3600.0  # a person's messages after the customer's last
    releases_on_message = False        # a message means the platform's inbox let go
    platform_handoff = False           # queued conversations go to the platform's inbox
    typing_before_answer = False       # show typing while the assistant thinks

    @classmethod
    def name(cls) -> str:
        """The channel's name: ``/webhooks/<name>/webhook``."""
        return cls.channel

    @classmethod
    def from_credentials(cls, credentials: Dict[str, Any] | None) -> "PlatformChannel":
        """Settings come from the environment (:mod:`bot.settings`)."""
        return cls()

    def __init__(self) -> None:
        self.settings: ChannelSettings = settings()
        self.history = MessageHistory(
            self.settings.channel_db_url, channel=self.channel,
            wakeups=wakeups_for(self.settings.redis_url),
            journal=journal_for(self.settings.redis_url, self.settings.channel_db_url))
        self.inbox = Inbox(self.settings.channel_db_url, channel=self.channel)
        self._queues: Dict[str, asyncio.Queue[tuple[Item, ReplySlot | None]]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._held: set[int] = set()  # inbox items this process holds the lease of
        self._retaken: set[int] = set()  # items another process left unanswered
        self._keeper: asyncio.Task[Any] | None = None
        self._sending: Dict[str, asyncio.Task[Any]] = {}  # each conversation's latest sends
        self._on_new_message: Handler | None = None
        self._app: Any = None

    # --- what a platform supplies --------------------------------------------------------

    @property
    def enabled(self) -> bool:
        """Whether the platform is configured on this server."""
        raise NotImplementedError

    def routes(self, hook: Blueprint) -> None:
        """Add the platform's webhook routes (verify, receive) to ``hook``."""
        raise NotImplementedError

    def render(self, bodies: List[Dict[str, Any]]) -> tuple[List[Any], Dict[str, Any]]:
        """Messages (``text``, ``buttons``, ``image``, ``custom``, ``author``) as the
        platform's messages, in order, and what to keep with the last one in the
        history (WeChat's numbered choices)."""
        raise NotImplementedError

    async def send(self, user: str, out: Any, *, person: bool) -> None:
        """Send one rendered message (``person``: written by a person of the shop).

        Raises:
            SendFailed: The platform refused it.
        """
        raise NotImplementedError

    async def understand(self, item: Incoming, lang: str) -> Incoming | str | None:
        """What a message means on this platform: the item (changed or not), a polite
        answer to send instead of the assistant's, or ``None`` (nothing to do)."""
        return item

    async def fetch_media(self, item: Incoming) -> bytes:
        """The bytes of the photo ``item.media`` refers to."""
        raise NotImplementedError

    async def reading(self, item: Incoming) -> None:
        """The customer's message was taken (a read receipt, where the platform has one)."""

    async def typing(self, user: str, on: bool) -> bool:
        """Show or hide that someone is typing; whether the platform could."""
        return False

    async def outside_window(self, user: str, bodies: List[Dict[str, Any]], *,
                             person: bool) -> List[Any] | None:
        """What may be sent once the window has closed (a template); ``None``: nothing."""
        return None

    def window_refusal(self, person: bool) -> str:
        """Why a message outside the window was not sent (for the desk)."""
        hours = (self.person_window_seconds if person else self.window_seconds) / 3600
        return (f"not delivered: {self.channel} allows "
                f"{'a person' if person else 'automated messages'} to write within "
                f"{hours:g} hours of the customer's last message")

    async def to_platform(self, user: str, slot: ReplySlot | None,
                          record: Callable[[], Awaitable[None]]) -> bool:
        """Hand a conversation the assistant has just queued for a person to the
        platform's own support inbox, calling ``record`` (the record's step: the
        platform holds it) once that is certain and before the customer can see it;
        ``False``: the shop's desk keeps it."""
        return False

    # --- wiring --------------------------------------------------------------------------

    def blueprint(self, on_new_message: Handler) -> Blueprint:
        """The platform's routes, and its leftovers answered once the server runs."""
        hook = Blueprint(f"{self.channel}_webhook", __name__)
        self._on_new_message = on_new_message
        for shared in (shared_gate, shared_media, shared_links):
            shared()  # opened at start, not on the first message
        if self.enabled:
            register_pusher(self.channel, self.push)
            register_typist(self.channel, self._typist)
        self.routes(hook)

        @hook.listener("after_server_start")
        async def resume(app: Any, loop: Any) -> None:
            self._app = app
            if self.enabled:
                await self.resume()

        return hook

    def get_output_channel(self) -> Any:
        """Rasa's messages outside a request (reminders, external events): sent like
        an agent's, through the delivery pipeline."""
        from bot.channels.push_output import PushOutput

        return PushOutput(self.channel)

    def get_metadata(self, request: Any) -> Dict[str, Any] | None:
        """Metadata of a request (the pipeline sets its own)."""
        return None

    @staticmethod
    def plain(text: str, status: int = 200) -> HTTPResponse:
        """A short text answer to the platform."""
        return response.text(text, status=status, headers={
            "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"})

    # --- receiving -----------------------------------------------------------------------

    async def accept(self, request: Any, items: Sequence[Incoming], *,
                     slot: Callable[[], ReplySlot] | None = None) -> List[ReplySlot | None]:
        """Store a delivery's items (once per key) and queue the new ones behind the
        same customer's earlier ones; for each new item, its reply slot (when
        ``slot`` makes one). Call before answering the platform.

        Raises:
            sqlalchemy.exc.SQLAlchemyError: Not stored: answer 503 so the platform
                sends the delivery again.
        """
        self._app = request.app
        stored = await self.inbox.put([(item.key, item.user, asdict(item)) for item in items])
        slots: List[ReplySlot | None] = []
        for row in stored:
            made = slot() if slot is not None else None
            slots.append(made)
            self._enqueue(row, made)
        return slots

    async def resume(self) -> None:
        """Answer what a stopped process stored and never answered (items whose lease
        ran out), now and every third of a lease from now on, and keep the leases of
        this process's own items."""
        try:
            await self._take_expired()
        except Exception:  # noqa: BLE001 - the database away at start: the keeper's next round
            logger.warning("%s: the inbox cannot be read yet; looked at again in %.0f s",
                           self.channel, self.inbox.lease_seconds / 3)
        if self._keeper is None:
            self._keeper = asyncio.get_running_loop().create_task(self._keep_leases())

    async def _take_expired(self) -> None:
        # an item of this process's own whose lease lapsed (the database was away) is
        # still in its queue: taken back, not queued twice
        left = [row for row in await asyncio.to_thread(self.inbox.claim_expired)
                if row.id not in self._held]
        if left:
            logger.info("%s: answering %d item(s) another run left", self.channel, len(left))
        for row in left:
            self._retaken.add(row.id)
            self._enqueue(row, None)

    async def _keep_leases(self) -> None:
        while True:
            await asyncio.sleep(self.inbox.lease_seconds / 3)
            try:
                await self.inbox.renew(sorted(self._held))
                await self._take_expired()
            except Exception:  # noqa: BLE001 - the database is back at the next round
                logger.exception("%s: inbox leases not renewed", self.channel)

    def _enqueue(self, row: Item, slot: ReplySlot | None) -> None:
        self._held.add(row.id)
        queue = self._queues.get(row.conversation)
        if queue is None:
            queue = self._queues[row.conversation] = asyncio.Queue()
            task = asyncio.get_running_loop().create_task(self._worker(row.conversation,
                                                                       queue))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        queue.put_nowait((row, slot))

    async def _worker(self, user: str,
                      queue: asyncio.Queue[tuple[Item, ReplySlot | None]]) -> None:
        """One customer's items in order; ends when idle."""
        while True:
            try:  # what is waiting already, without a timer (most items: no wait at all)
                row, slot = queue.get_nowait()
            except asyncio.QueueEmpty:
                try:
                    row, slot = await asyncio.wait_for(queue.get(), timeout=IDLE_SECONDS)
                except asyncio.TimeoutError:
                    if queue.empty():
                        self._queues.pop(user, None)
                        return
                    continue
            try:  # after the same customer's earlier items other servers answer
                if not await self.inbox.wait_for_earlier(row, set(self._held),
                                                         timeout=self.inbox.lease_seconds):
                    logger.warning("%s item %d: an earlier one of its conversation is "
                                   "still being answered elsewhere; answering it now",
                                   self.channel, row.id)
            except Exception:  # noqa: BLE001 - the database is away: answer it now
                logger.exception("%s item %d: order not checked", self.channel, row.id)
            try:
                await self.process(Incoming.kept(row.body), slot,
                                   retaken=row.id in self._retaken)
            except Exception:  # noqa: BLE001 - one bad item never stops the customer's queue
                logger.exception("%s item %d failed", self.channel, row.id)
            finally:
                if slot is not None:
                    slot.close()
            try:
                await self.inbox.done(row.id)
            except Exception:  # noqa: BLE001 - answered; at worst it is answered again
                logger.exception("%s item %d not marked done", self.channel, row.id)
            finally:
                self._held.discard(row.id)
                self._retaken.discard(row.id)

    async def process(self, item: Incoming, slot: ReplySlot | None = None, *,
                      retaken: bool = False) -> None:
        """One item, start to end (see the module docstring). ``retaken``: a process
        that stopped left it unanswered (its turn may be in the tracker already)."""
        if item.kind == CONTROL:
            if self.platform_inbox:
                await back_from_platform(item.user, platform=self.platform_inbox)
            return
        # kept for the history, the messaging window and the language (a retry of an
        # item the inbox has not marked done is recorded once and answered again)
        entry, _ = await self.history.customer_message(item.user, item.key[:64], {
            "text": item.said[:self.settings.max_message_chars], "kind": item.kind,
            **item.record})
        if retaken and await self._kept(item, entry.id, slot):
            return
        current = await holding(item.user)
        if current is not None and current.holder == PLATFORM:
            if not self.releases_on_message:
                return  # the platform's own inbox holds the conversation
            await back_from_platform(item.user, platform=self.platform_inbox)
            current = None
        lang = detect_language(item.said) or await self.history.language(
            item.user, default=self.default_language)
        if item.kind == NOTHING:
            return
        meaning = item if item.kind == UNSUPPORTED else await self.understand(item, lang)
        if meaning is None:
            return
        await self.reading(item)
        # every message counts against the limits, the ones answered politely too
        said = meaning if isinstance(meaning, Incoming) else item
        metadata = {**said.metadata, "locale": lang}
        if said.said and said.text.startswith("/") and said.said != said.text:
            metadata[TAPPED] = said.said[:200]  # the history shows what was tapped
        admitted = await admit_platform(
            channel=self.channel, user=item.user, text=said.text, said=said.said, lang=lang,
            metadata=metadata, photo=item.kind == PHOTO)
        if not isinstance(admitted, Admitted):
            if admitted:  # a limit, said politely
                await self.send_bodies(item.user, [{"text": admitted}], slot=slot, replying=True)
            return
        if item.kind == UNSUPPORTED or isinstance(meaning, str):
            # what the assistant cannot read (a sticker, a voice note WeChat could not
            # transcribe): a person holding the conversation sees that something came,
            # else a polite word
            kind = str(item.record.get("type") or item.record.get("msgtype") or "media")[:32]
            if await for_a_person(self._app.ctx.agent, item.user, text=f"[{kind}]",
                                  metadata=admitted.metadata, channel=self.channel,
                                  current=current):
                return
            polite_text = meaning if isinstance(meaning, str) else \
                SHARED_POLITE["unsupported_media"][lang]
            await self.send_bodies(item.user, [{"text": polite_text}], slot=slot,
                                   replying=True)
            return
        assert isinstance(meaning, Incoming)
        item = meaning
        if item.kind == PHOTO:
            try:
                data = await self.fetch_media(item)
                ref, _ = await asyncio.get_running_loop().run_in_executor(
                    None, lambda: shared_media().put(data, sender=item.user))
            except Exception as exc:  # noqa: BLE001 - the platform failed or the file is refused
                logger.info("%s photo not taken (%s)", self.channel, type(exc).__name__)
                await self.send_bodies(item.user, [{"text": SHARED_POLITE["photo_failed"][
                    lang]}], slot=slot, replying=True)
                return
            admitted = photo_message(admitted, ref.media_id)
            current = None  # read again: the download took a while
        await self._answer(item, admitted, current, slot)

    async def _kept(self, item: Incoming, entry: int, slot: ReplySlot | None) -> bool:
        """A retaken item whose turn the tracker holds (its process died after the
        assistant kept the turn): its answers are sent unless the history shows they
        were, and it is not processed again (``True``)."""
        kept = await kept_turn(self._app.ctx.agent, item.user, item.key[:64])
        if kept is None:
            return False
        sent = await self.history.latest(item.user, ("assistant", "agent"), limit=1)
        if not sent or sent[0].id < entry:
            await self.send_bodies(item.user, [message_body(
                drawn_with_cards(m) if self.draws_cards else m) for m in kept], slot=slot,
                replying=True)
        return True

    async def _answer(self, item: Incoming, admitted: Admitted, current: Holding | None,
                      slot: ReplySlot | None) -> None:
        started = time.time()

        channel = self

        class Collector(CollectingOutputChannel):
            @classmethod
            def name(cls) -> str:
                return channel.channel

            async def send_response(self, recipient_id: str, message: Dict[str, Any]) -> None:
                await super().send_response(recipient_id, drawn_with_cards(message)
                                            if channel.draws_cards else message)

        collector = Collector()
        agent = self._app.ctx.agent
        assert self._on_new_message is not None

        async def typing() -> None:
            if self.typing_before_answer:
                await self.typing(item.user, True)

        if not await take_turn(agent, self._on_new_message, admitted, collector,
                               channel=self.channel, said=item.said, current=current,
                               before=typing, message_id=item.key[:64]):
            return
        async def record() -> None:
            await handed_to_platform(item.user, platform=self.platform_inbox,
                                     channel=self.channel)

        if self.platform_handoff and await queued_since(item.user, started) and \
                await self.to_platform(item.user, slot, record):
            return
        await self.send_bodies(item.user, [message_body(m) for m in collector.messages],
                               slot=slot, replying=True)

    # --- sending -------------------------------------------------------------------------

    async def _age(self, user: str) -> float | None:
        """Seconds since the customer's last message (``None``: never wrote)."""
        last = await self.history.latest(user, ("customer",), limit=1)
        return time.time() - last[0].created_at if last else None

    async def send_bodies(self, user: str, bodies: List[Dict[str, Any]], *,
                          role: str = "assistant", slot: ReplySlot | None = None,
                          replying: bool = False) -> int:
        """Send and keep messages; the last kept one's id (0: nothing kept).

        The assistant's messages are kept even when the platform refused them (the
        history says what it answered; the failure is logged). A person's or a
        notice's are kept once sent. ``replying``: the answer to the message being
        processed (the customer has just written: the window is open, and the
        reply slot gets its message before anything is written).

        Raises:
            BadRequest: For a person's message or a notice only: 409 outside the
                window, 502 when the platform refused it.
        """
        bodies = [b for b in bodies if b]
        if not bodies or not self.enabled:
            return 0
        automated = role == "assistant"
        person = role == "agent"
        age = 0.0 if replying else await self._age(user)
        outs, keep = self.render(bodies)
        last = 0
        closed = age is None or age > (self.person_window_seconds if person else
                                       self.window_seconds)
        if closed:
            late = await self.outside_window(user, bodies, person=person)
            if late is None:
                if automated:
                    logger.warning("%s (%s)", self.window_refusal(False), user)
                    return 0
                raise BadRequest(self.window_refusal(person), 409)
            outs = late
        # one conversation's messages leave in order: after what is still being sent
        before = self._sending.get(user)
        if slot is not None:  # the webhook's own reply, if nothing is ahead of it
            if before is None or before.done():
                outs = slot.offer(outs)
            else:
                slot.close()
        if automated:
            last = await self._keep(user, role, bodies, keep)

        async def send_in_turn() -> int:
            if before is not None:
                await asyncio.wait({before})
            try:
                try:
                    await self._send_all(user, outs, person=person)
                except SendFailed as exc:
                    if exc.outside_window:
                        metrics.WINDOW_REFUSALS.labels(self.channel).inc()
                    # the platform's clock says the window has closed: what may still go
                    late = None if closed or not exc.outside_window else \
                        await self.outside_window(user, bodies, person=person)
                    if late is None:
                        raise
                    await self._send_all(user, late, person=person)
            except SendFailed as exc:
                if automated:
                    logger.warning("%s message to %s not delivered: %s", self.channel, user,
                                   exc)
                    return last
                raise BadRequest(f"not delivered: {exc}", 409 if exc.outside_window else 502
                                 ) from None
            if automated:
                return last
            return await self._keep(user, role if role in OUTGOING else "agent", bodies, keep)

        sending = asyncio.get_running_loop().create_task(send_in_turn())
        self._sending[user] = sending
        self._tasks.add(sending)
        sending.add_done_callback(lambda done: self._sent(user, done))
        if automated:
            # the assistant's answer goes out while the conversation's next message is
            # read (its sends wait for these); a person's waits for the platform's word
            return last
        return await sending

    def _sent(self, user: str, done: asyncio.Task[Any]) -> None:
        self._tasks.discard(done)
        if self._sending.get(user) is done:
            del self._sending[user]
        if not done.cancelled() and done.exception() is not None and \
                not isinstance(done.exception(), BadRequest):
            logger.error("%s messages to %s failed: %r", self.channel, user, done.exception())

    async def _send_all(self, user: str, outs: List[Any], *, person: bool) -> None:
        for out in outs:
            await self.send(user, out, person=person)

    async def _keep(self, user: str, role: str, bodies: List[Dict[str, Any]],
                    keep: Dict[str, Any]) -> int:
        last = 0
        for i, body in enumerate(bodies):
            final = i == len(bodies) - 1
            last = (await self.history.append(user, role, {**body, **keep} if final and keep
                                             else body)).id
        return last

    async def push(self, conversation: str, message: Dict[str, Any], role: str) -> int:
        """A message outside a reply (a person's, a notice, the handback), for the
        delivery pipeline; the kept message's id.

        Raises:
            BadRequest: 409 outside the window, 502 when the platform refused it.
        """
        body = message_body(drawn_with_cards(message) if self.draws_cards else message)
        if not body:
            raise BadRequest("the message has nothing to show (text, buttons, image, custom)")
        return await self.send_bodies(conversation, [body],
                                      role="agent" if role == "agent" else "notice")

    async def _typist(self, conversation: str, on: bool, author: str) -> bool:
        return await self.typing(conversation, on)
