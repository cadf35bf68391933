"""Issue 18, tried as an attacker would: every numbered finding, over loopback,
against the real Rasa server and action server with the default limits.

Strangers are told apart by their address: each test writes from its own
loopback address (127.0.0.x, all of which reach the server on Linux), so one
test's limits do not spill into another's.
"""

from __future__ import annotations

import http.client
import json
import re
import secrets
import sqlite3
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from scripts.stack import MODEL, Stack
from shop.db import make_engine, session_factory, sqlite_url
from shop.models import Order

pytestmark = pytest.mark.e2e

API_TOKEN = secrets.token_hex(16)
LIMITS = {"LIMIT_MESSAGES_PER_IP": "60", "LIMIT_UPLOADS_PER_SENDER": "5",
          "LIMIT_UPLOADS_PER_IP": "8",
          # coupon farming: a budget that never runs out, and list prices quoted (the
          # policy in shadow mode), so every haggle has room for a coupon and only
          # the concession limit can refuse one
          "COUPON_BUDGET": "1000000", "PRICING_SHADOW_SHARE": "1"}


@pytest.fixture(scope="module")
def secure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack as `make run` starts it, with the HTTP API enabled behind a token."""
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train` (make test does) first")
    stack = Stack(data_dir=tmp_path_factory.mktemp("security-data"), api_token=API_TOKEN,
                  extra_env=LIMITS)
    try:
        yield stack.start()
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def orders(secure: Stack) -> Any:
    return session_factory(make_engine(sqlite_url(secure.data_dir / "shop.db")))


class Reply:
    """An HTTP answer: status, headers and body."""

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def texts(self) -> str:
        return " ".join(m.get("text", "") for m in self.json())


def send(stack: Stack, path: str, body: bytes | dict[str, Any], *, source: str = "127.0.0.1",
         port: int | None = None, method: str = "POST",
         headers: dict[str, str] | None = None) -> Reply:
    """One request from loopback address ``source``."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    connection = http.client.HTTPConnection("127.0.0.1", port or stack.rasa_port, timeout=120,
                                            source_address=(source, 0))
    try:
        connection.request(method, path, body=raw, headers={
            "Content-Type": "application/json", **(headers or {})})
        answer = connection.getresponse()
        return Reply(answer.status, {k.lower(): v for k, v in answer.getheaders()},
                     answer.read())
    finally:
        connection.close()


def chat(stack: Stack, sender: str, text: str, source: str, **metadata: Any) -> Reply:
    return send(stack, "/webhooks/rest/webhook",
                {"sender": sender, "message": text, "metadata": metadata}, source=source)


def still_serving(stack: Stack) -> None:
    assert stack.alive(), "a server process died"
    answer = chat(stack, f"alive-{uuid.uuid4().hex[:6]}", "hi", "127.0.0.250")
    assert answer.status == 200 and "shop assistant" in answer.texts


# --- 1. one request takes the whole assistant down ------------------------------------------


@pytest.mark.parametrize("body", [
    b'{"sender": "x\\ud800", "message": "hi"}',
    b'{"sender": "x", "message": "hi \\udfff there"}',
    b'{"sender": "x", "message": "hi", "metadata": {"name": "\\udbff"}}',
    b"[" * 100_000 + b"]" * 100_000,
    b'{"sender": "x", "message": "hi", "metadata": ' + b'{"a": ' * 500 + b"1" + b"}" * 501,
    b"\xc3\x28 not utf-8",
    b'{"sender": "x\\u0000y", "message": "hi"}',
])
def test_no_request_can_stop_the_assistant(secure: Stack, body: bytes) -> None:
    answer = send(secure, "/webhooks/rest/webhook", body, source="127.0.0.2")
    assert answer.status == 400 and answer.json()["error"]
    still_serving(secure)


FUZZ_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)
FUZZ_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | FUZZ_TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(FUZZ_TEXT, children,
                                                                       max_size=4),
    max_leaves=12)
FUZZ_BODY = st.one_of(
    st.binary(max_size=300),
    FUZZ_JSON.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries({}, optional={"sender": FUZZ_JSON | FUZZ_TEXT,
                                        "message": FUZZ_JSON | FUZZ_TEXT,
                                        "metadata": FUZZ_JSON}).map(
        lambda v: json.dumps(v).encode()),
)


