"""The Messenger channel's wire format (bot/channels/messenger.py, graph_api.py):
signatures, Meta's limits (cut or split, never dropped), and the attachment fetcher's
refusals."""

from __future__ import annotations

import asyncio
import hashlib
import hmac

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


@pytest.mark.parametrize("url,addresses,hosts,refusal", [
    ("https://scontent.fbcdn.net/a.jpg", ["127.0.0.1"], (), "private address"),
    ("https://scontent.fbcdn.net/a.jpg", ["93.184.216.34", "10.1.2.3"], (), "private address"),
    ("https://scontent.fbcdn.net/a.jpg", ["fe80::1"], (), "private address"),
    ("https://scontent.fbcdn.net/a.jpg", ["169.254.169.254"], (), "private address"),
    ("https://scontent.fbcdn.net/a.jpg", [], (), "private address"),
    ("http://scontent.fbcdn.net/a.jpg", ["93.184.216.34"], (), "only https"),
    ("https://user:pw@scontent.fbcdn.net/a.jpg", ["93.184.216.34"], (), "credentials"),
    ("https://other.example/a.jpg", ["93.184.216.34"], (), "not one of Meta's CDN hosts"),
    # an address the allow-list would let through is still no host name
    ("https://93.184.216.34/a.jpg", ["93.184.216.34"], ("93.184.216.34",), "an address"),
])
def test_attachments_are_fetched_from_public_cdn_addresses_only(
        url: str, addresses: list[str], hosts: tuple[str, ...], refusal: str) -> None:
    """Each refusal for its own reason: deleting one check lets its case through to
    another refusal (or a download), which the reason tells apart."""
    async def resolve(host: str, port: int) -> list[str]:
        return addresses

    with pytest.raises(AttachmentRefused, match=refusal):
        asyncio.run(fetch_attachment(url, hosts=("fbcdn.net", *hosts), limit=1000, timeout=2,
                                     resolve=resolve))


def test_the_download_connects_to_the_checked_address_only() -> None:
    """The pinned resolver answers the address that was checked, for that host alone: a
    second lookup (DNS rebinding) never decides where the download goes."""
    from bot.channels.graph_api import _Pinned

    pinned = _Pinned("scontent.fbcdn.net", "93.184.216.34")
    answer = asyncio.run(pinned.resolve("scontent.fbcdn.net", 443))
    assert [(a["host"], a["port"]) for a in answer] == [("93.184.216.34", 443)]
    with pytest.raises(OSError):
        asyncio.run(pinned.resolve("evil.example", 443))


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
