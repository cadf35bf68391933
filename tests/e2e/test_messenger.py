"""The Messenger channel end to end: a fake Meta platform (tests/fakes/messenger.py,
Meta's wire format) against the real Rasa server, action server and agent desk."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests

from scripts.stack import Stack
from tests.e2e.settle import answered, sent_before_now
from tests.e2e.test_handoff import Desk, new_agent, queue
from tests.e2e.test_wechat import history
from tests.fakes.messenger import FakeMessenger
from tests.knowledge_graph.test_grocery_store import GROCERY

pytestmark = pytest.mark.e2e


SEND_PATH = "/v21.0/me/messages"


def texts_to(fake: FakeMessenger, user: str) -> Callable[[], list[str]]:
    """What the shop has sent ``user`` so far, as words (for :func:`sent_before_now`)."""
    return lambda: [c.text for c in fake.sent_to(user)]


def psid() -> str:
    return str(uuid.uuid4().int)[:16]


def answer(fake: FakeMessenger, user: str, count: int = 1, timeout: float = 30.0,
           after: int = 0) -> list[Any]:
    sent = fake.wait_sent(user, after + count, timeout=timeout)[after:]
    assert len(sent) >= count, [c.body for c in fake.sent_to(user)]
    return sent


def not_in_rasa(stack: Stack, conversation: str) -> bool:
    reply = requests.get(f"{stack.rasa_url}/webhooks/internal/conversations/{conversation}",
                         headers={"Authorization":
                                  f"Bearer {stack.secrets['CHANNEL_PUSH_TOKEN']}"}, timeout=30)
    return reply.status_code == 404


def test_verification_and_signatures(stack: Stack, messenger: FakeMessenger) -> None:
    assert messenger.verify(stack.rasa_url).text == "1158201444"
    assert messenger.verify(stack.rasa_url, token="wrong-token-0000000").status_code == 403
    assert messenger.verify(stack.rasa_url, mode="unsubscribe").status_code == 403
    user = psid()
    item = messenger.text(user, "hello")
    assert messenger.deliver(stack.rasa_url, [item], signature="").status_code == 403
    assert messenger.deliver(stack.rasa_url, [item], signature="sha256=" + "0" * 64
                             ).status_code == 403
    assert messenger.deliver(stack.rasa_url, [item], signature="sha1=abc").status_code == 403
    for raw in (b"{", b"[]", b'{"object": "user", "entry": []}', b"\xff\xfe"):
        reply = messenger.deliver(stack.rasa_url, [], raw=raw)
        assert reply.status_code == 400, raw
    big = b'{"object": "page", "entry": [], "x": "' + b"a" * 1_100_000 + b'"}'
    assert messenger.deliver(stack.rasa_url, [], raw=big).status_code == 413
    # acknowledged before the answer is sent: Meta's Send API is slow today
    messenger.delays[SEND_PATH] = 3.0
    try:
        assert messenger.deliver(stack.rasa_url, [item]).status_code == 200
        assert messenger.sent_to(user) == []
    finally:
        messenger.delays.pop(SEND_PATH)
    # nothing of the refused deliveries ran: the one answer is the greeting
    sent = sent_before_now(stack, "messenger", user, texts_to(messenger, user))
    assert len(sent) == 1 and "shop assistant" in sent[0], sent
    assert answer(messenger, user)[0].message.get("text")
    assert stack.alive()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_signed_conversation_with_quick_replies_and_the_carousel_postback(
        stack: Stack, messenger: FakeMessenger, lang: str) -> None:
    user = psid()
    search, follow, recommend = {
        "en": ("show me running shoes", "how much is the second one?",
               "what would you recommend?"),
        "zh": ("有没有跑鞋", "第二个多少钱", "有什么推荐的吗")}[lang]
    messenger.deliver(stack.rasa_url, [messenger.text(user, search)])
    listing = answer(messenger, user)[0].message["text"]
    second = [line for line in listing.splitlines() if line.startswith("2.")][0]
    name = second[3:].split(" — ")[0]
    messenger.deliver(stack.rasa_url, [messenger.text(user, follow)])
    price = answer(messenger, user, after=1)[0].message["text"]
    assert name in price and ("$" in price or "¥" in price)
    count = len(messenger.sent_to(user))
    messenger.deliver(stack.rasa_url, [messenger.text(user, recommend)])
    picks = answer(messenger, user, 2, after=count)
    carousel = [c for c in picks if c.message.get("attachment")]
    assert carousel, [c.body for c in picks]
    # the carousel is not listed again in words: only its heading is sent as text
    words = [c.message["text"] for c in picks if c.message.get("text")]
    assert words and not [w for w in words if "\n1. " in w or w.startswith("1. ")], words
    elements = carousel[0].message["attachment"]["payload"]["elements"]
    assert 1 <= len(elements) <= 10 and all(len(e["title"]) <= 80 for e in elements)
    button = elements[0]["buttons"][0]
    assert button["type"] == "postback" and len(button["title"]) <= 20
    count = len(messenger.sent_to(user))
    # the carousel's "tell me more" feeds back into the assistant
    messenger.deliver(stack.rasa_url, [messenger.postback(user, button["title"],
                                                          button["payload"])])
    details = answer(messenger, user, after=count)[0].message["text"]
    assert elements[0]["title"].split(" (")[0].split("（")[0] in details
    # two messages it can't understand: a person is offered as quick replies
    user = psid()
    messenger.deliver(stack.rasa_url, [messenger.text(user, "flurb the wibble gorp"),
                                       messenger.text(user, "zorp blib quax")])
    # each is answered "sorry"; the second's answer goes on with the offer
    offer = [c for c in answer(messenger, user, 3) if c.message.get("quick_replies")]
    assert offer, [c.body for c in messenger.sent_to(user)]
    replies = {q["payload"]: q["title"] for q in offer[0].message["quick_replies"]}
    assert set(replies) == {"/human_handoff", "/deny"}
    count = len(messenger.sent_to(user))
    messenger.deliver(stack.rasa_url, [messenger.text(user, replies["/deny"],
                                                      quick_reply="/deny")])
    assert answer(messenger, user, after=count)[0].message.get("text")
    assert queue(stack).open_for(user) is None  # "no, thanks": nobody is called


def test_a_batched_delivery_with_two_customers_and_echoes(stack: Stack,
                                                          messenger: FakeMessenger) -> None:
    first, second = psid(), psid()
    echo = messenger.item(first, message={"mid": "m_echo", "is_echo": True, "text": "hi",
                                          "app_id": 1})
    echo_photo = messenger.item(first, message={
        "mid": "m_echo2", "is_echo": True,
        "attachments": [{"type": "image", "payload": {"url": "https://x.fbcdn.net/a.jpg"}}]})
    delivery = messenger.item(first, delivery={"mids": ["m_1"], "watermark": 1})
    read = messenger.item(first, read={"watermark": 1})
    reaction = messenger.item(first, reaction={"reaction": "love", "action": "react",
                                               "mid": "m_1"})
    items = [messenger.text(first, "show me running shoes"), echo, echo_photo, delivery,
             read, reaction, messenger.text(second, "有没有跑鞋"),
             messenger.text(first, "how much is the second one?")]
    standby = [messenger.text(psid(), "to another app")]
    assert messenger.deliver(stack.rasa_url, items, standby=standby).status_code == 200
    to_first = answer(messenger, first, 2)
    assert "1." in to_first[0].message["text"] and "$" in to_first[1].message["text"]
    assert "¥" in answer(messenger, second)[0].message["text"]
    # echoes, reads and reactions: no answer
    assert len(sent_before_now(stack, "messenger", first, texts_to(messenger, first))) == 2
    assert [m["text"] for m in history(stack, first)["messages"]
            if m["role"] == "customer"] == ["show me running shoes",
                                            "how much is the second one?"]


def test_a_delivery_retried_by_meta_is_answered_once(stack: Stack,
                                                     messenger: FakeMessenger) -> None:
    user = psid()
    item = messenger.text(user, "hello")
    for _ in range(3):
        assert messenger.deliver(stack.rasa_url, [item]).status_code == 200
    answer(messenger, user)
    assert len(sent_before_now(stack, "messenger", user, texts_to(messenger, user))) == 1
    assert [m["text"] for m in history(stack, user)["messages"]
            if m["role"] == "customer"] == ["hello"]


def test_a_grocery_photo_as_an_attachment_finds_the_product(grocery: Stack,
                                                            messenger: FakeMessenger) -> None:
    user = psid()
    photo = (GROCERY / "val" / "Fruit" / "Banana" / "Banana_003.jpg").read_bytes()
    assert messenger.deliver(grocery.rasa_url, [messenger.image(user, photo)]).status_code == 200
    sent = answer(messenger, user, 2, timeout=60)
    words = " ".join(c.text for c in sent)
    carousel = [c for c in sent if c.message.get("attachment")]
    assert carousel, words
    first = carousel[0].message["attachment"]["payload"]["elements"][0]
    assert "Banana" in first["title"] and first.get("image_url", "").startswith("http")
    # the cards are drawn: the text keeps the heading and the advice, not the list again
    assert "photo" in words and not [line for line in words.splitlines()
                                     if line.startswith("1.")], words
    assert history(grocery, user)["photos"]


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:1/x.jpg", "https://127.0.0.1/x.jpg", "https://10.0.0.8/x.jpg",
    "https://[::1]/x.jpg", "https://169.254.169.254/latest/meta-data",
    "https://evil.example.com/x.jpg", "https://scontent.fbcdn.net.evil.example/x.jpg",
    "https://user:pw@scontent.fbcdn.net/x.jpg", "file:///etc/passwd"])
def test_attachment_urls_off_meta_s_cdn_are_refused(stack: Stack, messenger: FakeMessenger,
                                                    url: str) -> None:
    user = psid()
    messenger.deliver(stack.rasa_url, [messenger.image(user, url=url)])
    sent = answer(messenger, user)
    assert "couldn't get that photo" in sent[0].message["text"]
    assert not_in_rasa(stack, user)  # nothing reached the assistant


def test_a_redirect_off_the_cdn_is_not_followed(stack: Stack, messenger: FakeMessenger) -> None:
    user = psid()
    messenger.redirects["moved.jpg"] = "http://169.254.169.254/latest/meta-data"
    messenger.deliver(stack.rasa_url, [messenger.image(user, url=f"{messenger.url}/cdn/moved.jpg")])
    assert "couldn't get that photo" in answer(messenger, user)[0].message["text"]


def test_the_send_api_failing_twice_then_succeeding(stack: Stack,
                                                    messenger: FakeMessenger) -> None:
    user = psid()
    path = "/v21.0/me/messages"
    messenger.fail_next[path] = [
        (500, {"message": "An unexpected error has occurred.", "type": "OAuthException",
               "code": 2, "is_transient": True, "fbtrace_id": "x"}),
        (400, {"message": "(#613) Calls to this api have exceeded the rate limit.",
               "type": "OAuthException", "code": 613, "fbtrace_id": "y"})]
    messenger.deliver(stack.rasa_url, [messenger.text(user, "hello")])
    assert answer(messenger, user)[0].message.get("text")
    assert not messenger.fail_next[path]


def test_an_agent_s_reply_during_handoff_carries_the_human_agent_tag(
        stack: Stack, messenger: FakeMessenger, browser: Any) -> None:
    user = psid()
    agent_id = new_agent(stack, name="Ann")
    queue(stack).set_online(agent_id, True)
    messenger.deliver(stack.rasa_url, [messenger.text(user, "I want to talk to a person")])
    answer(messenger, user)
    ticket = queue(stack).open_for(user)
    assert ticket is not None and ticket.channel == "messenger"
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    try:
        desk = Desk(context, stack, agent_id)
        desk.open_conversation(stack, user)
        before = len(messenger.sent_to(user))
        desk.page.click("#claim")
        desk.wait_text("#conv-state", "assigned")
        # the customer is told who joined (an automated notice, applied by the Rasa
        # server when the desk wakes it, before the customer's next message at the latest)
        notice = answer(messenger, user, after=before)[0]
        assert "Ann from our team has joined" in notice.message["text"], notice.body
        count = before + 1
        messenger.deliver(stack.rasa_url, [messenger.text(user, "my parcel is late")])
        desk.wait_text("#transcript", "my parcel is late")
        answered(stack, "messenger", user)
        desk.reply("Hi, Ann here. Let me check that parcel.")
        # the assistant is silent: the next message after the customer's is the agent's
        sent = answer(messenger, user, after=count)[0]
        assert sent.body["messaging_type"] == "MESSAGE_TAG" and sent.body["tag"] == "HUMAN_AGENT"
        assert "Ann" in sent.message["text"]
        # automated messages never carry the tag
        assert all("tag" not in c.body for c in messenger.sent_to(user)[:count])
        # a week later, even a person's reply is refused, and the agent sees it
        messenger.last_message[user] = time.time() - 8 * 86400
        desk.page.fill("#reply", "Still there?")
        desk.page.click("#send")
        desk.wait_text("#error", "not delivered")
        messenger.last_message[user] = time.time()
        desk.page.click("#handback")
        back = answer(messenger, user, 2, after=count + 1)
        assert all("tag" not in c.body for c in back)
        assert any(c.message.get("quick_replies") for c in back)  # the CSAT question
        assert desk.errors == []
    finally:
        context.close()


def test_a_long_answer_and_many_buttons_are_split_not_dropped(stack: Stack,
                                                              messenger: FakeMessenger) -> None:
    user = psid()
    messenger.deliver(stack.rasa_url, [messenger.text(user, "hello")])
    answer(messenger, user)
    buttons = [{"title": f"Option number {i} with a long title", "payload": f"/choose{i}"}
               for i in range(1, 17)]
    pushed = stack.push(user, {"text": "x" * 4500, "buttons": buttons}, channel="messenger",
                        role="notice")
    assert pushed.status_code == 201, pushed.text
    sent = answer(messenger, user, 4, after=1)
    texts = [c.message["text"] for c in sent]
    assert "".join(texts[:3]).replace(" ", "").count("x") == 4500
    replies = [q for c in sent for q in c.message.get("quick_replies") or []]
    assert len(replies) == 16 and all(len(q["title"]) <= 20 for q in replies)
    assert json.dumps(replies).count("/choose") == 16


def test_a_delivery_acknowledged_just_before_a_crash_is_answered_after_it(
        stack: Stack, messenger: FakeMessenger) -> None:
    user = psid()
    messenger.deliver(stack.rasa_url, [messenger.text(user, "hello")])
    answer(messenger, user)
    path = "/v21.0/me/messages"
    messenger.delays[path] = 20.0  # Meta is slow: the answer is still being sent ...
    try:
        assert messenger.deliver(stack.rasa_url, [messenger.text(
            user, "show me running shoes")]).status_code == 200
        # the shop is working on it: its first call for this customer (typing) is held
        messenger.wait_arrival(lambda p, body: p == path
                               and body.get("recipient", {}).get("id") == user)
        rasa = stack.processes["rasa"]  # ... when the server dies
        rasa.kill()
        rasa.wait(timeout=30)
    finally:
        messenger.delays.pop(path)
    stack.start_rasa()
    listing = answer(messenger, user, after=1, timeout=60)[0].message["text"]
    assert "1." in listing and "$" in listing
    assert sent_before_now(stack, "messenger", user, texts_to(messenger, user)
                           ).count(listing) == 1
    assert [m["text"] for m in history(stack, user)["messages"]
            if m["role"] == "customer"] == ["hello", "show me running shoes"]


def test_a_customer_meta_says_is_unavailable_is_reported_not_retried(
        stack: Stack, messenger: FakeMessenger) -> None:
    """Meta's 551 ("This person isn't available right now"): a person's message is
    refused back to the desk with Meta's reason, tried once (it is not transient), and
    the assistant's own answers to other customers go on."""
    user, other = psid(), psid()
    messenger.deliver(stack.rasa_url, [messenger.text(user, "hello")])
    answer(messenger, user)
    messenger.unavailable.add(user)
    try:
        errors = len(messenger.errors)
        pushed = stack.push(user, {"text": "Ann here: your parcel is on its way"},
                            channel="messenger", role="agent")
        assert pushed.status_code in (409, 502) and "551" in pushed.json()["error"], \
            pushed.text
        assert [e["code"] for e in messenger.errors[errors:]] == [551]
        assert not any("parcel" in c.text for c in messenger.sent_to(user))
    finally:
        messenger.unavailable.discard(user)
    messenger.deliver(stack.rasa_url, [messenger.text(other, "hello")])
    assert "shop assistant" in answer(messenger, other)[0].text