def test_fuzzed_bodies_get_no_5xx_and_the_server_lives(secure: Stack) -> None:
    """Property: whatever the body, the answer is below 500 and the server stays up."""
    seen: list[int] = []

    @settings(max_examples=150, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(body=FUZZ_BODY)
    def property_holds(body: bytes) -> None:
        answer = send(secure, "/webhooks/rest/webhook", body, source="127.0.0.3")
        seen.append(answer.status)
        assert answer.status < 500, (body[:200], answer.status, answer.body[:300])

    property_holds()
    assert len(seen) >= 150 and any(s == 200 for s in seen) and any(s == 400 for s in seen)
    still_serving(secure)


def _png(seed: int) -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 64), (seed % 256, 80, 160)).save(out, "PNG")
    return out.getvalue()


FUZZ_UPLOAD = st.tuples(
    st.one_of(st.binary(max_size=2000),
              st.sampled_from([b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF89a", b"RIFF"]).flatmap(
                  lambda magic: st.binary(max_size=2000).map(lambda rest: magic + rest))),
    st.one_of(FUZZ_TEXT, st.just("fuzz-uploader")),
    st.sampled_from(["image/png", "image/jpeg", "application/octet-stream",
                     "multipart/form-data; boundary=x", "text/plain", ""]))


def test_fuzzed_uploads_get_no_5xx_and_the_server_lives(secure: Stack) -> None:
    """Property: random files, senders and content types never get a 5xx."""
    from urllib.parse import quote as urlquote

    counter = iter(range(10_000))
    seen: list[int] = []

    @settings(max_examples=80, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(upload=FUZZ_UPLOAD)
    @example(upload=(_png(7), "fuzz-uploader", "image/png"))
    def property_holds(upload: tuple[bytes, str, str]) -> None:
        data, sender, content_type = upload
        source = f"127.0.1.{next(counter) % 250 + 1}"  # strangers on many addresses
        path = "/webhooks/rest/media?sender=" + urlquote(sender, safe="", errors="surrogatepass")
        answer = send(secure, path, data, source=source,
                      headers={"Content-Type": content_type} if content_type else {})
        seen.append(answer.status)
        assert answer.status < 500, (data[:40], sender, content_type, answer.body[:200])
        assert answer.status != 201 or answer.json()["media_id"]

    property_holds()
    assert 201 in seen and {400, 415, 422} & set(seen), sorted(set(seen))
    still_serving(secure)


# --- 2. anyone can be any customer ------------------------------------------------------------


def test_nobody_can_pose_as_a_customer(secure: Stack, orders: Any) -> None:
    with orders() as session:
        victim = session.scalars(select(Order).where(Order.status == "shipped")
                                 .order_by(Order.number)).first()
    assert victim is not None
    leak = (victim.number, victim.tracking_number or "-")
    # the pre-issue default: an unsigned id in the metadata
    unsigned = chat(secure, "attacker-1", "where is my order?", "127.0.0.4",
                    customer_id=victim.customer_id)
    assert unsigned.status == 401 and not any(x in unsigned.body.decode() for x in leak)
    # the victim's own signature, replayed into the attacker's conversation
    signature = secure.signed(victim.customer_id, "victim-conv")
    replayed = chat(secure, "attacker-2", "where is my order?", "127.0.0.4", **signature)
    assert replayed.status == 401 and "does not match" in replayed.json()["error"]
    # an expired signature
    old = secure.signed(victim.customer_id, "victim-conv", ttl=-1)
    assert chat(secure, "victim-conv", "where is my order?", "127.0.0.4", **old).status == 401
    # the victim, signed for their conversation, sees their orders
    mine = chat(secure, "victim-conv", f"where is my order {victim.number}?", "127.0.0.5",
                **signature)
    assert mine.status == 200 and victim.tracking_number in mine.texts
    # posting to the victim's conversation without their signature gets nothing of theirs
    intruder = chat(secure, "victim-conv", f"where is my order {victim.number}?", "127.0.0.4")
    assert intruder.status == 200 and victim.tracking_number not in intruder.texts
    cancel = chat(secure, "victim-conv", f"cancel order {victim.number}", "127.0.0.4")
    assert cancel.status == 200
    with orders() as session:
        assert session.get(Order, victim.number).status == "shipped"


def test_a_guest_cannot_probe_order_numbers(secure: Stack, orders: Any) -> None:
    with orders() as session:
        order = session.scalars(select(Order).where(Order.status == "delivered")
                                .order_by(Order.number)).first()
    sender = f"prober-{uuid.uuid4().hex[:6]}"
    for guess in range(5):
        chat(secure, sender, f"where is my order SH-{990000 + guess}?", "127.0.0.6")
        miss = chat(secure, sender, order.email, "127.0.0.6")
        assert "couldn't find" in miss.texts, miss.texts
    chat(secure, sender, f"where is my order {order.number}?", "127.0.0.6")
    locked = chat(secure, sender, order.email, "127.0.0.6")
    assert "try again in about" in locked.texts and order.tracking_number not in locked.texts
    # in Chinese too
    chat(secure, sender, f"我的订单{order.number}到哪了", "127.0.0.6")
    locked_zh = chat(secure, sender, order.email, "127.0.0.6")
    assert "分钟后再试" in locked_zh.texts and order.tracking_number not in locked_zh.texts


# --- 3. the action server is open ------------------------------------------------------------


def test_the_action_server_answers_only_rasa(secure: Stack, orders: Any) -> None:
    with orders() as session:
        order = session.scalars(select(Order).where(Order.status == "processing")
                                .order_by(Order.number)).first()
    forged = {"next_action": "action_cancel_order", "sender_id": "x", "version": "3.6.21",
              "domain": {}, "tracker": {
                  "sender_id": "x", "slots": {"order_number": order.number, "language": "en"},
                  "latest_message": {"text": "cancel", "metadata": {
                      "verified": {"customer_id": order.customer_id}}}, "events": []}}
    answer = send(secure, "/webhook", forged, port=secure.actions_port, source="127.0.0.7")
    assert answer.status == 401
    with orders() as session:
        assert session.get(Order, order.number).status == "processing"


# --- 4. Rasa's HTTP API is open ---------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "body"), [
    ("GET", "/status", b""),
    ("GET", "/conversations/victim-conv/tracker", b""),
    ("POST", "/conversations/victim-conv/tracker/events", b'[{"event": "restart"}]'),
    ("POST", "/model/parse", json.dumps({"text": "a " * 50_000}).encode()),
    ("PUT", "/model", b'{"model_server": {"url": "http://127.0.0.1:1/m.tar.gz"}}'),
    ("DELETE", "/model", b""),
])
def test_the_api_is_not_on_the_customer_port(secure: Stack, method: str, path: str,
                                             body: bytes) -> None:
    answer = send(secure, path, body, method=method, source="127.0.0.8")
    assert answer.status == 404
    # on the internal listener it wants the token
    refused = send(secure, path, body, method=method, source="127.0.0.8", port=secure.api_port)
    assert refused.status in (401, 403)


