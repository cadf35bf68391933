"""The WeChat Official Account channel end to end: a fake WeChat platform
(tests/fakes/wechat.py, WeChat's wire format) against the real Rasa server, action
server and agent desk."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from scripts.stack import Stack
from shop.db import make_engine, session_factory, sqlite_url
from shop.models import Order
from tests.e2e.settle import sent_before_now
from tests.e2e.test_conversations import find_order
from tests.e2e.test_handoff import Desk, desk_session, new_agent, queue
from tests.fakes.wechat import BOMB_XML, XXE_XML, FakeWeChat, sha1_sign
from tests.knowledge_graph.test_grocery_store import GROCERY

pytestmark = pytest.mark.e2e


def openid() -> str:
    return f"oE2E_{uuid.uuid4().hex[:20]}"


def history(stack: Stack, conversation: str) -> dict[str, Any]:
    reply = requests.get(f"{stack.rasa_url}/webhooks/internal/conversations/{conversation}",
                         headers={"Authorization":
                                  f"Bearer {stack.secrets['CHANNEL_PUSH_TOKEN']}"}, timeout=30)
    assert reply.status_code == 200, reply.text
    return reply.json()


def customer_texts(stack: Stack, conversation: str) -> list[str]:
    return [m["text"] for m in history(stack, conversation)["messages"]
            if m["role"] == "customer"]


def lines_of(reply: Any, prefix: str) -> str:
    """The first line of a passive reply's text starting with ``prefix``."""
    found = [line for line in reply.fields["Content"].splitlines() if line.startswith(prefix)]
    assert found, reply.fields
    return found[0]


def test_url_verification_and_every_forged_or_hostile_request_is_refused(
        stack: Stack, wechat: FakeWeChat) -> None:
    shop = stack.rasa_url
    assert wechat.verify_url(shop).text == "5837397520665436492"
    url = f"{shop}/webhooks/wechat/webhook"
    forged = {**wechat.signed(echostr="1"), "signature": "0" * 40}
    assert requests.get(url, params=forged, timeout=10).status_code == 403
    assert requests.get(url, timeout=10).status_code == 403

    user = openid()
    message = wechat.message(user, "text", Content="hello")
    # a forged signature: refused, and nothing kept (the same MsgId is answered later)
    bad = {**wechat.signed(openid=user), "signature": "f" * 40}
    assert wechat.deliver(shop, message, params=bad).status == 403
    old = str(int(time.time()) - 3600)  # a replay of an hour-old request
    stale = {"timestamp": old, "nonce": "7", "signature": sha1_sign(wechat.token, old, "7")}
    assert wechat.deliver(shop, message, params=stale).status == 403
    for body, status in ((BOMB_XML, 400), (XXE_XML, 400), (b"<xml><Content>", 400),
                         (b"\xff\xfe\x00<", 400), (b"<xml>" + b"x" * 70_000 + b"</xml>", 413)):
        reply = wechat.deliver(shop, message, raw=body)
        assert reply.status == status, (body[:40], reply.body)
        assert "root:" not in reply.body
    # safe mode with a wrong msg_signature, and an encrypted message without <Encrypt>
    encrypted = {**wechat.signed(openid=user), "encrypt_type": "aes",
                 "msg_signature": "0" * 40}
    assert wechat.deliver(shop, message, params=encrypted).status == 400
    assert wechat.deliver(shop, {"ToUserName": "gh", "Encrypt": "QUJD"},
                          params=encrypted).status == 403
    # another user's OpenID in the URL than in the message
    assert wechat.deliver(shop, message, params=wechat.signed(openid="oSomeoneElse")).status \
        == 403
    answer = wechat.deliver(shop, message)
    assert answer.status == 200 and answer.fields.get("Content"), answer.body
    assert customer_texts(stack, user) == ["hello"]
    assert stack.alive()


