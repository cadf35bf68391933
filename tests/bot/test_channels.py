"""The shared channel seam (bot/channels/checks.py, gate.py, media.py, sending.py)
and the tracker-store guard.

Each numbered finding of issue 18 that the Rasa process owns has a case here;
the end-to-end tests (tests/e2e/test_security.py) repeat them through the real
servers.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import io
import json
import logging
from types import SimpleNamespace

import pytest
from PIL import Image

from bot import patches
from bot.channels.checks import BadRequest, Throttled, check_id, clean_text, parse_json_object
from bot.channels.gate import VERIFIED, ChannelGate, RateLimiter, polite
from bot.channels.internal_api import public
from bot.channels.media import MediaIntake, photo_message
from bot.channels.pipeline import deliver
from bot.settings import ChannelSettings, SettingsError, load_settings
from shop.identity import signed_metadata

SECRET = "test-secret-0123456789abcdef"
SETTINGS = ChannelSettings(customer_id_secret=SECRET, channel_secret="k" * 32,
                           messages_per_sender=3, messages_per_ip=5, messages_per_customer=4)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def gate(settings: ChannelSettings = SETTINGS) -> tuple[ChannelGate, Clock]:
    clock = Clock()
    return ChannelGate(settings, RateLimiter(clock=clock)), clock


# --- finding 1: no input can stop a process --------------------------------------------------


@pytest.mark.parametrize(("body", "status"), [
    (b'{"sender": "x\\ud800", "message": "hi"}', 400),       # the one that killed the server
    (b'{"sender": "x", "message": "hi \\udfff"}', 400),      # the empty reply
    (b'{"sender": "x", "message": "hi", "metadata": {"\\ud83d": 1}}', 400),
    (b"[" * 50_000 + b"]" * 50_000, 400),                    # RecursionError in json
    (json.dumps({"message": "x", "metadata": {"a": [[[[[[[[[[1]]]]]]]]]]}}).encode(), 400),
    (json.dumps({"message": "x", "metadata": {str(i): i for i in range(300)}}).encode(), 400),
    (b"\xff\xfe{}", 400),
    (b"{bad", 400),
    (b"[1]", 400),
    (json.dumps({"message": "x" * 300_000}).encode(), 413),
])
def test_bodies_that_cannot_be_stored_are_a_4xx(body: bytes, status: int) -> None:
    with pytest.raises(BadRequest) as refused:
        payload = parse_json_object(body, SETTINGS)
        gate()[0].admit(sender=payload.get("sender", "s"), text=payload.get("message"),
                        metadata=payload.get("metadata"), address="1.2.3.4", channel="rest")
    assert refused.value.status == status


@pytest.mark.parametrize("sender", ["", " ", "a" * 129, "x\u0000", "x\u202e", "a\nb", [1], None,
                                    True, "x\ud800"])
def test_bad_conversation_ids(sender: object) -> None:
    with pytest.raises(BadRequest):
        check_id(sender, "sender", SETTINGS)


def test_good_ids_and_text() -> None:
    assert check_id(42, "sender", SETTINGS) == "42"
    assert check_id("用户-1 ünï", "sender", SETTINGS) == "用户-1 ünï"
    assert len(clean_text("a" * 100_000, 1000)) == 1000
    assert clean_text("\u202eabc\u0000def\u200d", 1000) == "abcdef"


class Exiting:
    """Rasa's SQL tracker store called sys.exit on an encoding error."""

    async def __call__(self, message: object) -> None:
        raise SystemExit(1)


async def _failing(message: object) -> None:
    raise RuntimeError("boom: secret text of the customer")


def test_nothing_raised_while_handling_a_message_leaves_the_channel(caplog) -> None:
    caplog.set_level(logging.ERROR)
    assert asyncio.run(deliver(Exiting(), "hello", sender="conv")) is False
    assert asyncio.run(deliver(_failing, "hello", sender="conv")) is False
    assert "SystemExit" in caplog.text and "RuntimeError" in caplog.text
    assert "secret text" not in caplog.text  # the error's message can quote the customer


def test_a_tracker_the_database_cannot_store_is_one_failed_turn(tmp_path) -> None:
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    patches.apply()
    store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(tmp_path / "t.db"))
    bad = DialogueStateTracker.from_events("x\ud800", [UserUttered("hi")])
    with pytest.raises(patches.TrackerStoreError):
        asyncio.run(store.save(bad))
    good = DialogueStateTracker.from_events("x", [UserUttered("hi")])
    asyncio.run(store.save(good))  # the store still works
    assert asyncio.run(store.retrieve("x")) is not None


