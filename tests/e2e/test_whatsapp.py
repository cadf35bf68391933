"""The WhatsApp channel end to end: a fake WhatsApp Cloud API (tests/fakes/whatsapp.py,
Meta's documented wire format) against the real Rasa server, action server and agent
desk, in English and Chinese."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest

from scripts.stack import Stack
from tests.e2e.settle import answered, sent_before_now
from tests.e2e.test_handoff import Desk, new_agent, queue
from tests.e2e.test_messenger import not_in_rasa
from tests.e2e.test_wechat import customer_texts, history
from tests.fakes.whatsapp import TEMPLATE, FakeWhatsApp
from tests.knowledge_graph.test_grocery_store import GROCERY

pytestmark = pytest.mark.e2e


def wa_id() -> str:
    return "86" + str(uuid.uuid4().int)[:11]


def settled(stack: Stack, fake: FakeWhatsApp, user: str) -> list[Any]:
    """Everything sent to ``user``, once it is all sent (:func:`sent_before_now`)."""
    before = sent_before_now(stack, "whatsapp", user, lambda: [c.text for c in
                                                                fake.sent_to(user)])
    return fake.sent_to(user)[:len(before)]


def answer(fake: FakeWhatsApp, user: str, count: int = 1, timeout: float = 30.0,
           after: int = 0) -> list[Any]:
    sent = fake.wait_sent(user, after + count, timeout=timeout)[after:]
    assert len(sent) >= count, [c.body for c in fake.sent_to(user)]
    return sent


def test_verification_signatures_and_hostile_deliveries(stack: Stack,
                                                        whatsapp: FakeWhatsApp) -> None:
    assert whatsapp.verify(stack.rasa_url).text == "1158201444"
    assert whatsapp.verify(stack.rasa_url, token="wrong-token-0000000").status_code == 403
    assert whatsapp.verify(stack.rasa_url, mode="unsubscribe").status_code == 403
    user = wa_id()
    message = whatsapp.text(user, "hello")
    for signature in ("", "sha256=" + "0" * 64, "sha1=abc"):
        assert whatsapp.deliver(stack.rasa_url, [message], signature=signature
                                ).status_code == 403
    odd_shapes = {"object": "whatsapp_business_account", "entry": [{"changes": [
        {"field": "messages", "value": {"metadata": "x", "messages": "y"}}]}]}
    assert whatsapp.deliver(stack.rasa_url, [], raw=json.dumps(odd_shapes).encode()
                            ).status_code == 400
    for raw in (b"{", b"[]", b'{"object": "page", "entry": []}', b"\xff\xfe",
                b'{"object": "whatsapp_business_account", "entry": ' + b"[" * 5000):
        assert whatsapp.deliver(stack.rasa_url, [], raw=raw).status_code == 400, raw[:40]
    big = b'{"object": "whatsapp_business_account", "x": "' + b"a" * 1_100_000 + b'"}'
    assert whatsapp.deliver(stack.rasa_url, [], raw=big).status_code == 413
    # another business number's message, a malformed sender, script-bearing text
    assert whatsapp.deliver(stack.rasa_url, [message], phone_number_id="999").status_code == 200
    odd = {**whatsapp.text(user, "x"), "from": "<script>alert(1)</script>"}
    assert whatsapp.deliver(stack.rasa_url, [odd]).status_code == 200
    # acknowledged before the answer is sent: the Cloud API is slow today
    whatsapp.delays[whatsapp.messages_path] = 3.0
    try:
        assert whatsapp.deliver(stack.rasa_url, [message]).status_code == 200
        assert whatsapp.sent_to(user) == []
    finally:
        whatsapp.delays.pop(whatsapp.messages_path)
    # nothing of the refused deliveries ran: what was sent answers the one message
    sent = settled(stack, whatsapp, user)
    assert sent and "shop assistant" in sent[0].text, [c.body for c in sent]
    assert customer_texts(stack, user) == ["hello"]
    assert answer(whatsapp, user)[0].kind == "text"
    # read, with the typing indicator, once
    reads = [c for c in whatsapp.sent_to(user, reads=True) if c.kind == "read"
             and c.body["message_id"] == message["id"]]
    assert len(reads) == 1 and reads[0].body["typing_indicator"] == {"type": "text"}
    bad = {**whatsapp.text(user, "<img src=x onerror=alert(1)> \ud800"), "id": message["id"] + "b"}
    assert whatsapp.deliver(stack.rasa_url, [bad]).status_code in (200, 400)
    assert stack.alive()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_shopping_conversation_with_lists_photos_and_taps(stack: Stack,
                                                            whatsapp: FakeWhatsApp,
                                                            lang: str) -> None:
    user = wa_id()
    search, follow, recommend = {
        "en": ("show me running shoes", "how much is the second one?",
               "what would you recommend?"),
        "zh": ("有没有跑鞋", "第二个多少钱", "有什么推荐的吗")}[lang]
    whatsapp.deliver(stack.rasa_url, [whatsapp.text(user, search)])
    listing = answer(whatsapp, user)[0].text
    second = [line for line in listing.splitlines() if line.startswith("2.")][0]
    name = second[3:].split(" — ")[0]
    whatsapp.deliver(stack.rasa_url, [whatsapp.text(user, follow)])
    price = answer(whatsapp, user, after=1)[0].text
    assert name in price and ("$" in price or "¥" in price)
    count = len(whatsapp.sent_to(user))
    whatsapp.deliver(stack.rasa_url, [whatsapp.text(user, recommend)])
    answer(whatsapp, user, 2, after=count)
    picks = settled(stack, whatsapp, user)[count:]
    # (the demo shop's products have no photos: the grocery test sees them)
    assert all(c.body["image"]["link"].startswith("http") for c in picks if c.kind == "image")
    menus = [c for c in picks if c.kind == "interactive" and c.choices]
    assert menus, [c.body for c in picks]
    choice_id, title = menus[-1].choices[0]
    count = len(whatsapp.sent_to(user))
    # a tapped product ("tell me more") feeds back into the assistant
    row = menus[-1].body["interactive"]["type"] == "list"
    whatsapp.deliver(stack.rasa_url, [whatsapp.tap(user, choice_id, title, row=row)])
    details = answer(whatsapp, user, after=count)[0].text
    assert title.rstrip("…").split(" (")[0].split("（")[0][:12] in details
    # the desk and the history show what the customer tapped, never the payload
    said = customer_texts(stack, user)
    assert title in said and choice_id not in said


def test_two_misunderstood_messages_offer_a_person_as_reply_buttons(
        stack: Stack, whatsapp: FakeWhatsApp) -> None:
    user = wa_id()
    whatsapp.deliver(stack.rasa_url, [whatsapp.text(user, "flurb the wibble gorp"),
                                      whatsapp.text(user, "zorp blib quax")])
    answer(whatsapp, user, 3)
    offer = [c for c in settled(stack, whatsapp, user) if c.choices]
    assert offer and offer[0].body["interactive"]["type"] == "button", \
        [c.body for c in whatsapp.sent_to(user)]
    replies = dict(offer[0].choices)
    assert set(replies) == {"/human_handoff", "/deny"}
    count = len(whatsapp.sent_to(user))
    whatsapp.deliver(stack.rasa_url, [whatsapp.tap(user, "/deny", replies["/deny"])])
    assert answer(whatsapp, user, after=count)[0].text
    assert queue(stack).open_for(user) is None  # "no, thanks": nobody is called


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_what_whatsapp_cannot_show_gets_a_polite_answer(stack: Stack, whatsapp: FakeWhatsApp,
                                                        lang: str) -> None:
    user = wa_id()
    whatsapp.deliver(stack.rasa_url, [whatsapp.text(user, {"en": "hello", "zh": "你好"}[lang])])
    answer(whatsapp, user)
    for n, kind in enumerate(("audio", "sticker", "location"), start=1):
        whatsapp.deliver(stack.rasa_url, [whatsapp.other(user, kind)])
        polite = answer(whatsapp, user, after=n)[0].text
        assert ("图片" in polite) if lang == "zh" else ("photos" in polite), polite
    # a status update is not a message
    count = len(whatsapp.sent_to(user))
    whatsapp.deliver(stack.rasa_url, [], statuses=[
        whatsapp.status(user, "wamid.x", "delivered"),
        whatsapp.status(user, "wamid.y", "failed", code=131026)])
    assert len(settled(stack, whatsapp, user)) == count


def test_a_delivery_retried_by_meta_is_answered_once(stack: Stack,
                                                     whatsapp: FakeWhatsApp) -> None:
    user = wa_id()
    message = whatsapp.text(user, "你好")
    for _ in range(3):
        assert whatsapp.deliver(stack.rasa_url, [message]).status_code == 200
    answer(whatsapp, user)
    assert len(settled(stack, whatsapp, user)) == 1
    assert customer_texts(stack, user) == ["你好"]


def test_rate_limits_and_errors_of_the_cloud_api_are_retried(stack: Stack,
                                                             whatsapp: FakeWhatsApp) -> None:
    user = wa_id()
    whatsapp.fail_next[whatsapp.messages_path] = [
        (500, {"message": "An unknown error occurred", "type": "OAuthException", "code": 1,
               "fbtrace_id": "x"}),
        (400, {"message": "(#130429) Rate limit hit", "type": "OAuthException",
               "code": 130429, "fbtrace_id": "y"})]
    whatsapp.deliver(stack.rasa_url, [whatsapp.text(user, "hello")])
    assert answer(whatsapp, user)[0].text
    assert not whatsapp.fail_next[whatsapp.messages_path]


def test_a_grocery_photo_through_the_media_endpoint_finds_the_product(
        grocery: Stack, whatsapp: FakeWhatsApp) -> None:
    user = wa_id()
    photo = (GROCERY / "val" / "Fruit" / "Banana" / "Banana_003.jpg").read_bytes()
    assert whatsapp.deliver(grocery.rasa_url, [whatsapp.image(user, photo)]).status_code == 200
    answer(whatsapp, user, 2, timeout=60)
    sent = settled(grocery, whatsapp, user)
    words = " ".join(c.text for c in sent)
    assert "Banana" in words, words
    photos = [c.body["image"] for c in sent if c.kind == "image"]
    assert photos and photos[0]["link"].startswith("http") and "Banana" in photos[0]["caption"]
    assert history(grocery, user)["photos"]


def test_a_photo_whatsapp_no_longer_has_gets_a_polite_answer(stack: Stack,
                                                             whatsapp: FakeWhatsApp) -> None:
    user = wa_id()
    message = whatsapp.image(user, b"\xff\xd8 not really a jpeg", caption="这个有吗")
    whatsapp.media.pop(message["image"]["id"])  # expired on Meta's side
    whatsapp.deliver(stack.rasa_url, [message])
    assert "图片没能收到" in answer(whatsapp, user)[0].text
    assert not_in_rasa(stack, user)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_handoff_to_the_desk_and_a_reply_after_the_window_as_a_template(
        stack: Stack, whatsapp: FakeWhatsApp, browser: Any, lang: str) -> None:
    user = wa_id()
    agent_id = new_agent(stack, name="Ann")
    queue(stack).set_online(agent_id, True)
    ask, later = {"en": ("I want to talk to a person", "my parcel is late"),
                  "zh": ("我要转人工", "我的包裹还没到")}[lang]
    whatsapp.deliver(stack.rasa_url, [whatsapp.text(user, ask)])
    answer(whatsapp, user)
    ticket = queue(stack).open_for(user)
    assert ticket is not None and ticket.channel == "whatsapp"
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    try:
        desk = Desk(context, stack, agent_id)
        desk.open_conversation(stack, user)
        desk.page.click("#claim")
        desk.wait_text("#conv-state", "assigned")
        joined = {"en": "has joined", "zh": "已接入"}[lang]
        assert whatsapp.wait_for(lambda: [c for c in whatsapp.sent_to(user)
                                          if joined in c.text], 1, 30)
        count = len(whatsapp.sent_to(user))
        whatsapp.deliver(stack.rasa_url, [whatsapp.text(user, later)])
        desk.wait_text("#transcript", later)
        answered(stack, "whatsapp", user)
        # a voice note while a person holds the chat: the agent sees it came, the
        # assistant does not answer it
        whatsapp.deliver(stack.rasa_url, [whatsapp.other(user, "audio")])
        desk.wait_text("#transcript", "[audio]")
        answered(stack, "whatsapp", user)
        desk.reply("Hi, Ann here. Let me check that parcel.")
        # the assistant is silent: the next message after the customer's is the agent's
        sent = answer(whatsapp, user, after=count)[0]
        assert sent.kind == "text" and "Ann" in sent.text
        desk.wait_text("#transcript", "✓")  # delivered, as the desk shows it
        # a day later: the reply goes out as the approved template, in their language
        whatsapp.last_message[user] = time.time() - 25 * 3600
        count = len(whatsapp.sent_to(user))
        desk.reply("Your parcel arrives tomorrow.\nSorry for the wait.")
        template = answer(whatsapp, user, after=count)[0]
        assert template.kind == "template"
        assert template.body["template"]["name"] == TEMPLATE
        assert template.body["template"]["language"]["code"] == \
            {"en": "en_US", "zh": "zh_CN"}[lang]
        assert "Your parcel arrives tomorrow. Sorry for the wait." in template.text
        whatsapp.last_message[user] = time.time()
        desk.page.click("#handback")
        back = answer(whatsapp, user, 2, after=count + 1)
        assert any(c.choices for c in back)  # the satisfaction question
        assert desk.errors == []
    finally:
        context.close()


def test_no_template_outside_the_window_is_refused_back_to_the_desk(
        stack: Stack, whatsapp: FakeWhatsApp) -> None:
    user = wa_id()
    whatsapp.deliver(stack.rasa_url, [whatsapp.text(user, "hello")])
    answer(whatsapp, user)
    whatsapp.last_message[user] = time.time() - 25 * 3600
    templates = dict(whatsapp.templates)
    whatsapp.templates.clear()  # the shop's template was not approved
    try:
        pushed = stack.push(user, {"text": "Are you still there?", "author": "Ann"},
                            channel="whatsapp", role="agent")
    finally:
        whatsapp.templates.update(templates)
    assert pushed.status_code in (409, 502), pushed.text
    assert "not delivered" in pushed.json()["error"]
    # a notice (automated) outside the window is never sent as a template
    pushed = stack.push(user, {"text": "We are closed today."}, channel="whatsapp",
                        role="notice")
    assert pushed.status_code == 409 and "24 hours" in pushed.json()["error"], pushed.text