@pytest.mark.parametrize("mode", ["aes", "compat"])
def test_a_chinese_product_conversation_in_safe_mode(stack: Stack, wechat: FakeWeChat,
                                                     mode: str) -> None:
    user = openid()
    welcome = wechat.deliver(stack.rasa_url, wechat.message(user, "event", Event="subscribe"),
                             mode=mode)
    assert "商店助手" in welcome.fields["Content"], welcome.body
    listing = wechat.text(stack.rasa_url, user, "有没有跑鞋", mode=mode)
    assert listing.fields["MsgType"] == "text"  # within WeChat's 5 s (the fake's timeout)
    lines = [line for line in listing.fields["Content"].splitlines() if line[:2] == "2."]
    assert lines and "¥" in lines[0], listing.fields
    second = lines[0][3:].split(" — ")[0]
    price = wechat.text(stack.rasa_url, user, "第二个多少钱", mode=mode)
    assert second in price.fields["Content"] and "¥" in price.fields["Content"]
    # WeChat customers answer a numbered list with the number
    third = lines_of(listing, "3.")[3:].split(" — ")[0]
    picked = wechat.text(stack.rasa_url, user, "3", mode=mode)
    assert third in picked.fields["Content"] and "再见" not in picked.fields["Content"]
    # voice with WeChat's recognition is a message; without it, a polite request to type
    voice = wechat.deliver(stack.rasa_url, wechat.message(
        user, "voice", MediaId="m1", Format="amr", Recognition="谢谢"), mode=mode)
    assert voice.fields["Content"]
    no_words = wechat.deliver(stack.rasa_url, wechat.message(user, "voice", MediaId="m2",
                                                             Format="amr"), mode=mode)
    assert "打字" in no_words.fields["Content"]
    where = wechat.deliver(stack.rasa_url, wechat.message(
        user, "location", Location_X="23.1", Location_Y="113.3", Scale="20",
        Label="广州"), mode=mode)
    assert "文字和图片" in where.fields["Content"]
    assert wechat.deliver(stack.rasa_url, wechat.message(user, "event", Event="unsubscribe"),
                          mode=mode).success


def test_an_english_conversation_with_cards_and_numbered_choices(stack: Stack,
                                                                 wechat: FakeWeChat) -> None:
    user = openid()
    # a menu button whose key is the message
    listing = wechat.deliver(stack.rasa_url, wechat.message(
        user, "event", Event="CLICK", EventKey="show me running shoes"))
    assert "$" in listing.fields["Content"]
    price = wechat.text(stack.rasa_url, user, "how much is the second one?")
    assert "$" in price.fields["Content"]
    picks = wechat.text(stack.rasa_url, user, "what would you recommend?")
    assert "picks for you" in picks.fields["Content"], picks.fields
    listed = [line for line in picks.fields["Content"].splitlines() if line.startswith("1. ")]
    # the demo shop's products have no photos: the numbered list is the whole answer
    assert listed and wechat.sent_to(user) == []
    # "1" is the first card's "tell me more"
    chosen = wechat.text(stack.rasa_url, user, "1")
    name = listed[0][3:].split(" — ")[0].split(" (")[0]
    assert name in chosen.fields["Content"] and "Goodbye" not in chosen.fields["Content"]


def test_a_grocery_photo_sent_on_wechat_finds_the_product(grocery: Stack,
                                                          wechat: FakeWeChat) -> None:
    user = openid()
    photo = (GROCERY / "val" / "Fruit" / "Banana" / "Banana_003.jpg").read_bytes()
    reply = wechat.image(grocery.rasa_url, user, photo)
    assert reply.status == 200  # within WeChat's 5 s (the fake's timeout)
    words = reply.fields.get("Content", "") if not reply.success else ""
    sent = wechat.wait_sent(user, 1 if words else 2, timeout=60)
    words += " ".join(s.text for s in sent)
    first = [line for line in words.splitlines() if line.startswith("1.")]
    assert first and "Banana" in first[0], words
    assert any(s.body["msgtype"] == "news" for s in sent)
    assert history(grocery, user)["photos"], "the photo is kept with the conversation"


def test_a_slow_answer_arrives_through_custom_send_after_success(stack: Stack,
                                                                 wechat: FakeWeChat) -> None:
    user = openid()
    photo = (GROCERY / "val" / "Fruit" / "Banana" / "Banana_003.jpg")
    data = photo.read_bytes() if photo.exists() else _png()
    wechat.delays["/cgi-bin/media/get"] = 4.5  # WeChat's media server is slow today
    try:
        reply = wechat.image(stack.rasa_url, user, data, timeout=5.0)
    finally:
        wechat.delays.pop("/cgi-bin/media/get")
    # "success" within WeChat's 5 s (the fake's timeout), before the answer could be ready
    assert reply.success and wechat.sent_to(user) == [], (reply.body, reply.seconds)
    sent = wechat.wait_sent(user, 1, timeout=60)
    assert sent and sent[0].body["msgtype"] in ("text", "news"), sent