def test_the_fake_refuses_what_meta_refuses(stack: Stack, messenger: FakeMessenger) -> None:
    """The fake's own rules (from Meta's documentation), each seen to refuse: so that the
    shop's messages passing it means something."""
    user = psid()
    messenger.deliver(stack.rasa_url, [messenger.text(user, "hello")])
    answer(messenger, user)
    send = f"{messenger.url}{SEND_PATH}"
    token = {"access_token": messenger.page_token}

    def refused(body: dict[str, Any]) -> tuple[int, int | None]:
        reply = requests.post(send, params=token, json=body, timeout=10)
        error = reply.json().get("error") or {}
        return error.get("code"), error.get("error_subcode")

    text = {"recipient": {"id": user}, "message": {"text": "hi"}}
    assert refused(text) == (100, None)  # no messaging_type
    base = {**text, "messaging_type": "RESPONSE"}
    assert refused({**base, "message": {"text": "hi", "quick_replies": [
        {"content_type": "text", "title": "Yes"}]}}) == (100, None)  # no payload
    assert refused({**base, "message": {"text": "hi", "quick_replies": [
        {"content_type": "text", "title": "Yes", "payload": "x" * 1001}]}}) == (100, None)
    messenger.thread_owner[user] = "263902037430900"  # the Page Inbox holds the thread
    before = len(messenger.refused_sends)
    try:
        assert refused(base) == (10, 2018300)
        assert refused({"recipient": {"id": user}, "sender_action": "typing_on"}) \
            == (10, 2018300)
    finally:
        messenger.thread_owner.pop(user)
        del messenger.refused_sends[before:]  # refused on purpose
    assert requests.post(send, params=token, json=base, timeout=10).status_code == 200
