"""Desk accounts, sessions and canned responses, in SQL (the handoff database).

- Passwords are hashed with argon2id (``argon2-cffi``); a hash made with older
  parameters is upgraded at the next sign-in.
- A session is a random token kept by the browser in an HttpOnly cookie; only
  its SHA-256 is stored. It ends after ``session_hours`` or ``idle_minutes``
  without a request, or at sign-out. Each session has its own CSRF token, which
  every state-changing request must send back in ``X-CSRF-Token``.
- Failed sign-ins are counted per account and per address; past the limit the
  account is locked for 15 minutes for that address (answers stay the same, so
  nobody learns which accounts exist).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from handoff import HandoffService
from handoff.models import ROLES

metadata = sa.MetaData()
users = sa.Table(
    "desk_users", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("password_hash", sa.String(256), nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", sa.Float, nullable=False),
)
sessions = sa.Table(
    "desk_sessions", metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.String(64), nullable=False, index=True),
    sa.Column("csrf", sa.String(64), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("seen_at", sa.Float, nullable=False),
)
failures = sa.Table(
    "desk_login_failures", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(128), nullable=False, index=True),
    sa.Column("at", sa.Float, nullable=False),
)
canned = sa.Table(
    "desk_canned_responses", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("title", sa.String(80), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)

USERNAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._-")
LOCK_WINDOW = 15 * 60
MIN_PASSWORD = 10
DEFAULT_CANNED = (
    ("en", "Greeting", "Hi, this is {agent} from the shop's support team. How can I help?"),
    ("en", "Checking", "Thanks for waiting, I'm checking this for you now."),
    ("en", "Anything else", "Is there anything else I can help you with?"),
    ("zh", "问候", "您好，我是客服{agent}，很高兴为您服务。请问有什么可以帮您？"),
    ("zh", "查询中", "感谢您的耐心等待，我正在为您查询。"),
    ("zh", "还有其他问题吗", "请问还有其他可以帮您的吗？"),
)


class AccountError(ValueError):
    """An account cannot be created or changed as asked."""


@dataclass(frozen=True)
class User:
    """A signed-in desk user."""

    id: str
    name: str
    role: str

    @property
    def supervisor(self) -> bool:
        """Supervisors see every conversation and manage canned responses."""
        return self.role == "supervisor"


@dataclass(frozen=True)
class Session:
    """A valid session: who, and the CSRF token their requests must carry."""

    user: User
    csrf: str


@dataclass(frozen=True)
class Canned:
    """A canned response."""

    id: int
    language: str
    title: str
    text: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Accounts:
    """Desk accounts, sessions and canned responses (see the module docstring).

    Args:
        engine: The database (the handoff queue's).
        handoffs: The queue, where every account is also an agent.
        session_seconds: Longest life of a session.
        idle_seconds: Idle time after which a session ends.
        max_failures: Failed sign-ins per account and address per 15 minutes.
        clock: Unix seconds now (tests pass their own).
    """

    def __init__(self, *, engine: sa.engine.Engine, handoffs: HandoffService,
                 session_seconds: float = 8 * 3600, idle_seconds: float = 3600,
                 max_failures: int = 5, clock: Callable[[], float] = time.time) -> None:
        self._engine = engine
        self.handoffs = handoffs
        self.session_seconds = session_seconds
        self.idle_seconds = idle_seconds
        self.max_failures = max_failures
        self._clock = clock
        self._hasher = PasswordHasher()
        # verifying against this costs the same when the account does not exist
        self._dummy = self._hasher.hash(secrets.token_hex(16))

    def create_schema(self) -> None:
        """Create missing tables; add the default canned responses to an empty set."""
        metadata.create_all(self._engine)
        with self._engine.begin() as conn:
            if conn.execute(sa.select(sa.func.count()).select_from(canned)).scalar_one() == 0:
                now = self._clock()
                conn.execute(canned.insert(), [
                    {"language": lang, "title": title, "text": text, "created_by": "system",
                     "created_at": now} for lang, title, text in DEFAULT_CANNED])

    # --- accounts -------------------------------------------------------------------------

    def create_user(self, user_id: str, *, name: str, role: str, password: str,
                    capacity: int = 3) -> User:
        """Create or replace an account (and its agent in the queue).

        Raises:
            AccountError: A bad id, role, capacity or a password that is too short.
        """
        user_id = user_id.strip().lower()
        if not user_id or len(user_id) > 64 or not set(user_id) <= USERNAME_CHARS:
            raise AccountError("a user id is 1-64 of a-z, 0-9, '.', '_' and '-'")
        if role not in ROLES:
            raise AccountError(f"role must be one of {', '.join(ROLES)}")
        if len(password) < MIN_PASSWORD:
            raise AccountError(f"a password needs at least {MIN_PASSWORD} characters")
        if not 1 <= capacity <= 50:
            raise AccountError("capacity must be 1-50 conversations")
        name = name.strip()[:128] or user_id
        values = {"name": name, "role": role, "password_hash": self._hasher.hash(password),
                  "disabled": False, "created_at": self._clock()}
        with self._engine.begin() as conn:
            if conn.execute(sa.select(users.c.id).where(users.c.id == user_id)).first():
                conn.execute(users.update().where(users.c.id == user_id).values(**values))
                conn.execute(sessions.delete().where(sessions.c.user_id == user_id))
            else:
                conn.execute(users.insert().values(id=user_id, **values))
        self.handoffs.upsert_agent(user_id, name=name, role=role, capacity=capacity)
        return User(user_id, name, role)

    def _failures(self, conn: Any, key: str) -> int:
        return int(conn.execute(sa.select(sa.func.count()).select_from(failures).where(
            failures.c.key == key, failures.c.at > self._clock() - LOCK_WINDOW)).scalar_one())

    def sign_in(self, user_id: str, password: str, *, address: str) -> tuple[str, Session] | None:
        """A new session token and session, or ``None`` (wrong, unknown, disabled or
        locked: the same answer for all)."""
        user_id = (user_id or "").strip().lower()[:64]
        keys = (f"user:{user_id}", f"address:{address}")
        with self._engine.begin() as conn:
            if any(self._failures(conn, k) >= self.max_failures * (1 if k[0] == "u" else 4)
                   for k in keys):
                # the same work as a real check: timing tells nothing
                with contextlib.suppress(VerificationError, InvalidHashError):
                    self._hasher.verify(self._dummy, password or "")
                return None
            row = conn.execute(sa.select(users).where(users.c.id == user_id)).mappings().first()
            ok = False
            try:
                ok = self._hasher.verify(row["password_hash"] if row else self._dummy,
                                         password or "")
            except (VerificationError, InvalidHashError):
                ok = False
            if not ok or row is None or row["disabled"]:
                now = self._clock()
                conn.execute(failures.insert(), [{"key": k, "at": now} for k in keys])
                return None
            if self._hasher.check_needs_rehash(row["password_hash"]):
                conn.execute(users.update().where(users.c.id == user_id).values(
                    password_hash=self._hasher.hash(password)))
            conn.execute(failures.delete().where(failures.c.key == keys[0]))
            token, csrf, now = secrets.token_urlsafe(32), secrets.token_urlsafe(32), self._clock()
            conn.execute(sessions.insert().values(token_hash=_digest(token), user_id=user_id,
                                                  csrf=csrf, created_at=now, seen_at=now))
            return token, Session(User(row["id"], row["name"], row["role"]), csrf)

    def session(self, token: str | None) -> Session | None:
        """The session of a cookie's token, if it is still valid (it is kept alive)."""
        if not token or len(token) > 128:
            return None
        now = self._clock()
        with self._engine.begin() as conn:
            row = conn.execute(sa.select(sessions, users.c.name, users.c.role,
                                         users.c.disabled).join(
                users, users.c.id == sessions.c.user_id).where(
                sessions.c.token_hash == _digest(token))).mappings().first()
            if row is None:
                return None
            if (row["disabled"] or now - row["created_at"] > self.session_seconds
                    or now - row["seen_at"] > self.idle_seconds):
                conn.execute(sessions.delete().where(sessions.c.token_hash == _digest(token)))
                return None
            if now - row["seen_at"] > 30:
                conn.execute(sessions.update().where(
                    sessions.c.token_hash == _digest(token)).values(seen_at=now))
            return Session(User(row["user_id"], row["name"], row["role"]), row["csrf"])

    @staticmethod
    def csrf_ok(session: Session, given: str | None) -> bool:
        """Whether a request carries its session's CSRF token."""
        return bool(given) and hmac.compare_digest(session.csrf.encode(),
                                                   str(given).encode())

    def sign_out(self, token: str | None) -> None:
        """End a session."""
        if token:
            with self._engine.begin() as conn:
                conn.execute(sessions.delete().where(sessions.c.token_hash == _digest(token)))

    def users(self) -> list[User]:
        """Every enabled account."""
        with self._engine.connect() as conn:
            rows = conn.execute(sa.select(users).where(users.c.disabled.is_(False)).order_by(
                users.c.id)).mappings()
            return [User(r["id"], r["name"], r["role"]) for r in rows]

    # --- canned responses -----------------------------------------------------------------

    def canned(self) -> list[Canned]:
        """Every canned response, by language then title."""
        with self._engine.connect() as conn:
            rows = conn.execute(sa.select(canned).order_by(canned.c.language,
                                                           canned.c.title)).mappings()
            return [Canned(r["id"], r["language"], r["title"], r["text"]) for r in rows]

    def add_canned(self, *, language: str, title: str, text: str, by: User) -> Canned:
        """Add a canned response (supervisors only).

        Raises:
            AccountError: Not a supervisor, or an empty or too long response.
        """
        if not by.supervisor:
            raise AccountError("only supervisors manage canned responses")
        title, text = title.strip(), text.strip()
        if language not in ("en", "zh") or not title or not text or len(title) > 80 \
                or len(text) > 2000:
            raise AccountError("a canned response needs a language (en/zh), a title "
                               "(at most 80 characters) and a text (at most 2,000)")
        with self._engine.begin() as conn:
            result = conn.execute(canned.insert().values(
                language=language, title=title, text=text, created_by=by.id,
                created_at=self._clock()))
            key = result.inserted_primary_key
            assert key is not None
            return Canned(int(key[0]), language, title, text)

    def delete_canned(self, canned_id: int, *, by: User) -> bool:
        """Delete a canned response (supervisors only); whether it existed."""
        if not by.supervisor:
            raise AccountError("only supervisors manage canned responses")
        with self._engine.begin() as conn:
            return bool(conn.execute(canned.delete().where(canned.c.id == canned_id)).rowcount)
