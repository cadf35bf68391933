"""Meta's Graph API client and the attachment download (bot/channels/graph_api.py),
against the fake Meta platform (tests/fakes/messenger.py) over real HTTP: what each
call sends, which failures are tried again and which are not, how Meta's errors
reach the channel, and what a download refuses."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
from aiohttp import web

from bot.channels.graph_api import (
    PAGE_INBOX_APP_ID,
    AttachmentRefused,
    GraphApi,
    GraphError,
    fetch_attachment,
)
from tests.fakes.messenger import PAGE_ID, VERSION, FakeMessenger
from tests.fakes.whatsapp import VERSION as WA_VERSION
from tests.fakes.whatsapp import FakeWhatsApp

MESSAGES = f"/{VERSION}/me/messages"


@pytest.fixture(scope="module")
def meta() -> Iterator[FakeMessenger]:
    fake = FakeMessenger().start()
    try:
        yield fake
    finally:
        fake.stop()


def _api(meta: FakeMessenger, **options: Any) -> GraphApi:
    return GraphApi(base=meta.url, version=VERSION, page_token=meta.page_token,
                    **{"backoff": 0.01, "timeout": 10.0, **options})


def _customer(meta: FakeMessenger) -> str:
    psid = str(uuid.uuid4().int)[:16]
    meta.last_message[psid] = time.time()  # the customer just wrote
    return psid


def _run(api: GraphApi, call: Any) -> Any:
    async def go() -> Any:
        try:
            return await call(api)
        finally:
            await api.close()
    return asyncio.run(go())


def test_a_reply_and_a_person_s_message_are_sent_as_meta_expects(meta: FakeMessenger) -> None:
    psid = _customer(meta)
    api = _api(meta)
    answer = _run(api, lambda a: a.send(psid, {"text": "hello"}))
    assert answer["recipient_id"] == psid and answer["message_id"].startswith("m_")
    tagged = _run(_api(meta), lambda a: a.send(psid, {"text": "Ann here"}, tag="HUMAN_AGENT"))
    assert tagged["recipient_id"] == psid
    reply, person = meta.sent_to(psid)[-2:]
    assert reply.body == {"recipient": {"id": psid}, "message": {"text": "hello"},
                          "messaging_type": "RESPONSE"}
    assert person.body == {"recipient": {"id": psid}, "message": {"text": "Ann here"},
                           "messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"}


def test_sender_actions_and_thread_control(meta: FakeMessenger,
                                          caplog: pytest.LogCaptureFixture) -> None:
    psid = _customer(meta)
    _run(_api(meta), lambda a: a.action(psid, "typing_on"))
    assert meta.sent_to(psid, actions=True)[-1].body == {"recipient": {"id": psid},
                                                         "sender_action": "typing_on"}
    meta.unavailable.add(psid)
    with caplog.at_level(logging.INFO, logger="bot.channels.graph_api"):
        # a hint: a refusal is no error, only a line in the log
        _run(_api(meta), lambda a: a.action(psid, "mark_seen"))
    meta.unavailable.discard(psid)
    assert [r.getMessage() for r in caplog.records] == [
        "sender action mark_seen not shown: Graph API error 551: This person isn't "
        "available right now."]
    other = _customer(meta)
    _run(_api(meta), lambda a: a.pass_thread(other))
    assert meta.calls[-1].body == {"recipient": {"id": other},
                                   "target_app_id": PAGE_INBOX_APP_ID, "metadata": ""}
    _run(_api(meta), lambda a: a.pass_thread(psid, metadata="x" * 1500))
    passed = [c for c in meta.calls if c.psid == psid and c.path.endswith("thread_control")]
    assert passed[-1].body == {"recipient": {"id": psid}, "target_app_id": PAGE_INBOX_APP_ID,
                               "metadata": "x" * 1000}
    assert meta.thread_owner.pop(psid) == PAGE_INBOX_APP_ID


def test_transient_failures_are_tried_again_and_others_are_not(meta: FakeMessenger) -> None:
    psid = _customer(meta)
    meta.fail_next[MESSAGES] = [
        (500, {"message": "An unexpected error has occurred.", "code": 2, "is_transient": True}),
        (400, {"message": "(#613) Calls to this api have exceeded the rate limit.",
               "code": 613}),
        (503, {"message": "Service temporarily unavailable", "code": 2})]
    assert _run(_api(meta), lambda a: a.send(psid, {"text": "third time"}))["recipient_id"] \
        == psid
    assert not meta.fail_next[MESSAGES]
    # four tries in all, then the last failure is the channel's
    meta.fail_next[MESSAGES] = [(500, {"message": "down", "code": 1})] * 5
    with pytest.raises(GraphError) as down:
        _run(_api(meta), lambda a: a.send(psid, {"text": "never"}))
    assert (down.value.code, down.value.status) == (1, 500)
    assert len(meta.fail_next.pop(MESSAGES)) == 1
    # one try with attempts=1
    meta.fail_next[MESSAGES] = [(500, {"message": "down", "code": 1})] * 2
    with pytest.raises(GraphError):
        _run(_api(meta, attempts=1), lambda a: a.send(psid, {"text": "never"}))
    assert len(meta.fail_next.pop(MESSAGES)) == 1
    # a refusal is final: tried once
    errors = len(meta.errors)
    with pytest.raises(GraphError) as refused:
        _run(_api(meta), lambda a: a.send(psid, {"text": "x" * 2001}))
    assert (refused.value.code, refused.value.status) == (100, 400)
    assert len(meta.errors) == errors + 1


def test_meta_s_errors_reach_the_channel_with_their_codes(meta: FakeMessenger) -> None:
    psid = _customer(meta)
    bad_token = GraphApi(base=meta.url, version=VERSION, page_token="wrong", backoff=0.01,
                         timeout=10)
    with pytest.raises(GraphError) as token:
        _run(bad_token, lambda a: a.send(psid, {"text": "hi"}))
    assert token.value.code == 190 and "OAuth" in token.value.message
    # WhatsApp's bearer token goes in the header, never in the URL
    bearer = GraphApi(base=meta.url, version=VERSION, page_token=meta.page_token,
                      bearer=True, backoff=0.01, timeout=10)
    assert bearer.auth_headers == {"Authorization": f"Bearer {meta.page_token}"}
    assert _api(meta).auth_headers == {}
    with pytest.raises(GraphError) as no_param:
        _run(bearer, lambda a: a.send(psid, {"text": "hi"}))
    assert no_param.value.code == 190
    meta.unavailable.add(psid)
    with pytest.raises(GraphError) as gone:
        _run(_api(meta), lambda a: a.send(psid, {"text": "hi"}))
    meta.unavailable.discard(psid)
    assert (gone.value.code, gone.value.outside_window) == (551, False)
    assert str(gone.value) == "Graph API error 551: This person isn't available right now."
    meta.last_message[psid] -= 2 * 86400  # the 24 hours have passed
    with pytest.raises(GraphError) as late:
        _run(_api(meta), lambda a: a.send(psid, {"text": "hi"}))
    assert (late.value.code, late.value.subcode, late.value.outside_window) == (10, 2018278,
                                                                               True)
    assert str(late.value).startswith("Graph API error 10/2018278: ")
    assert GraphError(10, "(#10) This message is sent outside of allowed window.",
                      status=400).outside_window
    assert GraphError(131047, "Re-engagement message", status=400).outside_window
    assert not GraphError(10, "(#10) Permission denied", status=400).outside_window


def test_an_answer_that_is_not_json_is_an_error_with_the_http_status(
        meta: FakeMessenger) -> None:
    # the CDN's 404 page stands for any answer without Meta's error object
    api = GraphApi(base=meta.url, version="cdn", page_token=meta.page_token, attempts=1,
                   timeout=10)
    with pytest.raises(GraphError) as missing:
        _run(api, lambda a: a.get("/nothing-here"))
    assert (missing.value.code, missing.value.status) == (404, 404)
    assert missing.value.message == "HTTP 404"


# --- the download ----------------------------------------------------------------------


def _fetch(meta: FakeMessenger, name: str, *, limit: int = 1000,
           timeout: float = 5.0) -> bytes:
    return asyncio.run(fetch_attachment(f"{meta.url}/cdn/{name}", hosts=("fbcdn.net",),
                                        limit=limit, timeout=timeout, test_origin=meta.url))


def test_a_download_is_the_file_up_to_the_limit(meta: FakeMessenger) -> None:
    meta.files["exact.jpg"] = b"j" * 1000
    assert _fetch(meta, "exact.jpg") == b"j" * 1000
    meta.files["big.jpg"] = b"j" * 1001
    with pytest.raises(AttachmentRefused, match="^the file is larger than 1000 bytes$"):
        _fetch(meta, "big.jpg")
    with pytest.raises(AttachmentRefused, match="^the CDN answered 404$"):
        _fetch(meta, "missing.jpg")
    meta.redirects["moved.jpg"] = "http://169.254.169.254/latest/meta-data/"
    with pytest.raises(AttachmentRefused,
                       match=r"^the CDN answered 302 \(redirects are not followed\)$"):
        _fetch(meta, "moved.jpg")
    meta.files["slow.jpg"] = b"j"
    meta.delays["/cdn/slow.jpg"] = 1.5
    try:
        with pytest.raises(AttachmentRefused, match=r"^download failed \(TimeoutError\)$"):
            _fetch(meta, "slow.jpg", timeout=0.5)
    finally:
        meta.delays.pop("/cdn/slow.jpg")


def test_a_host_that_does_not_resolve_is_refused() -> None:
    async def nowhere(host: str, port: int) -> list[str]:
        raise OSError("no such host")

    with pytest.raises(AttachmentRefused, match="^scontent.fbcdn.net does not resolve$"):
        asyncio.run(fetch_attachment("https://scontent.fbcdn.net/a.jpg", hosts=("fbcdn.net",),
                                     limit=10, timeout=1, resolve=nowhere))


# --- how a call is made, timed and retried -----------------------------------------------


def test_a_get_is_a_get_and_a_base_may_end_with_a_slash(meta: FakeMessenger) -> None:
    api = GraphApi(base=meta.url + "/", version=VERSION, page_token=meta.page_token,
                   timeout=10)
    assert _run(api, lambda a: a.get("/me")) == {"id": PAGE_ID, "name": "Demo Shop"}
    # one slash between the base and the version, however the base was written
    for base in ("https://graph.facebook.com", "https://graph.facebook.com/",
                 "https://graph.facebook.com//"):
        assert GraphApi(base=base, version="v21.0", page_token="t", timeout=1).base == \
            "https://graph.facebook.com/v21.0"


def test_a_post_says_its_body_is_json(meta: FakeMessenger) -> None:
    """Meta reads a body without ``Content-Type: application/json`` as form fields (the
    fake does too): a JSON message would lose its recipient."""
    psid = _customer(meta)
    assert _run(_api(meta), lambda a: a.send(psid, {"text": "你好，在的"}))["recipient_id"] \
        == psid
    assert meta.sent_to(psid)[-1].body["message"] == {"text": "你好，在的"}


def test_closing_a_client_that_never_called_is_harmless(meta: FakeMessenger) -> None:
    api = _api(meta)
    asyncio.run(api.close())
    # and a closed client opens new connections for its next call
    psid = _customer(meta)

    async def twice() -> None:
        await api.send(psid, {"text": "one"})
        await api.close()
        await api.send(psid, {"text": "two"})
        await api.close()
    asyncio.run(twice())
    assert [c.body["message"]["text"] for c in meta.sent_to(psid)] == ["one", "two"]


def test_each_retry_waits_three_times_longer_and_is_logged(
        meta: FakeMessenger, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    psid = _customer(meta)
    waits: list[float] = []
    sleep = asyncio.sleep

    async def no_wait(delay: float, *args: Any) -> Any:
        if delay:
            waits.append(delay)
        return await sleep(0)

    monkeypatch.setattr(asyncio, "sleep", no_wait)
    meta.fail_next[MESSAGES] = [(500, {"message": "down", "code": 1})] * 4
    # the default tries and backoff
    api = GraphApi(base=meta.url, version=VERSION, page_token=meta.page_token, timeout=10)
    with caplog.at_level(logging.INFO, logger="bot.channels.graph_api"), \
            pytest.raises(GraphError):
        _run(api, lambda a: a.send(psid, {"text": "never"}))
    assert waits == [0.25, 0.75, 2.25]
    assert [r.getMessage() for r in caplog.records] == [
        f"Graph API /me/messages failed (Graph API error 1: down), try {n} of 4"
        for n in (1, 2, 3)]


def test_a_call_that_takes_too_long_is_abandoned_and_tried_again(meta: FakeMessenger) -> None:
    psid = _customer(meta)
    meta.delays[MESSAGES] = 1.0
    try:
        with pytest.raises(GraphError) as slow:
            _run(_api(meta, timeout=0.3, attempts=2), lambda a: a.send(psid, {"text": "hi"}))
        assert (slow.value.code, slow.value.message, slow.value.status) == (
            -1, "no answer (TimeoutError)", 503)
        tries = lambda: [b for _, b in list(meta.arrivals)  # noqa: E731
                         if b.get("recipient", {}).get("id") == psid]
        deadline = time.monotonic() + 10
        while len(tries()) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(tries()) == 2
    finally:
        meta.delays.pop(MESSAGES)
    # nobody listening: a network error, tried again like a timeout
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    nowhere = GraphApi(base=f"http://127.0.0.1:{port}", version=VERSION, page_token="t",
                       attempts=1, timeout=10)
    with pytest.raises(GraphError) as refused:
        _run(nowhere, lambda a: a.send(psid, {"text": "hi"}))
    assert (refused.value.code, refused.value.status) == (-1, 503)
    assert refused.value.message == "no answer (ClientConnectorError)"


def test_whatsapp_s_error_details_and_bearer_media(tmp_path: Any) -> None:
    """WhatsApp's errors carry ``error_data.details``, which the channel shows to the
    agent; its media is looked up with ``GET`` and downloaded with the bearer token."""
    wa = FakeWhatsApp().start()
    try:
        api = lambda: GraphApi(base=wa.url, version=WA_VERSION,  # noqa: E731
                               page_token=wa.access_token, bearer=True, backoff=0.01,
                               timeout=10)
        with pytest.raises(GraphError) as bad:
            _run(api(), lambda a: a.post(wa.messages_path[len(f"/{WA_VERSION}"):], {
                "messaging_product": "whatsapp", "to": "not-a-number", "type": "text",
                "text": {"body": "hi"}}))
        assert (bad.value.code, bad.value.message) == (
            131009, "(#131009) Parameter value is not valid (the recipient is not a phone "
                    "number)")
        wa.media["M1"] = b"\xff\xd8photo"
        found = _run(api(), lambda a: a.get("/M1"))
        assert found["mime_type"] == "image/jpeg"
        origin = wa.url
        got = asyncio.run(fetch_attachment(found["url"], hosts=(), limit=100, timeout=5,
                                           test_origin=origin, headers=api().auth_headers))
        assert got == b"\xff\xd8photo"
        with pytest.raises(AttachmentRefused, match="^the CDN answered 401$"):
            asyncio.run(fetch_attachment(found["url"], hosts=(), limit=100, timeout=5,
                                         test_origin=origin))
    finally:
        wa.stop()


# --- answers Meta should not give, from a server that gives them -------------------------


@contextlib.asynccontextmanager
async def _server(handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                  ) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    await web.SockSite(runner, sock).start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        await runner.cleanup()


def _odd(status: int, body: Any, *, attempts: int = 1, headers: dict[str, str] | None = None
         ) -> tuple[Any, list[str]]:
    """What ``GraphApi.post`` makes of one odd answer (the result or the GraphError),
    and the paths that were called."""
    seen: list[str] = []

    async def answer(request: web.Request) -> web.Response:
        seen.append(request.path)
        if request.path.endswith("/elsewhere"):
            return web.json_response({"followed": True})
        text = body if isinstance(body, str) else json.dumps(body)
        return web.Response(status=status, text=text, headers=headers or {})

    async def go() -> Any:
        async with _server(answer) as url:
            api = GraphApi(base=url, version="v1", page_token="t", attempts=attempts,
                           backoff=0.01, timeout=10)
            try:
                return await api.post("/me/messages", {"text": "hi"})
            except GraphError as exc:
                return exc
            finally:
                await api.close()
    return asyncio.run(go()), seen


def test_only_a_2xx_answer_without_an_error_is_a_success() -> None:
    assert _odd(200, {"ok": 1})[0] == {"ok": 1}
    assert _odd(200, [1, 2])[0] == {}  # not an object: read as an empty one
    assert _odd(200, "")[0] == {}
    # no more than 256 KiB of an answer is read: a longer one is not Meta's, and is empty
    assert _odd(200, {"data": "x" * (256 * 1024)})[0] == {}
    assert _odd(200, {"data": "x" * (256 * 1024 - 20)})[0]["data"]
    for status in (300, 304):
        failed = _odd(status, {})[0]
        assert isinstance(failed, GraphError) and (failed.code, failed.message) == (
            status, f"HTTP {status}")
    # a redirect is not followed (the token would go with it)
    moved, seen = _odd(302, "", headers={"Location": "/v1/elsewhere"})
    assert isinstance(moved, GraphError) and moved.status == 302 and seen == [
        "/v1/me/messages"]


def test_an_error_that_is_not_meta_s_error_object_is_the_http_status() -> None:
    failed = _odd(500, {"error": "boom"})[0]
    assert isinstance(failed, GraphError) and (failed.code, failed.message) == (500,
                                                                                "HTTP 500")
    odd_data = _odd(400, {"error": {"code": 100, "message": "bad", "error_data": "x"}})[0]
    assert isinstance(odd_data, GraphError) and odd_data.message == "bad"
    long = _odd(400, {"error": {"code": 100, "message": "m" * 500}})[0]
    assert isinstance(long, GraphError) and long.message == "m" * 400


def test_a_transient_error_is_tried_again_whatever_its_code() -> None:
    failed, seen = _odd(400, {"error": {"code": 2, "message": "Please retry",
                                        "is_transient": True}}, attempts=3)
    assert isinstance(failed, GraphError) and len(seen) == 3
    failed, seen = _odd(400, {"error": {"code": 2, "message": "no"}}, attempts=3)
    assert isinstance(failed, GraphError) and len(seen) == 1


def test_a_cdn_answer_other_than_200_is_refused_with_its_status() -> None:
    async def go(status: int) -> str:
        async def answer(request: web.Request) -> web.Response:
            return web.Response(status=status, text="")

        async with _server(answer) as url:
            with pytest.raises(AttachmentRefused) as refused:
                await fetch_attachment(f"{url}/cdn/a.jpg", hosts=(), limit=10, timeout=5,
                                       test_origin=url)
        return str(refused.value)

    # the test origin exempts that origin only: any other URL is checked as usual
    with pytest.raises(AttachmentRefused, match="^evil.example is not one of Meta's CDN hosts$"):
        asyncio.run(fetch_attachment("https://evil.example/a.jpg", hosts=("fbcdn.net",),
                                     limit=10, timeout=5, test_origin="http://127.0.0.1:9"))
    assert go_each(go, (300, 399, 400, 204)) == [
        "the CDN answered 300 (redirects are not followed)",
        "the CDN answered 399 (redirects are not followed)",
        "the CDN answered 400", "the CDN answered 204"]


def go_each(go: Callable[[int], Awaitable[str]], statuses: tuple[int, ...]) -> list[str]:
    return [asyncio.run(go(status)) for status in statuses]


def test_a_photo_that_arrives_in_pieces_is_read_whole_up_to_the_limit() -> None:
    """Over a real network a file arrives in pieces; every piece is read (one read gives
    only what has arrived), and a file one byte over the limit is refused even when
    the limit falls exactly between two pieces."""
    async def go(pieces: list[bytes], limit: int) -> bytes | str:
        async def answer(request: web.Request) -> web.StreamResponse:
            reply = web.StreamResponse()
            await reply.prepare(request)
            for piece in pieces:
                await reply.write(piece)
                await asyncio.sleep(0.05)
            await reply.write_eof()
            return reply

        async with _server(answer) as url:
            try:
                return await fetch_attachment(f"{url}/cdn/a.jpg", hosts=(), limit=limit,
                                              timeout=5, test_origin=url)
            except AttachmentRefused as exc:
                return str(exc)

    photo = [bytes([i]) * 40_000 for i in range(5)]
    assert asyncio.run(go(photo, 200_000)) == b"".join(photo)
    assert asyncio.run(go([b"a" * 1000, b"b"], 1000)) == "the file is larger than 1000 bytes"
    assert asyncio.run(go([b"a" * 600, b"b" * 400], 1000)) == b"a" * 600 + b"b" * 400
