"""Meta's Graph API client and the attachment download (bot/channels/graph_api.py),
against the fake Meta platform (tests/fakes/messenger.py) over real HTTP: what each
call sends, which failures are tried again and which are not, how Meta's errors
reach the channel, and what a download refuses."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from bot.channels.graph_api import (
    PAGE_INBOX_APP_ID,
    AttachmentRefused,
    GraphApi,
    GraphError,
    fetch_attachment,
)
from tests.fakes.messenger import VERSION, FakeMessenger

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
                    **{"backoff": 0.01, **options})


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


def test_sender_actions_and_thread_control(meta: FakeMessenger) -> None:
    psid = _customer(meta)
    _run(_api(meta), lambda a: a.action(psid, "typing_on"))
    assert meta.sent_to(psid, actions=True)[-1].body == {"recipient": {"id": psid},
                                                         "sender_action": "typing_on"}
    meta.unavailable.add(psid)
    _run(_api(meta), lambda a: a.action(psid, "mark_seen"))  # a hint: a refusal is no error
    meta.unavailable.discard(psid)
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
    bad_token = GraphApi(base=meta.url, version=VERSION, page_token="wrong", backoff=0.01)
    with pytest.raises(GraphError) as token:
        _run(bad_token, lambda a: a.send(psid, {"text": "hi"}))
    assert token.value.code == 190 and "OAuth" in token.value.message
    # WhatsApp's bearer token goes in the header, never in the URL
    bearer = GraphApi(base=meta.url, version=VERSION, page_token=meta.page_token,
                      bearer=True, backoff=0.01)
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
    assert GraphError(10, "(#10) This message is sent outside of allowed window.").outside_window
    assert GraphError(131047, "Re-engagement message").outside_window
    assert not GraphError(10, "(#10) Permission denied").outside_window


def test_an_answer_that_is_not_json_is_an_error_with_the_http_status(
        meta: FakeMessenger) -> None:
    # the CDN's 404 page stands for any answer without Meta's error object
    api = GraphApi(base=meta.url, version="cdn", page_token=meta.page_token, attempts=1)
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