# --- finding 2: identity by proof only --------------------------------------------------------


def admit(g: ChannelGate, sender: str = "conv-1", text: str = "hi", metadata: object = None,
          address: str = "10.0.0.1") -> object:
    return g.admit(sender=sender, text=text, metadata=metadata, address=address, channel="rest")


def test_an_unsigned_customer_id_is_refused_even_without_a_secret() -> None:
    no_secret, _ = gate(ChannelSettings(channel_secret="k" * 32))
    for g in (no_secret, gate()[0]):
        with pytest.raises(BadRequest) as refused:
            admit(g, metadata={"customer_id": "C10002"})
        assert refused.value.status == 401


def test_a_signature_is_bound_to_its_conversation() -> None:
    g, _ = gate()
    victim = signed_metadata(SECRET, "C10002", "victim-conv")
    message = admit(g, sender="victim-conv", metadata=victim)
    assert message.customer_id == "C10002"
    assert message.metadata[VERIFIED]["customer_id"] == "C10002"
    assert "customer_sig" not in message.metadata
    with pytest.raises(BadRequest) as replayed:
        admit(g, sender="attacker-conv", metadata=victim)
    assert replayed.value.status == 401
    expired = signed_metadata(SECRET, "C10002", "victim-conv", ttl=-5)
    with pytest.raises(BadRequest, match="expired"):
        admit(g, sender="victim-conv", metadata=expired)


def test_a_client_cannot_write_the_verified_key() -> None:
    g, _ = gate()
    message = admit(g, metadata={VERIFIED: {"customer_id": "C10002"}, "page": "/cart"})
    assert message.metadata[VERIFIED]["customer_id"] is None
    assert message.metadata["page"] == "/cart"
    assert message.metadata[VERIFIED]["client"] and "10.0.0.1" not in json.dumps(message.metadata)


# --- finding 5: limits --------------------------------------------------------------------


def test_limits_per_conversation_address_and_customer_with_a_polite_answer() -> None:
    g, clock = gate()
    for _ in range(3):
        admit(g, sender="a")
    with pytest.raises(Throttled) as too_fast:
        admit(g, sender="a")
    assert too_fast.value.scope == "conversation" and 1 <= too_fast.value.retry_after <= 60
    admit(g, sender="b", address="10.0.0.1")  # the address's 5th request (the refused one counts)
    with pytest.raises(Throttled) as per_ip:  # 5 a minute from one address, any conversation
        admit(g, sender="c", address="10.0.0.1")
    assert per_ip.value.scope == "ip"
    admit(g, sender="d", address="10.0.0.2")
    clock.now += 61
    admit(g, sender="a")  # a minute later the conversation may write again
    # per customer, whichever conversation or address they write from
    for n in range(4):
        admit(g, sender=f"k{n}", address=f"10.1.0.{n}",
              metadata=signed_metadata(SECRET, "C7", f"k{n}"))
    with pytest.raises(Throttled) as per_customer:
        admit(g, sender="k9", address="10.1.0.9", metadata=signed_metadata(SECRET, "C7", "k9"))
    assert per_customer.value.scope == "customer"
    assert "wait" in polite("rate_limited", "hello") and "稍" in polite("rate_limited", "你好")


def test_guessing_signatures_is_throttled_like_any_message() -> None:
    g, _ = gate()
    forged = {"customer_id": "C1", "customer_expires": 4_102_444_800, "customer_sig": "0" * 64}
    for n in range(5):
        with pytest.raises(BadRequest):
            admit(g, sender=f"guess-{n}", metadata=forged, address="10.9.9.9")
    with pytest.raises(Throttled):
        admit(g, sender="guess-5", metadata=forged, address="10.9.9.9")


def test_the_limiter_forgets_the_oldest_keys_first() -> None:
    limiter = RateLimiter(max_keys=3, clock=Clock())
    for key in "abcd":
        limiter.hit(key, limit=1, window=60)
    limiter.hit("a", limit=1, window=60)  # "a" was dropped to keep 3 keys
    with pytest.raises(Throttled):
        limiter.hit("d", limit=1, window=60)


# --- finding 7: photos are bound to their conversation -----------------------------------------


