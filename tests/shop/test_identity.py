"""Signed customer ids: only the shop's server can vouch for a customer, for one
conversation, for a limited time (finding 2 of issue 18)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time

import pytest

from scripts.stack import ROOT
from shop.identity import MAX_LIFETIME, IdentityStatus, sign, signed_metadata, verify

SECRET = "a-shop-secret-of-enough-length"
NOW = 1_800_000_000.0


def test_a_signature_holds_for_its_customer_conversation_and_time() -> None:
    claim = signed_metadata(SECRET, "C10002", "conv-1", ttl=600, now=NOW)
    check = verify(claim, sender="conv-1", secret=SECRET, now=NOW + 1)
    assert check.status is IdentityStatus.VERIFIED and check.customer_id == "C10002"
    assert not check.rejected


@pytest.mark.parametrize(("change", "status"), [
    # replayed into another conversation (the victim's signature, the attacker's chat)
    ({"sender": "attacker-conv"}, IdentityStatus.FORGED),
    # the signed id swapped for another customer's
    ({"customer_id": "C10001"}, IdentityStatus.FORGED),
    # the expiry pushed back
    ({"customer_expires": int(NOW) + 10_000}, IdentityStatus.FORGED),
    # kept after it expired
    ({"now": NOW + 601}, IdentityStatus.EXPIRED),
    # signed under another secret
    ({"secret": "another-secret-of-some-length"}, IdentityStatus.FORGED),
    # no signature at all: the pre-issue default trusted this
    ({"customer_sig": None}, IdentityStatus.UNSIGNED),
    ({"customer_sig": "zz"}, IdentityStatus.UNSIGNED),
    ({"customer_expires": "soon"}, IdentityStatus.UNSIGNED),
    ({"customer_expires": True}, IdentityStatus.UNSIGNED),
    ({"customer_id": 10002}, IdentityStatus.UNSIGNED),
    ({"customer_id": "C" * 65}, IdentityStatus.UNSIGNED),
    ({"customer_id": "C\ud800"}, IdentityStatus.UNSIGNED),
    # a server without a secret trusts no id
    ({"secret": None}, IdentityStatus.NO_SECRET),
])
def test_anything_else_is_refused(change: dict, status: IdentityStatus) -> None:
    claim = signed_metadata(SECRET, "C10002", "conv-1", ttl=600, now=NOW)
    change = dict(change)  # the parameter itself stays as it is for the next run
    sender = change.pop("sender", "conv-1")
    secret = change.pop("secret", SECRET)
    now = change.pop("now", NOW)
    claim.update(change)
    claim = {k: v for k, v in claim.items() if v is not None}
    check = verify(claim, sender=sender, secret=secret, now=now)
    assert check.status is status and check.customer_id is None and check.rejected


def test_a_signature_cannot_be_made_to_last_forever() -> None:
    far = int(NOW) + MAX_LIFETIME + 60
    claim = {"customer_id": "C1", "customer_expires": far,
             "customer_sig": sign(SECRET, "C1", "conv", far)}
    assert verify(claim, sender="conv", secret=SECRET, now=NOW).status is IdentityStatus.TOO_LONG


def test_no_claim_is_anonymous() -> None:
    for metadata in ({}, {"customer_id": ""}, {"customer_id": None}, {"other": 1}):
        check = verify(metadata, sender="conv", secret=SECRET, now=NOW)
        assert check.status is IdentityStatus.ANONYMOUS and not check.rejected


def test_the_signing_command_prints_what_a_shop_attaches(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """``python -m shop.identity sign --customer C --sender S [--ttl N]``: the metadata,
    signed with CUSTOMER_ID_SECRET, valid for N seconds (an hour by default, at most a
    week); without the secret or with a ttl out of bounds, exit 2 and why."""
    from shop.identity import main

    monkeypatch.setenv("CUSTOMER_ID_SECRET", SECRET)
    started = int(time.time())
    assert main(["sign", "--customer", "C10001", "--sender", "me", "--ttl", "120"]) == 0
    claim = json.loads(capsys.readouterr().out)
    assert verify(claim, sender="me", secret=SECRET).customer_id == "C10001"
    assert verify(claim, sender="someone-else", secret=SECRET).customer_id is None
    assert started + 120 <= claim["customer_expires"] <= int(time.time()) + 120
    assert main(["sign", "--customer", "C1", "--sender", "me"]) == 0  # an hour
    hour = json.loads(capsys.readouterr().out)["customer_expires"]
    assert started + 3600 <= hour <= int(time.time()) + 3600
    assert main(["sign", "--customer", "C1", "--sender", "me", "--ttl",
                 str(MAX_LIFETIME)]) == 0
    capsys.readouterr()
    for ttl in ("0", str(MAX_LIFETIME + 1)):
        assert main(["sign", "--customer", "C1", "--sender", "me", "--ttl", ttl]) == 2
        out = capsys.readouterr()
        assert out.out == "" and f"between 1 and {MAX_LIFETIME}" in out.err
    for missing in (["sign", "--sender", "me"], ["sign", "--customer", "C1"], []):
        with pytest.raises(SystemExit) as usage:
            main(missing)
        assert usage.value.code == 2
    capsys.readouterr()
    monkeypatch.delenv("CUSTOMER_ID_SECRET")
    assert main(["sign", "--customer", "C1", "--sender", "me"]) == 2
    out = capsys.readouterr()
    assert out.out == "" and out.err == ("CUSTOMER_ID_SECRET is not set (make run keeps the "
                                         "demo's in $SHOP_DATA_DIR/secrets.env)\n")
    monkeypatch.setenv("CUSTOMER_ID_SECRET", SECRET)
    assert main(["sign", "--customer", "C1", "--sender", "me", "--ttl", "1"]) == 0
    capsys.readouterr()


def test_the_signing_command_explains_itself(capsys: pytest.CaptureFixture[str]) -> None:
    from shop.identity import main

    for argv, words in ((["--help"], ["usage: python -m shop.identity",
                                      "sign a customer id for one conversation"]),
                        (["sign", "--help"], ["usage: python -m shop.identity sign",
                                              "the conversation (sender) id",
                                              "seconds it stays valid"])):
        with pytest.raises(SystemExit) as shown:
            main(argv)
        assert shown.value.code == 0
        said = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
        assert all(re.search(rf"(?<!\w){re.escape(w)}(?!\w)", said) for w in words), said


def test_the_edges_of_a_signature() -> None:
    """An id of one character and of the longest allowed are ids; a signature expiring this
    second has expired; one that lasts exactly the longest lifetime is fine; a server
    with an empty secret trusts nothing, not even what is signed with the empty secret."""
    for customer in ("7", "C" * 64):
        claim = signed_metadata(SECRET, customer, "conv", ttl=600, now=NOW)
        assert verify(claim, sender="conv", secret=SECRET, now=NOW).customer_id == customer
    claim = signed_metadata(SECRET, "C1", "conv", ttl=600, now=NOW)
    assert verify(claim, sender="conv", secret=SECRET, now=NOW + 600).status \
        is IdentityStatus.EXPIRED
    longest = signed_metadata(SECRET, "C1", "conv", ttl=MAX_LIFETIME, now=NOW)
    assert verify(longest, sender="conv", secret=SECRET, now=NOW).customer_id == "C1"
    empty = {"customer_id": "C1", "customer_expires": int(NOW) + 60,
             "customer_sig": sign("", "C1", "conv", int(NOW) + 60)}
    assert verify(empty, sender="conv", secret="", now=NOW).status is IdentityStatus.NO_SECRET


def test_the_signing_command_runs_as_a_module() -> None:
    run = [sys.executable, "-m", "shop.identity", "sign", "--customer", "C10001",
           "--sender", "me", "--ttl", "120"]
    done = subprocess.run(run, capture_output=True, text=True, cwd=ROOT,
                          env={"CUSTOMER_ID_SECRET": SECRET, "PATH": "/usr/bin"})
    assert done.returncode == 0, done.stderr
    assert verify(json.loads(done.stdout), sender="me", secret=SECRET).customer_id == "C10001"
