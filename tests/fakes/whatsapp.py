"""A fake WhatsApp Business Cloud API for the WhatsApp tests and ``make bench-whatsapp``.

Meta's servers cannot be reached from here, so this stands in for both sides of
them, in the wire format of Meta's Cloud API documentation (not the shop's code):

- **Meta calling the shop** (:meth:`FakeWhatsApp.deliver`): a ``messages`` webhook
  (``{"object": "whatsapp_business_account", "entry": [{"id", "changes": [{"field":
  "messages", "value": {"messaging_product", "metadata": {"display_phone_number",
  "phone_number_id"}, "contacts", "messages" | "statuses"}}]}]}``), signed with
  ``X-Hub-Signature-256`` (HMAC-SHA256 of the raw body with the app secret);
  messages of type ``text``, ``interactive`` (``button_reply``, ``list_reply``),
  ``button``, ``image`` (a media id) and others; delivery ``statuses``.
- **the shop calling Meta** (an HTTP server on a free port), every call with
  ``Authorization: Bearer <access token>``:

  - ``POST /<version>/<phone-number-id>/messages``: ``text`` (body 1-4,096
    characters), ``interactive`` ``button`` (body up to 1,024, 1-3 reply buttons,
    titles 1-20 characters and distinct, ids up to 256 and distinct) and ``list``
    (body up to 4,096, button label up to 20, 1-10 sections, 1-10 rows in all, row
    titles up to 24, descriptions up to 72, ids up to 200 and distinct),
    ``image`` (a ``link``, caption up to 1,024), ``template`` (an approved name and
    language, its body parameters); and read receipts with the typing indicator
    (``{"status": "read", "message_id", "typing_indicator"}``). Free-form
    messages more than 24 hours after the customer's last message are refused
    with ``131047`` (Re-engagement message); templates are not. Success is
    ``{"messaging_product", "contacts": [{"input", "wa_id"}], "messages": [{"id":
    "wamid..."}]}``.
  - ``GET /<version>/<media-id>``: the media's short-lived ``url``, ``mime_type``,
    ``sha256``, ``file_size``; ``GET`` that URL (the token needed) for the bytes.
  - Meta's error objects (``{"error": {"message", "type", "code", "error_data":
    {"messaging_product", "details"}, "fbtrace_id"}}``): 190 bad token, 100
    invalid parameter, 131009 parameter value not valid, 131047 outside the
    window, 132001 unknown template, 131026 undeliverable; switchable failures
    (``fail_next``, e.g. 130429 rate limit) and slowness (``delays``).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from typing import Any

import requests

from tests.fakes.server import Call as ShopCall
from tests.fakes.server import MetaWebhookFake, Request

VERSION = "v21.0"
PHONE_NUMBER_ID = "106540352242922"
DISPLAY_NUMBER = "15550783881"
WABA_ID = "102290129340398"
TEMPLATE = "agent_reply"
WINDOW = 24 * 3600


class Call(ShopCall):
    """A Cloud API call the shop made."""

    @property
    def to(self) -> str:
        """The recipient."""
        return str(self.body.get("to", ""))

    @property
    def kind(self) -> str:
        """``text``, ``interactive``, ``image``, ``template`` (or ``read``)."""
        return "read" if self.body.get("status") == "read" else str(self.body.get("type"))

    @property
    def text(self) -> str:
        """Its words: text, interactive body, buttons and rows, caption, parameters."""
        body = self.body
        words = [(body.get("text") or {}).get("body", ""),
                 (body.get("image") or {}).get("caption", "")]
        interactive = body.get("interactive") or {}
        words.append((interactive.get("body") or {}).get("text", ""))
        action = interactive.get("action") or {}
        words += [b.get("reply", {}).get("title", "") for b in action.get("buttons") or []]
        for section in action.get("sections") or []:
            words += [r.get("title", "") for r in section.get("rows") or []]
        for component in (body.get("template") or {}).get("components") or []:
            words += [p.get("text", "") for p in component.get("parameters") or []]
        return " ".join(w for w in words if w)

    @property
    def choices(self) -> list[tuple[str, str]]:
        """``(id, title)`` of its reply buttons or list rows."""
        action = (self.body.get("interactive") or {}).get("action") or {}
        found = [(b["reply"]["id"], b["reply"]["title"]) for b in action.get("buttons") or []]
        for section in action.get("sections") or []:
            found += [(r["id"], r["title"]) for r in section.get("rows") or []]
        return found


class FakeWhatsApp(MetaWebhookFake):
    channel = "whatsapp"
    """The platform (see the module docstring)."""

    def __init__(self, *, app_secret: str | None = None, verify_token: str | None = None,
                 access_token: str | None = None) -> None:
        self.app_secret = app_secret or secrets.token_hex(16)
        self.verify_token = verify_token or secrets.token_hex(16)
        self.access_token = access_token or secrets.token_urlsafe(48)
        self.templates = {TEMPLATE: {"en_US": 1, "zh_CN": 1}}  # name -> language -> params
        self.calls: list[Call] = []
        self.errors: list[dict[str, Any]] = []
        self.media: dict[str, bytes] = {}
        self.last_message: dict[str, float] = {}
        self.delays: dict[str, float] = {}
        self.fail_next: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        self._lock = threading.Condition()
        self._n = 0

    # --- the Cloud API server -----------------------------------------------------------

    @property
    def messages_path(self) -> str:
        """Where messages are sent."""
        return f"/{VERSION}/{PHONE_NUMBER_ID}/messages"

    def env(self) -> dict[str, str]:
        """The shop's settings for this number."""
        return {"WHATSAPP_APP_SECRET": self.app_secret,
                "WHATSAPP_VERIFY_TOKEN": self.verify_token,
                "WHATSAPP_ACCESS_TOKEN": self.access_token,
                "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID, "WHATSAPP_API_BASE": self.url,
                "WHATSAPP_API_VERSION": VERSION, "WHATSAPP_TEST_MEDIA_ORIGIN": self.url,
                "WHATSAPP_TEMPLATE": TEMPLATE}

    def start(self) -> FakeWhatsApp:
        """Serve on a free loopback port (``WHATSAPP_API_BASE`` and the media host)."""
        self.serve()
        return self

    def answer(self, request: Request) -> tuple[int, bytes, str]:
        """The Cloud API's answer to one call."""
        return self._api(request.method, request.path, request.raw_query,
                         request.headers.get("Authorization"), request.body)

    def _error(self, status: int, code: int, message: str, details: str = ""
               ) -> tuple[int, bytes, str]:
        error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code,
                                 "fbtrace_id": secrets.token_urlsafe(8)}
        if details:
            error["error_data"] = {"messaging_product": "whatsapp", "details": details}
        with self._lock:
            self.errors.append(error)
        return status, json.dumps({"error": error}).encode(), "application/json"

    def _api(self, method: str, path: str, query: str, auth: str | None, body: bytes
             ) -> tuple[int, bytes, str]:
        if delay := self.delays.get(path):
            time.sleep(delay)
        with self._lock:
            failures = self.fail_next.get(path)
            if failures:
                status, error = failures.pop(0)
                self.errors.append(error)
                return status, json.dumps({"error": error}).encode(), "application/json"
        if auth != f"Bearer {self.access_token}":
            return self._error(401, 190, "Invalid OAuth access token - Cannot parse access "
                                         "token")
        if path == "/whatsapp_business/attachments/" and method == "GET":
            data = self.media.get(query.partition("mid=")[2].partition("&")[0])
            return (200, data, "image/jpeg") if data is not None else \
                (404, b"", "text/plain")
        if method == "GET" and path.startswith(f"/{VERSION}/"):
            media_id = path.rsplit("/", 1)[1]
            data = self.media.get(media_id)
            if data is None:
                return self._error(400, 100, f"Unsupported get request. Object with ID "
                                             f"'{media_id}' does not exist")
            return 200, json.dumps({
                "messaging_product": "whatsapp", "id": media_id, "mime_type": "image/jpeg",
                "sha256": hashlib.sha256(data).hexdigest(), "file_size": str(len(data)),
                "url": f"{self.url}/whatsapp_business/attachments/?mid={media_id}&ext="
                       f"{int(time.time()) + 300}"}).encode(), "application/json"
        if path != self.messages_path or method != "POST":
            return self._error(400, 100, f"(#100) Unknown path components: {path}")
        try:
            message = json.loads(body)
        except ValueError:
            return self._error(400, 100, "(#100) Invalid parameter", "the body is not JSON")
        return self._send(message)

    def _send(self, body: dict[str, Any]) -> tuple[int, bytes, str]:
        if body.get("messaging_product") != "whatsapp":
            return self._error(400, 100, "(#100) The parameter messaging_product is required.")
        if body.get("status") == "read":
            with self._lock:
                self.calls.append(Call(time.time(), self.messages_path, body))
            return 200, b'{"success": true}', "application/json"
        to = str(body.get("to") or "")
        if not to.isdigit():
            return self._error(400, 131009, "(#131009) Parameter value is not valid",
                               "the recipient is not a phone number")
        kind = body.get("type")
        if kind == "template":
            refusal = self._check_template(body.get("template") or {})
            if refusal:
                return self._error(404 if refusal[0] == 132001 else 400, *refusal)
        else:
            last = self.last_message.get(to)
            if last is None or time.time() - last > WINDOW:
                return self._error(
                    400, 131047, "(#131047) Re-engagement message",
                    "Message failed to send because more than 24 hours have passed since "
                    "the customer last replied to this number.")
            refusal_text = self._check_limits(body)
            if refusal_text:
                return self._error(400, 131009, "(#131009) Parameter value is not valid",
                                   refusal_text)
        with self._lock:
            self._n += 1
            self.calls.append(Call(time.time(), self.messages_path, body))
            self._lock.notify_all()
        return 200, json.dumps({"messaging_product": "whatsapp",
                                "contacts": [{"input": to, "wa_id": to}],
                                "messages": [{"id": f"wamid.{secrets.token_hex(12)}"}]}
                               ).encode(), "application/json"

    def _check_template(self, template: dict[str, Any]) -> tuple[int, str, str] | None:
        languages = self.templates.get(str(template.get("name")))
        code = str((template.get("language") or {}).get("code"))
        if languages is None or code not in languages:
            return (132001, "(#132001) Template name does not exist in the translation",
                    f"template name ({template.get('name')}) does not exist in {code}")
        params = [p for c in template.get("components") or [] if c.get("type") == "body"
                  for p in c.get("parameters") or []]
        if len(params) != languages[code]:
            return (132000, "(#132000) Number of parameters does not match the expected "
                            "number of params", "")
        if any("\n" in str(p.get("text")) or "    " in str(p.get("text")) for p in params):
            return (132018, "(#132018) There was an issue with the parameters in your "
                            "template.", "Param text cannot have new-line/tab characters "
                                         "or more than 4 consecutive spaces")
        return None

    @staticmethod
    def _check_limits(body: dict[str, Any]) -> str | None:
        kind = body.get("type")
        if kind == "text":
            text = (body.get("text") or {}).get("body") or ""
            return None if 1 <= len(text) <= 4096 else "text.body must be 1-4096 characters"
        if kind == "image":
            image = body.get("image") or {}
            if not image.get("link") and not image.get("id"):
                return "image needs a link or an id"
            return None if len(image.get("caption") or "") <= 1024 else \
                "image.caption is at most 1024 characters"
        if kind != "interactive":
            return f"unsupported message type {kind!r}"
        interactive = body.get("interactive") or {}
        text = (interactive.get("body") or {}).get("text") or ""
        action = interactive.get("action") or {}
        if interactive.get("type") == "button":
            buttons = [b.get("reply") or {} for b in action.get("buttons") or []]
            if not 1 <= len(text) <= 1024:
                return "interactive.body.text must be 1-1024 characters"
            if not 1 <= len(buttons) <= 3:
                return "interactive buttons must be 1-3"
            if any(not 1 <= len(b.get("title") or "") <= 20 for b in buttons):
                return "Button title length invalid. Min length: 1, Max length: 20"
            if any(len(b.get("id") or "") > 256 for b in buttons):
                return "Button id length invalid. Max length: 256"
            if len({b.get("title") for b in buttons}) < len(buttons) or \
                    len({b.get("id") for b in buttons}) < len(buttons):
                return "Button titles and ids must be unique"
            return None
        if interactive.get("type") == "list":
            sections = action.get("sections") or []
            rows = [r for s in sections for r in s.get("rows") or []]
            if not 1 <= len(text) <= 4096:
                return "interactive.body.text must be 1-4096 characters"
            if not 1 <= len(action.get("button") or "") <= 20:
                return "action.button must be 1-20 characters"
            if not 1 <= len(sections) <= 10 or not 1 <= len(rows) <= 10:
                return "a list has 1-10 sections and 1-10 rows in all"
            if any(len(s.get("title") or "") > 24 for s in sections):
                return "section title is at most 24 characters"
            if any(not 1 <= len(r.get("title") or "") <= 24 for r in rows):
                return "Row title length invalid. Min length: 1, Max length: 24"
            if any(len(r.get("description") or "") > 72 for r in rows):
                return "Row description is at most 72 characters"
            if any(len(r.get("id") or "") > 200 for r in rows):
                return "Row id is at most 200 characters"
            if len({r.get("id") for r in rows}) < len(rows):
                return "Row ids must be unique"
            return None
        return f"unsupported interactive type {interactive.get('type')!r}"

    # --- Meta calling the shop ----------------------------------------------------------

    def _message(self, wa_id: str, kind: str, content: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._n += 1
            n = self._n
        return {"from": wa_id, "id": f"wamid.{n:06d}{secrets.token_hex(10)}",
                "timestamp": str(int(time.time())), "type": kind, kind: content}

    def text(self, wa_id: str, text: str) -> dict[str, Any]:
        """A customer's text."""
        return self._message(wa_id, "text", {"body": text})

    def tap(self, wa_id: str, choice_id: str, title: str, *, row: bool = False
            ) -> dict[str, Any]:
        """A tap on a reply button (or a list row)."""
        kind = "list_reply" if row else "button_reply"
        return self._message(wa_id, "interactive", {"type": kind, kind: {
            "id": choice_id, "title": title}})

    def image(self, wa_id: str, data: bytes, caption: str = "") -> dict[str, Any]:
        """A customer's photo: kept in the media store under a new id."""
        media_id = str(10**15 + len(self.media) + secrets.randbelow(10**9))
        self.media[media_id] = data
        content = {"id": media_id, "mime_type": "image/jpeg",
                   "sha256": hashlib.sha256(data).hexdigest()}
        if caption:
            content["caption"] = caption
        return self._message(wa_id, "image", content)

    def other(self, wa_id: str, kind: str) -> dict[str, Any]:
        """A message of another type (``audio``, ``sticker``, ``location`` ...)."""
        return self._message(wa_id, kind, {"id": secrets.token_hex(8)}
                             if kind != "location" else {"latitude": 1.0, "longitude": 2.0})

    def status(self, wa_id: str, message_id: str, status: str, *, code: int | None = None
               ) -> dict[str, Any]:
        """A status update of a message the shop sent."""
        update: dict[str, Any] = {"id": message_id, "status": status,
                                  "timestamp": str(int(time.time())), "recipient_id": wa_id}
        if code is not None:
            update["errors"] = [{"code": code, "title": "Message undeliverable"}]
        return update

    def deliver(self, shop: str, messages: list[dict[str, Any]], *,
                statuses: list[dict[str, Any]] | None = None, signature: str | None = None,
                raw: bytes | None = None, phone_number_id: str = PHONE_NUMBER_ID,
                timeout: float = 10.0) -> requests.Response:
        """POST one delivery, signed as Meta signs it (``signature`` overrides)."""
        now = time.time()
        with self._lock:
            for message in messages:
                self.last_message[message["from"]] = now
        value: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": DISPLAY_NUMBER,
                         "phone_number_id": phone_number_id},
            "contacts": [{"profile": {"name": "Customer"}, "wa_id": m["from"]}
                         for m in messages]}
        if messages:
            value["messages"] = messages
        if statuses:
            value["statuses"] = statuses
        body = raw if raw is not None else json.dumps({
            "object": "whatsapp_business_account", "entry": [{"id": WABA_ID, "changes": [
                {"value": value, "field": "messages"}]}]}).encode()
        return self.post(shop, body, signature=signature, timeout=timeout)

    # --- what the shop sent ---------------------------------------------------------------

    def sent_to(self, wa_id: str, *, reads: bool = False) -> list[Call]:
        """Messages (and, with ``reads``, read receipts) sent to ``wa_id``."""
        with self._lock:
            return [c for c in self.calls if (c.to == wa_id and c.kind != "read")
                    or (reads and c.kind == "read")]

    def wait_sent(self, wa_id: str, count: int, timeout: float = 30.0) -> list[Call]:
        """Wait until ``count`` messages reached ``wa_id``; all of them."""
        return self.wait_for(lambda: self.sent_to(wa_id), count, timeout)
