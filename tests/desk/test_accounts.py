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


def test_the_defaults_a_shop_starts_with(setup) -> None:  # type: ignore[no-untyped-def]
    """Five failures lock an account, an hour idle ends a session, eight hours end it
    whatever; three conversations an agent."""
    _accounts, handoffs, clock, engine = setup
    accounts = Accounts(engine=engine, handoffs=handoffs, clock=clock)
    accounts.create_user("dee", name="Dee", role="supervisor", password="dee's password")
    assert (handoffs.agent("dee").capacity, handoffs.agent("dee").role) == (3, "supervisor")
    for _ in range(4):
        assert accounts.sign_in("dee", "wrong", address=f"10.0.0.{_}") is None
    token, _session = accounts.sign_in("dee", "dee's password", address="10.0.1.1")
    for _ in range(5):
        assert accounts.sign_in("dee", "wrong", address=f"10.0.2.{_}") is None
    assert accounts.sign_in("dee", "dee's password", address="10.0.1.1") is None  # locked
    clock.now += 3600  # an hour without a request: still (just) signed in
    assert accounts.session(token) is not None
    clock.now += 3601
    assert accounts.session(token) is None
    assert len(token) == len(_session.csrf) == 43  # 32 random bytes each


def test_sessions_end_at_their_exact_age_and_idle_time(setup) -> None:  # type: ignore[no-untyped-def]
    accounts, _handoffs, clock, _engine = setup  # 3,600 s at most, 600 s idle
    token, _ = accounts.sign_in("ann", "correct horse 1", address="a")
    for _ in range(6):
        clock.now += 600  # used every ten minutes: never idle too long
        assert accounts.session(token) is not None
    assert accounts.session(token) is not None  # exactly an hour old
    clock.now += 1
    assert accounts.session(token) is None


def test_use_keeps_only_its_own_session_alive_recorded_twice_a_minute(setup) -> None:  # type: ignore[no-untyped-def]
    accounts, _handoffs, clock, engine = setup
    accounts.create_user("bob", name="Bob", role="agent", password="bob's password")
    start = clock.now
    ann, _ = accounts.sign_in("ann", "correct horse 1", address="a")
    bob, _ = accounts.sign_in("bob", "bob's password", address="b")
    clock.now = start + 30  # used after 30 s: not recorded yet ...
    assert accounts.session(ann) is not None
    clock.now = start + 630
    assert accounts.session(ann) is None  # ... so idle since the start
    assert accounts.session(bob) is None  # bob, unused, too
    ann, _ = accounts.sign_in("ann", "correct horse 1", address="a")
    bob, _ = accounts.sign_in("bob", "bob's password", address="b")
    start = clock.now
    clock.now = start + 31  # after 31 s: recorded
    assert accounts.session(ann) is not None
    clock.now = start + 601
    assert accounts.session(ann) is not None  # 570 s idle
    assert accounts.session(bob) is None  # another's use kept nobody else's alive
    with engine.connect() as conn:  # and an ended session is removed, not only refused
        assert conn.execute(sa.text("select count(*) from desk_sessions where user_id = "
                                    "'bob'")).scalar_one() == 0
    clock.now = start + 602
    assert accounts.session(ann) is not None  # one session's end ends no other


def test_a_disabled_account_cannot_sign_in_and_its_sessions_end(setup) -> None:  # type: ignore[no-untyped-def]
    accounts, _handoffs, _clock, engine = setup
    token, _ = accounts.sign_in("ann", "correct horse 1", address="a")
    with engine.begin() as conn:  # an operator disables the account in the database
        conn.execute(sa.text("update desk_users set disabled = true where id = 'ann'"))
    assert accounts.session(token) is None
    assert accounts.sign_in("ann", "correct horse 1", address="a") is None
    assert "ann" not in [u.id for u in accounts.users()]


def test_an_old_hash_is_upgraded_at_the_next_sign_in(setup) -> None:  # type: ignore[no-untyped-def]
    from argon2 import PasswordHasher

    accounts, _handoffs, _clock, engine = setup
    accounts.create_user("bob", name="Bob", role="agent", password="bob's password")
    old = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("correct horse 1")
    with engine.begin() as conn:
        conn.execute(sa.text("update desk_users set password_hash = :h where id = 'ann'"),
                     {"h": old})
        bob_before = conn.execute(sa.text("select password_hash from desk_users where "
                                          "id = 'bob'")).scalar_one()
    assert accounts.sign_in("ann", "correct horse 1", address="a") is not None
    with engine.connect() as conn:
        hashes = dict(conn.execute(sa.text("select id, password_hash from desk_users")).all())
    assert hashes["ann"] != old and not PasswordHasher().check_needs_rehash(hashes["ann"])
    assert PasswordHasher().verify(hashes["ann"], "correct horse 1")
    assert hashes["bob"] == bob_before  # only the account that signed in


def test_odd_sign_ins_sign_in_nobody(setup) -> None:  # type: ignore[no-untyped-def]
    accounts, *_ = setup
    accounts.create_user("xxxx", name="X", role="agent", password="xxxx password")
    assert accounts.sign_in("", "xxxx password", address="a") is None
    assert accounts.sign_in(None, "xxxx password", address="a") is None  # type: ignore[arg-type]
    for _ in range(3):
        accounts.sign_in("ann", "wrong", address="b")
    # locked: a missing password is refused like any other, without an error
    assert accounts.sign_in("ann", None, address="b") is None  # type: ignore[arg-type]
    # every allowed character at once is a valid id
    every = "abcdefghijklmnopqrstuvwxyz0123456789._-"
    assert accounts.create_user(every, name="All", role="agent", password="p" * 10).id == every
    assert [(u.id, u.role) for u in accounts.users() if u.id in ("ann", every)] == [
        (every, "agent"), ("ann", "agent")]


def test_canned_responses_by_language_then_title_in_both_languages(setup) -> None:  # type: ignore[no-untyped-def]
    accounts, *_ = setup
    boss = User("sue", "Sue", "supervisor")
    english = accounts.add_canned(language="en", title="Zz refund", text="Refunds take 5 days.",
                                  by=boss)
    chinese = accounts.add_canned(language="zh", title="A 退款", text="退款需要5天。", by=boss)
    listed = accounts.canned()
    assert listed.index(english) < listed.index(chinese)  # English first, whatever the title
    assert [c.language for c in listed] == sorted(c.language for c in listed)
