"""The Messenger channel's wire format (bot/channels/messenger.py, graph_api.py):
signatures, Meta's limits (cut or split, never dropped), and the attachment fetcher's
refusals."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import socket

import pytest

from bot.channels.graph_api import (
    AttachmentRefused,
    allowed_host,
    fetch_attachment,
)
from bot.channels.messenger import MAX_TEXT, render
from bot.channels.meta import check_signature, split_text
from bot.settings import SettingsError, load_settings

SECRET = "app-secret-0123456789"


def test_only_the_sha256_signature_of_the_raw_body_counts() -> None:
    body = b'{"object": "page", "entry": []}'
    good = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert check_signature(SECRET, body, good)
    sha1 = "sha1=" + hmac.new(SECRET.encode(), body, hashlib.sha1).hexdigest()
    for header in (None, "", sha1, good[:-1] + "0", "sha256=", good.upper()):
        assert not check_signature(SECRET, body, header)
    assert not check_signature(SECRET, body + b" ", good)  # the raw body, byte for byte


def test_long_texts_split_at_2000_characters_at_line_ends() -> None:
    text = "\n".join(f"line {i}: " + "word " * 30 for i in range(40))
    parts = split_text(text, MAX_TEXT)
    assert len(parts) > 1 and all(len(p) <= 2000 for p in parts)
    assert " ".join(parts).split() == text.split()
    assert [len(p) for p in split_text("x" * 4500, MAX_TEXT)] == [2000, 2000, 500]


def test_buttons_become_quick_replies_cut_and_split_never_dropped() -> None:
    buttons = [{"title": f"A rather long option title {i}", "payload": f"/pick{i}"}
               for i in range(16)]
    messages = render([{"text": "Choose one", "buttons": buttons}])
    assert [len(m["quick_replies"]) for m in messages] == [13, 3]
    assert messages[0]["text"] == "Choose one" and messages[1]["text"] == "More options:"
    titles = [q["title"] for m in messages for q in m["quick_replies"]]
    assert all(len(t) <= 20 for t in titles) and titles[0].endswith("…")
    assert [q["payload"] for m in messages for q in m["quick_replies"]] == [
        b["payload"] for b in buttons]
    chinese = render([{"text": "满意吗？", "buttons": [{"title": "非常满意", "payload": "/r5"}]}])
    assert chinese[0]["quick_replies"][0] == {"content_type": "text", "title": "非常满意",
                                              "payload": "/r5"}


def test_product_cards_become_carousels_of_at_most_ten() -> None:
    cards = [{"sku": f"S{i}", "title": "Very long product name " * 5, "price": "$9.99",
              "reason": "bought together with what you viewed " * 3,
              "image": f"https://shop.example/images/S{i}",
              "buttons": [{"title": "Tell me more about it please",
                           "payload": f'/ask_details{{"product": "S{i}"}}'}]}
             for i in range(12)]
    messages = render([{"text": "Picks for you"}, {"custom": {"type": "product_cards",
                                                              "cards": cards}}])
    assert messages[0] == {"text": "Picks for you"}
    carousels = [m["attachment"]["payload"]["elements"] for m in messages[1:]]
    assert [len(c) for c in carousels] == [10, 2]
    for element in carousels[0] + carousels[1]:
        assert len(element["title"]) <= 80 and len(element["subtitle"]) <= 80
        assert element["image_url"].startswith("https://")
        assert element["buttons"][0]["type"] == "postback"
        assert len(element["buttons"][0]["title"]) <= 20
    assert carousels[1][1]["buttons"][0]["payload"] == '/ask_details{"product": "S11"}'
    agent = render([{"text": "On it.", "author": "Ann"}])
    assert agent == [{"text": "Ann: On it."}]


def test_the_cdn_hosts_are_matched_as_domains() -> None:
    hosts = ("fbcdn.net", "fbsbx.com")
    assert allowed_host("scontent.xx.fbcdn.net", hosts)
    assert allowed_host("cdn.fbsbx.com.", hosts)
    for host in ("fbcdn.net.evil.com", "evilfbcdn.net", "example.com"):
        assert not allowed_host(host, hosts)


PRIVATE = "scontent.fbcdn.net resolves to a private address"


@pytest.mark.parametrize("url,addresses,hosts,refusal", [
    ("https://scontent.fbcdn.net/a.jpg", ["127.0.0.1"], (), PRIVATE),
    ("https://scontent.fbcdn.net/a.jpg", ["93.184.216.34", "10.1.2.3"], (), PRIVATE),
    ("https://scontent.fbcdn.net/a.jpg", ["fe80::1"], (), PRIVATE),
    ("https://scontent.fbcdn.net/a.jpg", ["169.254.169.254"], (), PRIVATE),
    ("https://scontent.fbcdn.net/a.jpg", ["224.0.0.251"], (), PRIVATE),   # multicast
    ("https://scontent.fbcdn.net/a.jpg", ["4000::1"], (), PRIVATE),       # reserved
    ("https://scontent.fbcdn.net/a.jpg", [], (), PRIVATE),
    ("http://scontent.fbcdn.net/a.jpg", ["93.184.216.34"], (), "only https URLs are fetched"),
    ("https://user:pw@scontent.fbcdn.net/a.jpg", ["93.184.216.34"], (),
     "URLs with credentials are refused"),
    ("https://user@scontent.fbcdn.net/a.jpg", ["93.184.216.34"], (),
     "URLs with credentials are refused"),
    ("https://other.example/a.jpg", ["93.184.216.34"], (),
     "other.example is not one of Meta's CDN hosts"),
    # an address the allow-list would let through is still no host name
    ("https://93.184.216.34/a.jpg", ["93.184.216.34"], ("93.184.216.34",),
     "an address, not a CDN host name"),
])
def test_attachments_are_fetched_from_public_cdn_addresses_only(
        url: str, addresses: list[str], hosts: tuple[str, ...], refusal: str) -> None:
    """Each refusal for its own reason: deleting one check lets its case through to
    another refusal (or a download), which the reason tells apart."""
    async def resolve(host: str, port: int) -> list[str]:
        return addresses

    with pytest.raises(AttachmentRefused, match=f"^{re.escape(refusal)}$"):
        asyncio.run(fetch_attachment(url, hosts=("fbcdn.net", *hosts), limit=1000, timeout=2,
                                     resolve=resolve))


def test_the_host_and_port_of_the_url_are_the_ones_resolved() -> None:
    asked: list[tuple[str, int]] = []

    async def resolve(host: str, port: int) -> list[str]:
        asked.append((host, port))
        return ["10.0.0.1"]

    for url in ("https://scontent.fbcdn.net/a.jpg", "https://scontent.fbcdn.net:8443/a.jpg"):
        with pytest.raises(AttachmentRefused, match=f"^{PRIVATE}$"):
            asyncio.run(fetch_attachment(url, hosts=("fbcdn.net",), limit=10, timeout=1,
                                         resolve=resolve))
    assert asked == [("scontent.fbcdn.net", 443), ("scontent.fbcdn.net", 8443)]


def test_the_system_resolver_is_asked_by_default() -> None:
    """Without a resolver given, the host is looked up (here: ``localhost``, from
    /etc/hosts) and its loopback address refused."""
    with pytest.raises(AttachmentRefused, match="^localhost resolves to a private address$"):
        asyncio.run(fetch_attachment("https://localhost/a.jpg", hosts=("localhost",),
                                     limit=10, timeout=1))


def test_the_download_goes_to_the_checked_address_under_the_cdn_s_name(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The connection is made to the address that was checked (a second lookup never
    decides where it goes), and TLS is asked for the CDN's host name (SNI), so the
    certificate is checked against that name. Here the "CDN" is a listener on
    127.0.0.1 (let through as public for this test) that reads the TLS greeting and
    hangs up: the download fails, after the right connection."""
    from bot.channels import graph_api

    monkeypatch.setattr(graph_api, "_public", lambda address: True)
    greetings: list[bytes] = []

    async def go() -> str:
        async def greeted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            greetings.append(await reader.read(4096))
            writer.close()

        server = await asyncio.start_server(greeted, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]

        async def resolve(host: str, found_port: int) -> list[str]:
            return ["127.0.0.1"]
        try:
            with pytest.raises(AttachmentRefused) as failed:
                await fetch_attachment(f"https://scontent.fbcdn.net:{port}/a.jpg",
                                       hosts=("fbcdn.net",), limit=10, timeout=5,
                                       resolve=resolve)
            return str(failed.value)
        finally:
            server.close()
            await server.wait_closed()

    refusal = asyncio.run(go())
    assert refusal.startswith("download failed (")
    assert len(greetings) == 1
    assert greetings[0][:1] == b"\x16"  # a TLS handshake record ...
    assert b"scontent.fbcdn.net" in greetings[0]  # ... naming the CDN host