def test_the_internal_api_serves_holders_of_the_token(secure: Stack) -> None:
    status = requests.get(f"http://127.0.0.1:{secure.api_port}/status",
                          params={"token": API_TOKEN}, timeout=30)
    assert status.status_code == 200 and "model_file" in status.json()
    still_serving(secure)


def test_cross_origin_requests_are_not_allowed_by_default(secure: Stack) -> None:
    answer = send(secure, "/webhooks/rest/webhook", b"", method="OPTIONS", source="127.0.0.8",
                  headers={"Origin": "https://evil.example",
                           "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in answer.headers
    posted = send(secure, "/webhooks/rest/webhook", {"sender": "cors", "message": "hi"},
                  source="127.0.0.8", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in posted.headers


# --- 5. no limits ------------------------------------------------------------------------


def test_one_conversation_sending_too_fast_is_asked_politely_to_wait(secure: Stack) -> None:
    sender = f"flood-{uuid.uuid4().hex[:6]}"
    statuses = [chat(secure, sender, "hi", "127.0.0.9").status for _ in range(30)]
    assert statuses == [200] * 30
    refused = chat(secure, sender, "hi", "127.0.0.9")
    assert refused.status == 429 and int(refused.headers["retry-after"]) >= 1
    assert "wait a moment" in refused.texts
    chinese = chat(secure, sender, "你好", "127.0.0.9")
    assert chinese.status == 429 and "请稍等" in chinese.texts
    # another conversation is served meanwhile
    assert chat(secure, sender + "-other", "hi", "127.0.0.9").status == 200


def test_one_address_cannot_open_conversations_without_end(secure: Stack) -> None:
    statuses = [chat(secure, f"ip-{n}-{uuid.uuid4().hex[:6]}", "hi", "127.0.0.10").status
                for n in range(61)]
    assert statuses[:60] == [200] * 60 and statuses[60] == 429
    still_serving(secure)


def test_new_conversations_cannot_farm_coupons(secure: Stack) -> None:
    replies = []
    for n in range(5):
        sender = f"farm-{n}-{uuid.uuid4().hex[:6]}"
        chat(secure, sender, "how much is the MacBook Air 13?", "127.0.0.11")
        replies.append(chat(secure, sender, "can you do better?", "127.0.0.11").texts)
    coupons = [r for r in replies if re.search(r"SAVE-[0-9A-F]{8}", r)]
    assert len(coupons) == 3, replies
    assert all("can't offer another discount today" in r for r in replies[3:]), replies
    with sqlite3.connect(secure.data_dir / "shop.db") as db:
        clients = db.execute("select client, count(*) from coupons where conversation_id "
                             "like 'farm-%' group by client").fetchall()
    assert [count for _client, count in clients] == [3]
    # in Chinese, from the same address, the same answer
    sender = f"farm-zh-{uuid.uuid4().hex[:6]}"
    chat(secure, sender, "MacBook Air 13多少钱", "127.0.0.11")
    assert "今天无法再提供优惠" in chat(secure, sender, "能再便宜点吗", "127.0.0.11").texts


# --- 6. customer text reflected raw ----------------------------------------------------------


@pytest.mark.parametrize("text", [
    "tell me about the <script>alert(1)</script>",
    "where is my order <img src=x onerror=alert(1)>",
    "how much is the <svg onload=alert(1)>?",
    "有没有<script>alert(1)</script>手机",
])
def test_script_bearing_messages_come_back_inert(secure: Stack, text: str) -> None:
    answer = chat(secure, f"xss-{uuid.uuid4().hex[:6]}", text, "127.0.0.12")
    assert answer.status == 200
    for message in answer.json():
        assert "<" not in message.get("text", ""), message
    # the channel serves JSON that no browser will render or sniff as a page
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in answer.headers["content-security-policy"]


# --- 7. uploads are bound to their conversation, with a quota -----------------------------------


def test_uploads_have_a_quota_per_conversation_and_address(secure: Stack) -> None:
    def upload(sender: str, seed: int) -> Reply:
        return send(secure, f"/webhooks/rest/media?sender={sender}", _png(seed),
                    source="127.0.0.13", headers={"Content-Type": "image/png"})

    ids = [upload("quota-a", n) for n in range(5)]
    assert [u.status for u in ids] == [201] * 5
    over = upload("quota-a", 99)
    assert over.status == 429 and "photos" in over.json()["text"]
    # 8 a minute from one address, the refused attempt included
    assert [upload("quota-b", 10 + n).status for n in range(3)] == [201, 201, 429]
    # the media id works only in its own conversation
    media_id = ids[0].json()["media_id"]
    theirs = chat(secure, "quota-c", "do you sell this?", "127.0.0.14", image=media_id)
    assert theirs.status == 400 and "upload" in theirs.json()["error"]
    unbound = chat(secure, "quota-a", "do you sell this?", "127.0.0.14",
                   image=media_id.split(".")[0])
    assert unbound.status == 400
    assert send(secure, "/webhooks/rest/media", _png(1), source="127.0.0.14",
                headers={"Content-Type": "image/png"}).status == 400  # no conversation
