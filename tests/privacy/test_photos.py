"""Customers' photos under privacy's export, forget and purge, whichever store holds
them: the embedded folder or scaled mode's database table (``MEDIA_DB_URL``)."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from privacy import CustomerData, Stores
from vision.media import Media, MediaStore, SQLMediaStore

YEAR = 365 * 86400


def _photo(colour: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(out, "PNG")
    return out.getvalue()


def _tracker(path: Path, rows: list[tuple[str, float, dict]]) -> str:
    with sqlite3.connect(path) as db:
        db.execute("create table events (id integer primary key, sender_id text, "
                   "type_name text, timestamp real, intent_name text, action_name text, "
                   "data text)")
        db.executemany("insert into events (sender_id, type_name, timestamp, data) "
                       "values (?, 'user', ?, ?)",
                       [(sender, ts, json.dumps(data)) for sender, ts, data in rows])
    return f"sqlite:///{path}"


def _shop(path: Path, catalog_photo: str) -> str:
    with sqlite3.connect(path) as db:
        db.execute("create table products (sku text primary key, image text)")
        db.execute("create table product_images (id integer primary key, sku text, uri text)")
        db.execute("insert into products values ('KIWI-1', 'images/kiwi.jpg')")
        db.execute("insert into product_images (sku, uri) values ('KIWI-1', ?)",
                   (f"media:{catalog_photo}",))
    return f"sqlite:///{path}"


@pytest.fixture(params=["folder", "database"])
def media(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Media, Callable]:
    """A store, and a way to date a stored photo (a file's mtime, a row's time)."""
    if request.param == "folder":
        folder = MediaStore(tmp_path / "media")

        def date_folder(media_id: str, when: float) -> None:
            os.utime(folder.path(media_id), (when, when))

        return folder, date_folder
    now = [time.time()]
    table = SQLMediaStore(f"sqlite:///{tmp_path / 'media.db'}", clock=lambda: now[0])

    def date_row(media_id: str, when: float) -> None:  # stored again, at ``when``
        data = table.get(media_id)
        table.delete(media_id)
        now[0] = when
        table.put(data)
        now[0] = time.time()

    return table, date_row


def test_purge_keeps_the_catalogs_photos_and_those_kept_conversations_sent(
        media: tuple[Media, Callable], tmp_path: Path) -> None:
    store, date = media
    catalog, old_chat, recent_chat, orphan = (
        store.put(_photo(c)).media_id for c in ("green", "red", "blue", "grey"))
    long_ago = time.time() - 2 * YEAR
    for media_id in (catalog, old_chat, recent_chat, orphan):  # every file is old
        date(media_id, long_ago)
    tracker = _tracker(tmp_path / "tracker.db", [
        ("old-chat", long_ago, {"metadata": {"image": f"{old_chat}.sig"}}),
        # a photo sent a year ago, sent again today by another customer
        ("recent-chat", time.time(), {"metadata": {"image": f"{recent_chat}.sig"}})])
    data = CustomerData(Stores(shop=_shop(tmp_path / "shop.db", catalog), tracker=tracker,
                               channels=f"sqlite:///{tmp_path / 'channels.db'}",
                               handoff=f"sqlite:///{tmp_path / 'handoff.db'}", media=store))
    report = data.purge(365)
    assert report.conversations == 1 and report.photos == 2
    assert catalog in store and recent_chat in store
    assert old_chat not in store and orphan not in store


def test_export_and_forget_read_the_photos_where_they_are(
        media: tuple[Media, Callable], tmp_path: Path) -> None:
    store, _ = media
    sent = _photo("orange")
    media_id = store.put(sent).media_id
    tracker = _tracker(tmp_path / "tracker.db", [
        ("chat-1", time.time(), {"metadata": {"image": f"{media_id}.sig",
                                              "verified": {"customer_id": "CUST-7"}}})])
    data = CustomerData(Stores(shop=f"sqlite:///{tmp_path / 'shop.db'}", tracker=tracker,
                               channels=f"sqlite:///{tmp_path / 'channels.db'}",
                               handoff=f"sqlite:///{tmp_path / 'handoff.db'}", media=store))
    assert data.photos(["chat-1"]) == [media_id] and data.photos([]) == []
    assert data.conversations("CUST-7") == ["chat-1"]  # the signed identity says whose
    assert data.export("CUST-7", tmp_path / "out.zip").photos == 1
    with zipfile.ZipFile(tmp_path / "out.zip") as archive:
        assert archive.read(f"photos/{media_id}.png") == sent
    forgot = data.forget("CUST-7")
    assert forgot.photos == 1 and media_id not in store
