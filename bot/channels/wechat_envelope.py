"""WeChat's envelope: what every request to the WeChat channel is checked and opened
with, and what its passive replies are sealed with (:mod:`bot.channels.wechat` uses it).

- :func:`check_request`: the query's ``signature`` (SHA1 of the sorted Token,
  ``timestamp`` and ``nonce``, compared in constant time) and the timestamp's age
  (a replay);
- :func:`parse_xml`: the message's XML, by ``defusedxml`` (no DTD, no entities, no
  external references) after a size check, flat fields only;
- :class:`Envelope`: safe mode (``encrypt_type=aes``): ``msg_signature``, AES-256-CBC
  with the EncodingAESKey (wechatpy's ``PrpCrypto``: ``random16 + msg_len + msg +
  appid``, PKCS#7 to 32 bytes), the AppID inside; and the sealed reply.

A request that fails any check is a :class:`~bot.channels.checks.BadRequest` (403
for signatures, replays and other accounts; 400 or 413 for the body).
"""

from __future__ import annotations

import base64
import hmac
import time
from typing import Any, Dict

from bot.channels.checks import BadRequest
from bot.settings import WeChatSettings

MAX_FIELDS = 64


def sign(*parts: str) -> str:
    """WeChat's signature: SHA1 of the sorted parts, concatenated (wechatpy's signer)."""
    from wechatpy.utils import WeChatSigner

    signer = WeChatSigner()
    signer.add_data(*parts)
    return str(signer.signature)


def _same(expected: str, given: Any) -> bool:
    return isinstance(given, str) and hmac.compare_digest(expected.encode(), given.encode())


def check_request(config: WeChatSettings, args: Any, *, now: float | None = None) -> None:
    """The query's ``signature`` (Token, timestamp, nonce) and the timestamp's age.

    Raises:
        BadRequest: 403 for a wrong or missing signature or a stale timestamp.
    """
    if not config.token:  # nothing to check against: never "signed with an empty key"
        raise BadRequest("WeChat is not configured on this server", 404)
    timestamp, nonce = args.get("timestamp", ""), args.get("nonce", "")
    if not (timestamp.isdigit() and len(timestamp) <= 12 and 0 < len(nonce) <= 64):
        raise BadRequest("timestamp and nonce are required", 403)
    if not _same(sign(config.token, timestamp, nonce), args.get("signature")):
        raise BadRequest("signature does not match", 403)
    if abs((now or time.time()) - int(timestamp)) > config.max_skew:
        raise BadRequest("timestamp is too old or in the future (a replay?)", 403)


def parse_xml(body: bytes, *, limit: int) -> Dict[str, str]:
    """A WeChat message's fields (``<xml><Field>value</Field>...</xml>``).

    Parsed by ``defusedxml``: DTDs, entities and external references are refused.

    Raises:
        BadRequest: Too big (413), or not a flat WeChat XML message (400).
    """
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    if len(body) > limit:
        raise BadRequest(f"the message is larger than {limit} bytes", 413)
    try:
        root = fromstring(body,
                          forbid_dtd=True,
                          # entities and external references need a DTD: refused above,
                          # these two stay as defence in depth
                          forbid_entities=True,  # pragma: no mutate - needs a DTD (refused)
                          forbid_external=True)  # pragma: no mutate - needs a DTD (refused)
    except DefusedXmlException:
        raise BadRequest("DTDs, entities and external references are not accepted") from None
    except (ParseError, ValueError, UnicodeError):
        raise BadRequest("the body is not well-formed XML") from None
    if root.tag != "xml" or len(root) > MAX_FIELDS:
        raise BadRequest("not a WeChat message (<xml> with its fields)")
    fields: Dict[str, str] = {}
    for child in root:
        if len(child):  # nested elements (ScanCodeInfo, SendPicsInfo): not used
            continue
        fields[str(child.tag)] = (child.text or "").strip() if child.tag != "Content" \
            else (child.text or "")
    return fields


def cdata(text: str) -> str:
    """Text as CDATA, safe even when it contains ``]]>``."""
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


class Envelope:
    """Safe mode: decrypts requests and encrypts replies (wechatpy's ``PrpCrypto``)."""

    def __init__(self, config: WeChatSettings) -> None:
        if not (config.token and config.aes_key):
            raise ValueError("safe mode needs the Token and the EncodingAESKey")
        self.config = config
        self.token = config.token
        self.key = base64.b64decode(config.aes_key + "=")

    def open(self, outer: Dict[str, str], args: Any, *, limit: int) -> Dict[str, str]:
        """The decrypted message of an ``encrypt_type=aes`` request.

        Raises:
            BadRequest: 403 for a wrong ``msg_signature`` or another account's
                message, 400 for a body that does not decrypt.
        """
        from wechatpy.crypto import PrpCrypto
        from wechatpy.exceptions import InvalidAppIdException

        encrypted = outer.get("Encrypt")
        if not encrypted:
            raise BadRequest("encrypt_type=aes but no <Encrypt>")
        expected = sign(self.token, args.get("timestamp", ""),
                        args.get("nonce", ""), encrypted)
        if not _same(expected, args.get("msg_signature")):
            raise BadRequest("msg_signature does not match", 403)
        try:
            inner = PrpCrypto(self.key).decrypt(encrypted, self.config.app_id)
        except InvalidAppIdException:
            raise BadRequest("the message is for another account (AppID)", 403) from None
        except Exception:  # noqa: BLE001 - any failure to decrypt is the sender's
            raise BadRequest("the encrypted message does not decrypt") from None
        return parse_xml(inner.encode("utf-8"), limit=limit)

    def seal(self, xml: str, *, nonce: str, timestamp: str | None = None) -> str:
        """``xml`` encrypted and signed for the reply."""
        from wechatpy.crypto import PrpCrypto

        timestamp = timestamp or str(int(time.time()))
        encrypted = PrpCrypto(self.key).encrypt(xml, self.config.app_id).decode()
        signature = sign(self.token, timestamp, nonce, encrypted)
        return (f"<xml><Encrypt>{cdata(encrypted)}</Encrypt>"
                f"<MsgSignature>{cdata(signature)}</MsgSignature>"
                f"<TimeStamp>{timestamp}</TimeStamp><Nonce>{cdata(nonce)}</Nonce></xml>")
