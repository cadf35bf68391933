"""Desk accounts: argon2 hashes, expiring sessions, CSRF, lock-out, canned responses."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from desk.accounts import AccountError, Accounts, User
from handoff import HandoffService


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def setup(tmp_path):  # type: ignore[no-untyped-def]
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'desk.db'}", future=True)
    clock = Clock()
    handoffs = HandoffService(engine=engine, clock=clock)
    handoffs.create_schema()
    accounts = Accounts(engine=engine, handoffs=handoffs, session_seconds=3600,
                        idle_seconds=600, max_failures=3, clock=clock)
    accounts.create_schema()
    accounts.create_user("ann", name="Ann", role="agent", password="correct horse 1")
    return accounts, handoffs, clock, engine


def test_passwords_are_argon2_hashes_and_sign_in_works(setup) -> None:  # type: ignore[no-untyped-def]
    accounts, handoffs, _clock, engine = setup
    with engine.connect() as conn:
        stored = conn.execute(sa.text("select password_hash from desk_users")).scalar_one()
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    assert handoffs.agent("ann").name == "Ann"  # every account is an agent of the queue
    token, session = accounts.sign_in("Ann", "correct horse 1", address="1.2.3.4")
    assert session.user == User("ann", "Ann", "agent")
    assert accounts.session(token) == session
    assert accounts.sign_in("ann", "wrong password!", address="1.2.3.4") is None
    assert accounts.sign_in("nobody", "correct horse 1", address="1.2.3.4") is None


def test_sessions_expire_when_idle_or_old_and_at_sign_out(setup) -> None:  # type: ignore[no-untyped-def]
    accounts, _handoffs, clock, _engine = setup
    token, _ = accounts.sign_in("ann", "correct horse 1", address="a")
    clock.now += 599
    assert accounts.session(token) is not None  # kept alive by use
    clock.now += 601
    assert accounts.session(token) is None  # idle too long
    token, _ = accounts.sign_in("ann", "correct horse 1", address="a")
    for _ in range(8):
        clock.now += 500
        accounts.session(token)
    assert accounts.session(token) is None  # older than session_seconds
    token, _ = accounts.sign_in("ann", "correct horse 1", address="a")
    accounts.sign_out(token)
    assert accounts.session(token) is None
    assert accounts.session("forged-token") is None


def test_csrf_token_belongs_to_its_session(setup) -> None:  # type: ignore[no-untyped-def]
    accounts, *_ = setup
    _, one = accounts.sign_in("ann", "correct horse 1", address="a")
    _, two = accounts.sign_in("ann", "correct horse 1", address="a")
    assert accounts.csrf_ok(one, one.csrf)
    assert not accounts.csrf_ok(one, two.csrf)
    assert not accounts.csrf_ok(one, None) and not accounts.csrf_ok(one, "")


def test_repeated_failures_lock_the_account_for_a_while(setup) -> None:  # type: ignore[no-untyped-def]
    accounts, _handoffs, clock, _engine = setup
    for _ in range(3):
        assert accounts.sign_in("ann", "guess guess 1", address="evil") is None
    # even the right password is refused while locked
    assert accounts.sign_in("ann", "correct horse 1", address="evil") is None
    clock.now += 16 * 60
    assert accounts.sign_in("ann", "correct horse 1", address="evil") is not None


def test_bad_accounts_are_refused(setup) -> None:  # type: ignore[no-untyped-def]
    accounts, *_ = setup
    for user_id, role, password in (("a b", "agent", "long enough 1"),
                                    ("bob", "admin", "long enough 1"),
                                    ("bob", "agent", "short")):
        with pytest.raises(AccountError):
            accounts.create_user(user_id, name="x", role=role, password=password)


def test_only_supervisors_manage_canned_responses(setup) -> None:  # type: ignore[no-untyped-def]
    accounts, *_ = setup
    boss = accounts.create_user("boss", name="Boss", role="supervisor", password="the boss is in")
    ann = User("ann", "Ann", "agent")
    languages = {c.language for c in accounts.canned()}
    assert languages == {"en", "zh"}  # defaults in both languages
    with pytest.raises(AccountError):
        accounts.add_canned(language="en", title="x", text="y", by=ann)
    item = accounts.add_canned(language="zh", title="退货", text="退货请在30天内申请。", by=boss)
    assert item in accounts.canned()
    with pytest.raises(AccountError):
        accounts.delete_canned(item.id, by=ann)
    assert accounts.delete_canned(item.id, by=boss)
    assert item not in accounts.canned()
