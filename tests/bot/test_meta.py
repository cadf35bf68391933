"""Meta's door as the Messenger and WhatsApp channels open it (bot/channels/meta.py:
``MetaChannel.connect`` and its ``/webhook`` routes), with each channel's own settings,
against the fake Meta platforms over real HTTP. The deliveries' parsing and the
pipeline behind ``accept`` have their own tests; here ``accept`` is the channel's
hand-off point, recorded."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from sanic import Blueprint

from bot.channels.meta import MetaChannel
from bot.settings import settings
from tests.fakes.messenger import FakeMessenger
from tests.fakes.whatsapp import FakeWhatsApp


@pytest.fixture()
def configured(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Iterator[Any]:
    """Set the environment, then build a channel on it (the settings are read once per
    process: the cache is cleared around each build)."""
    def build(cls: type, env: dict[str, str]) -> Any:
        for key, value in {"SHOP_DATA_DIR": str(tmp_path), **env}.items():
            monkeypatch.setenv(key, value)
        settings.cache_clear()
        try:
            return cls()
        finally:
            settings.cache_clear()
    yield build
    settings.cache_clear()


def _messenger() -> type:
    from bot.channels.messenger import MessengerInput
    return MessengerInput


def _whatsapp() -> type:
    from bot.channels.whatsapp import WhatsAppInput
    return WhatsAppInput


def test_each_channel_opens_its_graph_api_client_with_its_settings(configured: Any) -> None:
    meta = FakeMessenger().start()
    wa = FakeWhatsApp().start()
    try:
        messenger = configured(_messenger(), {**meta.env(),
                                              "MESSENGER_API_TIMEOUT_MS": "7000"})
        assert messenger.enabled and messenger.api.timeout == 7.0
        assert messenger.api.auth_headers == {}  # the page token goes as a parameter
        psid = "5566778899"
        meta.last_message[psid] = time.time()

        async def send() -> Any:
            try:
                return await messenger.api.send(psid, {"text": "hi"})
            finally:
                await messenger.api.close()
        assert asyncio.run(send())["recipient_id"] == psid  # base, version and token

        whatsapp = configured(_whatsapp(), wa.env())
        assert whatsapp.enabled and whatsapp.api.timeout == 10.0
        assert whatsapp.api.auth_headers == {"Authorization": f"Bearer {wa.access_token}"}
    finally:
        meta.stop()
        wa.stop()


def test_a_channel_without_its_secrets_is_off_and_says_so(configured: Any) -> None:
    off = configured(_messenger(), {})
    assert not off.enabled and off.api is None
    verify, receive = _routes(off)
    assert _call(verify, args={"hub.mode": "subscribe", "hub.verify_token": "x" * 16,
                               "hub.challenge": "1"}) == (
        404, "this channel is not configured on this server")
    assert _call(receive, body=b"{}") == (404, "Messenger is not configured on this server")


def _routes(channel: MetaChannel) -> tuple[Any, Any]:
    hook = Blueprint("meta_test")
    channel.routes(hook)
    handlers = {(route.uri, tuple(route.methods)): route.handler
                for route in hook._future_routes}
    return handlers[("/webhook", ("GET",))], handlers[("/webhook", ("POST",))]


def _call(handler: Any, *, args: dict[str, str] | None = None, body: bytes = b"",
          signature: str | None = None) -> tuple[int, str]:
    request = SimpleNamespace(args=args or {}, body=body,
                              headers={"x-hub-signature-256": signature} if signature else {})
    answer = asyncio.run(handler(request))
    return answer.status, answer.body.decode()


def test_the_webhook_verifies_refuses_and_acknowledges(configured: Any,
                                                       caplog: pytest.LogCaptureFixture
                                                       ) -> None:
    meta = FakeMessenger()  # only its secrets: nothing here calls the Graph API
    channel = configured(_messenger(), {
        "MESSENGER_APP_SECRET": meta.app_secret, "MESSENGER_VERIFY_TOKEN": meta.verify_token,
        "MESSENGER_PAGE_TOKEN": meta.page_token, "MESSENGER_APP_ID": meta.app_id})
    accepted: list[Any] = []

    async def accept(request: Any, items: Any) -> None:
        accepted.append(items)
    channel.accept = accept
    verify, receive = _routes(channel)

    assert _call(verify, args={"hub.mode": "subscribe", "hub.verify_token": meta.verify_token,
                               "hub.challenge": "1158201444"}) == (200, "1158201444")
    assert _call(verify, args={"hub.mode": "subscribe", "hub.verify_token": "guess",
                               "hub.challenge": "1"}) == (403, "verification refused")

    def signed(payload: Any) -> tuple[bytes, str]:
        body = json.dumps(payload).encode()
        return body, "sha256=" + hmac.new(meta.app_secret.encode(), body,
                                          hashlib.sha256).hexdigest()

    delivery = meta.text("5566778899", "hello")
    body, signature = signed({"object": "page", "entry": [{"id": "1", "time": 1,
                                                           "messaging": [delivery]}]})
    assert _call(receive, body=body, signature=signature) == (200, "EVENT_RECEIVED")
    assert [item.text for item in accepted[-1]] == ["hello"]
    with caplog.at_level("INFO", logger="bot.channels.meta"):
        assert _call(receive, body=body, signature="sha256=" + "0" * 64) == (
            403, "missing or wrong X-Hub-Signature-256")
        # signed, but entries no parser expected
        odd, odd_signature = signed({"object": "page", "entry": [{"messaging": 5}]})
        assert _call(receive, body=odd, signature=odd_signature) == (400,
                                                                    "not a page delivery")
    assert [r.getMessage() for r in caplog.records] == [
        "Messenger delivery refused: missing or wrong X-Hub-Signature-256",
        "Messenger delivery refused: malformed items"]
    assert len(accepted) == 1

    async def broken(request: Any, items: Any) -> None:
        raise OSError("disk full")
    channel.accept = broken  # not kept: Meta is asked to send it again
    assert _call(receive, body=body, signature=signature) == (503, "temporarily unavailable")
