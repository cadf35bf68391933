"""A customer's data under their control (issue 36), through the real servers: a signed-in
customer chats (an order, recommendations, a price, a photo, a person), the shop
exports everything it holds about them (its account page's internal route, and
``python -m shopctl``), then forgets them; an export after finds nothing, no store
holds anything identifying, the figures stay, and the assistant goes on for everyone
else. Retention: ``purge`` removes old conversations while the servers answer."""

from __future__ import annotations

import io
import json
import sqlite3
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path

import pytest
import requests

from scripts.stack import ROOT, Stack

pytestmark = pytest.mark.e2e


def _shopctl(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "shopctl", *args], cwd=ROOT, env=stack.env,
                          capture_output=True, text=True, timeout=120)


def _customer(stack: Stack) -> tuple[str, str, str]:
    """A customer with orders that no other test chats as (the last one made)."""
    with sqlite3.connect(stack.data_dir / "shop.db") as db:
        customer, email = db.execute(
            "select c.id, c.email from customers c join orders o on o.customer_id = c.id "
            "group by c.id order by c.id desc limit 1").fetchone()
        order = db.execute("select number from orders where customer_id = ? limit 1",
                           (customer,)).fetchone()[0]
    return customer, email, order


def _jpeg() -> bytes:
    from PIL import Image

    image = Image.new("RGB", (320, 240), (200, 40, 40))
    for x in range(0, 320, 16):
        for y in range(0, 240, 16):
            image.putpixel((x, y), (255, 255, 255))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def _everything(stack: Stack) -> str:
    """Every row of every table of every store, and the photos' names, as text."""
    texts = []
    for name in ("shop.db", "channels.db", "handoff.db", "rasa_tracker.db"):
        path = stack.data_dir / name
        if not path.exists():
            continue
        with sqlite3.connect(path) as db:
            for (table,) in db.execute("select name from sqlite_master where type='table'"):
                texts.extend(repr(row) for row in db.execute(f'select * from "{table}"'))
    texts.extend(str(p) for p in (stack.data_dir / "media").rglob("*"))
    return "\n".join(texts)


def _export(stack: Stack, customer: str) -> requests.Response:
    return requests.get(f"{stack.rasa_url}/webhooks/internal/customers/{customer}/export",
                        headers={"Authorization": f"Bearer {stack.secrets['CHANNEL_PUSH_TOKEN']}"},
                        timeout=120)


