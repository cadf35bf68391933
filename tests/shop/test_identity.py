"""Signed customer ids: only the shop's server can vouch for a customer, for one
conversation, for a limited time (finding 2 of issue 18)."""

from __future__ import annotations

import json
import subprocess
import sys

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


def test_the_signing_command_prints_what_a_shop_attaches() -> None:
    run = [sys.executable, "-m", "shop.identity", "sign", "--customer", "C10001",
           "--sender", "me", "--ttl", "120"]
    done = subprocess.run(run, capture_output=True, text=True, cwd=ROOT,
                          env={"CUSTOMER_ID_SECRET": SECRET, "PATH": "/usr/bin"})
    assert done.returncode == 0, done.stderr
    claim = json.loads(done.stdout)
    assert verify(claim, sender="me", secret=SECRET).customer_id == "C10001"
    missing = subprocess.run(run, capture_output=True, text=True, cwd=ROOT,
                             env={"PATH": "/usr/bin"})
    assert missing.returncode == 2 and "CUSTOMER_ID_SECRET" in missing.stderr