def test_retries_of_one_message_are_processed_and_answered_once(stack: Stack,
                                                                wechat: FakeWeChat) -> None:
    user = openid()
    message = wechat.message(user, "text", Content="what would you recommend?")
    with ThreadPoolExecutor(4) as pool:  # the retries arrive while the first still runs
        replies = list(pool.map(lambda _: wechat.deliver(stack.rasa_url, message), range(4)))
    answered = [r for r in replies if not r.success]
    assert len(answered) == 1 and all(r.status == 200 for r in replies), replies
    late = wechat.deliver(stack.rasa_url, message)  # a retry after the answer
    assert late.success
    # nothing sent a second time through the API
    assert sent_before_now(stack, "wechat", user, lambda: [s.text for s in
                                                          wechat.sent_to(user)]) == []
    assert customer_texts(stack, user) == ["what would you recommend?"]


def test_an_expired_token_is_refreshed_once_under_concurrency(stack: Stack,
                                                              wechat: FakeWeChat) -> None:
    users = [openid() for _ in range(8)]
    for user in users:
        wechat.text(stack.rasa_url, user, "hi")
    assert stack.push(users[0], {"text": "warm-up"}, channel="wechat",
                      role="notice").status_code == 201
    wechat.expire_tokens()
    before = wechat.token_calls
    barrier = threading.Barrier(len(users))

    def push(user: str) -> int:
        barrier.wait()
        return stack.push(user, {"text": "Your parcel left the warehouse."}, channel="wechat",
                          role="notice").status_code

    with ThreadPoolExecutor(len(users)) as pool:
        assert list(pool.map(push, users)) == [201] * len(users)
    assert wechat.token_calls == before + 1
    assert any(e["errcode"] == 42001 for e in wechat.errors)
    for user in users:
        assert "Your parcel left the warehouse." in [s.text for s in wechat.sent_to(user)]


def test_api_failures_are_retried_and_a_closed_window_is_reported(stack: Stack,
                                                                  wechat: FakeWeChat) -> None:
    user = openid()
    wechat.text(stack.rasa_url, user, "hi")
    wechat.fail_next["/cgi-bin/message/custom/send"] = [502, 503]
    assert stack.push(user, {"text": "after two failures"}, channel="wechat").status_code == 201
    assert [s.text for s in wechat.sent_to(user)] == ["after two failures"]
    wechat.last_message[user] = time.time() - 49 * 3600  # WeChat's 48-hour window closed
    refused = stack.push(user, {"text": "too late"}, channel="wechat")
    assert refused.status_code == 409 and "45015" in refused.json()["error"]
    assert stack.push("oNeverWrote", {"text": "x"}, channel="wechat").status_code == 409


def test_a_linked_openid_is_the_shop_s_customer(stack: Stack, wechat: FakeWeChat) -> None:
    orders = session_factory(make_engine(sqlite_url(stack.data_dir / "shop.db")))
    order = find_order(orders, Order.status == "shipped")
    user, stranger = openid(), openid()
    link = {"channel": "wechat", "user": user, "customer_id": order.customer_id}
    route = f"{stack.rasa_url}/webhooks/internal/customers"
    assert requests.post(route, json=link, timeout=30).status_code == 401  # the shop only
    assert requests.post(route, json=link, headers={
        "Authorization": f"Bearer {stack.secrets['CHANNEL_PUSH_TOKEN']}"},
        timeout=30).status_code == 201
    known = wechat.text(stack.rasa_url, user, f"我的订单{order.number}到哪了")
    assert order.tracking_number in known.fields["Content"], known.fields
    assert history(stack, user)["customer_id"] == order.customer_id
    guest = wechat.text(stack.rasa_url, stranger, f"我的订单{order.number}到哪了")
    assert "邮箱" in guest.fields["Content"]
    assert order.tracking_number not in guest.fields["Content"]


