"""The handoff queue: requests, assignment, transfers, handbacks, timeouts, CSAT, audit.

:class:`HandoffService` keeps every handoff in SQL (SQLAlchemy Core, the same
code on SQLAlchemy 1.4 in Rasa's environment and 2.0 in the action server's;
SQLite by default, PostgreSQL by URL), so the Rasa server, the action server
and the agent desk, in any number of processes, share one queue. Steps that two
people may race for (two agents claiming one conversation, a customer's "never
mind" while an agent claims it) are single conditional UPDATEs: exactly one
wins, the other gets :class:`~handoff.errors.InvalidTransition`.

Every step is recorded in an audit table: who requested, took, transferred,
answered and closed what, and when.

**Who holds each conversation** (the assistant, the queue, a named agent, the
platform's own inbox) is one row per conversation (``conversation_holders``),
changed only in the same transaction as the step that changes it, and each change
is published once in ``conversation_changes``: a follower (the Rasa server)
applies it to what it keeps (slots, the greeting back, the agent's name) and marks
it applied with a conditional UPDATE, so a process that dies between the two
steps leaves the change pending for the next one, never half done.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
import time
from collections.abc import Callable, Iterable
from typing import Any

import sqlalchemy as sa

from handoff.errors import (
    AtCapacity,
    HandoffNotFound,
    InvalidTransition,
    NotAllowed,
    UnknownAgent,
)
from handoff.hours import BusinessHours
from handoff.models import (
    AGENT,
    ASSIGNED,
    ASSISTANT,
    CANCELLED,
    HOLDERS,
    OPEN_STATES,
    PLATFORM,
    QUEUE,
    RESOLVED,
    ROLES,
    WAITING,
    Agent,
    Change,
    Event,
    Handoff,
    Holding,
    QueueStatus,
)

metadata = sa.MetaData()
agents_table = sa.Table(
    "handoff_agents", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("capacity", sa.Integer, nullable=False),
    sa.Column("online", sa.Boolean, nullable=False, default=False),
    sa.Column("seen_at", sa.Float, nullable=True),
)
handoffs_table = sa.Table(
    "handoffs", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("conversation", sa.String(128), nullable=False),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("reason", sa.String(32), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("requested_at", sa.Float, nullable=False),
    sa.Column("agent", sa.String(64), nullable=True),
    sa.Column("assigned_at", sa.Float, nullable=True),
    sa.Column("first_reply_at", sa.Float, nullable=True),
    sa.Column("closed_at", sa.Float, nullable=True),
    sa.Column("outside_hours", sa.Boolean, nullable=False, default=False),
    sa.Column("timeout_notified", sa.Boolean, nullable=False, default=False),
    sa.Column("summary", sa.Text, nullable=True),
    sa.Column("csat", sa.Integer, nullable=True),
    sa.Index("ix_handoffs_state", "state", "requested_at"),
    sa.Index("ix_handoffs_conversation", "conversation", "state"),
)
events_table = sa.Table(
    "handoff_events", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("handoff_id", sa.Integer, nullable=False, index=True),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
)

holders_table = sa.Table(
    "conversation_holders", metadata,
    sa.Column("conversation", sa.String(128), primary_key=True),
    sa.Column("holder", sa.String(16), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("agent", sa.String(64), nullable=True),
    sa.Column("handoff_id", sa.Integer, nullable=True),
    sa.Column("platform", sa.String(32), nullable=True),
    sa.Column("channel", sa.String(32), nullable=True),
    sa.Column("language", sa.String(8), nullable=True),
    sa.Column("updated_at", sa.Float, nullable=False),
)
changes_table = sa.Table(
    "conversation_changes", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("conversation", sa.String(128), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("holder", sa.String(16), nullable=False),
    sa.Column("previous", sa.String(16), nullable=False),
    sa.Column("handoff_id", sa.Integer, nullable=True),
    sa.Column("agent", sa.String(64), nullable=True),
    sa.Column("channel", sa.String(32), nullable=True),
    sa.Column("language", sa.String(8), nullable=True),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("applied_at", sa.Float, nullable=True),
    sa.Index("ix_changes_pending", "applied_at", "id"),
    sa.Index("ix_changes_conversation", "conversation", "id"),
)

told_table = sa.Table(
    "handoff_queue_told", metadata,
    sa.Column("handoff_id", sa.Integer, primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("at", sa.Float, nullable=False),
)

#: how many recently assigned handoffs the expected wait is estimated from
RECENT = 20
MAX_SUMMARY = 2000
MAX_MESSAGE = 4000


def _handoff(row: Any) -> Handoff:
    return Handoff(id=row["id"], conversation=row["conversation"], channel=row["channel"],
                   language=row["language"], reason=row["reason"], state=row["state"],
                   requested_at=row["requested_at"], agent=row["agent"],
                   assigned_at=row["assigned_at"], first_reply_at=row["first_reply_at"],
                   closed_at=row["closed_at"], outside_hours=bool(row["outside_hours"]),
                   summary=row["summary"], csat=row["csat"])


def _holding(row: Any) -> Holding:
    return Holding(conversation=row["conversation"], holder=row["holder"],
                   version=row["version"], agent=row["agent"], handoff_id=row["handoff_id"],
                   platform=row["platform"], channel=row["channel"],
                   language=row["language"], updated_at=row["updated_at"])


def _change(row: Any) -> Change:
    return Change(id=row["id"], conversation=row["conversation"], version=row["version"],
                  kind=row["kind"], holder=row["holder"], previous=row["previous"],
                  at=row["at"], handoff_id=row["handoff_id"], agent=row["agent"],
                  channel=row["channel"], language=row["language"], actor=row["actor"],
                  detail=json.loads(row["detail"]), applied_at=row["applied_at"])


def _event_of(row: Any) -> Event:
    return Event(handoff_id=row["handoff_id"], at=row["at"], actor=row["actor"],
                 action=row["action"], detail=json.loads(row["detail"]), id=row["id"])


class HandoffService:
    """The queue of conversations handed to people (see the module docstring).

    Args:
        url: A SQLAlchemy URL (``sqlite:///data/handoff.db``,
            ``postgresql+psycopg2://...``); or pass ``engine``.
        engine: An engine to use instead of ``url``.
        hours: The team's business hours (default: always open).
        wait_timeout: Seconds a customer waits before being told nobody took it.
        default_wait: The expected wait per customer ahead when there is no history.
        clock: Unix seconds now (tests pass their own).
    """

    def __init__(self, *, url: str | None = None, engine: sa.engine.Engine | None = None,
                 hours: BusinessHours | None = None, wait_timeout: float = 600.0,
                 default_wait: float = 120.0, clock: Callable[[], float] = time.time) -> None:
        if engine is None:
            if not url:
                raise ValueError("HandoffService needs a url or an engine")
            engine = sa.create_engine(url, future=True)
        self._engine = engine
        self.hours = hours or BusinessHours.always()
        self.wait_timeout = float(wait_timeout)
        self.default_wait = float(default_wait)
        self._clock = clock

    def create_schema(self) -> None:
        """Create the tables that are missing.

        The Rasa server, the action server and the desk all call this when they start;
        when two create the same table at once, the slower one finds it there ("already
        exists") and looks again, instead of failing to start.
        """
        for attempt in range(5):
            try:
                metadata.create_all(self._engine)
                return
            except (sa.exc.OperationalError, sa.exc.ProgrammingError,
                    sa.exc.IntegrityError) as exc:
                if attempt == 4 or "exist" not in str(exc).lower() and \
                        "duplicate" not in str(exc).lower():
                    raise

    # --- helpers --------------------------------------------------------------------------

    def _now(self) -> float:
        return float(self._clock())

    def now(self) -> float:
        """The queue's clock (Unix seconds): the one every time it stores is read on."""
        return self._now()

    def _event(self, conn: Any, handoff_id: int, actor: str, action: str,
               **detail: Any) -> None:
        conn.execute(events_table.insert().values(
            handoff_id=handoff_id, at=self._now(), actor=actor[:128], action=action,
            detail=json.dumps(detail, ensure_ascii=False, default=str)))

    def _get(self, conn: Any, handoff_id: int) -> Handoff:
        row = conn.execute(sa.select(handoffs_table).where(
            handoffs_table.c.id == handoff_id)).mappings().first()
        if row is None:
            raise HandoffNotFound(f"no handoff {handoff_id}")
        return _handoff(row)

    def _agent_row(self, conn: Any, agent_id: str) -> Any:
        row = conn.execute(sa.select(agents_table).where(
            agents_table.c.id == agent_id)).mappings().first()
        if row is None:
            raise UnknownAgent(f"no agent {agent_id!r}")
        return row

    def _holding(self, conn: Any, agent_id: str) -> int:
        return int(conn.execute(sa.select(sa.func.count()).select_from(handoffs_table).where(
            handoffs_table.c.agent == agent_id, handoffs_table.c.state == ASSIGNED)).scalar_one())

    def _transition(self, conn: Any, handoff_id: int, expected: Iterable[str],
                    **values: Any) -> Handoff:
        """Set ``values`` if the handoff is in one of the ``expected`` states (atomically)."""
        expected = tuple(expected)
        result = conn.execute(handoffs_table.update().where(
            handoffs_table.c.id == handoff_id,
            handoffs_table.c.state.in_(expected)).values(**values))
        current = self._get(conn, handoff_id)
        if result.rowcount != 1:
            raise InvalidTransition(
                f"handoff {handoff_id} is {current.state}, not {' or '.join(expected)}",
                current.state)
        return current

    def _hold(self, conn: Any, conversation: str, *, kind: str, holder: str, actor: str,
              handoff: Handoff | None = None, agent: str | None = None,
              platform: str | None = None, **detail: Any) -> Change:
        """Set who holds ``conversation`` and publish the change, inside the caller's
        transaction (so both happen or neither does)."""
        if holder not in HOLDERS:
            raise ValueError(f"holder must be one of {HOLDERS}")
        now = self._now()
        channel = handoff.channel if handoff is not None else detail.pop("channel", None)
        language = handoff.language if handoff is not None else detail.pop("language", None)
        values = {"holder": holder, "agent": agent if holder == AGENT else None,
                  "handoff_id": handoff.id if handoff is not None and holder in (QUEUE, AGENT)
                  else None,
                  "platform": platform if holder == PLATFORM else None, "updated_at": now}
        if channel:
            values["channel"] = str(channel)[:32]
        if language:
            values["language"] = str(language)[:8]
        current = conn.execute(sa.select(holders_table).where(
            holders_table.c.conversation == conversation)).mappings().first()
        if current is None:
            conn.execute(holders_table.insert().values(conversation=conversation, version=1,
                                                       **values))
            previous, version = ASSISTANT, 1
        else:
            # a row lock (PostgreSQL) or the database lock (SQLite) until commit: two
            # changes of one conversation are serialised, each gets its own version
            conn.execute(holders_table.update().where(
                holders_table.c.conversation == conversation).values(
                version=holders_table.c.version + 1, **values))
            previous = current["holder"]
            version = int(conn.execute(sa.select(holders_table.c.version).where(
                holders_table.c.conversation == conversation)).scalar_one())
        result = conn.execute(changes_table.insert().values(
            conversation=conversation, version=version, kind=kind, holder=holder,
            previous=previous, handoff_id=handoff.id if handoff is not None else None,
            agent=agent, channel=values.get("channel") or (current or {}).get("channel"),
            language=values.get("language") or (current or {}).get("language"),
            actor=actor[:128], detail=json.dumps(detail, ensure_ascii=False, default=str),
            at=now, applied_at=None))
        key = result.inserted_primary_key
        assert key is not None
        row = conn.execute(sa.select(changes_table).where(
            changes_table.c.id == int(key[0]))).mappings().one()
        return _change(row)

    # --- agents ---------------------------------------------------------------------------

    def upsert_agent(self, agent_id: str, *, name: str, role: str = "agent",
                     capacity: int = 3) -> Agent:
        """Create or update an agent (``role``: agent or supervisor; ``capacity`` >= 1)."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}")
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        with self._engine.begin() as conn:
            updated = conn.execute(agents_table.update().where(
                agents_table.c.id == agent_id).values(name=name, role=role, capacity=capacity))
            if updated.rowcount == 0:
                conn.execute(agents_table.insert().values(
                    id=agent_id, name=name, role=role, capacity=capacity, online=False))
        return self.agent(agent_id)

    def agent(self, agent_id: str) -> Agent:
        """One agent, with how many conversations they hold."""
        with self._engine.connect() as conn:
            row = self._agent_row(conn, agent_id)
            return Agent(id=row["id"], name=row["name"], role=row["role"],
                         capacity=row["capacity"], online=bool(row["online"]),
                         holding=self._holding(conn, agent_id))

    def agents(self) -> list[Agent]:
        """Every agent, by id."""
        with self._engine.connect() as conn:
            rows = conn.execute(sa.select(agents_table).order_by(agents_table.c.id)).mappings()
            return [Agent(id=r["id"], name=r["name"], role=r["role"], capacity=r["capacity"],
                          online=bool(r["online"]), holding=self._holding(conn, r["id"]))
                    for r in list(rows)]

    def set_online(self, agent_id: str, online: bool) -> Agent:
        """Mark an agent online (takes conversations) or away."""
        with self._engine.begin() as conn:
            self._agent_row(conn, agent_id)
            conn.execute(agents_table.update().where(agents_table.c.id == agent_id).values(
                online=bool(online), seen_at=self._now()))
        return self.agent(agent_id)

    # --- who holds each conversation ------------------------------------------------------

    def holding(self, conversation: str) -> Holding:
        """Who holds ``conversation`` now (the assistant, at version 0, if nobody ever
        took it)."""
        with self._engine.connect() as conn:
            row = conn.execute(sa.select(holders_table).where(
                holders_table.c.conversation == conversation)).mappings().first()
        return _holding(row) if row is not None else Holding(conversation=conversation)

    def state_of(self, conversation: str) -> tuple[Holding, list[Change]]:
        """Who holds ``conversation`` and its changes no follower applied yet, read
        together on one connection (what a channel asks before every message)."""
        with self._engine.connect() as conn:
            row = conn.execute(sa.select(holders_table).where(
                holders_table.c.conversation == conversation)).mappings().first()
            if row is None:  # never handed to anyone: nothing can be pending
                return Holding(conversation=conversation), []
            pending = conn.execute(sa.select(changes_table).where(
                changes_table.c.conversation == conversation,
                changes_table.c.applied_at.is_(None)).order_by(changes_table.c.id)).mappings()
            return _holding(row), [_change(r) for r in pending]

    def pending_changes(self, *, conversation: str | None = None,
                        limit: int = 100) -> list[Change]:
        """Published changes no follower has applied yet, oldest first (one
        conversation's, or everyone's)."""
        query = sa.select(changes_table).where(changes_table.c.applied_at.is_(None))
        if conversation is not None:
            query = query.where(changes_table.c.conversation == conversation)
        with self._engine.connect() as conn:
            rows = conn.execute(query.order_by(changes_table.c.id).limit(limit)).mappings()
            return [_change(r) for r in rows]

    def mark_applied(self, change_id: int) -> bool:
        """Mark a change applied; True for the one caller that did it (the others got
        there after it)."""
        with self._engine.begin() as conn:
            result = conn.execute(changes_table.update().where(
                changes_table.c.id == change_id,
                changes_table.c.applied_at.is_(None)).values(applied_at=self._now()))
            return result.rowcount == 1

    def changes(self, conversation: str) -> list[Change]:
        """Every change of one conversation's holder, oldest first."""
        with self._engine.connect() as conn:
            rows = conn.execute(sa.select(changes_table).where(
                changes_table.c.conversation == conversation).order_by(
                changes_table.c.id)).mappings()
            return [_change(r) for r in rows]

    def to_platform(self, conversation: str, platform: str, *, channel: str,
                    language: str | None = None) -> Holding:
        """The platform's own support inbox takes the conversation (WeChat's customer
        service, Messenger's Page Inbox): a waiting handoff is cancelled by ``platform``
        in the same step, and the assistant stays silent until :meth:`from_platform`."""
        with self._engine.begin() as conn:
            handoff = self._open(conn, conversation)
            if handoff is not None and handoff.state == WAITING:
                self._transition(conn, handoff.id, [WAITING], state=CANCELLED,
                                 closed_at=self._now())
                self._event(conn, handoff.id, platform, "cancelled", to=platform)
            self._hold(conn, conversation, kind="to_platform", holder=PLATFORM,
                       actor=platform, platform=platform, channel=channel,
                       language=language or (handoff.language if handoff else None))
        return self.holding(conversation)

    def from_platform(self, conversation: str, platform: str) -> Holding:
        """The platform's inbox handed the conversation back to the assistant (a no-op
        when it does not hold it)."""
        with self._engine.begin() as conn:
            current = conn.execute(sa.select(holders_table.c.holder).where(
                holders_table.c.conversation == conversation)).scalar()
            if current == PLATFORM:
                self._hold(conn, conversation, kind="from_platform", holder=ASSISTANT,
                           actor=platform)
        return self.holding(conversation)

    # --- the customer's side --------------------------------------------------------------

    def request(self, conversation: str, *, channel: str, language: str,
                reason: str) -> Handoff:
        """Put a conversation in the queue; its open handoff if it already has one."""
        with self._engine.begin() as conn:
            existing = self._open(conn, conversation)
            if existing is not None:
                return existing
            now = self._now()
            outside = (not self.hours.is_open(dt.datetime.fromtimestamp(now, dt.timezone.utc))
                       or not self._online_count(conn))
            result = conn.execute(handoffs_table.insert().values(
                conversation=conversation, channel=channel[:32], language=language[:8],
                reason=reason[:32], state=WAITING, requested_at=now, outside_hours=outside,
                timeout_notified=False))
            key = result.inserted_primary_key
            assert key is not None
            handoff_id = int(key[0])
            self._event(conn, handoff_id, "customer", "requested", reason=reason,
                        channel=channel, language=language, outside_hours=outside)
            created = self._get(conn, handoff_id)
            self._hold(conn, conversation, kind="requested", holder=QUEUE, actor="customer",
                       handoff=created, reason=reason, outside_hours=outside)
            return created

    def _open(self, conn: Any, conversation: str) -> Handoff | None:
        row = conn.execute(sa.select(handoffs_table).where(
            handoffs_table.c.conversation == conversation,
            handoffs_table.c.state.in_(OPEN_STATES)).order_by(
            handoffs_table.c.id.desc())).mappings().first()
        return _handoff(row) if row is not None else None

    def open_for(self, conversation: str) -> Handoff | None:
        """The conversation's handoff that waits for or is held by a person, if any."""
        with self._engine.connect() as conn:
            return self._open(conn, conversation)

    def latest_for(self, conversation: str) -> Handoff | None:
        """The conversation's most recent handoff, whatever its state."""
        with self._engine.connect() as conn:
            row = conn.execute(sa.select(handoffs_table).where(
                handoffs_table.c.conversation == conversation).order_by(
                handoffs_table.c.id.desc())).mappings().first()
            return _handoff(row) if row is not None else None

    def _online_count(self, conn: Any) -> int:
        return int(conn.execute(sa.select(sa.func.count()).select_from(agents_table).where(
            agents_table.c.online.is_(True))).scalar_one())

    def status(self, handoff_id: int) -> QueueStatus:
        """The customer's place in the queue and the expected wait."""
        with self._engine.connect() as conn:
            handoff = self._get(conn, handoff_id)
            now = dt.datetime.fromtimestamp(self._now(), dt.timezone.utc)
            open_now = self.hours.is_open(now)
            online = self._online_count(conn)
            if handoff.state != WAITING:
                return QueueStatus(0, 0.0 if handoff.state == ASSIGNED else None, online,
                                   open_now, None if open_now else self.hours.next_opening(now))
            ahead = int(conn.execute(sa.select(sa.func.count()).select_from(
                handoffs_table).where(handoffs_table.c.state == WAITING,
                                      handoffs_table.c.id < handoff_id)).scalar_one())
            waits = [r[0] for r in conn.execute(
                sa.select(handoffs_table.c.assigned_at - handoffs_table.c.requested_at).where(
                    handoffs_table.c.assigned_at.is_not(None)).order_by(
                    handoffs_table.c.assigned_at.desc()).limit(RECENT))]
            per_customer = statistics.median(waits) if waits else self.default_wait
            expected = (None if not open_now or not online
                        else per_customer * (ahead + 1) / max(online, 1))
            return QueueStatus(ahead + 1, expected, online, open_now,
                               None if open_now else self.hours.next_opening(now))

    def cancel(self, conversation: str, *, actor: str = "customer") -> Handoff:
        """The customer no longer waits ("never mind"): back to the assistant."""
        with self._engine.begin() as conn:
            handoff = self._open(conn, conversation)
            if handoff is None:
                raise HandoffNotFound(f"no open handoff for {conversation!r}")
            updated = self._transition(conn, handoff.id, [WAITING], state=CANCELLED,
                                       closed_at=self._now())
            self._event(conn, handoff.id, actor, "cancelled")
            self._hold(conn, conversation, kind="cancelled", holder=ASSISTANT, actor=actor,
                       handoff=updated)
            return updated

    def rate(self, handoff_id: int, score: int) -> Handoff:
        """Store the customer's satisfaction (1-5) with a resolved handoff, once."""
        if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
            raise ValueError("a CSAT score is an integer from 1 to 5")
        with self._engine.begin() as conn:
            result = conn.execute(handoffs_table.update().where(
                handoffs_table.c.id == handoff_id, handoffs_table.c.state == RESOLVED,
                handoffs_table.c.csat.is_(None)).values(csat=score))
            current = self._get(conn, handoff_id)
            if result.rowcount != 1:
                raise InvalidTransition(f"handoff {handoff_id} can't be rated now",
                                        current.state)
            self._event(conn, handoff_id, "customer", "rated", score=score)
            return current

    # --- the agents' side -----------------------------------------------------------------

    def get(self, handoff_id: int) -> Handoff:
        """One handoff."""
        with self._engine.connect() as conn:
            return self._get(conn, handoff_id)

    def queue(self) -> list[Handoff]:
        """Waiting handoffs, longest waiting first."""
        with self._engine.connect() as conn:
            rows = conn.execute(sa.select(handoffs_table).where(
                handoffs_table.c.state == WAITING).order_by(handoffs_table.c.id)).mappings()
            return [_handoff(r) for r in rows]

    def visible_to(self, agent_id: str) -> list[Handoff]:
        """What an agent's desk lists: the queue and their own open conversations (a
        supervisor: every open one)."""
        with self._engine.connect() as conn:
            role = self._agent_row(conn, agent_id)["role"]
            query = sa.select(handoffs_table).where(handoffs_table.c.state.in_(OPEN_STATES))
            if role != "supervisor":
                query = query.where(sa.or_(handoffs_table.c.state == WAITING,
                                           handoffs_table.c.agent == agent_id))
            rows = conn.execute(query.order_by(handoffs_table.c.id)).mappings()
            return [_handoff(r) for r in rows]

    def may_view(self, handoff_id: int, agent_id: str) -> bool:
        """An agent sees waiting handoffs and their own; a supervisor sees all."""
        with self._engine.connect() as conn:
            return self._may_view(conn, handoff_id, agent_id)

    def claim(self, handoff_id: int, agent_id: str) -> Handoff:
        """An agent takes a waiting conversation (within their capacity)."""
        with self._engine.begin() as conn:
            agent = self._agent_row(conn, agent_id)
            if self._holding(conn, agent_id) >= agent["capacity"]:
                raise AtCapacity(f"{agent_id} holds {agent['capacity']} conversations already")
            now = self._now()
            updated = self._transition(conn, handoff_id, [WAITING], state=ASSIGNED,
                                       agent=agent_id, assigned_at=now)
            self._event(conn, handoff_id, agent_id, "claimed")
            self._hold(conn, updated.conversation, kind="claimed", holder=AGENT,
                       actor=agent_id, handoff=updated, agent=agent_id,
                       agent_name=agent["name"])
            return updated

    def assign_waiting(self) -> list[Handoff]:
        """Automatic assignment: each waiting handoff, oldest first, to the online agent
        with the most free capacity (ties: the one who got a conversation longest ago)."""
        assigned: list[Handoff] = []
        for handoff in self.queue():
            candidates = [a for a in self.agents() if a.online and a.free > 0]
            if not candidates:
                break
            best = max(candidates, key=lambda a: (a.free, -self._last_assignment(a.id)))
            try:
                with self._engine.begin() as conn:
                    updated = self._transition(conn, handoff.id, [WAITING], state=ASSIGNED,
                                               agent=best.id, assigned_at=self._now())
                    self._event(conn, handoff.id, "system", "assigned", agent=best.id)
                    self._hold(conn, updated.conversation, kind="assigned", holder=AGENT,
                               actor="system", handoff=updated, agent=best.id,
                               agent_name=best.name)
                assigned.append(updated)
            except InvalidTransition:
                continue  # taken or cancelled meanwhile
        return assigned

    def _last_assignment(self, agent_id: str) -> float:
        with self._engine.connect() as conn:
            value = conn.execute(sa.select(sa.func.max(handoffs_table.c.assigned_at)).where(
                handoffs_table.c.agent == agent_id)).scalar()
        return float(value or 0.0)

    def _held_by(self, conn: Any, handoff_id: int, agent_id: str) -> Handoff:
        handoff = self._get(conn, handoff_id)
        role = self._agent_row(conn, agent_id)["role"]
        if handoff.state != ASSIGNED:
            raise InvalidTransition(f"handoff {handoff_id} is {handoff.state}", handoff.state)
        if handoff.agent != agent_id and role != "supervisor":
            raise NotAllowed(f"handoff {handoff_id} is held by another agent")
        return handoff

    def transfer(self, handoff_id: int, *, by: str, to: str) -> Handoff:
        """Hand a held conversation to another agent (its holder or a supervisor may)."""
        with self._engine.begin() as conn:
            handoff = self._held_by(conn, handoff_id, by)
            target = self._agent_row(conn, to)
            if to == handoff.agent:
                return handoff
            if self._holding(conn, to) >= target["capacity"]:
                raise AtCapacity(f"{to} holds {target['capacity']} conversations already")
            updated = self._transition(conn, handoff_id, [ASSIGNED], agent=to)
            self._event(conn, handoff_id, by, "transferred", to=to, previous=handoff.agent)
            self._hold(conn, updated.conversation, kind="transferred", holder=AGENT, actor=by,
                       handoff=updated, agent=to, agent_name=target["name"],
                       from_agent=handoff.agent)
            return updated

    def replied(self, handoff_id: int, agent_id: str, *, kind: str = "text",
                text: str | None = None) -> Handoff:
        """Record an agent's message to the customer (the first one's time is kept).

        ``text`` (the message, or a product card's title) goes into the event, so
        a supervisor following the conversation sees it live.
        """
        with self._engine.begin() as conn:
            handoff = self._held_by(conn, handoff_id, agent_id)
            if handoff.first_reply_at is None:
                conn.execute(handoffs_table.update().where(
                    handoffs_table.c.id == handoff_id,
                    handoffs_table.c.first_reply_at.is_(None)).values(
                    first_reply_at=self._now()))
            self._event(conn, handoff_id, agent_id, "replied", kind=kind,
                        text=(text or "")[:MAX_MESSAGE])
            return self._get(conn, handoff_id)

    def noted(self, handoff_id: int, agent_id: str, text: str = "") -> None:
        """Record an agent's internal note (the customer never sees it; it also goes
        to the conversation's history)."""
        with self._engine.begin() as conn:
            if not self._may_view(conn, handoff_id, agent_id):
                raise NotAllowed(f"handoff {handoff_id} is held by another agent")
            self._event(conn, handoff_id, agent_id, "noted", text=text[:MAX_MESSAGE])

    def customer_said(self, handoff_id: int, *, text: str, image: str | None = None) -> None:
        """Record a customer's message sent while the handoff is open (the desk's live
        feed; the conversation's history has it too)."""
        with self._engine.begin() as conn:
            self._get(conn, handoff_id)
            self._event(conn, handoff_id, "customer", "customer_message",
                        text=text[:MAX_MESSAGE], image=image)

    def events_after(self, cursor: int, *, limit: int = 500) -> list[Event]:
        """Audit events of every handoff with an id above ``cursor``, oldest first
        (a watcher's feed: it keeps the last id it saw)."""
        with self._engine.connect() as conn:
            rows = conn.execute(sa.select(events_table).where(
                events_table.c.id > cursor).order_by(events_table.c.id).limit(limit)).mappings()
            return [_event_of(r) for r in rows]

    def last_event_id(self) -> int:
        """The newest audit event's id (0 when there is none)."""
        with self._engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.max(events_table.c.id))).scalar() or 0)

    def _may_view(self, conn: Any, handoff_id: int, agent_id: str) -> bool:
        role = self._agent_row(conn, agent_id)["role"]
        handoff = self._get(conn, handoff_id)
        return role == "supervisor" or handoff.state == WAITING or handoff.agent == agent_id

    def hand_back(self, handoff_id: int, agent_id: str, *,
                  summary: str | None = None) -> Handoff:
        """The agent is done: the conversation goes back to the assistant."""
        text = (summary or "").strip()[:MAX_SUMMARY] or None
        with self._engine.begin() as conn:
            held = self._held_by(conn, handoff_id, agent_id)
            updated = self._transition(conn, handoff_id, [ASSIGNED], state=RESOLVED,
                                       closed_at=self._now(), summary=text)
            self._event(conn, handoff_id, agent_id, "handed_back", summary=bool(text))
            holder_id = held.agent or agent_id
            name = self._agent_row(conn, holder_id)["name"]
            by_name = self._agent_row(conn, agent_id)["name"]
            self._hold(conn, updated.conversation, kind="handed_back", holder=ASSISTANT,
                       actor=agent_id, handoff=updated, agent=holder_id, agent_name=name,
                       by_name=by_name, summary=text)
            return updated

    def overdue(self) -> list[Handoff]:
        """Waiting handoffs nobody took within ``wait_timeout``, each returned once. Each
        is published as a ``timed_out`` change in the same step (the conversation stays
        in the queue), so the customer is told once, by whoever follows the record,
        even if the process that found it stops right after."""
        cutoff = self._now() - self.wait_timeout
        found: list[Handoff] = []
        with self._engine.begin() as conn:
            rows = list(conn.execute(sa.select(handoffs_table.c.id).where(
                handoffs_table.c.state == WAITING, handoffs_table.c.requested_at <= cutoff,
                handoffs_table.c.timeout_notified.is_(False))))
            for (handoff_id,) in rows:
                result = conn.execute(handoffs_table.update().where(
                    handoffs_table.c.id == handoff_id,
                    handoffs_table.c.timeout_notified.is_(False)).values(timeout_notified=True))
                if result.rowcount == 1:
                    self._event(conn, handoff_id, "system", "timed_out")
                    late = self._get(conn, handoff_id)
                    self._hold(conn, late.conversation, kind="timed_out", holder=QUEUE,
                               actor="system", handoff=late)
                    found.append(late)
        return found

    def told(self, handoff_id: int) -> tuple[int, float] | None:
        """The queue place a waiting customer was last told, and when (None: never)."""
        with self._engine.connect() as conn:
            row = conn.execute(sa.select(told_table.c.position, told_table.c.at).where(
                told_table.c.handoff_id == handoff_id)).first()
        return (int(row[0]), float(row[1])) if row is not None else None

    def tell_place(self, handoff_id: int, position: int, *,
                   only_if_before: tuple[int, float] | None = None) -> bool:
        """Record that the customer was told ``position`` now. With ``only_if_before``
        (what :meth:`told` returned), only if nobody recorded another meanwhile: True
        for the one caller that should tell the customer (two desk processes never
        both tell it)."""
        now = self._now()
        with self._engine.begin() as conn:
            if only_if_before is None:
                exists = conn.execute(sa.select(told_table.c.handoff_id).where(
                    told_table.c.handoff_id == handoff_id)).first()
                if exists is not None:
                    return False
                conn.execute(told_table.insert().values(handoff_id=handoff_id,
                                                        position=position, at=now))
                return True
            result = conn.execute(told_table.update().where(
                told_table.c.handoff_id == handoff_id,
                told_table.c.position == only_if_before[0],
                told_table.c.at == only_if_before[1]).values(position=position, at=now))
            return result.rowcount == 1

    def events(self, handoff_id: int) -> list[Event]:
        """The handoff's audit trail, oldest first."""
        with self._engine.connect() as conn:
            rows = conn.execute(sa.select(events_table).where(
                events_table.c.handoff_id == handoff_id).order_by(events_table.c.id)).mappings()
            return [_event_of(r) for r in rows]

    def history(self, *, since: float = 0.0) -> list[Handoff]:
        """Every handoff requested since ``since`` (for reports)."""
        with self._engine.connect() as conn:
            rows = conn.execute(sa.select(handoffs_table).where(
                handoffs_table.c.requested_at >= since).order_by(handoffs_table.c.id)).mappings()
            return [_handoff(r) for r in rows]


def summary_counts(handoffs: Iterable[Handoff]) -> dict[str, dict[str, int]]:
    """Handoffs by reason and language: ``{"asked": {"en": 3, "zh": 1}, ...}``."""
    counts: dict[str, dict[str, int]] = {}
    for handoff in handoffs:
        by_language = counts.setdefault(handoff.reason, {})
        by_language[handoff.language] = by_language.get(handoff.language, 0) + 1
    return counts
