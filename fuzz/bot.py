"""Fuzz targets of the Rasa server's environment: the channels' JSON, WeChat's XML and
its encrypted envelope, Meta's (Messenger, WhatsApp) deliveries."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
from collections.abc import Callable
from functools import lru_cache
from typing import Any

SECRET = "fuzz-app-secret"
TOKEN = "fuzztoken"
AES_KEY = base64.b64encode(b"k" * 32).decode().rstrip("=")  # 43 characters


@lru_cache(maxsize=1)
def _settings() -> Any:
    from bot.settings import load_settings

    return load_settings({"SHOP_DATA_DIR": "/tmp/fuzz-data", "WECHAT_TOKEN": TOKEN,
                          "WECHAT_APP_ID": "wxfuzz", "WECHAT_APP_SECRET": "s",
                          "WECHAT_ENCODING_AES_KEY": AES_KEY})


def chat_json(data: bytes) -> None:
    """A chat channel's JSON body, parsed and its texts cleaned."""
    from bot.channels.checks import BadRequest, clean_text, parse_json_object

    try:
        body = parse_json_object(data, _settings())
    except BadRequest:
        return
    for value in body.values():
        if isinstance(value, str):
            clean_text(value, 4000)


def wechat_xml(data: bytes) -> None:
    """A WeChat delivery's XML, parsed and read as a message."""
    from bot.channels.checks import BadRequest
    from bot.channels.wechat import parse_message
    from bot.channels.wechat_envelope import parse_xml

    with contextlib.suppress(BadRequest):
        parse_message(parse_xml(data, limit=64 * 1024), encrypted=False)


def wechat_envelope(data: bytes) -> None:
    """An ``encrypt_type=aes`` delivery correctly signed around the fuzzer's bytes, so
    they reach the decryption and the XML inside."""
    from bot.channels.checks import BadRequest
    from bot.channels.wechat_envelope import Envelope, sign

    encrypted = data.decode("latin-1")
    args = {"timestamp": "1700000000", "nonce": "n",
            "msg_signature": sign(TOKEN, "1700000000", "n", encrypted)}
    with contextlib.suppress(BadRequest):
        Envelope(_settings().wechat).open({"Encrypt": encrypted}, args, limit=64 * 1024)


def meta_delivery(data: bytes) -> None:
    """A Messenger or WhatsApp delivery correctly signed, read item by item."""
    from bot.channels.checks import BadRequest
    from bot.channels.messenger import parse_item
    from bot.channels.meta import read_delivery
    from bot.channels.whatsapp import parse_message

    signature = "sha256=" + hmac.new(SECRET.encode(), data, hashlib.sha256).hexdigest()
    for kind in ("page", "whatsapp_business_account"):
        try:
            payload = read_delivery(data, signature, secret=SECRET, limit=256 * 1024,
                                    kind=kind)
        except BadRequest:
            continue
        for entry in payload["entry"]:
            if not isinstance(entry, dict):
                continue
            with contextlib.suppress(BadRequest):
                for item in entry.get("messaging") or []:
                    if isinstance(item, dict):
                        parse_item(item, app_id="1")
                for change in entry.get("changes") or []:
                    value = change.get("value") if isinstance(change, dict) else None
                    for message in (value or {}).get("messages") or [] \
                            if isinstance(value, dict) else []:
                        if isinstance(message, dict):
                            parse_message(message)


#: The modules whose coverage guides the fuzzer.
INSTRUMENT = ("bot.channels.checks", "bot.channels.wechat_envelope", "bot.channels.wechat",
              "bot.channels.meta", "bot.channels.messenger", "bot.channels.whatsapp")

TARGETS: dict[str, Callable[[bytes], Any]] = {
    "chat_json": chat_json, "wechat_xml": wechat_xml, "wechat_envelope": wechat_envelope,
    "meta_delivery": meta_delivery}