def test_a_handed_over_wechat_conversation_reaches_the_agent_and_back(
        stack: Stack, wechat: FakeWeChat, browser: Any) -> None:
    user = openid()
    agent_id = new_agent(stack, name="Ann")
    queue(stack).set_online(agent_id, True)
    wechat.text(stack.rasa_url, user, "有没有跑鞋")
    asked = wechat.text(stack.rasa_url, user, "转人工")
    assert asked.fields.get("Content"), asked.body
    ticket = queue(stack).open_for(user)
    assert ticket is not None and ticket.channel == "wechat"
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    try:
        desk = Desk(context, stack, agent_id)  # the agent, in the desk page
        desk.open_conversation(stack, user)
        assert "wechat" in desk.page.inner_text("#queue")
        before = len(wechat.sent_to(user))
        desk.page.click("#claim")
        desk.wait_text("#conv-state", "assigned")
        # the customer is told who joined (sent by the Rasa server when the desk wakes it)
        notice = wechat.wait_sent(user, before + 1)[before]
        assert "已接入" in notice.text, notice.body
        before += 1
        # the customer writes to the person: the assistant says nothing, the desk shows it
        quiet = wechat.text(stack.rasa_url, user, "我的鞋子尺码不对")
        assert quiet.success
        desk.wait_text("#transcript", "我的鞋子尺码不对")
        desk.reply("您好，我是客服 Ann，请问需要换哪个尺码？")
        http, csrf = desk_session(stack, agent_id)
        base = f"{stack.desk_url}/desk/api/handoffs/{ticket.id}"
        headers = {"X-CSRF-Token": csrf}
        card = http.post(f"{base}/reply", json={"product": history(stack, user)["shown"][0]},
                         headers=headers, timeout=30)
        assert card.status_code == 200, card.text
        sent = wechat.wait_sent(user, before + 2)[before:]
        assert sent[0].body["msgtype"] == "text" and "Ann" in sent[0].text
        # the demo shop's products have no photo: the card is its title and price
        assert card.json()["message"]["text"] in sent[1].text
        transcript = history(stack, user)["messages"]
        assert any(m["role"] == "customer" and m["text"] == "我的鞋子尺码不对" and m["to_person"]
                   for m in transcript)
        # the customer's 48-hour window closed: the agent sees that it was not delivered
        wechat.last_message[user] = time.time() - 49 * 3600
        desk.page.fill("#reply", "还在吗？")
        desk.page.click("#send")
        desk.wait_text("#error", "45015")
        assert not any("还在吗？" in s.text for s in wechat.sent_to(user))
        # kept, marked undelivered in the transcript, with a retry
        kept = desk.page.locator("#transcript li.agent", has_text="还在吗？")
        kept.locator(".delivery.expired").wait_for(timeout=10_000)
        assert "not delivered" in kept.inner_text()
        # the customer writes again (WeChat's window opens): the agent retries, it arrives
        wechat.last_message[user] = time.time()
        kept.locator("button.retry").click()
        desk.page.locator("#transcript li.agent", has_text="还在吗？").locator(
            ".delivery.sent").wait_for(timeout=20_000)
        assert [s.text for s in wechat.sent_to(user)].count("Ann：还在吗？") == 1
        assert desk.page.locator("#transcript li.agent", has_text="还在吗？").count() == 1
        count = len(wechat.sent_to(user))
        desk.page.fill("#summary", "换尺码")
        desk.page.click("#handback")
        back = wechat.wait_sent(user, count + 2, timeout=30)[count:]
        assert back and any("1." in s.text for s in back), [s.text for s in back]  # CSAT
        assert desk.errors == []
    finally:
        context.close()


def _png(colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 64), colour).save(out, "PNG")
    return out.getvalue()



def test_a_message_taken_just_before_a_crash_is_answered_after_it(stack: Stack,
                                                                  wechat: FakeWeChat) -> None:
    user = openid()
    wechat.text(stack.rasa_url, user, "hi")
    photo = (GROCERY / "val" / "Fruit" / "Banana" / "Banana_003.jpg")
    data = photo.read_bytes() if photo.exists() else _png()
    wechat.delays["/cgi-bin/media/get"] = 20.0  # the photo is still downloading ...
    try:
        taken = wechat.image(stack.rasa_url, user, data, timeout=6.0)
        assert taken.success
        rasa = stack.processes["rasa"]  # ... when the server dies
        rasa.kill()
        rasa.wait(timeout=30)
    finally:
        wechat.delays.pop("/cgi-bin/media/get")
    stack.start_rasa()
    # WeChat won't send it again (it got "success"): the server answers it by itself
    sent = wechat.wait_sent(user, 1, timeout=90)
    assert sent and sent[0].body["msgtype"] in ("text", "news"), sent
    assert history(stack, user)["photos"], "the photo was taken after the restart"


