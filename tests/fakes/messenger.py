"""A fake Meta platform for the Messenger tests and ``make bench-messenger``.

Meta's servers cannot be reached from here, so this stands in for both sides of
them, in the documented wire format:

- **Meta calling the shop** (:meth:`FakeMessenger.deliver`): a webhook delivery
  (``{"object": "page", "entry": [{"id", "time", "messaging": [...]}]}``),
  signed with ``X-Hub-Signature-256`` (HMAC-SHA256 of the raw body with the app
  secret);
- **the shop calling Meta** (an HTTP server on a free port): the Send API
  (``POST /<version>/me/messages``: messages, quick replies, templates, sender
  actions, tags), thread control (``/me/pass_thread_control``), and a CDN
  serving attachment files (``GET /cdn/<name>``), with Meta's error objects
  (``{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}``):
  190 bad token, 100 invalid parameter (and Meta's limits: 2,000 characters,
  13 quick replies, titles of 20, 10 elements, 80-character titles and
  subtitles, 3 buttons), 551 unavailable, 10/2018278 outside the 24-hour window
  without a valid tag, 10/2018300 another app holds the thread, 613 rate limit;
  switchable failures (``fail_next``) and slowness (``delays``).

The limits and refusals are Meta's, written out below from its documentation
(never the channel's own constants, so that a misreading of the documentation
in the channel shows up as a refusal here):

- Send API reference (developers.facebook.com/docs/messenger-platform/reference/send-api):
  ``messaging_type`` is required, one of ``RESPONSE``, ``UPDATE``, ``MESSAGE_TAG``
  (``tag`` required with the last); ``text`` at most 2,000 characters; a
  message holds ``text`` or an ``attachment``; ``sender_action`` goes alone,
  without ``message``; the body is JSON with ``Content-Type: application/json``
  (the reference's examples): any other body is read as form fields, so a JSON
  one's ``recipient`` is missing. ``GET /me`` with a Page token is the Page.
- Quick replies (.../reference/buttons/quick-replies): at most 13; a ``text``
  quick reply needs a ``title`` of at most 20 characters and a ``payload`` of at
  most 1,000 characters.
- Generic template (.../reference/templates/generic): at most 10 elements, title
  and subtitle of at most 80 characters, at most 3 buttons; postback buttons'
  titles at most 20 characters, payloads at most 1,000 characters.
- Handover protocol (.../docs/messenger-platform/handover-protocol): while another
  app controls a thread, a message from any other app is refused with HTTP 400,
  code 10, subcode 2018300, "Message failed to send because another app is
  controlling this thread now."; the app that holds it passes it on
  (``pass_thread_control``); an app that does not hold it cannot pass it.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

import requests

from tests.fakes.server import Call as ShopCall
from tests.fakes.server import MetaWebhookFake, Request

VERSION = "v21.0"
PAGE_ID = "1122334455"

# Meta's documented limits (see the module docstring for the pages)
TEXT_CHARS = 2000
QUICK_REPLIES = 13
QUICK_REPLY_TITLE_CHARS = 20
PAYLOAD_CHARS = 1000
ELEMENTS = 10
ELEMENT_TEXT_CHARS = 80
BUTTONS = 3
BUTTON_TITLE_CHARS = 20
MESSAGING_TYPES = ("RESPONSE", "UPDATE", "MESSAGE_TAG")
ANOTHER_APP_HOLDS_THREAD = 2018300


class Call(ShopCall):
    """A Send API or thread-control call the shop made."""

    @property
    def psid(self) -> str:
        """The recipient."""
        return str(self.body.get("recipient", {}).get("id", ""))

    @property
    def message(self) -> dict[str, Any]:
        """The message object (empty for sender actions)."""
        return self.body.get("message") or {}

    @property
    def text(self) -> str:
        """Its words: text, quick-reply titles, template titles and subtitles."""
        message = self.message
        words = [message.get("text", "")]
        words += [q.get("title", "") for q in message.get("quick_replies") or []]
        payload = (message.get("attachment") or {}).get("payload") or {}
        for element in payload.get("elements") or []:
            words += [element.get("title", ""), element.get("subtitle", "")]
        return " ".join(w for w in words if w)


class FakeMessenger(MetaWebhookFake):
    channel = "messenger"
    """The platform (see the module docstring)."""

    def __init__(self, *, app_secret: str | None = None, verify_token: str | None = None,
                 page_token: str | None = None, app_id: str = "987654321") -> None:
        self.app_secret = app_secret or secrets.token_hex(16)
        self.verify_token = verify_token or secrets.token_hex(16)
        self.page_token = page_token or secrets.token_urlsafe(48)
        self.app_id = app_id
        self.calls: list[Call] = []
        self.errors: list[dict[str, Any]] = []
        self.files: dict[str, bytes] = {}
        self.redirects: dict[str, str] = {}
        self.last_message: dict[str, float] = {}
        self.unavailable: set[str] = set()
        self.thread_owner: dict[str, str] = {}       # psid -> app id holding the thread
        self.refused_sends: list[dict[str, Any]] = []  # sent while another app held it
        self.arrivals: list[tuple[str, dict[str, Any]]] = []  # calls held by ``delays``
        self.delays: dict[str, float] = {}
        self.fail_next: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        self._lock = threading.Condition()
        self._mid = 0

    # --- the Graph API server ----------------------------------------------------------

    def env(self) -> dict[str, str]:
        """The shop's settings for this page."""
        return {"MESSENGER_APP_SECRET": self.app_secret,
                "MESSENGER_VERIFY_TOKEN": self.verify_token,
                "MESSENGER_PAGE_TOKEN": self.page_token, "MESSENGER_APP_ID": self.app_id,
                "MESSENGER_API_BASE": self.url, "MESSENGER_API_VERSION": VERSION,
                "MESSENGER_TEST_CDN_ORIGIN": self.url}

    def start(self) -> FakeMessenger:
        """Serve on a free loopback port (``MESSENGER_API_BASE`` and the fake CDN)."""
        self.serve()
        return self

    def answer(self, request: Request) -> tuple[int, bytes, str, dict[str, str]]:
        """The Graph API's (or the CDN's) answer to one call."""
        return self._api(request.method, request.path, request.query, request.body,
                         content_type=request.headers.get("Content-Type"))

    def _error(self, status: int, code: int, message: str, *, subcode: int | None = None,
               kind: str = "OAuthException") -> tuple[int, bytes, str, dict[str, str]]:
        error: dict[str, Any] = {"message": message, "type": kind, "code": code,
                                 "fbtrace_id": secrets.token_urlsafe(8)}
        if subcode:
            error["error_subcode"] = subcode
        with self._lock:
            self.errors.append(error)
        return status, json.dumps({"error": error}).encode(), "application/json", {}

    def _api(self, method: str, path: str, query: dict[str, str], body: bytes, *,
             content_type: str | None = None) -> tuple[int, bytes, str, dict[str, str]]:
        if delay := self.delays.get(path):
            self._arrived(path, body)
            time.sleep(delay)
        if path.startswith("/cdn/"):
            name = path[5:]
            if name in self.redirects:
                return 302, b"", "text/plain", {"Location": self.redirects[name]}
            data = self.files.get(name)
            return (200, data, "image/jpeg", {}) if data is not None else \
                (404, b"not found", "text/plain", {})
        with self._lock:
            failures = self.fail_next.get(path)
            if failures:
                status, error = failures.pop(0)
                self.errors.append(error)
                return status, json.dumps({"error": error}).encode(), "application/json", {}
        if query.get("access_token") != self.page_token:
            return self._error(400, 190, "Invalid OAuth access token - Cannot parse access "
                                         "token")
        if method == "GET":
            if path == f"/{VERSION}/me":  # a Page token's /me is the Page
                return 200, json.dumps({"id": PAGE_ID, "name": "Demo Shop"}).encode(), \
                    "application/json", {}
            return self._error(400, 100, f"(#100) Unknown path {path}")
        if (content_type or "").split(";")[0].strip().lower() != "application/json":
            # the Graph API reads any other body as form fields: a JSON body's fields
            # are then missing
            return self._error(400, 100, "(#100) The parameter recipient is required")
        try:
            message = json.loads(body)
        except ValueError:
            return self._error(400, 100, "(#100) Invalid JSON", kind="OAuthException")
        if path == f"/{VERSION}/me/messages" and method == "POST":
            return self._send(path, message)
        if path == f"/{VERSION}/me/pass_thread_control" and method == "POST":
            psid = str(message.get("recipient", {}).get("id", ""))
            if self._held_elsewhere(psid):
                return self._error(400, 10, "(#10) Only the app that controls this thread "
                                            "can pass it", subcode=ANOTHER_APP_HOLDS_THREAD)
            with self._lock:
                self.calls.append(Call(time.time(), path, message))
                self.thread_owner[psid] = str(message.get("target_app_id", ""))
                self._lock.notify_all()
            return 200, b'{"success": true}', "application/json", {}
        return self._error(400, 100, f"(#100) Unknown path {path}")

    def _arrived(self, path: str, body: bytes) -> None:
        try:
            message = json.loads(body) if body else {}
        except ValueError:
            message = {}
        with self._lock:
            self.arrivals.append((path, message if isinstance(message, dict) else {}))
            self._lock.notify_all()

    def wait_arrival(self, match: Callable[[str, dict[str, Any]], bool],
                     timeout: float = 30.0) -> None:
        """Wait until a call held back by ``delays`` matching ``match(path, body)`` has
        arrived (the shop is sending it; the answer is still being held)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not any(match(path, body) for path, body in self.arrivals):
                left = deadline - time.monotonic()
                assert left > 0, "no such call arrived"
                self._lock.wait(left)

    def _held_elsewhere(self, psid: str) -> bool:
        with self._lock:
            owner = self.thread_owner.get(psid)
        return bool(owner) and owner != self.app_id

    def _send(self, path: str, body: dict[str, Any]) -> tuple[int, bytes, str, dict[str, str]]:
        psid = str(body.get("recipient", {}).get("id", ""))
        if psid in self.unavailable:
            return self._error(400, 551, "This person isn't available right now.")
        if self._held_elsewhere(psid):
            with self._lock:
                self.refused_sends.append(body)
            return self._error(400, 10, "(#10) Message failed to send because another app is "
                                        "controlling this thread now.",
                               subcode=ANOTHER_APP_HOLDS_THREAD)
        if "sender_action" in body:
            if "message" in body:
                return self._error(400, 100, "(#100) sender_action cannot be sent with message")
            with self._lock:
                self.calls.append(Call(time.time(), path, body))
            return 200, json.dumps({"recipient_id": psid}).encode(), "application/json", {}
        last = self.last_message.get(psid)
        if last is None:
            return self._error(400, 100, "(#100) No matching user found", subcode=2018001)
        age = time.time() - last
        if body.get("messaging_type") not in MESSAGING_TYPES:
            return self._error(400, 100, "(#100) param messaging_type must be one of "
                                         "{RESPONSE, UPDATE, MESSAGE_TAG}")
        tagged = body.get("messaging_type") == "MESSAGE_TAG"
        if tagged and body.get("tag") != "HUMAN_AGENT":
            return self._error(400, 100, "(#100) Tag is not supported")
        if age > (7 * 86400 if tagged else 86400):
            return self._error(400, 10, "(#10) This message is sent outside of allowed "
                                        "window.", subcode=2018278)
        refusal = self._check_limits(body.get("message") or {})
        if refusal:
            return self._error(400, 100, f"(#100) {refusal}")
        with self._lock:
            self.calls.append(Call(time.time(), path, body))
            self._lock.notify_all()
        return 200, json.dumps({"recipient_id": psid,
                                "message_id": f"m_{secrets.token_urlsafe(12)}"}).encode(), \
            "application/json", {}

    @staticmethod
    def _check_limits(message: dict[str, Any]) -> str | None:
        text = message.get("text")
        if text is not None and len(text) > TEXT_CHARS:
            return f"Length of param message[text] must be less than or equal to {TEXT_CHARS}"
        replies = message.get("quick_replies") or []
        if len(replies) > QUICK_REPLIES:
            return f"param message[quick_replies] must have at most {QUICK_REPLIES} elements"
        for reply in replies:
            if reply.get("content_type") != "text":
                continue  # user_phone_number, user_email: no title or payload
            title, payload = reply.get("title"), reply.get("payload")
            if not isinstance(title, str) or not title or len(title) > QUICK_REPLY_TITLE_CHARS:
                return f"quick_replies title is required, at most {QUICK_REPLY_TITLE_CHARS} " \
                       "characters"
            if not isinstance(payload, str | int) or payload == "" or \
                    len(str(payload)) > PAYLOAD_CHARS:
                return f"quick_replies payload is required, at most {PAYLOAD_CHARS} characters"
        if any(r.get("content_type") not in ("text", "user_phone_number", "user_email")
               for r in replies):
            return "param message[quick_replies][content_type] is not valid"
        payload = (message.get("attachment") or {}).get("payload") or {}
        elements = payload.get("elements") or []
        if len(elements) > ELEMENTS:
            return "param message[attachment][payload][elements] has too many elements"
        for element in elements:
            if len(element.get("title", "")) > ELEMENT_TEXT_CHARS or \
                    len(element.get("subtitle", "")) > ELEMENT_TEXT_CHARS:
                return f"element title and subtitle must be at most {ELEMENT_TEXT_CHARS} " \
                       "characters"
            buttons = element.get("buttons") or []
            if len(buttons) > BUTTONS:
                return f"an element has at most {BUTTONS} buttons"
            if any(len(b.get("title", "")) > BUTTON_TITLE_CHARS for b in buttons):
                return f"button title must be at most {BUTTON_TITLE_CHARS} characters"
            if any(b.get("type") == "postback" and not 0 < len(str(b.get("payload") or ""))
                   <= PAYLOAD_CHARS for b in buttons):
                return f"a postback button's payload is required, at most {PAYLOAD_CHARS} " \
                       "characters"
        if text is None and not message.get("attachment"):
            return "message must have text or an attachment"
        return None

    # --- Meta calling the shop ----------------------------------------------------------

    def item(self, psid: str, **event: Any) -> dict[str, Any]:
        """One ``messaging`` item from ``psid`` to the page."""
        self._mid += 1
        return {"sender": {"id": psid}, "recipient": {"id": PAGE_ID},
                "timestamp": int(time.time() * 1000) + self._mid, **event}

    def text(self, psid: str, text: str, *, quick_reply: str | None = None) -> dict[str, Any]:
        """A customer's text (or quick-reply tap) item."""
        self._mid += 1
        message: dict[str, Any] = {"mid": f"m_{self._mid}_{secrets.token_hex(6)}",
                                   "text": text}
        if quick_reply is not None:
            message["quick_reply"] = {"payload": quick_reply}
        return self.item(psid, message=message)

    def postback(self, psid: str, title: str, payload: str) -> dict[str, Any]:
        """A tap on a template button."""
        self._mid += 1
        return self.item(psid, postback={"mid": f"m_{self._mid}_{secrets.token_hex(6)}",
                                         "title": title, "payload": payload})

    def image(self, psid: str, data: bytes | None = None, *, url: str | None = None
              ) -> dict[str, Any]:
        """A customer's photo: kept on the fake CDN (or any ``url``)."""
        self._mid += 1
        if url is None:
            name = f"{secrets.token_hex(8)}.jpg"
            self.files[name] = data or b""
            url = f"{self.url}/cdn/{name}"
        return self.item(psid, message={"mid": f"m_{self._mid}_{secrets.token_hex(6)}",
                                        "attachments": [{"type": "image",
                                                         "payload": {"url": url}}]})

    def deliver(self, shop: str, items: list[dict[str, Any]], *, signature: str | None = None,
                raw: bytes | None = None, standby: list[dict[str, Any]] | None = None,
                timeout: float = 10.0) -> requests.Response:
        """POST one delivery, signed as Meta signs it (``signature`` overrides)."""
        now = time.time()
        mine: list[dict[str, Any]] = []
        theirs = list(standby or [])
        with self._lock:
            for item in items:
                psid = item.get("sender", {}).get("id")
                if psid and not item.get("message", {}).get("is_echo"):
                    self.last_message[psid] = now
                control = item.get("pass_thread_control") or {}
                if control.get("new_owner_app_id") == self.app_id:
                    self.thread_owner.pop(psid, None)  # the Page Inbox passed it back
                # a thread another app holds: its events reach this app as standby
                owner = self.thread_owner.get(psid)
                (theirs if owner and owner != self.app_id else mine).append(item)
        entry: dict[str, Any] = {"id": PAGE_ID, "time": int(now * 1000), "messaging": mine}
        if theirs:
            entry["standby"] = theirs
        body = raw if raw is not None else json.dumps({"object": "page",
                                                       "entry": [entry]}).encode()
        return self.post(shop, body, signature=signature, timeout=timeout)

    # --- what the shop sent ---------------------------------------------------------------

    def sent_to(self, psid: str, *, actions: bool = False) -> list[Call]:
        """Messages (and, with ``actions``, sender actions) sent to ``psid``."""
        with self._lock:
            return [c for c in self.calls if c.psid == psid
                    and (actions or "sender_action" not in c.body)
                    and c.path.endswith("/me/messages")]

    def wait_sent(self, psid: str, count: int, timeout: float = 30.0) -> list[Call]:
        """Wait until ``count`` messages reached ``psid``; all of them."""
        return self.wait_for(lambda: self.sent_to(psid), count, timeout)