def test_a_media_id_works_only_in_the_conversation_that_uploaded_it(tmp_path) -> None:
    settings = ChannelSettings(media_dir=tmp_path, channel_secret="k" * 32, uploads_per_ip=50,
                               uploads_per_sender=2)
    media = MediaIntake(settings, RateLimiter())
    png = io.BytesIO()
    Image.new("RGB", (64, 48), "orange").save(png, "PNG")
    ref, bound = media.put(png.getvalue(), sender="a")
    assert media.resolve(bound, sender="a") == ref.media_id
    for other, sender in ((bound, "b"), (ref.media_id, "a"), ("0" * 64 + ".x", "a"),
                          ("../x.y", "a"), (42, "a")):
        with pytest.raises(BadRequest, match="upload"):
            media.resolve(other, sender=sender)
    media.admit(sender="a", client="c1", channel="rest")
    media.admit(sender="a", client="c1", channel="rest")
    with pytest.raises(Throttled):
        media.admit(sender="a", client="c1", channel="rest")


def test_photos_shared_in_a_database_survive_it_being_away(tmp_path, monkeypatch) -> None:
    """Scaled mode (``MEDIA_DB_URL``): a photo stored by one server is another server's
    too; with the database away, an upload is refused as unavailable (the route says
    503 and "try again in a minute") and a photo id this conversation was given is
    still taken at its signature, without asking the database on the event loop (the
    action, off the loop, then says photo search is busy)."""
    from vision.errors import MediaUnavailable

    png = io.BytesIO()
    Image.new("RGB", (64, 48), "teal").save(png, "PNG")
    shared = ChannelSettings(media_dir=tmp_path / "unused", channel_secret="k" * 32,
                             media_db_url=f"sqlite:///{tmp_path / 'media.db'}")
    one, other = MediaIntake(shared, RateLimiter()), MediaIntake(shared, RateLimiter())
    ref, bound = one.put(png.getvalue(), sender="a")
    assert other.resolve(bound, sender="a") == ref.media_id
    assert other.store.get(ref.media_id) == png.getvalue()
    assert not (tmp_path / "unused").exists()

    away = MediaIntake(ChannelSettings(
        media_dir=tmp_path, channel_secret="k" * 32,
        media_db_url="postgresql+psycopg2://postgres@127.0.0.1:9/away"), RateLimiter())
    with pytest.raises(MediaUnavailable):
        away.put(png.getvalue(), sender="a")
    asked = []
    monkeypatch.setattr(type(away.store), "__contains__",
                        lambda self, key: asked.append(key))
    assert away.resolve(bound, sender="a") == ref.media_id
    assert asked == [], "the database was asked on the event loop"
    with pytest.raises(BadRequest):
        away.resolve(ref.media_id + ".forged", sender="a")


def test_a_message_with_a_photo_becomes_the_share_image_intent() -> None:
    g, _ = gate()
    for caption, trigger in (("", "/share_image"), ("这个有卖吗", '/share_image{"language": "zh"}'),
                             ("do you sell this?", '/share_image{"language": "en"}')):
        message = photo_message(admit(g, sender=f"p{len(caption)}", text=caption,
                                      address=caption), "abc")
        assert message.text == trigger
        assert message.metadata["image"] == "abc" and message.metadata["caption"] == caption
    # no caption: the chat window's language; a caption's own language wins over it
    bare = admit(g, sender="p-zh", text="", address="zh")
    bare.metadata["locale"] = "zh"
    assert photo_message(bare, "abc").text == '/share_image{"language": "zh"}'
    english = admit(g, sender="p-en", text="what is this?", address="en")
    english.metadata["locale"] = "zh"
    assert photo_message(english, "abc").text == '/share_image{"language": "en"}'


# --- finding 4: Rasa's API is not on the public port ------------------------------------------


@pytest.mark.parametrize(("path", "allowed"), [
    ("/", True), ("/webhooks/rest/webhook", True), ("/webhooks/rest/media", True),
    ("/status", False), ("/conversations/x/tracker", False), ("/model/parse", False),
    ("/model", False), ("/version", False), ("/webhooks", False), ("/domain", False),
])
def test_only_channels_are_public(path: str, allowed: bool) -> None:
    assert public(path) is allowed