def _photos(stack: Stack, user: str) -> list[str]:
    """The photos kept in ``user``'s conversation, once there are any (waits)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        photos = history(stack, user)["photos"]
        if photos:
            return list(photos)
        time.sleep(0.2)
    raise AssertionError(f"no photo was kept for {user}")


def test_an_agent_on_wechat_types_notes_and_replies_within_the_conversation(
        stack: Stack, wechat: FakeWeChat) -> None:
    """Through the desk's API as its page calls it: the agent's typing shows in the
    customer's WeChat ("Typing", then "CancelTyping"); an internal note never reaches the
    customer; a photo of another conversation is refused by the desk; WeChat's message
    quota (45047) is told to the agent and the reply is not counted as sent."""
    user, other = openid(), openid()
    photo = (GROCERY / "val" / "Fruit" / "Banana" / "Banana_003.jpg")
    data = photo.read_bytes() if photo.exists() else _png((240, 200, 20))
    wechat.image(stack.rasa_url, user, data)
    wechat.image(stack.rasa_url, other, _png())  # another photo (photos are kept by content)
    mine, theirs = _photos(stack, user), _photos(stack, other)
    assert set(mine).isdisjoint(theirs)
    agent_id = new_agent(stack, name="Ann")
    queue(stack).set_online(agent_id, True)
    wechat.text(stack.rasa_url, user, "转人工")
    ticket = queue(stack).open_for(user)
    assert ticket is not None and ticket.channel == "wechat"
    http, csrf = desk_session(stack, agent_id)
    base = f"{stack.desk_url}/desk/api/handoffs/{ticket.id}"
    headers = {"X-CSRF-Token": csrf}
    assert http.post(f"{base}/claim", headers=headers, timeout=30).status_code == 200
    # typing, shown in WeChat and taken away
    for on, command in ((True, "Typing"), (False, "CancelTyping")):
        typed = http.post(f"{base}/typing", json={"on": on}, headers=headers, timeout=30)
        assert typed.status_code == 200, typed.text
        assert wechat.typing[-1] == (user, command)
    # an internal note, then a reply: only the reply reaches the customer
    before = len(wechat.sent_to(user))
    noted = http.post(f"{base}/note", json={"text": "VIP 客户，别提退款"}, headers=headers,
                      timeout=30)
    assert noted.status_code == 200, noted.text
    replied = http.post(f"{base}/reply", json={"text": "您好，我是客服 Ann"}, headers=headers,
                        timeout=30)
    assert replied.status_code == 200, replied.text
    sent = wechat.wait_sent(user, before + 1)[before:]
    assert [s.text for s in sent] == ["Ann：您好，我是客服 Ann"]
    assert not any("VIP" in s.text for s in wechat.sent_to(user))
    assert any(n["text"] == "VIP 客户，别提退款" for n in history(stack, user)["notes"])
    # this conversation's photo opens; another conversation's does not
    assert http.get(f"{base}/photos/{mine[0]}", timeout=30).status_code == 200
    refused = http.get(f"{base}/photos/{theirs[0]}", timeout=30)
    assert refused.status_code == 404 and refused.content[:2] != b"\xff\xd8"
    # WeChat's quota of messages per customer message is used up (45047)
    wechat.quota[user] = 0
    over = http.post(f"{base}/reply", json={"text": "还有一件事"}, headers=headers, timeout=30)
    assert over.status_code >= 400 and "45047" in over.text, over.text
    assert not any("还有一件事" in s.text for s in wechat.sent_to(user))
    events = http.get(base, timeout=30).json()["events"]
    replies = [e["detail"].get("text") for e in events if e["action"] == "replied"]
    assert replies == ["您好，我是客服 Ann"], replies


def test_a_msgmenu_tap_is_the_choice_it_names(stack: Stack, wechat: FakeWeChat) -> None:
    """WeChat delivers a tap on a ``msgmenu`` item as a text with ``bizmsgmenuid``: the
    item's words ("Tell me more", the same for every card) and its id name the choice."""
    user = openid()
    picks = wechat.text(stack.rasa_url, user, "what would you recommend?")
    listed = [line for line in picks.fields["Content"].splitlines() if line[:3] in ("1. ",
                                                                                  "2. ")]
    assert len(listed) == 2, picks.fields
    second = listed[1][3:].split(" — ")[0].split(" (")[0]
    tapped = wechat.deliver(stack.rasa_url, wechat.message(
        user, "text", Content="Tell me more", bizmsgmenuid="2"))
    assert second in tapped.fields["Content"], tapped.fields


def test_a_token_replaced_elsewhere_is_refreshed_on_40001(stack: Stack,
                                                         wechat: FakeWeChat) -> None:
    """Another server of the account fetched a new access_token: five minutes later the
    shop's is refused with 40001; the shop fetches a new one and the message arrives."""
    user = openid()
    wechat.text(stack.rasa_url, user, "hi")
    assert stack.push(user, {"text": "warm-up"}, channel="wechat",
                      role="notice").status_code == 201
    wechat.issue_token()  # some other tool of the shop asked WeChat for a token
    wechat.end_overlap()
    calls, errors = wechat.token_calls, len(wechat.errors)
    pushed = stack.push(user, {"text": "您的包裹已发出"}, channel="wechat", role="notice")
    assert pushed.status_code == 201, pushed.text
    assert [e["errcode"] for e in wechat.errors[errors:]] == [40001]
    assert wechat.token_calls == calls + 1
    assert [s.text for s in wechat.sent_to(user)][-1] == "您的包裹已发出"
