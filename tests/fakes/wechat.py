"""A fake WeChat platform for the tests and ``make bench-wechat``.

WeChat's servers cannot be reached from here, so this stands in for both sides
of them, speaking the documented wire format:

- **WeChat calling the shop** (:meth:`FakeWeChat.deliver`): a message as XML,
  signed (``signature`` over Token, timestamp and nonce), plaintext or in safe
  mode (``encrypt_type=aes``, ``msg_signature``, AES-256-CBC with the
  EncodingAESKey, ``random16 + msg_len + msg + appid``, PKCS#7 to 32 bytes),
  waiting 5 seconds for the passive reply as WeChat does;
- **the shop calling WeChat** (an HTTP server on a free port): ``cgi-bin/token``,
  ``message/custom/send``, ``message/custom/typing``, ``media/get`` and
  ``media/upload``, with WeChat's error codes (40001/42001 token, 40003 OpenID,
  40007 media id, 40008 message type, 45002 content too long, 45015 48-hour
  window, 45047 quota, 41001 no token), switchable slowness (``delays``) and
  failures (``fail_next``: HTTP 5xx).

The crypto here is written independently of the channel's (wechatpy's), with
``cryptography``: the two agreeing, and both opening Tencent's published sample,
is the test that the safe mode is right.

The limits and refusals are WeChat's, written out below from the Official Account
documentation (developers.weixin.qq.com/doc/offiaccount), never from the channel's
constants:

- 获取 Access token (Basic_Information/Get_access_token): a token lasts 7,200 s;
  fetching a new one invalidates the one before, which stays usable for 5 more
  minutes while servers change over; after that WeChat answers 40001 ("invalid
  credential, access_token is invalid or not latest").
- 被动回复用户消息 (Message_Management/Passive_user_reply_message): the reply's
  ``ToUserName`` is the customer's OpenID (the message's ``FromUserName``), its
  ``FromUserName`` the account (the message's ``ToUserName``), ``CreateTime`` an
  integer, ``MsgType`` one of text, image, voice, video, music, news; a news
  reply holds one article; a text's ``Content`` at most 2,048 bytes. Anything
  else and WeChat shows the customer "该公众号暂时无法提供服务，请稍后再试"
  (recorded here as a refused reply).
- 客服消息 (Service_Center_messages): 48-hour window (45015), 2,048 bytes of text
  (45002), one news article (45008), the quota per customer message (45047),
  ``typing``/``canceltyping`` with the ``touser`` who wrote (40003 otherwise).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import string
import struct
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import requests
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from tests.fakes.server import FakeServer, Request

MAX_TEXT_BYTES = 2048

# what strangers send a WeChat URL: an entity expansion bomb and an external entity
BOMB_XML = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
            b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
            b"<xml><ToUserName>gh</ToUserName><FromUserName>oX</FromUserName>"
            b"<MsgType>text</MsgType><CreateTime>1</CreateTime><Content>&lol3;</Content></xml>")
XXE_XML = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
           b"<xml><ToUserName>gh</ToUserName><FromUserName>oX</FromUserName>"
           b"<MsgType>text</MsgType><CreateTime>1</CreateTime><Content>&xxe;</Content></xml>")
WINDOW = 48 * 3600
QUOTA = 20  # customer-service messages per customer message
TOKEN_SECONDS = 7200
TOKEN_OVERLAP = 300  # an older token still works this long after a new one is issued
REPLY_TYPES = ("text", "image", "voice", "video", "music", "news",
               "transfer_customer_service")  # the last: 消息转发到客服 (to WeChat's own KF)
UNAVAILABLE = "该公众号暂时无法提供服务，请稍后再试"


def sha1_sign(*parts: str) -> str:
    """WeChat's signature: SHA1 of the sorted parts."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def aes_encrypt(aes_key: str, app_id: str, text: str) -> str:
    """Safe mode's encryption, as WeChat does it."""
    key = base64.b64decode(aes_key + "=")
    body = text.encode()
    plain = os.urandom(16) + struct.pack(">I", len(body)) + body + app_id.encode()
    pad = 32 - len(plain) % 32
    plain += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


