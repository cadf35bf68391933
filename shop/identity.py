"""Signed customer identities: how a shop vouches for who is chatting.

A channel never believes a ``customer_id`` because a client sent one. The
shop's own server, which knows who is logged in, signs the id together with the
conversation it is for and an expiry::

    signature = hex(HMAC-SHA256(secret, f"{customer_id}|{sender}|{expires}"))

and the client passes ``customer_id``, ``customer_expires`` (Unix seconds) and
``customer_sig`` in the message metadata. Because the conversation (sender) id
is signed too, a signature copied into another conversation is worthless, and
because the expiry is signed, it cannot be kept forever (at most
``MAX_LIFETIME`` seconds ahead is accepted).

Standard library only: both the Rasa process and the action server import it.
Run ``python -m shop.identity sign --customer C10001 --sender conv-1`` to sign
one by hand (the secret comes from ``CUSTOMER_ID_SECRET``).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

MAX_LIFETIME = 7 * 24 * 3600
MAX_ID_CHARS = 64


class IdentityStatus(str, Enum):
    """Outcome of checking the identity a message claims."""

    ANONYMOUS = "anonymous"   # no customer id claimed
    VERIFIED = "verified"     # signed for this conversation, not expired
    UNSIGNED = "unsigned"     # an id without (or with a malformed) signature
    FORGED = "forged"         # the signature does not match
    EXPIRED = "expired"       # the signature's expiry has passed
    TOO_LONG = "too_long"     # an expiry further ahead than MAX_LIFETIME
    NO_SECRET = "no_secret"   # this server has no secret: ids cannot be trusted


@dataclass(frozen=True)
class IdentityCheck:
    """The identity a message claims and whether it holds.

    Attributes:
        status: What the check found.
        customer_id: The customer, only when ``status`` is ``VERIFIED``.
    """

    status: IdentityStatus
    customer_id: str | None = None

    @property
    def rejected(self) -> bool:
        """A customer id was claimed but cannot be trusted."""
        return self.status not in (IdentityStatus.ANONYMOUS, IdentityStatus.VERIFIED)


def sign(secret: str, customer_id: str, sender: str, expires: int) -> str:
    """The hex HMAC-SHA256 over ``customer_id|sender|expires`` under ``secret``."""
    message = f"{customer_id}|{sender}|{int(expires)}".encode()
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signed_metadata(secret: str, customer_id: str, sender: str, *, ttl: int = 3600,
                    now: float | None = None) -> dict[str, Any]:
    """The message metadata that proves ``customer_id`` in conversation ``sender``."""
    expires = int((time.time() if now is None else now) + ttl)
    return {"customer_id": customer_id, "customer_expires": expires,
            "customer_sig": sign(secret, customer_id, sender, expires)}


def verify(metadata: Mapping[str, Any], *, sender: str, secret: str | None,
           now: float | None = None) -> IdentityCheck:
    """Check the identity ``metadata`` claims for conversation ``sender``.

    Never raises: any malformed field makes the claim untrusted.
    """
    customer_id = metadata.get("customer_id")
    if customer_id in (None, ""):
        return IdentityCheck(IdentityStatus.ANONYMOUS)
    if secret is None or not secret:
        return IdentityCheck(IdentityStatus.NO_SECRET)
    signature, expires = metadata.get("customer_sig"), metadata.get("customer_expires")
    if not isinstance(customer_id, str) or not 0 < len(customer_id) <= MAX_ID_CHARS \
            or not isinstance(signature, str) or len(signature) != 64 \
            or isinstance(expires, bool) or not isinstance(expires, (int, str)):
        return IdentityCheck(IdentityStatus.UNSIGNED)
    try:
        expires_at = int(expires)
    except ValueError:
        return IdentityCheck(IdentityStatus.UNSIGNED)
    try:
        expected = sign(secret, customer_id, sender, expires_at)
    except UnicodeEncodeError:
        return IdentityCheck(IdentityStatus.UNSIGNED)
    if not hmac.compare_digest(expected, signature.lower()):
        return IdentityCheck(IdentityStatus.FORGED)
    clock = time.time() if now is None else now
    if expires_at <= clock:
        return IdentityCheck(IdentityStatus.EXPIRED)
    if expires_at > clock + MAX_LIFETIME:
        return IdentityCheck(IdentityStatus.TOO_LONG)
    return IdentityCheck(IdentityStatus.VERIFIED, customer_id)


def main(argv: list[str] | None = None) -> int:
    """``sign``: print the metadata a shop's server would attach (JSON)."""
    parser = argparse.ArgumentParser(prog="python -m shop.identity")
    sub = parser.add_subparsers(dest="command", required=True)
    cmd = sub.add_parser("sign", help="sign a customer id for one conversation")
    cmd.add_argument("--customer", required=True)
    cmd.add_argument("--sender", required=True, help="the conversation (sender) id")
    cmd.add_argument("--ttl", type=int, default=3600, help="seconds it stays valid")
    args = parser.parse_args(argv)
    secret = os.environ.get("CUSTOMER_ID_SECRET")
    if not secret:
        print("CUSTOMER_ID_SECRET is not set (make run keeps the demo's in "
              "$SHOP_DATA_DIR/secrets.env)", file=sys.stderr)
        return 2
    if not 0 < args.ttl <= MAX_LIFETIME:
        print(f"--ttl must be between 1 and {MAX_LIFETIME} seconds", file=sys.stderr)
        return 2
    print(json.dumps(signed_metadata(secret, args.customer, args.sender, ttl=args.ttl)))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
