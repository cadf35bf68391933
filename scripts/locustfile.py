"""Locust users for ``make bench-load`` (run by Locust in its own environment,
``.venv-load``; ``scripts/bench_load.py`` starts the servers and reads the results).

Each simulated customer holds whole shopping conversations over the REST channel, in
English or Chinese, with a think time between messages as a person has: a greeting, a
search, the price of an item of the list, recommendations, a comparison, thanks
(``scripts/load_scripts.py``). Like a real client, it gives every message its own
``message_id`` and sends it again with the same id when the connection drops or the
balancer has no server or the message is still being answered elsewhere
(``RETRYABLE``; up to three more times, a second apart): the server
answers it once. One Locust row per message (its time includes the retries); a
message fails when no attempt got a 200 with at least one message, or the answer
came back in the other language (a server under load must not answer a Chinese
customer in English). The retries are counted and written, at the end, to the file
``LOAD_RETRIES_FILE`` names.
"""

from __future__ import annotations

import itertools
import os
import re
import time
import uuid

import requests
from locust import User, between, events, task

from scripts.load_scripts import PREFIX, RETRYABLE, SCRIPTS

HAN = re.compile(r"[\u4e00-\u9fff]")
_languages = itertools.cycle(["en", "zh"])
#: Seconds between a customer's messages (reading the answer, typing the next one).
THINK = (float(os.environ.get("LOAD_THINK_MIN", "1")), float(os.environ.get("LOAD_THINK_MAX",
                                                                              "3")))
RETRIES = 3
_retries = {"sent again": 0}


@events.test_stop.add_listener
def _write_retries(**_: object) -> None:
    if path := os.environ.get("LOAD_RETRIES_FILE"):
        with open(path, "w", encoding="utf-8") as out:
            out.write(str(_retries["sent again"]))


class Customer(User):
    """A shop customer chatting over REST."""

    wait_time = between(*THINK)

    def on_start(self) -> None:
        self.language = next(_languages)
        self.http = requests.Session()

    def _attempt(self, body: dict) -> tuple[int, list | None, str]:
        try:
            response = self.http.post(f"{self.host}/webhooks/rest/webhook", json=body,
                                      timeout=60)
        except requests.RequestException as exc:
            return 0, None, type(exc).__name__
        try:
            return response.status_code, response.json(), ""
        except ValueError:
            return response.status_code, None, "not JSON"

    def _say(self, sender: str, step: str, text: str) -> None:
        body = {"sender": sender, "message": text, "message_id": uuid.uuid4().hex}
        started = time.perf_counter()
        for attempt in range(RETRIES + 1):
            status, answer, error = self._attempt(body)
            if status not in RETRYABLE or attempt == RETRIES:
                break
            _retries["sent again"] += 1
            time.sleep(1)
        failure = None
        if status != 200:
            failure = f"HTTP {status} {error}".strip()
        elif not isinstance(answer, list):
            failure = "not a list of messages"
        else:
            texts = " ".join(m.get("text") or "" for m in answer if isinstance(m, dict))
            if not texts.strip():
                failure = "no answer"
            elif (self.language == "zh") != bool(HAN.search(texts)):
                failure = "answered in the other language"
        self.environment.events.request.fire(
            request_type="MSG", name=f"{self.language} {step}",
            response_time=(time.perf_counter() - started) * 1000, response_length=0,
            exception=RuntimeError(failure) if failure else None, context={})

    @task
    def conversation(self) -> None:
        """One whole conversation, in this customer's language."""
        sender = f"{PREFIX}{self.language}-{uuid.uuid4().hex[:12]}"
        for step, text in SCRIPTS[self.language]:
            self._say(sender, step, text)
            self.wait()