def aes_decrypt(aes_key: str, encrypted: str) -> tuple[str, str]:
    """Safe mode's decryption: ``(message, app id)``."""
    key = base64.b64decode(aes_key + "=")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = decryptor.update(base64.b64decode(encrypted)) + decryptor.finalize()
    plain = plain[:-plain[-1]]
    length = struct.unpack(">I", plain[16:20])[0]
    return plain[20:20 + length].decode(), plain[20 + length:].decode()


def to_xml(fields: dict[str, Any]) -> str:
    """A flat WeChat XML message."""
    parts = []
    for name, value in fields.items():
        if isinstance(value, int):
            parts.append(f"<{name}>{value}</{name}>")
        else:
            parts.append(f"<{name}><![CDATA[{value}]]></{name}>")
    return "<xml>" + "".join(parts) + "</xml>"


def parse_reply(text: str) -> dict[str, Any]:
    """A passive reply's fields (articles under ``Articles``)."""
    root = ET.fromstring(text)
    fields: dict[str, Any] = {}
    for child in root:
        if child.tag == "Articles":
            fields["Articles"] = [{c.tag: c.text or "" for c in item} for item in child]
        else:
            fields[child.tag] = child.text or ""
    return fields


@dataclass
class Reply:
    """What the shop answered one delivery."""

    status: int
    body: str
    seconds: float
    fields: dict[str, Any] = field(default_factory=dict)
    refused: str | None = None  # why WeChat would show UNAVAILABLE instead of the reply

    @property
    def success(self) -> bool:
        """The shop said ``success`` (or nothing): no passive reply."""
        return self.status == 200 and self.body.strip() in ("success", "")


@dataclass
class Sent:
    """A message the shop sent through the API."""

    at: float
    openid: str
    body: dict[str, Any]

    @property
    def text(self) -> str:
        """Its words (text content, article title, msgmenu head and items)."""
        kind = self.body.get("msgtype")
        if kind == "text":
            return str(self.body["text"]["content"])
        if kind == "news":
            return " ".join(a.get("title", "") for a in self.body["news"]["articles"])
        if kind == "msgmenu":
            menu = self.body["msgmenu"]
            return " ".join([menu.get("head_content", "")] +
                            [i["content"] for i in menu.get("list", [])])
        return ""


