"""After importing a real catalog, the assistant answers questions about it.

Imports the catalog derived from UCI Online Retail, and the one derived from the
Grocery Store dataset, each into a fresh shop, and chats with the real servers.
The model is the one trained on the demo shop: products the NLU was not trained
on are found by their names in the text.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import requests

from knowledge_graph.sources.online_retail import derive_catalog, write_catalog
from scripts.stack import Stack
from tests.e2e.conftest import stack_with
from tests.knowledge_graph.test_grocery_store import GROCERY
from tests.knowledge_graph.test_online_retail import TRANSACTIONS

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def retail(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if not TRANSACTIONS.is_file():
        pytest.skip(f"UCI Online Retail not found at {TRANSACTIONS} (set DATASETS)")
    for stack, report in stack_with(
            tmp_path_factory.mktemp("retail"),
            lambda out: write_catalog(derive_catalog(TRANSACTIONS), out), "online_retail.yml"):
        assert report.sync.added > 3_500 and report.sync.discontinued == 609
        yield stack


def test_price_stock_and_search_of_imported_products(retail: Stack) -> None:
    sender = f"retail-{uuid.uuid4().hex[:8]}"
    reply = " ".join(retail.say(sender, "how much is the white hanging heart t-light holder?"))
    assert "WHITE HANGING HEART T-LIGHT HOLDER" in reply and "£2.95" in reply
    reply = " ".join(retail.say(sender, "show me christmas decorations"))
    assert "CHRISTMAS" in reply and "£" in reply
    reply = " ".join(retail.say(sender, "how much is the first one?"))
    assert "£" in reply


def test_demo_products_are_no_longer_offered(retail: Stack) -> None:
    reply = " ".join(retail.say(f"retail-{uuid.uuid4().hex[:8]}", "show me huawei phones"))
    assert "couldn't find any" in reply and "Mate" not in reply


def test_grocery_products_are_sold_at_a_price_on_request(grocery: Stack) -> None:
    sender = f"grocery-{uuid.uuid4().hex[:8]}"
    reply = " ".join(grocery.say(sender, "how much is the granny smith apple?"))
    assert "Granny Smith Apple" in reply and "price on request" in reply
    reply = " ".join(grocery.say(sender, "show me yoghurt"))
    assert "Arla Natural Yoghurt" in reply and "price on request" in reply
    assert "$" not in reply and "SEK" not in reply
    reply = " ".join(grocery.say(sender, "tell me about the oatly oat milk"))
    assert "oat drink" in reply and "price on request" in reply


def upload(stack: Stack, data: bytes, content_type: str = "image/jpeg", *,
           sender: str) -> requests.Response:
    return requests.post(f"{stack.rasa_url}/webhooks/rest/media", data=data,
                         params={"sender": sender},
                         headers={"Content-Type": content_type}, timeout=60)


def photo_turn(stack: Stack, sender: str, media_id: str, caption: str = "") -> list[dict]:
    response = stack.post({"sender": sender, "message": caption,
                           "metadata": {"image": media_id}})
    assert response.status_code == 200, response.text
    return response.json()


def test_a_shoppers_photo_finds_the_product_and_the_chat_goes_on(grocery: Stack) -> None:
    sender = f"photo-{uuid.uuid4().hex[:8]}"
    photo = (GROCERY / "val" / "Fruit" / "Banana" / "Banana_003.jpg").read_bytes()
    stored = upload(grocery, photo, sender=sender)
    assert stored.status_code == 201, stored.text
    body = stored.json()
    assert body["mime"] == "image/jpeg" and body["size"] == len(photo)
    messages = photo_turn(grocery, sender, body["media_id"], "do you sell this?")
    text = " ".join(m.get("text", "") for m in messages)
    cards = next(m["custom"]["cards"] for m in messages if m.get("custom"))
    assert "Banana" in text and cards[0]["title"] == "Banana"
    assert cards[0]["matched_image"] and 0 < cards[0]["score"] <= 1
    reply = " ".join(grocery.say(sender, "how much is the first one?"))
    assert "Banana" in reply and "price on request" in reply
    # in Chinese: the caption's language sets the reply's
    chinese = f"photo-zh-{uuid.uuid4().hex[:8]}"
    # a media id is bound to the conversation that uploaded it
    refused = grocery.post({"sender": chinese, "message": "这个有卖吗？",
                            "metadata": {"image": body["media_id"]}})
    assert refused.status_code == 400 and "upload" in refused.json()["error"]
    own = upload(grocery, photo, sender=chinese).json()["media_id"]
    assert own != body["media_id"]
    text = " ".join(m.get("text", "") for m in photo_turn(grocery, chinese, own, "这个有卖吗？"))
    assert "照片" in text and "Banana" in text
    reply = " ".join(grocery.say(chinese, "第一个多少钱"))
    assert "Banana" in reply and "价格请咨询" in reply
    # multipart uploads work too, and the same photo is stored once
    again = requests.post(f"{grocery.rasa_url}/webhooks/rest/media", params={"sender": sender},
                          files={"file": ("banana.jpg", photo, "image/jpeg")}, timeout=60)
    assert again.status_code == 201 and again.json()["media_id"] == body["media_id"]


def test_a_photo_of_something_else_gets_an_honest_answer(grocery: Stack) -> None:
    from PIL import Image, ImageDraw

    from tests.vision.conftest import encode

    screenshot = Image.new("RGB", (900, 600), "white")
    draw = ImageDraw.Draw(screenshot)
    for line in range(18):
        draw.text((30, 20 + 30 * line), "Payment received - receipt #88231", fill="black")
    media_id = upload(grocery, encode(screenshot, "PNG"), "image/png",
                      sender="photo-x").json()["media_id"]
    text = " ".join(m.get("text", "") for m in photo_turn(grocery, "photo-x", media_id))
    assert "screenshot" in text and "human" in text


def test_bad_uploads_get_a_clear_status_and_nothing_is_stored(grocery: Stack) -> None:
    import io

    from PIL import Image

    from tests.vision.conftest import encode
    from tests.vision.test_images import png_bomb

    media = grocery.data_dir / "media"
    before = sorted(p.name for p in media.rglob("*") if p.is_file())
    jpeg = (GROCERY / "val" / "Fruit" / "Kiwi" / "Kiwi_001.jpg").read_bytes()
    bad = {
        "not an image": (b"%PDF-1.7 hello", 415),
        "30 MB": (b"\xff\xd8" + b"\x00" * (30 * 1024 * 1024), 413),
        "truncated JPEG": (jpeg[: len(jpeg) // 3], 422),
        "decompression bomb": (png_bomb(50_000, 50_000), 413),
        "1x1 image": (encode(Image.new("RGB", (1, 1)), "PNG"), 422),
        "empty": (b"", 400),
        "injection": (b"'; DROP TABLE products; --<script>", 415),
    }
    for name, (data, status) in bad.items():
        response = upload(grocery, data, sender="photo-bad")
        assert response.status_code == status, (name, response.text)
        assert response.json()["error"], name
    assert sorted(p.name for p in media.rglob("*") if p.is_file()) == before
    rgba = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    frames = io.BytesIO()
    Image.new("RGB", (48, 48), "red").save(frames, "GIF", save_all=True, append_images=[
        Image.new("RGB", (48, 48), "blue")], duration=100)
    cmyk = encode(Image.new("RGB", (80, 60), "green").convert("CMYK"), "JPEG")
    for data in (encode(rgba, "PNG"), frames.getvalue(), cmyk):
        stored = upload(grocery, data, sender="photo-y")
        assert stored.status_code == 201, stored.text
        assert photo_turn(grocery, "photo-y", stored.json()["media_id"])  # a reply, no 500
    for image in ("0" * 64, "../../etc/passwd", 42, stored.json()["media_id"].split(".")[0]):
        response = grocery.post({"sender": "photo-z", "message": "", "metadata": {"image": image}})
        assert response.status_code == 400 and "upload" in response.json()["error"]