def test_the_download_connects_to_the_checked_address_only() -> None:
    """The pinned resolver answers the address that was checked, for that host alone: a
    second lookup (DNS rebinding) never decides where the download goes."""
    from bot.channels.graph_api import _Pinned

    pinned = _Pinned("scontent.fbcdn.net", "93.184.216.34")
    answer = asyncio.run(pinned.resolve("scontent.fbcdn.net", 443))
    assert [(a["host"], a["port"]) for a in answer] == [("93.184.216.34", 443)]
    with pytest.raises(OSError, match="^unexpected host evil.example$"):
        asyncio.run(pinned.resolve("evil.example", 443))
    six = _Pinned("scontent.fbcdn.net", "2a03:2880:f003:c07:face:b00c::2")
    assert asyncio.run(six.resolve("scontent.fbcdn.net", 443))[0]["family"] == socket.AF_INET6


def test_messenger_is_off_by_default_and_checks_its_settings() -> None:
    assert not load_settings({}).messenger.enabled
    good = {"MESSENGER_APP_SECRET": SECRET, "MESSENGER_PAGE_TOKEN": "t",
            "MESSENGER_VERIFY_TOKEN": "v" * 16}
    assert load_settings(good).messenger.enabled
    for bad in ({"MESSENGER_APP_SECRET": SECRET}, {**good, "MESSENGER_VERIFY_TOKEN": "short"},
                {**good, "MESSENGER_API_VERSION": "latest"},
                {**good, "MESSENGER_HANDOFF": "inbox"},
                {**good, "MESSENGER_TEST_CDN_ORIGIN": "http://127.0.0.1:9/cdn"}):
        with pytest.raises(SettingsError):
            load_settings(bad)