def test_settings_are_checked() -> None:
    assert load_settings({}).customer_id_secret is None
    with pytest.raises(SettingsError, match="CUSTOMER_ID_SECRET"):
        load_settings({"CUSTOMER_ID_SECRET": "short"})
    with pytest.raises(SettingsError, match="LIMIT_MESSAGES_PER_SENDER"):
        load_settings({"LIMIT_MESSAGES_PER_SENDER": "0"})
    # benchmarks and the shared e2e stack turn limits off with very high values
    assert load_settings({"LIMIT_MESSAGES_PER_SENDER": "1000000",
                          "LIMIT_MESSAGES_PER_IP": "1000000"}).messages_per_sender == 10**6


def test_a_platform_message_through_the_shared_gate(monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path,  # type: ignore[no-untyped-def]
                                                    caplog: pytest.LogCaptureFixture) -> None:
    """WeChat's and Messenger's door (gate.admit_platform): the linked customer comes from
    the shop's links, never from the message; the limits per conversation, per customer
    and on photos answer politely in the customer's language; a malformed user is
    refused without an answer."""
    from bot.channels import gate as gate_module
    from bot.channels import links, media
    from bot.settings import settings as process_settings

    for key, value in {"SHOP_DATA_DIR": str(tmp_path), "LIMIT_MESSAGES_PER_SENDER": "2",
                       "LIMIT_MESSAGES_PER_CUSTOMER": "3", "LIMIT_UPLOADS_PER_SENDER": "1",
                       "LIMIT_UPLOADS_PER_IP": "1", "CUSTOMER_ID_SECRET": SECRET}.items():
        monkeypatch.setenv(key, value)
    caches = (process_settings, gate_module.shared_gate, links.shared_links,
              media.shared_media)
    for cache in caches:
        cache.cache_clear()
    try:
        links.shared_links().link("wechat", "oLinked", "C10001")

        def admit(user: str, text: str = "hi", *, photo: bool = False, lang: str = "en",
                  metadata: dict[str, object] | None = None, channel: str = "wechat"
                  ) -> object:
            return asyncio.run(gate_module.admit_platform(
                channel=channel, user=user, text=text, said=text, lang=lang,
                metadata=dict(metadata or {}), photo=photo))

        first = admit("oLinked", metadata={"customer_id": "C99999", "customer_sig": "x"})
        assert first.customer_id == "C10001"  # type: ignore[union-attr]
        verified = first.metadata[VERIFIED]  # type: ignore[union-attr]
        assert (verified["customer_id"], verified["channel"]) == ("C10001", "wechat")
        assert "customer_sig" not in first.metadata  # type: ignore[union-attr]
        assert admit("oLinked").customer_id == "C10001"  # type: ignore[union-attr]
        assert admit("oLinked", "慢一点") == polite("rate_limited", "慢一点")  # 3rd a minute
        assert admit("oOther", "", lang="zh", photo=True).customer_id is None  # type: ignore[union-attr]
        assert admit("oOther", "", lang="zh", photo=True) == polite("rate_limited", "你好")
        assert admit("oThird", "", lang="en", photo=False).text == ""  # type: ignore[union-attr]
        # the photo quota is each conversation's (every platform photo comes from the
        # platform's servers, so not per address): another user, or the same id on
        # another platform, has its own
        assert admit("oFourth", "", photo=True).customer_id is None  # type: ignore[union-attr]
        assert admit("oOther", "", photo=True, channel="messenger").text == ""  # type: ignore[union-attr]
        assert admit("oFourth", "", lang="en", photo=True) == polite("rate_limited", "hi")
        # what the channel says about the message reaches Rasa
        tapped = admit("oFifth", "Red shoes", metadata={"tapped": "Red shoes"})
        assert tapped.metadata["tapped"] == "Red shoes"  # type: ignore[union-attr]
        with caplog.at_level(logging.INFO, logger="bot.channels.gate"):
            assert admit("bad sender\n") is None
        assert [r.getMessage() for r in caplog.records] == [
            'wechat message refused: "sender" must not contain control or invisible '
            'characters']
    finally:
        for cache in caches:
            cache.cache_clear()


