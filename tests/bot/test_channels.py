"""The shared channel seam (bot/channels/checks.py, gate.py, media.py, sending.py)
and the tracker-store guard.

Each numbered finding of issue 18 that the Rasa process owns has a case here;
the end-to-end tests (tests/e2e/test_security.py) repeat them through the real
servers.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging

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