# --- Meta's door, shared by Messenger and WhatsApp: each refusal with its reason ----------


def _signed(body: bytes) -> str:
    return "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


def test_the_webhook_verification() -> None:
    from bot.channels.meta import verify_subscription

    ok = {"hub.mode": "subscribe", "hub.verify_token": "verify-me", "hub.challenge": "42"}
    assert verify_subscription(ok, "verify-me") == (200, "42")
    assert verify_subscription({**ok, "hub.challenge": "c" * 256}, "verify-me") \
        == (200, "c" * 256)
    assert verify_subscription({**ok, "hub.challenge": "7"}, "verify-me") == (200, "7")
    assert verify_subscription(ok, None) == (404, "this channel is not configured on this "
                                                  "server")
    assert verify_subscription(ok, "") [0] == 404
    for bad in ({**ok, "hub.mode": "unsubscribe"}, {**ok, "hub.verify_token": "verify-mE"},
                {**ok, "hub.challenge": ""}, {**ok, "hub.challenge": "c" * 257},
                {k: v for k, v in ok.items() if k != "hub.verify_token"},
                {k: v for k, v in ok.items() if k != "hub.challenge"}):
        assert verify_subscription(bad, "verify-me") == (403, "verification refused"), bad


def test_a_delivery_is_checked_before_it_is_read() -> None:
    from bot.channels.checks import BadRequest
    from bot.channels.meta import read_delivery

    def read(body: bytes, signature: str | None = None, limit: int = 1000,
             kind: str = "page") -> object:
        return read_delivery(body, _signed(body) if signature is None else signature,
                             secret=SECRET, limit=limit, kind=kind)

    def refusal(body: bytes, **options: object) -> tuple[int, str]:
        with pytest.raises(BadRequest) as refused:
            read(body, **options)  # type: ignore[arg-type]
        return refused.value.status, str(refused.value)

    page = b'{"object": "page", "entry": []}'
    assert read(page, limit=len(page)) == {"object": "page", "entry": []}
    assert refusal(page, limit=len(page) - 1) == (413, "delivery too large")
    assert refusal(page, signature="") == (403, "missing or wrong X-Hub-Signature-256")
    deep = b'{"object": "page", "entry": [' + b"[" * 20 + b"]" * 20 + b"]}"
    for body in (b"{", b"\xff", deep):
        assert refusal(body) == (400, "not a delivery (JSON)"), body

    def extra(x: str) -> bytes:
        return b'{"object": "page", "entry": [], "x": ' + x.encode() + b"}"

    # sixteen levels of nesting and 20,000 fields and items in all, not one more
    assert read(extra("[" * 15 + "]" * 15))["x"]
    assert refusal(extra("[" * 16 + "]" * 16)) == (400, "not a delivery (JSON)")
    assert len(read(extra(json.dumps([0] * 19_997)), limit=10**6)["x"]) == 19_997
    assert refusal(extra(json.dumps([0] * 19_998)), limit=10**6) == (
        400, "not a delivery (JSON)")
    for body in (b"[]", b'{"object": "user", "entry": []}', b'{"object": "page"}',
                 b'{"object": "page", "entry": {}}'):
        assert refusal(body) == (400, "not a page delivery"), body
    assert refusal(page, kind="whatsapp_business_account") == (
        400, "not a whatsapp_business_account delivery")


