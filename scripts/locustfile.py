"""Locust users for ``make bench-load`` (run by Locust in its own environment,
``.venv-load``; ``scripts/bench_load.py`` starts the servers and reads the results).

Simulated customers hold whole shopping conversations in English or Chinese, with a
think time between messages as a person has (``scripts/load_scripts.py``):

- :class:`Customer`, over the REST channel: a greeting, a search, the price of an
  item of the list, recommendations, then a comparison and thanks sent at once (two
  requests at the same moment: a fast typist);
- :class:`WidgetCustomer`, over the web widget as a page speaks it (a session, then
  its WebSocket): browsing with a follow-up, a price and a photo uploaded to
  ``/media``; a signed-in customer asking about one of their orders
  (``LOAD_ORDERS_FILE``: their order numbers; the shop signs the customer with
  ``CUSTOMER_ID_SECRET``); and now and then a request for a person, taken back.

Like the real clients, every message has its own id and is sent again with the same
id when the connection drops, the balancer has no server or the message is still
being answered elsewhere (REST: ``RETRYABLE``; the widget: a closed socket, after
which it reconnects and sends what is unanswered, as ``widget/src/widget.js`` does);
the server answers it once. One Locust row per message and kind (its time includes
the retries: for the widget, from the frame sent to the end of the turn); a message
fails when no attempt got an answer, or the answer came back in the other language.
The retries are counted and written, at the end, to ``LOAD_RETRIES_FILE``; every
conversation (its id, language and what the tracker must hold) to
``LOAD_CONVERSATIONS_FILE``, for the integrity check.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import random
import re
import time
import uuid
from pathlib import Path
from typing import Any

import requests
import websocket
from locust import User, between, events, task

from scripts.load_scripts import PHOTO, RETRYABLE, SCRIPTS, WIDGET_SCRIPTS, kept_as
from shop.identity import signed_metadata

HAN = re.compile(r"[\u4e00-\u9fff]")
_languages = itertools.cycle(["en", "zh"])
#: Seconds between a customer's messages (reading the answer, typing the next one).
THINK = (float(os.environ.get("LOAD_THINK_MIN", "1")), float(os.environ.get("LOAD_THINK_MAX",
                                                                              "3")))
RETRIES = 3
TURN_TIMEOUT = 60.0
_retries = {"sent again": 0}
_conversations: list[dict[str, Any]] = []


@events.test_stop.add_listener
def _write_results(**_: object) -> None:
    if path := os.environ.get("LOAD_RETRIES_FILE"):
        Path(path).write_text(str(_retries["sent again"]), encoding="utf-8")
    if path := os.environ.get("LOAD_CONVERSATIONS_FILE"):
        Path(path).write_text("".join(json.dumps(c, ensure_ascii=False) + "\n"
                                      for c in _conversations), encoding="utf-8")


def _failure(language: str, texts: str) -> str | None:
    """Why an answer is not one: empty, or in the other language."""
    if not texts.strip():
        return "no answer"
    if (language == "zh") != bool(HAN.search(texts)):
        return "answered in the other language"
    return None


def _record(conversation: str, language: str, kind: str, said: list[str], *,
            together_from: int | None = None) -> dict[str, Any]:
    """What the tracker must hold (``together_from``: the messages from there on were
    sent at once, in any order)."""
    record = {"conversation": conversation, "language": language, "kind": kind,
              "said": said, "together_from": together_from}
    _conversations.append(record)
    return record


class Shopper(User):
    """A shop customer: a language (every other customer's is Chinese), a think time
    between messages, one HTTP session."""

    abstract = True
    wait_time = between(*THINK)
    weight = 1

    def on_start(self) -> None:
        self.language = next(_languages)
        self.http = requests.Session()


class Customer(Shopper):
    """A shop customer chatting over REST."""

    def _attempt(self, body: dict) -> tuple[int, list | None, str]:
        try:
            response = self.http.post(f"{self.host}/webhooks/rest/webhook", json=body,
                                      timeout=TURN_TIMEOUT)
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
            failure = _failure(self.language, " ".join(
                m.get("text") or "" for m in answer if isinstance(m, dict)))
        self.environment.events.request.fire(
            request_type="REST", name=f"{self.language} {step}",
            response_time=(time.perf_counter() - started) * 1000, response_length=0,
            exception=RuntimeError(failure) if failure else None, context={})

    @task
    def conversation(self) -> None:
        """One whole conversation, in this customer's language; its last two messages
        are sent at once, as a customer typing fast does (two requests at the same
        moment, which the balancer gives to two servers)."""
        import gevent

        sender = f"load-{self.language}-{uuid.uuid4().hex[:12]}"
        steps = SCRIPTS[self.language]
        _record(sender, self.language, "rest", [text for _, text in steps],
                together_from=len(steps) - 2)
        for step, text in steps[:-2]:
            self._say(sender, step, text)
            self.wait()
        gevent.joinall([gevent.spawn(self._say, sender, step, text) for step, text in
                        steps[-2:]])


class WidgetGone(Exception):
    """The socket closed or stopped answering: reconnect and send again."""


class WidgetCustomer(Shopper):
    """A shop customer chatting in the web widget (its session, socket and uploads)."""

    def on_start(self) -> None:
        super().on_start()
        self.origin = os.environ.get("LOAD_ORIGIN", self.host)
        self.secret = os.environ.get("CUSTOMER_ID_SECRET", "")
        orders = os.environ.get("LOAD_ORDERS_FILE")
        self.orders = json.loads(Path(orders).read_text()) if orders else []
        photos = os.environ.get("LOAD_PHOTOS", "")
        self.photos = [Path(p) for p in photos.split(os.pathsep) if p]
        self.ws: Any = None
        self.last = 0  # the last history entry this page has seen

    def on_stop(self) -> None:
        self._close()

    # --- the page's connection ------------------------------------------------------

    def _close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):  # at once: no closing handshake to wait for
                self.ws.shutdown()
            self.ws = None

    def _session(self, user: dict[str, Any] | None) -> None:
        """A session, asked again as the page does when no server answered it (a
        server killed under the request: the balancer's 502)."""
        body = {"user": user} if user else {}
        for attempt in range(RETRIES + 1):
            try:
                response = self.http.post(f"{self.host}/webhooks/widget/session",
                                          data=json.dumps(body), timeout=30,
                                          headers={"Origin": str(self.origin)})
                status = response.status_code
            except requests.RequestException:
                if attempt == RETRIES:
                    raise
                status = 0
            if status not in RETRYABLE or attempt == RETRIES:
                break
            _retries["sent again"] += 1
            time.sleep(1)
        response.raise_for_status()
        self.token, self.conversation = response.json()["token"], \
            response.json()["conversation"]
        self.last = 0

    def _connect(self) -> None:
        self._close()
        url = self.host.replace("http", "ws", 1) + "/webhooks/widget/socket"
        try:
            self.ws = websocket.create_connection(url, origin=self.origin,
                                                  timeout=TURN_TIMEOUT)
            self.ws.send(json.dumps({"type": "hello", "token": self.token,
                                     "since": self.last}))
            ready = self._frame()
        except WidgetGone:
            raise
        except Exception as exc:  # noqa: BLE001 - no server behind the balancer yet
            raise WidgetGone(type(exc).__name__) from exc
        if ready.get("type") != "ready":
            raise WidgetGone(f"no ready frame: {ready}")
        for entry in ready.get("history") or []:
            self.last = max(self.last, int(entry.get("id") or 0))

    def _frame(self) -> dict[str, Any]:
        try:
            raw = self.ws.recv()
        except Exception as exc:  # noqa: BLE001 - closed, reset, timed out
            raise WidgetGone(type(exc).__name__) from exc
        if not raw:
            raise WidgetGone("closed")
        frame = json.loads(raw)
        if frame.get("type") == "message":
            self.last = max(self.last, int(frame.get("id") or 0))
        return frame

    def _upload(self, path: Path) -> str:
        response = self.http.post(f"{self.host}/webhooks/widget/media",
                                  params={"lang": self.language}, timeout=30,
                                  headers={"Origin": str(self.origin)},
                                  files={"file": (path.name, path.read_bytes())},
                                  data={"token": self.token})
        if response.status_code != 201:
            raise RuntimeError(f"upload HTTP {response.status_code}")
        return str(response.json()["media_id"])

    def _turn(self, frame: dict[str, Any]) -> list[str]:
        """Send one message and read until its turn ends; the assistant's texts."""
        self.ws.send(json.dumps(frame))
        texts: list[str] = []
        entry, upto = None, None
        while upto is None or self.last < upto:  # the turn ends once message `upto` came
            got = self._frame()
            kind = got.get("type")
            if kind == "ack" and got.get("id") == frame["id"]:
                if got.get("refused"):
                    raise RuntimeError("refused")
                entry = got.get("entry")
                if got.get("answered"):  # a resend answered before: the answers came
                    return texts or ["(answered before)"]
            elif kind == "message" and got.get("role") in ("assistant", "agent", "notice"):
                texts.append(str(got.get("text") or ""))
            elif kind == "typing" and got.get("on") is False and entry is not None \
                    and int(got.get("upto") or 0) >= int(entry):
                upto = int(got["upto"])
            elif kind == "error":
                raise RuntimeError(str(got.get("error"))[:80])
        return texts

    def _say(self, step: str, text: str, photo: Path | None = None) -> bool:
        """One message and its answer, timed; whether it was sent (a photo the
        server refused to take is not)."""
        frame: dict[str, Any] = {"type": "message", "id": uuid.uuid4().hex, "text": text,
                                 "locale": self.language}
        started = time.perf_counter()
        failure: str | None = None
        sent = photo is None
        try:
            if photo is not None:
                frame["image"] = self._upload(photo)
                sent = True
            for attempt in range(RETRIES + 1):
                try:
                    if self.ws is None:
                        self._connect()
                    answer = self._turn(frame)
                    failure = _failure(self.language, " ".join(answer))
                    break
                except WidgetGone as exc:
                    self._close()
                    failure = f"socket {exc}"
                    if attempt < RETRIES:
                        _retries["sent again"] += 1
                        time.sleep(1)
        except Exception as exc:  # noqa: BLE001 - counted as this message's failure
            failure = f"{type(exc).__name__}: {exc}"[:120]
        self.environment.events.request.fire(
            request_type="WIDGET", name=f"{self.language} {step}",
            response_time=(time.perf_counter() - started) * 1000, response_length=0,
            exception=RuntimeError(failure) if failure else None, context={})
        return sent

    def _converse(self, kind: str, user: dict[str, Any] | None = None,
                  **values: str) -> None:
        steps = [(step, text.format(**values))
                 for step, text in WIDGET_SCRIPTS[self.language][kind]]
        try:
            self._session(user)
            self._connect()
        except Exception as exc:  # noqa: BLE001 - the conversation could not start
            self.environment.events.request.fire(
                request_type="WIDGET", name=f"{self.language} open", response_time=0,
                response_length=0, exception=RuntimeError(str(exc)[:120]), context={})
            return
        record = _record(self.conversation, self.language, f"widget {kind}",
                         [kept_as(step, text) for step, text in steps])
        for n, (step, text) in enumerate(steps):
            photo = random.choice(self.photos) if step == PHOTO and self.photos else None
            if not self._say(step, text, photo):
                record["said"][n] = None  # never sent: not expected in the tracker
            self.wait()
        record["said"] = [text for text in record["said"] if text is not None]
        self._close()

    @task(4)
    def browse(self) -> None:
        """A visitor browsing: a search, a follow-up, a price, a photo."""
        self._converse("browse")

    @task(2)
    def order(self) -> None:
        """A signed-in customer asking about one of their orders."""
        if not self.orders or not self.secret:
            return self.browse()
        order = random.choice(self.orders)
        sender = f"load-{self.language}-{uuid.uuid4().hex[:12]}"
        user = {"sender": sender, **signed_metadata(self.secret, order["customer_id"],
                                                     sender)}
        self._converse("order", user, order=order["number"])
        return None

    @task(1)
    def handoff(self) -> None:
        """Now and then, a customer asks for a person and takes it back."""
        self._converse("handoff")
