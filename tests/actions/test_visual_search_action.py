"""The photo action against a shop selling the Grocery Store catalog, photos indexed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from actions.constants import Intent, Response, Slot
from actions.visual_search import ActionVisualSearch
from tests.conftest import ROOT, make_tracker, run_action, slot_events, use_shop
from tests.knowledge_graph.test_grocery_store import GROCERY
from vision.media import MediaStore

pytestmark = pytest.mark.slow


@pytest.fixture()
def shop(grocery_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    yield from use_shop(grocery_env, monkeypatch)


def photo_message(settings: Any, data: bytes, lang: str = "en") -> Any:
    media_id = MediaStore(settings.media_dir).put(data).media_id
    return make_tracker("/share_image", intent=Intent.SHARE_IMAGE, metadata={"image": media_id},
                        slots={"language": lang})


def test_a_shelf_photo_gets_cards_for_its_product(shop: Any) -> None:
    photo = (GROCERY / "val" / "Fruit" / "Kiwi" / "Kiwi_001.jpg").read_bytes()
    messages, events = run_action(ActionVisualSearch(), photo_message(shop, photo))
    assert messages[0]["response"] in (Response.VISUAL_MATCHES, Response.VISUAL_UNSURE)
    assert messages[0]["custom"]["confident"] is (
        messages[0]["response"] == Response.VISUAL_MATCHES)
    cards = messages[0]["custom"]["cards"]
    assert messages[0]["custom"]["type"] == "product_cards" and 1 <= len(cards) <= 3
    assert "GS-" in cards[0]["sku"] and cards[0]["price"] == "price on request"
    assert cards[0]["buttons"][0]["payload"].startswith("/ask_details{")
    assert all(c["score"] >= 0 for c in cards)
    slots = slot_events(events)
    assert slots[Slot.SHOWN_PRODUCTS] == [c["sku"] for c in cards]
    assert slots[Slot.PRODUCT] == cards[0]["sku"]
    assert cards[0]["title"] == "Kiwi" and cards[0]["matched_image"]


def test_the_catalog_photo_itself_is_found_first_in_chinese(shop: Any) -> None:
    iconic = next((GROCERY / "iconic-images-and-descriptions" / "Fruit" / "Banana")
                  .glob("*_Iconic.jpg")).read_bytes()
    messages, _ = run_action(ActionVisualSearch(), photo_message(shop, iconic, "zh"))
    assert messages[0]["response"] == Response.VISUAL_MATCHES  # the very photo indexed
    cards = messages[0]["custom"]["cards"]
    assert cards[0]["title"] == "Banana" or "香蕉" in cards[0]["title"]
    assert cards[0]["price"] == "价格请咨询" and cards[0]["buttons"][0]["title"] == "了解详情"


def test_a_screenshot_is_answered_as_not_a_product_photo(shop: Any) -> None:
    from PIL import Image, ImageDraw

    from tests.vision.conftest import encode

    screenshot = Image.new("RGB", (800, 500), "white")
    draw = ImageDraw.Draw(screenshot)
    for line in range(15):
        draw.text((30, 20 + 30 * line), "Your invoice is attached. Thank you!", fill="black")
    messages, events = run_action(ActionVisualSearch(),
                                  photo_message(shop, encode(screenshot, "PNG")))
    assert [m["response"] for m in messages] == [Response.VISUAL_NOT_A_PHOTO] and events == []


def test_without_a_close_product_nothing_is_shown(shop: Any, monkeypatch: Any) -> None:
    from actions import services

    search = services.visual_search()
    index = search.current_index()
    assert index is not None
    monkeypatch.setattr(index, "floor", 0.999)  # a shop demanding near-identical photos
    monkeypatch.setattr(index, "threshold", 0.999)
    photo = (GROCERY / "val" / "Fruit" / "Kiwi" / "Kiwi_002.jpg").read_bytes()
    messages, events = run_action(ActionVisualSearch(), photo_message(shop, photo))
    assert [m["response"] for m in messages] == [Response.VISUAL_NONE] and events == []


def test_unknown_photo_ids_and_a_missing_index_get_polite_replies(
        shop: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    for metadata in ({"image": "0" * 64}, {"image": "../../etc/passwd"}, {}):
        tracker = make_tracker("/share_image", intent=Intent.SHARE_IMAGE, metadata=metadata)
        messages, _ = run_action(ActionVisualSearch(), tracker)
        assert messages[0]["response"] == Response.VISUAL_NO_PHOTO
    from actions import services, settings

    monkeypatch.setenv("VISION_DIR", str(tmp_path / "no-index"))
    settings.settings.cache_clear()
    services._visual.cache_clear()
    photo = next((GROCERY / "iconic-images-and-descriptions" / "Fruit" / "Kiwi")
                 .glob("*_Iconic.jpg")).read_bytes()
    messages, _ = run_action(ActionVisualSearch(), photo_message(settings.settings(), photo))
    assert messages[0]["response"] == Response.VISUAL_UNAVAILABLE


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_slow_photo_index_is_said_to_be_busy_at_once(shop: Any, monkeypatch: Any,
                                                        lang: str) -> None:
    """A photo lookup past its time limit: "photo search is busy, try again in a minute"
    instead of a wait; damaged photos never count against the index."""
    import time

    from actions import settings, visual_search
    from actions.resilience import breaker, reset_breakers

    monkeypatch.setenv("VISION_TIMEOUT_SECONDS", "0.3")
    monkeypatch.setenv("BREAKER_FAILURES", "2")
    settings.settings.cache_clear()
    reset_breakers()
    from vision.errors import ImageError

    class Refusing:  # a photo the index cannot read: the request's fault
        def lookup(self, *args: Any, **kwargs: Any) -> Any:
            raise ImageError("too_small", "the photo has too few pixels")

    photo = (GROCERY / "val" / "Fruit" / "Kiwi" / "Kiwi_001.jpg").read_bytes()
    monkeypatch.setattr(visual_search, "visual_search", lambda: Refusing())
    for _ in range(3):  # the customer is told, the index is not blamed
        messages, _ = run_action(ActionVisualSearch(), photo_message(shop, photo, lang))
        assert messages[0]["response"] == Response.VISUAL_BAD_PHOTO
    assert not breaker("visual_search").is_open

    class Stuck:
        def lookup(self, *args: Any, **kwargs: Any) -> Any:
            time.sleep(3)

    monkeypatch.setattr(visual_search, "visual_search", lambda: Stuck())
    started = time.monotonic()
    messages, events = run_action(ActionVisualSearch(), photo_message(shop, photo, lang))
    assert time.monotonic() - started < 2.0
    assert [m["response"] for m in messages] == [Response.VISUAL_BUSY] and events == []
    reset_breakers()
    settings.settings.cache_clear()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_photos_kept_in_a_database_that_is_away_are_said_to_be_busy(
        shop: Any, monkeypatch: pytest.MonkeyPatch, lang: str) -> None:
    """Scaled mode keeps photos in PostgreSQL (``MEDIA_DB_URL``): with it away, the
    customer hears "photo search is busy", in their language, within seconds; not a
    failed action."""
    import time

    from actions import services, settings

    monkeypatch.setenv("MEDIA_DB_URL", "postgresql+psycopg2://postgres@127.0.0.1:9/away")
    settings.settings.cache_clear()
    services._media.cache_clear()
    try:
        started = time.monotonic()
        messages, events = run_action(ActionVisualSearch(), make_tracker(
            "/share_image", intent=Intent.SHARE_IMAGE, metadata={"image": "0" * 64},
            slots={"language": lang}))
        assert [m["response"] for m in messages] == [Response.VISUAL_BUSY] and events == []
        assert time.monotonic() - started < 5
    finally:
        settings.settings.cache_clear()
        services._media.cache_clear()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_product_the_shop_does_not_sell_is_not_answered_as_a_match(shop: Any,
                                                                     lang: str) -> None:
    """A shopper's photo of a product the shop does not carry: "we don't seem to sell
    this", with the closest products labelled as alternatives (never as the product)."""
    import yaml

    from actions import services
    from actions.visual_search import ALTERNATIVE

    photo = (GROCERY / "val" / "Fruit" / "Kiwi" / "Kiwi_001.jpg").read_bytes()
    messages, _ = run_action(ActionVisualSearch(), photo_message(shop, photo, lang))
    kiwi = messages[0]["custom"]["cards"][0]["sku"]  # sold: the kiwi is found first
    index = services.visual_search().current_index()
    assert index is not None
    products, images, raw = index.raw_vectors()
    kept = [i for i, p in enumerate(products) if p == kiwi]
    index.remove(products=[kiwi])  # the shop stops selling kiwis
    try:
        messages, events = run_action(ActionVisualSearch(), photo_message(shop, photo, lang))
    finally:
        index.add([products[i] for i in kept], [images[i] for i in kept], raw[kept])
    answer = messages[0]
    assert answer["response"] in (Response.VISUAL_UNSURE, Response.VISUAL_NONE)
    if answer["response"] == Response.VISUAL_UNSURE:
        cards = answer["custom"]["cards"]
        assert cards and kiwi not in {c["sku"] for c in cards}
        assert all(c["alternative"] and c["reason"] == ALTERNATIVE[lang] for c in cards)
        assert answer["custom"]["confident"] is False
    texts = yaml.safe_load((ROOT / "bot" / "domain.yml").read_text("utf-8"))["responses"]
    said = {lang_text for variant in texts[answer["response"]]
            for lang_text in [variant["text"]]
            if any(c.get("value") == lang for c in variant.get("condition") or [])}
    assert said and all(("don't seem to sell" in t) if lang == "en" else ("没有卖" in t)
                        for t in said)