def test_every_input_check_at_its_edge_says_why() -> None:
    """The door's checks, each exactly at its limit and one past it, with the reason a
    client gets back (read by people integrating the shop)."""
    from bot.channels.checks import check_storable, headers_for

    def refusal(call) -> tuple[int, str]:  # type: ignore[no-untyped-def]
        with pytest.raises(BadRequest) as refused:
            call()
        return refused.value.status, str(refused.value)

    check_storable([[["deep enough"]]], max_depth=3, max_items=10)
    assert refusal(lambda: check_storable([[[["too deep"]]]], max_depth=3, max_items=10)) \
        == (400, "the request is nested deeper than 3 levels")
    check_storable({"a": [1, 2], "b": {"c": 3}}, max_depth=5, max_items=5)  # 2 + 2 + 1 items
    assert refusal(lambda: check_storable({"a": [1, 2, 3], "b": {"c": 3}}, max_depth=5,
                                          max_items=5)) \
        == (400, "the request has more than 5 fields and items")
    for odd in ({"k\ud800": 1}, {"k": ["v\udc00"]}, "x\ud800"):
        assert refusal(lambda odd=odd: check_storable(odd, max_depth=5, max_items=5)) \
            == (400, "the request contains invalid Unicode (a lone surrogate)")
    check_storable({"n": 1, "f": 1.5, "b": True, "z": None}, max_depth=1, max_items=4)
    small = ChannelSettings(customer_id_secret=SECRET, channel_secret="k" * 32,
                            max_body_bytes=20, max_metadata_depth=2, max_metadata_items=3)
    assert parse_json_object(b'{"a": [1, 2]}', small) == {"a": [1, 2]}
    assert parse_json_object(b'{"a": "' + b"x" * 11 + b'"}', small) == {"a": "x" * 11}  # 20
    assert refusal(lambda: parse_json_object(b'{"a": "' + b"x" * 12 + b'"}', small)) \
        == (413, "request body is larger than 20 bytes")
    for body in (None, b"", b"{", b"\xff"):
        assert refusal(lambda body=body: parse_json_object(body, small)) \
            == (400, "request body is not valid JSON (UTF-8)")
    assert refusal(lambda: parse_json_object(b"[1]", small)) \
        == (400, "request body must be a JSON object")
    assert refusal(lambda: parse_json_object(b'{"a": [[1]]}', small)) \
        == (400, "the request is nested deeper than 2 levels")
    deep = ChannelSettings(customer_id_secret=SECRET, channel_secret="k" * 32,
                           max_body_bytes=10**7)
    assert refusal(lambda: parse_json_object(b"[" * 100_000 + b"]" * 100_000, deep)) \
        == (400, "the request is nested too deeply")
    assert check_id(42, "sender", SETTINGS) == "42"
    assert refusal(lambda: check_id(True, "sender", SETTINGS))[0] == 400
    limit = SETTINGS.max_id_chars
    assert check_id("x" * limit, "sender", SETTINGS) == "x" * limit
    assert refusal(lambda: check_id("x" * (limit + 1), "sender", SETTINGS)) == (
        400, f'"sender" must be a non-empty string of at most {limit} characters')
    assert refusal(lambda: check_id("a\u200bb", "sender", SETTINGS)) == (
        400, '"sender" must not contain control or invisible characters')
    assert refusal(lambda: check_id("a\ud800", "user", SETTINGS)) == (
        400, '"user" contains invalid Unicode (a lone surrogate)')
    assert headers_for() == {
        "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store",
        "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
        "Referrer-Policy": "no-referrer"}
    assert headers_for({"Retry-After": "3"})["Retry-After"] == "3"
    assert Throttled("ip", 2.2).retry_after == 3 and Throttled("ip", 0).retry_after == 1
    assert str(Throttled("conversation", 5)) == "limit reached (conversation)"


# --- the gate, at its edges ---------------------------------------------------------------


def test_the_gate_says_what_is_wrong_and_keeps_what_is_right() -> None:
    g, _ = gate()
    with pytest.raises(BadRequest, match='^"sender" must be a non-empty string of at most '):
        admit(g, sender="")
    with pytest.raises(BadRequest, match='^"message" must be a string$'):
        g.admit(sender="s", text=5, metadata=None, address="10.0.0.1", channel="rest")
    with pytest.raises(BadRequest, match='^"metadata" must be a JSON object$'):
        admit(g, metadata=["page"])
    too_deep: dict[str, object] = {}
    node = too_deep
    for _ in range(SETTINGS.max_metadata_depth):
        node["x"] = {}
        node = node["x"]  # type: ignore[assignment]
    with pytest.raises(BadRequest, match="^the request is nested deeper than"):
        admit(g, metadata=too_deep)
    message = admit(g, sender="conv-7", text="a" * 1500)
    assert message.sender == "conv-7"
    assert message.text == "a" * SETTINGS.max_message_chars