class FakeWeChat(FakeServer):
    """The platform (see the module docstring).

    Args:
        token: The account's Token.
        app_id: AppID.
        app_secret: AppSecret.
        aes_key: EncodingAESKey (43 characters).
        account: The account's own id (``gh_...``), the messages' ``ToUserName``.
    """

    def __init__(self, *, token: str = "shoptoken", app_id: str = "wx5823bf96d3bd56c7",
                 app_secret: str = "fake-app-secret-0123456789abcdef",
                 aes_key: str | None = None, account: str = "gh_fakeshop") -> None:
        self.token = token
        self.app_id = app_id
        self.app_secret = app_secret
        # 43 letters and digits, as the account's settings page generates it
        self.aes_key = aes_key or "".join(secrets.choice(string.ascii_letters + string.digits)
                                          for _ in range(43))
        self.account = account
        self.tokens: dict[str, float] = {}          # access_token -> expires at
        self.refused_replies: list[tuple[str, str]] = []  # (openid, why): UNAVAILABLE shown
        self.token_calls = 0
        self.sent: list[Sent] = []
        self.errors: list[dict[str, Any]] = []       # refused API calls
        self.typing: list[tuple[str, str]] = []
        self.media: dict[str, bytes] = {}            # media/get
        self.uploads: dict[str, int] = {}            # media/upload: media_id -> bytes
        self.last_message: dict[str, float] = {}     # openid -> customer's last message
        self.quota: dict[str, int] = {}              # openid -> custom messages left
        self.delays: dict[str, float] = {}           # path -> seconds
        self.fail_next: dict[str, list[int]] = {}    # path -> HTTP statuses to answer
        self._lock = threading.Condition()
        self._msg_id = int(time.time()) * 1000

    # --- the API server ---------------------------------------------------------------

    def env(self) -> dict[str, str]:
        """The shop's settings for this account."""
        return {"WECHAT_TOKEN": self.token, "WECHAT_APP_ID": self.app_id,
                "WECHAT_APP_SECRET": self.app_secret,
                "WECHAT_ENCODING_AES_KEY": self.aes_key, "WECHAT_API_BASE": self.url}

    def start(self) -> FakeWeChat:
        """Serve the API on a free loopback port."""
        self.serve()
        return self

    def answer(self, request: Request) -> tuple[int, bytes, str]:
        """WeChat's answer to one API call."""
        return self._api(request.method, request.path, request.query, request.body,
                         request.headers.get("Content-Type", ""))

    def _error(self, code: int, message: str, path: str) -> tuple[int, bytes, str]:
        with self._lock:
            self.errors.append({"path": path, "errcode": code, "errmsg": message})
        body = json.dumps({"errcode": code, "errmsg": f"{message} rid: {secrets.token_hex(6)}"})
        return 200, body.encode(), "application/json; encoding=utf-8"

    @staticmethod
    def _ok(answer: dict[str, Any]) -> tuple[int, bytes, str]:
        return 200, json.dumps(answer, ensure_ascii=False).encode(), "application/json"

    def issue_token(self) -> str:
        """A new ``access_token`` (as ``cgi-bin/token`` issues it, to the shop or to
        any other server of the account): the ones before it end in 5 minutes."""
        token = secrets.token_urlsafe(96)
        now = time.time()
        with self._lock:
            self.token_calls += 1
            for old in self.tokens:
                self.tokens[old] = min(self.tokens[old], now + TOKEN_OVERLAP)
            self.tokens[token] = now + TOKEN_SECONDS
        return token

    def end_overlap(self) -> None:
        """The 5 minutes have passed: only the newest token works (older ones: 40001)."""
        with self._lock:
            newest = max(self.tokens, key=self.tokens.__getitem__, default=None)
            self.tokens = {newest: self.tokens[newest]} if newest else {}

    def _token_error(self, query: dict[str, str], path: str) -> tuple[int, bytes, str] | None:
        token = query.get("access_token")
        if not token:
            return self._error(41001, "access_token missing", path)
        with self._lock:
            expires = self.tokens.get(token)
        if expires is None:
            return self._error(40001, "invalid credential, access_token is invalid or not "
                                      "latest", path)
        if expires < time.time():
            return self._error(42001, "access_token expired", path)
        return None

    def _api(self, method: str, path: str, query: dict[str, str], body: bytes,
             content_type: str) -> tuple[int, bytes, str]:
        if delay := self.delays.get(path):
            time.sleep(delay)
        with self._lock:
            failures = self.fail_next.get(path)
            if failures:
                return failures.pop(0), b"<html>502 Bad Gateway</html>", "text/html"
        if path == "/cgi-bin/token":
            if query.get("grant_type") != "client_credential":
                return self._error(40002, "invalid grant_type", path)
            if query.get("appid") != self.app_id:
                return self._error(40013, "invalid appid", path)
            if query.get("secret") != self.app_secret:
                return self._error(40125, "invalid appsecret", path)
            return self._ok({"access_token": self.issue_token(), "expires_in": TOKEN_SECONDS})
        if (refused := self._token_error(query, path)) is not None:
            return refused
        if path == "/cgi-bin/message/custom/send" and method == "POST":
            return self._custom_send(body, path)
        if path == "/cgi-bin/message/custom/typing" and method == "POST":
            message = json.loads(body)
            if message.get("command") not in ("Typing", "CancelTyping"):
                return self._error(47001, "data format error", path)
            if message.get("touser") not in self.last_message:
                return self._error(40003, "invalid openid", path)
            with self._lock:
                self.typing.append((message.get("touser", ""), message.get("command", "")))
            return self._ok({"errcode": 0, "errmsg": "ok"})
        if path == "/cgi-bin/media/get":
            data = self.media.get(query.get("media_id", ""))
            if data is None:
                return self._error(40007, "invalid media_id", path)
            return 200, data, "image/jpeg"
        if path == "/cgi-bin/media/upload" and method == "POST":
            if query.get("type") != "image":
                return self._error(40004, "invalid media type", path)
            if b'name="media"' not in body or "multipart/form-data" not in content_type:
                return self._error(41005, "media data missing", path)
            if len(body) > 10 * 1024 * 1024 + 4096:
                return self._error(40009, "invalid image size", path)
            media_id = secrets.token_urlsafe(48)
            with self._lock:
                self.uploads[media_id] = len(body)
            return self._ok({"type": "image", "media_id": media_id,
                             "created_at": int(time.time())})
        return 404, b"not found", "text/plain"

    def _custom_send(self, body: bytes, path: str) -> tuple[int, bytes, str]:
        try:
            message = json.loads(body)
        except ValueError:
            return self._error(47001, "data format error", path)
        openid = message.get("touser", "")
        with self._lock:
            last = self.last_message.get(openid)
        if last is None:
            return self._error(40003, "invalid openid", path)
        if time.time() - last > WINDOW:
            return self._error(45015, "response out of time limit or subscription is "
                                      "canceled", path)
        kind = message.get("msgtype")
        if kind == "text":
            if len(message["text"]["content"].encode()) > MAX_TEXT_BYTES:
                return self._error(45002, "content size out of limit", path)
        elif kind == "news":
            if len(message["news"]["articles"]) != 1:
                return self._error(45008, "article size out of limit", path)
        elif kind == "image":
            if message["image"].get("media_id") not in self.uploads:
                return self._error(40007, "invalid media_id", path)
        elif kind != "msgmenu":
            return self._error(40008, "invalid message type", path)
        with self._lock:
            left = self.quota.get(openid, QUOTA)
            if left <= 0:
                return self._error(45047, "out of response count limit", path)
            self.quota[openid] = left - 1
            self.sent.append(Sent(time.time(), openid, message))
            self._lock.notify_all()
        return self._ok({"errcode": 0, "errmsg": "ok"})

    # --- WeChat calling the shop ------------------------------------------------------

    def signed(self, **extra: str) -> dict[str, str]:
        """A fresh ``timestamp``, ``nonce`` and their ``signature``."""
        timestamp, nonce = str(int(time.time())), str(secrets.randbelow(10**9))
        return {"signature": sha1_sign(self.token, timestamp, nonce),
                "timestamp": timestamp, "nonce": nonce, **extra}

    def verify_url(self, shop: str, echostr: str = "5837397520665436492") -> requests.Response:
        """The account's "submit server URL" check."""
        return requests.get(f"{shop}/webhooks/wechat/webhook",
                            params=self.signed(echostr=echostr), timeout=10)

    def message(self, openid: str, kind: str, **fields: Any) -> dict[str, Any]:
        """A message's fields, with a new ``MsgId`` (events have none)."""
        self._msg_id += 1
        base: dict[str, Any] = {"ToUserName": self.account, "FromUserName": openid,
                                "CreateTime": int(time.time()), "MsgType": kind}
        if kind != "event":
            base["MsgId"] = self._msg_id
        return {**base, **fields}

    def deliver(self, shop: str, fields: dict[str, Any], *, mode: str = "plain",
                timeout: float = 5.0, raw: bytes | None = None,
                params: dict[str, str] | None = None) -> Reply:
        """POST one message to the shop as WeChat does; the passive reply, opened.

        ``mode``: ``plain``, ``aes`` (safe) or ``compat`` (both, compatible mode).
        """
        openid = str(fields.get("FromUserName", ""))
        with self._lock:
            self.last_message[openid] = time.time()
            self.quota[openid] = QUOTA
        xml = to_xml(fields)
        query = self.signed(openid=openid)
        if mode in ("aes", "compat"):
            encrypted = aes_encrypt(self.aes_key, self.app_id, xml)
            query.update(encrypt_type="aes", msg_signature=sha1_sign(
                self.token, query["timestamp"], query["nonce"], encrypted))
            outer = {"ToUserName": self.account, "Encrypt": encrypted}
            xml = to_xml({**fields, **outer} if mode == "compat" else outer)
        started = time.monotonic()
        answer = requests.post(f"{shop}/webhooks/wechat/webhook?{urlencode(params or query)}",
                               data=raw if raw is not None else xml.encode(),
                               headers={"Content-Type": "text/xml"}, timeout=timeout)
        reply = Reply(answer.status_code, answer.text, time.monotonic() - started)
        if answer.status_code == 200 and answer.text.strip() not in ("success", ""):
            fields_out = parse_reply(answer.text)
            if "Encrypt" in fields_out:
                assert mode in ("aes", "compat"), "an encrypted reply to a plaintext message"
                assert fields_out["MsgSignature"] == sha1_sign(
                    self.token, fields_out["TimeStamp"], fields_out["Nonce"],
                    fields_out["Encrypt"]), "the reply's msg_signature is wrong"
                inner, app_id = aes_decrypt(self.aes_key, fields_out["Encrypt"])
                assert app_id == self.app_id
                fields_out = parse_reply(inner)
            reply.refused = self.reply_refusal(fields, fields_out)
            if reply.refused:
                with self._lock:
                    self.refused_replies.append((openid, reply.refused))
            else:
                reply.fields = fields_out
        return reply

    def reply_refusal(self, message: dict[str, Any], reply: dict[str, Any]) -> str | None:
        """Why WeChat would not show ``reply`` to ``message``'s sender (None: it would)."""
        if reply.get("ToUserName") != message.get("FromUserName"):
            return "ToUserName is not the customer's OpenID"
        if reply.get("FromUserName") != message.get("ToUserName"):
            return "FromUserName is not the account"
        if not str(reply.get("CreateTime", "")).isdigit():
            return "CreateTime is not an integer"
        kind = reply.get("MsgType")
        if kind not in REPLY_TYPES:
            return f"MsgType {kind!r} cannot be a passive reply"
        if kind == "text" and len(str(reply.get("Content", "")).encode()) > MAX_TEXT_BYTES:
            return f"Content is over {MAX_TEXT_BYTES} bytes"
        if kind == "news" and (str(reply.get("ArticleCount")) != "1"
                               or len(reply.get("Articles") or []) != 1):
            return "a news reply holds one article"
        return None

    def text(self, shop: str, openid: str, content: str, **options: Any) -> Reply:
        """A customer's text message."""
        return self.deliver(shop, self.message(openid, "text", Content=content), **options)

    def image(self, shop: str, openid: str, data: bytes, **options: Any) -> Reply:
        """A customer's photo: kept for ``media/get`` and announced by its MediaId."""
        media_id = secrets.token_urlsafe(32)
        self.media[media_id] = data
        return self.deliver(shop, self.message(
            openid, "image", PicUrl=f"http://mmbiz.qpic.cn/{media_id}", MediaId=media_id),
            **options)

    # --- what the shop sent -----------------------------------------------------------

    def sent_to(self, openid: str) -> list[Sent]:
        """Every API message to ``openid`` so far."""
        with self._lock:
            return [s for s in self.sent if s.openid == openid]

    def wait_sent(self, openid: str, count: int, timeout: float = 30.0) -> list[Sent]:
        """Wait until ``count`` API messages reached ``openid``; all of them."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                found = [s for s in self.sent if s.openid == openid]
                left = deadline - time.monotonic()
                if len(found) >= count or left <= 0:
                    return found
                self._lock.wait(left)

    def expire_tokens(self) -> None:
        """Every issued ``access_token`` expires now (WeChat answers 42001)."""
        with self._lock:
            for token in self.tokens:
                self.tokens[token] = time.time() - 1
