"""Where the stream's consumer keeps what it has learned: the shop's database."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, fields
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from stream.facts import ConversationFacts, Viewed, check, fold

metadata = sa.MetaData()

conversations = sa.Table(
    "stream_conversations", metadata,
    sa.Column("sender_id", sa.String(255), primary_key=True),
    sa.Column("channel", sa.String(64)),
    sa.Column("language", sa.String(8)),
    sa.Column("customer_id", sa.String(64)),
    sa.Column("started_at", sa.Float),
    sa.Column("last_at", sa.Float, index=True),
    sa.Column("customer_messages", sa.Integer, nullable=False, default=0),
    sa.Column("assistant_messages", sa.Integer, nullable=False, default=0),
    sa.Column("fallbacks", sa.Integer, nullable=False, default=0),
    sa.Column("person_offers", sa.Integer, nullable=False, default=0),
    sa.Column("handoffs", sa.Integer, nullable=False, default=0),
    sa.Column("fallback_turn", sa.Integer, nullable=False, default=0),
)

# what has been taken: delivery is at least once, an event counts once
taken = sa.Table(
    "stream_taken", metadata,
    sa.Column("sender_id", sa.String(255), primary_key=True),
    sa.Column("timestamp", sa.Float, primary_key=True),
    sa.Column("event", sa.String(32), primary_key=True),
    sa.Column("digest", sa.String(64), primary_key=True),
)

_FIELDS = [f.name for f in fields(ConversationFacts)]


def _facts(row: Any) -> ConversationFacts:
    return ConversationFacts(**{name: row[name] for name in _FIELDS})


class StreamStore:
    """The conversation facts, the events taken, and the views for the recommender.

    Args:
        engine: The shop's database (``DATABASE_URL``).
        record_view: Writes a :class:`~stream.facts.Viewed` into the shop's
            interactions, in the event's transaction (``python -m stream`` passes
            :func:`shop.feedback.record_chat_view`); ``None``: views are not kept.
    """

    def __init__(self, engine: Engine, *,
                 record_view: Callable[[sa.Connection, Viewed], object] | None = None) -> None:
        self._engine = engine
        self._record_view = record_view
        metadata.create_all(engine)

    def take(self, event: Any, *, digest: str) -> bool:
        """Apply one event, in one transaction; ``False`` when it was taken before
        (``digest``: a hash of the event's body, which tells two events of one
        conversation at one instant apart).

        Raises:
            StreamError: It is not an event of a conversation.
        """
        sender, kind, timestamp = check(event)
        with self._engine.begin() as conn:
            key = {"sender_id": sender, "timestamp": timestamp, "event": kind[:32],
                   "digest": digest}
            if conn.execute(sa.select(taken.c.sender_id).filter_by(**key)).first():
                return False
            conn.execute(taken.insert().values(**key))
            row = conn.execute(sa.select(conversations).where(
                conversations.c.sender_id == sender).with_for_update()).mappings().first()
            facts = _facts(row) if row else ConversationFacts(sender)
            viewed = fold(facts, event)
            values = asdict(facts)
            if row:
                conn.execute(conversations.update().where(
                    conversations.c.sender_id == sender).values(**values))
            else:
                conn.execute(conversations.insert().values(**values))
            if viewed is not None and self._record_view is not None:
                self._record_view(conn, viewed)
        return True

    def conversations(self, *, since: float = 0.0) -> list[ConversationFacts]:
        """Every conversation whose last event is after ``since`` (Unix seconds)."""
        with self._engine.connect() as conn:
            rows = conn.execute(sa.select(conversations).where(
                conversations.c.last_at >= since)).mappings().all()
        return [_facts(row) for row in rows]
