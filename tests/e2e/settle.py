"""Waiting for what the servers did, instead of sleeping and hoping it is over.

"Nothing more was sent" is shown by order, not by time: a platform channel answers
one customer's items one after the other, marks each done in its inbox
(``channel_inbox``) once the answer is on its way, and sends one conversation's
messages in order. So once every item the channel took from a customer is done, a
notice pushed into the conversation leaves after everything sent before it: what
arrived before the notice is all there is.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Callable

from scripts.stack import Stack


def answered(stack: Stack, channel: str, user: str, timeout: float = 60.0) -> None:
    """Wait until ``channel`` has answered (or given up on) every item from ``user``."""
    deadline = time.monotonic() + timeout
    while True:
        with sqlite3.connect(stack.data_dir / "channels.db", timeout=30) as db:
            waiting = db.execute("select count(*) from channel_inbox where channel = ? and "
                                 "conversation = ? and done_at is null",
                                 (channel, user)).fetchone()[0]
        if not waiting:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{waiting} item(s) of {user} still unanswered on {channel}")
        time.sleep(0.1)


def sent_before_now(stack: Stack, channel: str, user: str, texts: Callable[[], list[str]],
                    timeout: float = 60.0) -> list[str]:
    """Everything sent to ``user`` so far, once it is all sent: waits for the items
    (:func:`answered`), pushes a notice and waits for it; the texts before it."""
    answered(stack, channel, user, timeout)
    marker = f"[end of test {uuid.uuid4().hex[:8]}]"
    pushed = stack.push(user, {"text": marker}, channel=channel, role="notice")
    assert pushed.status_code == 201, pushed.text
    deadline = time.monotonic() + timeout
    while True:
        now = texts()
        found = [i for i, text in enumerate(now) if marker in text]
        if found:
            return now[:found[0]]
        if time.monotonic() > deadline:
            raise AssertionError(f"the notice never reached {user}: {now}")
        time.sleep(0.1)