def test_what_the_customer_tapped_is_said_by_platforms_only() -> None:
    """``tapped`` (the title of the button a customer tapped) is written by a platform's
    channel; a web client that sends it is not believed."""
    g, _ = gate()
    web = admit(g, metadata={"tapped": "Gift card $500", "page": "/cart"})
    assert "tapped" not in web.metadata and web.metadata["page"] == "/cart"
    platform = g.admit(sender="oUser", text="Red shoes", metadata={"tapped": "Red shoes"},
                       address=None, channel="wechat", platform=True, customer_id="C1")
    assert platform.metadata["tapped"] == "Red shoes" and platform.customer_id == "C1"


def test_a_client_is_known_by_a_keyed_pseudonym_only() -> None:
    g, _ = gate()

    def pseudonym(address: str) -> str:
        return hmac.new(SETTINGS.channel_secret.encode(), address.encode(),
                        hashlib.sha256).hexdigest()[:16]

    assert g.client("203.0.113.5") == pseudonym("203.0.113.5")
    assert g.client(None) == g.client("") == pseudonym("-")  # no address: one pseudonym


def test_each_limit_s_minute_is_sixty_seconds() -> None:
    g, clock = gate()
    for n in range(5):
        admit(g, sender=f"s{n}", address="10.0.0.9")
    with pytest.raises(Throttled) as per_ip:
        admit(g, sender="s5", address="10.0.0.9")
    assert (per_ip.value.scope, per_ip.value.retry_after) == ("ip", 60)
    clock.now += 60  # the first five are a minute old: they no longer count
    admit(g, sender="s6", address="10.0.0.9")
    for n in range(4):
        admit(g, sender=f"k{n}", address=f"10.2.0.{n}",
              metadata=signed_metadata(SECRET, "C8", f"k{n}"))
    clock.now += 59
    with pytest.raises(Throttled) as per_customer:
        admit(g, sender="k5", address="10.2.0.5", metadata=signed_metadata(SECRET, "C8", "k5"))
    assert (per_customer.value.scope, per_customer.value.retry_after) == ("customer", 1)
    clock.now += 1
    admit(g, sender="k6", address="10.2.0.6", metadata=signed_metadata(SECRET, "C8", "k6"))


def test_the_limiter_keeps_as_many_keys_as_it_is_told() -> None:
    clock = Clock()
    limiter = RateLimiter(max_keys=2, clock=clock)
    limiter.hit("a", limit=1, window=60)
    limiter.hit("b", limit=1, window=60)
    with pytest.raises(Throttled):  # both remembered
        limiter.hit("a", limit=1, window=60)
    flood = RateLimiter(clock=clock)  # 100,000 keys by default
    for n in range(100_000):
        flood.hit(f"k{n}", limit=1, window=60)
    with pytest.raises(Throttled):
        flood.hit("k0", limit=1, window=60)  # the oldest is still there ...
    flood.hit("k100000", limit=1, window=60)
    flood.hit("k1", limit=1, window=60)  # ... until one more pushes out the least recent


def test_a_polite_answer_in_english_when_the_language_is_unknown() -> None:
    assert polite("rate_limited", "") == polite("rate_limited", "hello")
    assert polite("rate_limited", "👍👍") == polite("rate_limited", "hello")


def test_client_addresses_as_sanic_reports_them() -> None:
    from bot.channels.checks import client_address

    def request(remote_addr: str, ip: str) -> object:
        return SimpleNamespace(remote_addr=remote_addr, ip=ip)

    assert client_address(request("198.51.100.7", "10.0.0.2")) == "198.51.100.7"  # via proxy
    assert client_address(request("", "10.0.0.2")) == "10.0.0.2"
    assert client_address(request("", "")) == ""


def test_every_part_of_a_body_is_checked_whatever_comes_first() -> None:
    from bot.channels.checks import check_storable

    # a string is checked and the rest of the body still is: the last key is read first
    with pytest.raises(BadRequest, match="nested deeper"):
        check_storable({"deep": [[[[1]]]], "s": "x"}, max_depth=3, max_items=100)
    with pytest.raises(BadRequest,
                       match=r"^the request contains invalid Unicode \(a lone surrogate\)$"):
        check_storable({"bad": "x\ud800", "s": "x"}, max_depth=3, max_items=100)
