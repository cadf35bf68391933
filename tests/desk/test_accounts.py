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


# --- one account never touches another; each limit at its edge (shown by mutation tests) --


def test_one_account_s_changes_and_failures_are_its_own(setup) -> None:  # type: ignore[no-untyped-def]
    accounts, handoffs, clock, _engine = setup
    accounts.create_user("bob", name="  Bob  ", role="supervisor", password="bob's password",
                         capacity=50)
    assert handoffs.agent("bob").capacity == 50 and handoffs.agent("bob").name == "Bob"
    ann_token, _ = accounts.sign_in("ann", "correct horse 1", address="1.1.1.1")
    bob_token, _ = accounts.sign_in("bob", "bob's password", address="2.2.2.2")
    # replacing Ann (a new password, a new name) ends her sessions only
    replaced = accounts.create_user("ann", name="", role="agent", password="a new password!",
                                    capacity=1)
    assert replaced == User("ann", "ann", "agent") and handoffs.agent("ann").capacity == 1
    assert accounts.session(ann_token) is None
    assert accounts.session(bob_token) is not None
    assert accounts.sign_in("bob", "bob's password", address="2.2.2.2") is not None
    assert accounts.sign_in("ann", "correct horse 1", address="1.1.1.1") is None
    clock.now += 16 * 60
    assert accounts.sign_in("ann", "a new password!", address="1.1.1.1") is not None
    # failures count per account: Bob's lock is not Ann's
    for _ in range(3):
        assert accounts.sign_in("bob", "wrong", address=f"9.9.9.{_}") is None
    assert accounts.sign_in("bob", "bob's password", address="3.3.3.3") is None  # locked
    assert accounts.sign_in("ann", "a new password!", address="3.3.3.3") is not None
    # a good sign-in clears that account's failures, not the address's
    clock.now += 16 * 60
    assert accounts.sign_in("bob", "wrong", address="4.4.4.4") is None
    assert accounts.sign_in("bob", "bob's password", address="4.4.4.4") is not None
    assert accounts.sign_in("bob", "wrong", address="5.5.5.5") is None
    assert accounts.sign_in("bob", "wrong", address="5.5.5.5") is None
    assert accounts.sign_in("bob", "bob's password", address="6.6.6.6") is not None  # 2 < 3
    assert [u.id for u in accounts.users()] == ["ann", "bob"]


def test_an_address_is_locked_after_four_times_the_account_limit(setup) -> None:  # type: ignore[no-untyped-def]
    accounts, _handoffs, clock, _engine = setup
    for n in range(11):  # 11 failures from one address, over several account names
        assert accounts.sign_in(f"guess{n % 4}", "wrong", address="7.7.7.7") is None
    assert accounts.sign_in("ann", "correct horse 1", address="7.7.7.7") is not None  # 11 < 12
    assert accounts.sign_in("nobody", "wrong", address="7.7.7.7") is None  # the 12th
    assert accounts.sign_in("ann", "correct horse 1", address="7.7.7.7") is None
    assert accounts.sign_in("ann", "correct horse 1", address="8.8.8.8") is not None
    clock.now += 15 * 60 - 1  # failures count for 15 minutes ...
    assert accounts.sign_in("ann", "correct horse 1", address="7.7.7.7") is None
    clock.now += 1  # ... and no longer
    assert accounts.sign_in("ann", "correct horse 1", address="7.7.7.7") is not None


def test_account_rules_at_their_edges(setup) -> None:  # type: ignore[no-untyped-def]
    accounts, _handoffs, _clock, _engine = setup
    accounts.create_user("x" * 64, name="n" * 200, role="agent", password="p" * 10)
    assert accounts.sign_in("X" * 64 + "ignored", "p" * 10, address="1.1.1.1") is not None
    assert [u.name for u in accounts.users() if u.id == "x" * 64] == ["n" * 128]
    cases = [(("x" * 65, "agent", "p" * 10, 3), "a user id is 1-64 of a-z, 0-9, '.', '_' and '-'"),
             (("", "agent", "p" * 10, 3), "a user id is 1-64 of a-z, 0-9, '.', '_' and '-'"),
             (("a b", "agent", "p" * 10, 3), "a user id is 1-64 of a-z, 0-9, '.', '_' and '-'"),
             (("ok", "admin", "p" * 10, 3), "role must be one of agent, supervisor"),
             (("ok", "agent", "p" * 9, 3), "a password needs at least 10 characters"),
             (("ok", "agent", "p" * 10, 0), "capacity must be 1-50 conversations"),
             (("ok", "agent", "p" * 10, 51), "capacity must be 1-50 conversations")]
    for (user_id, role, password, capacity), message in cases:
        with pytest.raises(AccountError) as refused:
            accounts.create_user(user_id, name="x", role=role, password=password,
                                 capacity=capacity)
        assert str(refused.value) == message
    accounts.create_user("one", name="One", role="agent", password="p" * 10, capacity=1)
    assert accounts.session("t" * 129) is None and accounts.session("") is None
    assert accounts.session(None) is None


def test_canned_responses_at_their_edges(setup) -> None:  # type: ignore[no-untyped-def]
    accounts, _handoffs, _clock, _engine = setup
    boss = User("sue", "Sue", "supervisor")
    before = accounts.canned()
    assert before == sorted(before, key=lambda c: (c.language, c.title))
    assert {c.language for c in before} == {"en", "zh"}
    kept = accounts.add_canned(language="zh", title="  " + "标" * 80 + " ", text="字" * 2000,
                               by=boss)
    assert (kept.title, kept.text) == ("标" * 80, "字" * 2000) and kept in accounts.canned()
    message = ("a canned response needs a language (en/zh), a title (at most 80 characters) "
               "and a text (at most 2,000)")
    for language, title, text in (("fr", "t", "x"), ("en", "", "x"), ("en", "t", " "),
                                  ("en", "t" * 81, "x"), ("en", "t", "x" * 2001)):
        with pytest.raises(AccountError) as refused:
            accounts.add_canned(language=language, title=title, text=text, by=boss)
        assert str(refused.value) == message
    for call in (lambda: accounts.add_canned(language="en", title="t", text="x",
                                             by=User("ann", "Ann", "agent")),
                 lambda: accounts.delete_canned(kept.id, by=User("ann", "Ann", "agent"))):
        with pytest.raises(AccountError) as refused:
            call()
        assert str(refused.value) == "only supervisors manage canned responses"
    assert accounts.delete_canned(kept.id, by=boss) and not accounts.delete_canned(kept.id,
                                                                                  by=boss)
    assert accounts.canned() == before