def test_texts_are_cut_on_one_line_and_split_where_they_break() -> None:
    from bot.channels.meta import cut, lang_of, signed_text, split_text

    assert cut("a  b\nc", 10) == "a b c"
    assert cut("abcdefghij", 10) == "abcdefghij" and cut("abcdefghijk", 10) == "abcdefghi…"
    assert lang_of("有没有跑鞋") == "zh" and lang_of("12345") == "en"
    assert signed_text({"text": " hi ", "author": "Ann"}) == "Ann: hi"
    assert signed_text({"text": "", "author": "Ann"}) == ""
    # at a line end when it is in the second half, else at a space, else hard
    assert split_text("aaaa\nbbbbbb", 8) == ["aaaa", "bbbbbb"]
    assert split_text("aa\nbbbb cc", 8) == ["aa\nbbbb", "cc"]
    assert split_text("a\nbbbbbbbbbb", 8) == ["a\nbbbbbb", "bbbb"]
    assert split_text("abcdefgh", 8) == ["abcdefgh"] and split_text("  ", 8) == []
    assert split_text("abcd efg", 8) == ["abcd efg"]  # exactly the limit: one part
    # the last line end (or space) within the limit, not the first
    assert split_text("aa\nbbbbb\nccc", 10) == ["aa\nbbbbb", "ccc"]
    assert split_text("aaaaaa bb cc", 11) == ["aaaaaa bb", "cc"]
    # "the second half" of an odd limit starts at its floor half
    assert split_text("aaaa\nbbbbbbb", 9) == ["aaaa", "bbbbbbb"]
    assert split_text("aaaa bbbbbbb", 9) == ["aaaa", "bbbbbbb"]
    # a line end in the first half gives way to a space in the second ...
    assert split_text("aaaa\nbbbbb ccc", 12) == ["aaaa\nbbbbb", "ccc"]
    # ... and a space in the first half to a hard cut
    assert split_text("aaaa bbbbbbbbbb", 12) == ["aaaa bbbbbbb", "bbb"]