def test_a_customer_is_exported_then_forgotten_and_the_shop_goes_on(stack: Stack,
                                                                    tmp_path: Path) -> None:
    customer, email, order = _customer(stack)
    sender = f"privacy-{uuid.uuid4().hex[:10]}"
    assert stack.say(sender, "hi", customer_id=customer)
    assert order in " ".join(stack.say(sender, f"where is my order {order}?",
                                       customer_id=customer))
    assert stack.say(sender, "what would you recommend?", customer_id=customer)
    assert stack.say(sender, "how much is the first one", customer_id=customer)
    stored = requests.post(f"{stack.rasa_url}/webhooks/rest/media", data=_jpeg(),
                           params={"sender": sender},
                           headers={"Content-Type": "image/jpeg"}, timeout=60)
    assert stored.status_code == 201, stored.text
    photo = stack.post({"sender": sender, "message": "do you have this?", "metadata": {
        "image": stored.json()["media_id"], **stack.signed(customer, sender)}})
    assert photo.status_code == 200 and photo.json()
    assert stack.say(sender, "I want to talk to a person", customer_id=customer)

    # the account page's export, then the same from the command line
    zipped = _export(stack, customer)
    assert zipped.status_code == 200, zipped.text
    assert zipped.headers["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(zipped.content)) as archive:
        index = json.loads(archive.read("index.json"))
        names = set(archive.namelist())
        orders = json.loads(archive.read("shop/orders.json"))
        events = json.loads(archive.read("tracker/events.json"))
    assert index["customer"] == customer and sender in index["conversations"]
    assert {o["number"] for o in orders} >= {order} and orders[0]["email"] == email
    assert orders[0]["lines"], "an order comes with its lines"
    assert any((e["data"].get("metadata") or {}).get("caption") == "do you have this?"
               for e in events)
    for wanted in ("shop/customer.json", "shop/recommendation_events.json",
                   "shop/price_quotes.json", "handoff/handoffs.json",
                   "handoff/conversation_changes.json"):
        assert wanted in names and index["files"][wanted]["rows"] > 0, (wanted, index)
    assert index["photos"] == 1 and any(n.startswith("photos/") for n in names)
    out = tmp_path / "export.zip"
    cli = _shopctl(stack, "customer", "export", customer, "--out", str(out))
    assert cli.returncode == 0, cli.stderr
    with zipfile.ZipFile(out) as archive:
        assert set(archive.namelist()) == names

    before = _everything(stack)
    assert customer in before and email in before and sender in before
    with sqlite3.connect(stack.data_dir / "shop.db") as db:
        orders_before = db.execute("select count(*), sum(total) from orders").fetchone()
        quotes_before = db.execute("select count(*) from price_quotes").fetchone()

    forgot = _shopctl(stack, "customer", "forget", customer, "--yes")
    assert forgot.returncode == 0, forgot.stderr
    after = _everything(stack)
    for identifying in (customer, email, sender, stored.json()["media_id"].split(".")[0]):
        assert identifying not in after, f"{identifying} is still held"
    assert _export(stack, customer).status_code == 404
    again = _shopctl(stack, "customer", "export", customer, "--out", str(tmp_path / "x.zip"))
    assert again.returncode == 1 and "no store knows" in again.stderr
    with sqlite3.connect(stack.data_dir / "shop.db") as db:  # the figures stay
        assert db.execute("select count(*), sum(total) from orders").fetchone() == orders_before
        assert db.execute("select count(*) from price_quotes").fetchone() == quotes_before
    # the assistant goes on for everyone else, in both languages
    assert "$" in " ".join(stack.say(f"after-{uuid.uuid4().hex[:8]}", "show me headphones"))
    assert "¥" in " ".join(stack.say(f"after-{uuid.uuid4().hex[:8]}", "有没有耳机"))


def test_the_internal_routes_need_the_token_and_a_well_formed_id(stack: Stack) -> None:
    url = f"{stack.rasa_url}/webhooks/internal/customers"
    assert requests.get(f"{url}/C10001/export", timeout=30).status_code == 401
    assert requests.delete(f"{url}/C10001", timeout=30,
                           headers={"Authorization": "Bearer wrong"}).status_code == 401
    token = {"Authorization": f"Bearer {stack.secrets['CHANNEL_PUSH_TOKEN']}"}
    assert requests.get(f"{url}/{'x' * 300}/export", headers=token,
                        timeout=30).status_code == 400
    assert requests.delete(f"{url}/C99999999", headers=token, timeout=30).status_code == 404


def test_purge_removes_old_conversations_while_the_servers_answer(stack: Stack) -> None:
    old, recent = f"old-{uuid.uuid4().hex[:8]}", f"recent-{uuid.uuid4().hex[:8]}"
    assert stack.say(old, "show me headphones") and stack.say(recent, "show me headphones")
    with sqlite3.connect(stack.data_dir / "rasa_tracker.db") as db:  # a year ago
        db.execute("update events set timestamp = timestamp - 400 * 86400 where sender_id = ?",
                   (old,))
    purged = _shopctl(stack, "purge", "--days", "365")
    assert purged.returncode == 0, purged.stderr
    assert "conversations" in purged.stdout
    with sqlite3.connect(stack.data_dir / "rasa_tracker.db") as db:
        left = {s for (s,) in db.execute(
            "select distinct sender_id from events where sender_id in (?, ?)", (old, recent))}
    assert left == {recent}
    assert stack.say(recent, "how much is the first one")  # the recent one goes on
