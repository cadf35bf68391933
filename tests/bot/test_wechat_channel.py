"""The WeChat channel's wire format (bot/channels/wechat.py, wechat_api.py): signatures,
safe mode against Tencent's published sample and an independent implementation,
hardened XML, WeChat's limits, numbered choices, and the shared access_token."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bot.channels.checks import BadRequest
from bot.channels.wechat import Out, WeChatInput, choice_number, render, split_text
from bot.channels.wechat_api import TokenStore
from bot.channels.wechat_envelope import Envelope, cdata, check_request, parse_xml, sign
from bot.settings import SettingsError, WeChatSettings, load_settings, settings
from tests.fakes.wechat import (
    BOMB_XML,
    XXE_XML,
    FakeWeChat,
    aes_decrypt,
    aes_encrypt,
    parse_reply,
    sha1_sign,
    to_xml,
)

# Tencent's sample of the message crypto (WXBizMsgCrypt's Sample.py)
SAMPLE = {
    "token": "spamtest", "aes_key": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    "app_id": "wx2c2769f8efd9abc2", "timestamp": "1409735669", "nonce": "1320562132",
    "msg_signature": "5d197aaffba7e9b25a30732f161a50dee96bd5fa",
    "encrypt": "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QL"
               "vbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C4"
               "1IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjp"
               "A912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnif"
               "JpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5M"
               "JSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE=",
}


def config(**changes: object) -> WeChatSettings:
    base = {"token": "shoptoken", "app_id": "wx5823bf96d3bd56c7", "app_secret": "s",
            "aes_key": "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"}
    return WeChatSettings(**{**base, **changes})  # type: ignore[arg-type]


def signed_args(cfg: WeChatSettings, *, age: int = 0) -> dict[str, str]:
    timestamp, nonce = str(int(time.time()) - age), "1320562132"
    return {"timestamp": timestamp, "nonce": nonce,
            "signature": sha1_sign(cfg.token or "", timestamp, nonce)}


# --- signatures and safe mode -----------------------------------------------------------


def test_tencents_published_sample_opens() -> None:
    cfg = config(token=SAMPLE["token"], aes_key=SAMPLE["aes_key"], app_id=SAMPLE["app_id"])
    assert sign(SAMPLE["token"], SAMPLE["timestamp"], SAMPLE["nonce"], SAMPLE["encrypt"]) \
        == SAMPLE["msg_signature"]
    fields = Envelope(cfg).open({"Encrypt": SAMPLE["encrypt"]}, {
        "timestamp": SAMPLE["timestamp"], "nonce": SAMPLE["nonce"],
        "msg_signature": SAMPLE["msg_signature"]}, limit=65536)
    assert fields["MsgType"] and fields["FromUserName"]
    # the independent implementation of the tests' fake platform opens it too
    inner, app_id = aes_decrypt(SAMPLE["aes_key"], SAMPLE["encrypt"])
    theirs = parse_reply(inner)
    assert app_id == SAMPLE["app_id"]
    assert (theirs["FromUserName"], theirs["MsgType"]) == (fields["FromUserName"],
                                                          fields["MsgType"])


def test_safe_mode_both_ways_with_an_independent_implementation() -> None:
    cfg = config()
    xml = to_xml({"FromUserName": "oUser_1", "MsgType": "text", "Content": "第二个多少钱",
                  "CreateTime": 1, "MsgId": 42})
    encrypted = aes_encrypt(cfg.aes_key or "", cfg.app_id, xml)
    args = {"timestamp": "1", "nonce": "2",
            "msg_signature": sha1_sign(cfg.token or "", "1", "2", encrypted)}
    assert Envelope(cfg).open({"Encrypt": encrypted}, args, limit=65536)["Content"] \
        == "第二个多少钱"
    sealed = parse_reply(Envelope(cfg).seal("<xml><Content>好的</Content></xml>", nonce="9"))
    assert sealed["MsgSignature"] == sha1_sign(cfg.token or "", sealed["TimeStamp"], "9",
                                               sealed["Encrypt"])
    assert aes_decrypt(cfg.aes_key or "", sealed["Encrypt"]) == (
        "<xml><Content>好的</Content></xml>", cfg.app_id)


def test_safe_mode_refuses_forgeries_and_other_accounts() -> None:
    cfg = config()
    xml = to_xml({"FromUserName": "oUser_1", "MsgType": "text", "Content": "hi"})
    encrypted = aes_encrypt(cfg.aes_key or "", cfg.app_id, xml)
    with pytest.raises(BadRequest) as forged:
        Envelope(cfg).open({"Encrypt": encrypted}, {"timestamp": "1", "nonce": "2",
                                                    "msg_signature": "0" * 40}, limit=65536)
    assert forged.value.status == 403
    other = aes_encrypt(cfg.aes_key or "", "wxANOTHERACCOUNT", xml)
    with pytest.raises(BadRequest) as foreign:
        Envelope(cfg).open({"Encrypt": other}, {"timestamp": "1", "nonce": "2",
                                                "msg_signature": sha1_sign(
                                                    cfg.token or "", "1", "2", other)},
                           limit=65536)
    assert foreign.value.status == 403
    garbage = "QUJD" * 5  # base64, but not 16-byte blocks
    with pytest.raises(BadRequest) as broken:
        Envelope(cfg).open({"Encrypt": garbage}, {"timestamp": "1", "nonce": "2",
                                                  "msg_signature": sha1_sign(
                                                      cfg.token or "", "1", "2", garbage)},
                           limit=65536)
    assert broken.value.status == 400


def test_request_signature_and_age_are_checked() -> None:
    cfg = config()
    check_request(cfg, signed_args(cfg))
    for args in ({**signed_args(cfg), "signature": "f" * 40}, signed_args(cfg, age=3600),
                 {"nonce": "1"}, {**signed_args(cfg), "signature": None}):
        with pytest.raises(BadRequest) as refused:
            check_request(cfg, args)
        assert refused.value.status == 403
    # without a Token there is nothing to check against: an empty one is no key
    unset = replace(cfg, token=None)
    args = signed_args(cfg)
    empty_key = {**args, "signature": sha1_sign("", args["timestamp"], args["nonce"])}
    with pytest.raises(BadRequest, match="^WeChat is not configured on this server$") as off:
        check_request(unset, empty_key)
    assert off.value.status == 404
    with pytest.raises(ValueError, match="^safe mode needs the Token and the EncodingAESKey$"):
        Envelope(unset)
    with pytest.raises(ValueError):
        Envelope(replace(cfg, aes_key=None))


# --- XML ------------------------------------------------------------------------------------

@pytest.mark.parametrize("body,status", [
    (BOMB_XML, 400), (XXE_XML, 400), (b"<xml><Content>unclosed", 400), (b"\xff\xfe<xml/>", 400),
    (b"<html><body/></html>", 400), (b"<xml>" + b"<A>1</A>" * 100 + b"</xml>", 400),
    (b"<xml><Content>" + b"a" * 70000 + b"</Content></xml>", 413)])
def test_hostile_xml_is_refused_before_anything_runs(body: bytes, status: int) -> None:
    with pytest.raises(BadRequest) as refused:
        parse_xml(body, limit=65536)
    assert refused.value.status == status
    assert "root:" not in str(refused.value)


def test_cdata_survives_its_own_terminator() -> None:
    text = "a]]>b<script>&amp;"
    assert parse_xml(f"<xml><Content>{cdata(text)}</Content></xml>".encode(),
                     limit=65536)["Content"] == text


# --- WeChat's limits and the assistant's buttons and cards ----------------------------------


def test_long_texts_split_at_2048_utf8_bytes() -> None:
    text = "\n".join(f"第{i}行：这是一段很长的商品说明。" * 3 for i in range(60))
    parts = split_text(text)
    assert len(parts) > 1 and all(len(p.encode()) <= 2048 for p in parts)
    assert "".join(parts).replace("\n", "") == text.replace("\n", "")
    one_line = "字" * 3000
    assert all(len(p.encode()) <= 2048 for p in split_text(one_line))
    assert "".join(split_text(one_line)) == one_line


def test_buttons_become_numbered_choices_and_cards_news() -> None:
    more = '/ask_details{{"product": "S{}"}}'
    cards = [{"sku": f"S{i}", "title": f"Shoe {i}", "price": "$10", "image": f"http://i/{i}",
              "buttons": [{"title": "Tell me more", "payload": more.format(i)}]}
             for i in range(1, 6)]
    outs, choices = render([
        {"text": "Here are some:\n1. Shoe 1\n2. Shoe 2"},
        {"custom": {"type": "product_cards", "cards": cards}}], config(max_cards=3,
                                                                      product_url="https://s/p/{sku}"))
    assert [o.kind for o in outs] == ["text", "news", "news", "news"]
    assert outs[1].title.startswith("1. Shoe 1") and outs[1].url == "https://s/p/S1"
    assert choices == [c["buttons"][0]["payload"] for c in cards]  # all five, as listed
    outs, choices = render([{"text": "满意吗？", "buttons": [
        {"title": "是", "payload": "/affirm"}, {"title": "否", "payload": "/deny"}]}], config())
    assert outs[0].text == "满意吗？\n1. 是\n2. 否\n回复数字即可选择。" and choices == ["/affirm",
                                                                            "/deny"]
    outs, _ = render([{"text": "Happy?", "buttons": [{"title": "Yes", "payload": "/affirm"}]}],
                     config(buttons="msgmenu"))
    assert outs[0].kind == "msgmenu" and outs[0].api("o")["msgmenu"]["list"] == [
        {"id": "1", "content": "Yes"}]
    outs, _ = render([{"custom": {"type": "product_cards", "cards": cards[:1]}}],
                     config(cards="image"))
    assert [o.kind for o in outs] == ["image", "text"] and not outs[0].passive
    outs, _ = render([{"text": "Sure.", "author": "Ann"}], config())
    assert outs[0].text == "Ann: Sure."


def test_passive_reply_xml_is_well_formed_and_escaped() -> None:
    xml = Out("text", text="<b>]]>&").xml(to="oUser", account="gh_x")
    assert parse_reply(xml)["Content"] == "<b>]]>&"
    news = parse_reply(Out("news", title="T", pic_url="http://p", url="").xml(to="o", account="g"))
    assert news["MsgType"] == "news" and news["ArticleCount"] == "1"
    assert news["Articles"][0]["Title"] == "T"


@pytest.mark.parametrize("text,number", [("2", 2), ("２", 2), ("#3", 3), (" 1. ", 1),
                                         ("2个", None), ("第二个", None), ("123", None)])
def test_numbers_customers_answer_with(text: str, number: int | None) -> None:
    assert choice_number(text) == number


# --- settings ---------------------------------------------------------------------------


def test_wechat_is_off_by_default_and_checks_its_settings() -> None:
    assert load_settings({}).wechat.token is None
    good = {"WECHAT_TOKEN": "shoptoken", "WECHAT_APP_ID": "wx1", "WECHAT_APP_SECRET": "s"}
    assert load_settings(good).wechat.reply_within == 4.0
    for bad in ({"WECHAT_TOKEN": "shoptoken"}, {**good, "WECHAT_TOKEN": "x"},
                {**good, "WECHAT_ENCODING_AES_KEY": "short"},
                {**good, "WECHAT_REQUIRE_AES": "1"}, {**good, "WECHAT_BUTTONS": "cards"},
                {**good, "WECHAT_REPLY_WITHIN_MS": "6000"}):
        with pytest.raises(SettingsError):
            load_settings(bad)
    # safe mode signs with the Token: a key without one is refused at start, with why
    with pytest.raises(SettingsError, match="^WECHAT_ENCODING_AES_KEY needs WECHAT_TOKEN"):
        load_settings({"WECHAT_ENCODING_AES_KEY": "a" * 43})


# --- the shared access_token ----------------------------------------------------------------


def test_a_token_is_refreshed_before_it_expires(tmp_path: Path) -> None:
    now = [1000.0]
    fetched: list[float] = []

    async def fetch() -> tuple[str, float]:
        fetched.append(now[0])
        return f"t{len(fetched)}", 7200.0

    async def scenario() -> None:
        store = TokenStore(f"sqlite:///{tmp_path / 'c.db'}", app_id="wx1", fetch=fetch,
                           clock=lambda: now[0])
        assert await store.get() == "t1"
        now[0] += 7200 - 400
        assert await store.get() == "t1"
        now[0] += 200  # inside the last five minutes: a new one before the old one expires
        assert await store.get() == "t2"

    asyncio.run(scenario())


def test_an_uploaded_photo_is_reused_by_every_process_for_two_days(tmp_path: Path) -> None:
    """Two processes (two stores on one database): a photo one of them uploaded to
    WeChat is not uploaded again by the other, until WeChat is about to forget it."""
    now = [1000.0]

    async def fetch() -> tuple[str, float]:
        return "t", 7200.0

    url = f"sqlite:///{tmp_path / 'c.db'}"
    one, two = (TokenStore(url, app_id="wx1", fetch=fetch, clock=lambda: now[0])
                for _ in range(2))
    photo = "https://shop.example/images/P0001?x=<1>"
    assert two.upload_of(photo, max_age=2 * 86400) is None
    one.remember_upload(photo, "MEDIA_1")
    assert two.upload_of(photo, max_age=2 * 86400) == "MEDIA_1"
    assert TokenStore(url, app_id="wx2", fetch=fetch).upload_of(photo, max_age=1e9) is None
    now[0] += 2 * 86400 + 1  # WeChat keeps it three days: upload again after two
    assert one.upload_of(photo, max_age=2 * 86400) is None
    two.remember_upload(photo, "MEDIA_2")
    assert one.upload_of(photo, max_age=2 * 86400) == "MEDIA_2"


# --- the shared seam's platform additions ---------------------------------------------------


def test_a_platform_message_carries_the_linked_customer_and_no_client_claim(
        tmp_path: Path) -> None:
    from bot.channels.checks import Throttled
    from bot.channels.gate import ChannelGate, RateLimiter
    from bot.channels.links import CustomerLinks

    links = CustomerLinks(f"sqlite:///{tmp_path / 'channels.db'}")
    links.link("wechat", "oUser_1", "C10001")
    assert links.customer_for("wechat", "oUser_1") == "C10001"
    assert links.customer_for("messenger", "oUser_1") is None
    settings = load_settings({"CUSTOMER_ID_SECRET": "s" * 32, "LIMIT_MESSAGES_PER_IP": "2",
                              "LIMIT_MESSAGES_PER_SENDER": "5"})
    gate = ChannelGate(settings, RateLimiter())
    forged = {"customer_id": "C99999", "customer_sig": "x", "customer_expires": 1}
    for _ in range(5):  # WeChat's servers are one address: never counted per address
        admitted = gate.admit(sender="oUser_1", text="hi", metadata=dict(forged),
                              address="10.0.0.1", channel="wechat", platform=True,
                              customer_id=links.customer_for("wechat", "oUser_1"))
        assert admitted.metadata["verified"]["customer_id"] == "C10001"
        assert "customer_id" not in admitted.metadata
    with pytest.raises(Throttled):  # per conversation, still
        gate.admit(sender="oUser_1", text="hi", metadata={}, address="10.0.0.1",
                   channel="wechat", platform=True)
    assert links.unlink("wechat", "oUser_1") and not links.unlink("wechat", "oUser_1")
    assert links.customer_for("wechat", "oUser_1") is None


# --- what WeChat itself accepts (the fake's rules, from WeChat's documentation) ---------


def test_passive_replies_are_addressed_as_wechat_requires() -> None:
    """被动回复: ToUserName is the customer's OpenID, FromUserName the account; a text
    of at most 2,048 bytes; one news article. The fake refuses anything else, so swapped
    fields or an over-long text fail here and in every end-to-end WeChat test."""
    wechat = FakeWeChat(account="gh_shop")
    message = wechat.message("oCustomer_1", "text", Content="有耳机吗")
    longest = split_text("耳机" * 2000)[0]  # the first piece of a long answer
    for out in (Out("text", text=longest), Out("news", title="T", pic_url="http://p"),
                Out("transfer")):
        reply = parse_reply(out.xml(to="oCustomer_1", account="gh_shop"))
        assert wechat.reply_refusal(message, reply) is None, (out.kind, reply)
    swapped = parse_reply(Out("text", text="好的").xml(to="gh_shop", account="oCustomer_1"))
    assert "ToUserName" in (wechat.reply_refusal(message, swapped) or "")
    too_long = parse_reply(Out("text", text="耳" * 683).xml(to="oCustomer_1",
                                                          account="gh_shop"))  # 2,049 bytes
    assert "2048" in (wechat.reply_refusal(message, too_long) or "")


def _request(args: dict[str, str], body: bytes) -> Any:
    return SimpleNamespace(args=args, body=body)


def test_require_aes_refuses_plaintext_and_opens_safe_mode(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """WECHAT_REQUIRE_AES=1: a correctly signed plaintext message is refused (403); the same
    message in safe mode is read. Without it, plaintext is read."""
    wechat = FakeWeChat()
    for key, value in {"WECHAT_TOKEN": wechat.token, "WECHAT_APP_ID": wechat.app_id,
                       "WECHAT_APP_SECRET": wechat.app_secret,
                       "WECHAT_ENCODING_AES_KEY": wechat.aes_key,
                       "WECHAT_API_BASE": "http://127.0.0.1:9",
                       "SHOP_DATA_DIR": str(tmp_path)}.items():
        monkeypatch.setenv(key, value)
    fields = wechat.message("oCustomer_2", "text", Content="退货")
    plain = to_xml(fields).encode()
    for require in ("1", "0"):
        monkeypatch.setenv("WECHAT_REQUIRE_AES", require)
        settings.cache_clear()
        try:
            channel = WeChatInput()
        finally:
            settings.cache_clear()
        args = wechat.signed(openid="oCustomer_2")
        if require == "1":
            with pytest.raises(BadRequest) as refused:
                channel._incoming(_request(args, plain))
            assert refused.value.status == 403
        else:
            assert channel._incoming(_request(args, plain)).text == "退货"
        encrypted = aes_encrypt(wechat.aes_key, wechat.app_id, plain.decode())
        safe = {**args, "encrypt_type": "aes", "msg_signature": sha1_sign(
            wechat.token, args["timestamp"], args["nonce"], encrypted)}
        opened = channel._incoming(_request(safe, to_xml(
            {"ToUserName": wechat.account, "Encrypt": encrypted}).encode()))
        assert (opened.text, opened.meta["encrypted"]) == ("退货", True)


# --- each check at its edge, with the reason it gives (shown by mutation testing) -------

def _refusal(call: Any) -> tuple[int, str]:
    with pytest.raises(BadRequest) as refused:
        call()
    return refused.value.status, str(refused.value)


def test_request_checks_at_their_edges_say_why() -> None:
    cfg = config()
    now = 1_700_000_000

    def args(timestamp: str, nonce: str = "n") -> dict[str, str]:
        return {"timestamp": timestamp, "nonce": nonce,
                "signature": sha1_sign(cfg.token or "", timestamp, nonce)}

    check_request(cfg, args(str(now - cfg.max_skew)), now=now)   # just within the skew
    check_request(cfg, args(str(now), "n" * 64), now=now)        # the longest nonce
    assert _refusal(lambda: check_request(cfg, args(str(now - cfg.max_skew - 1)), now=now)) \
        == (403, "timestamp is too old or in the future (a replay?)")
    for bad in (args(str(now), ""), args(str(now), "n" * 65), args("1" * 13),
                {"nonce": "n", "signature": "x"}, {"timestamp": str(now), "signature": "x"}):
        assert _refusal(lambda bad=bad: check_request(cfg, bad, now=now)) \
            == (403, "timestamp and nonce are required")
    check_request(cfg, args("1" * 12), now=int("1" * 12))     # twelve digits are a time
    forged = {**args(str(now)), "signature": sha1_sign("", str(now), "n")}  # no Token
    assert _refusal(lambda: check_request(cfg, forged, now=now)) \
        == (403, "signature does not match")


def test_the_xml_parser_at_its_edges_says_why() -> None:
    assert _refusal(lambda: parse_xml(b"<xml/>" + b" " * 10, limit=15)) \
        == (413, "the message is larger than 15 bytes")
    parse_xml(b"<xml/>" + b" " * 9, limit=15)  # exactly the limit
    assert _refusal(lambda: parse_xml(b'<!DOCTYPE xml><xml></xml>', limit=999)) \
        == (400, "DTDs, entities and external references are not accepted")
    assert _refusal(lambda: parse_xml(b"<xml>", limit=999)) \
        == (400, "the body is not well-formed XML")
    assert _refusal(lambda: parse_xml(b"<html/>", limit=999)) \
        == (400, "not a WeChat message (<xml> with its fields)")
    full = b"<xml>" + b"".join(b"<F%d>1</F%d>" % (i, i) for i in range(64)) + b"</xml>"
    assert len(parse_xml(full, limit=99_999)) == 64  # 64 fields: allowed
    fields = parse_xml(b"<xml><ScanCodeInfo><ScanType>qrcode</ScanType></ScanCodeInfo>"
                       b"<FromUserName> oUser </FromUserName><MsgId></MsgId>"
                       b"<Content>  two  spaces  </Content></xml>", limit=999)
    # nested elements are skipped, not the fields after them; only Content keeps its spaces
    assert fields == {"FromUserName": "oUser", "MsgId": "", "Content": "  two  spaces  "}
    assert parse_xml(b"<xml><Content/></xml>", limit=999) == {"Content": ""}


def test_safe_mode_refusals_say_why_and_replies_are_sealed_for_this_account() -> None:
    cfg = config()
    xml = to_xml({"FromUserName": "oUser_1", "MsgType": "text", "Content": "你好"})
    encrypted = aes_encrypt(cfg.aes_key or "", cfg.app_id, xml)
    signed = {"timestamp": "1", "nonce": "2",
              "msg_signature": sha1_sign(cfg.token or "", "1", "2", encrypted)}
    envelope = Envelope(cfg)
    assert envelope.open({"Encrypt": encrypted}, signed, limit=65536)["Content"] == "你好"
    assert _refusal(lambda: envelope.open({}, signed, limit=65536)) \
        == (400, "encrypt_type=aes but no <Encrypt>")
    assert _refusal(lambda: envelope.open({"Encrypt": encrypted}, {**signed, "nonce": "3"},
                                          limit=65536)) == (403, "msg_signature does not match")
    unsigned = sha1_sign("", "1", "2", encrypted)  # signed without the Token
    assert _refusal(lambda: envelope.open({"Encrypt": encrypted},
                                          {**signed, "msg_signature": unsigned}, limit=65536)) \
        == (403, "msg_signature does not match")
    # a message without timestamp and nonce is signed over empty ones, as WeChat would
    bare = {"msg_signature": sha1_sign(cfg.token or "", "", "", encrypted)}
    assert envelope.open({"Encrypt": encrypted}, bare, limit=65536)["Content"] == "你好"
    other = aes_encrypt(cfg.aes_key or "", "wxANOTHER", xml)
    assert _refusal(lambda: envelope.open({"Encrypt": other}, {
        "timestamp": "1", "nonce": "2", "msg_signature": sha1_sign(cfg.token or "", "1", "2",
                                                                   other)}, limit=65536)) \
        == (403, "the message is for another account (AppID)")
    junk = "QUJD" * 8
    assert _refusal(lambda: envelope.open({"Encrypt": junk}, {
        "timestamp": "1", "nonce": "2", "msg_signature": sha1_sign(cfg.token or "", "1", "2",
                                                                   junk)}, limit=65536)) \
        == (400, "the encrypted message does not decrypt")
    # the sealed reply: signed with the Token over its own timestamp, opened by WeChat
    before = int(time.time())
    sealed = parse_reply(envelope.seal("<xml><Content>好</Content></xml>", nonce="9"))
    assert before <= int(sealed["TimeStamp"]) <= int(time.time())
    assert sealed["MsgSignature"] == sha1_sign(cfg.token or "", sealed["TimeStamp"], "9",
                                               sealed["Encrypt"])
    assert aes_decrypt(cfg.aes_key or "", sealed["Encrypt"])[0] == \
        "<xml><Content>好</Content></xml>"
