"""One owner of a conversation's state, end to end (issue: seams must not leak).

Against the real Rasa server, action server and agent desk: a handback survives a
Rasa server killed in the middle of it, a form the customer was in never sees the
desk's events, a waiting customer's messages are kept for the person, "never mind"
in any phrasing leaves the queue once, and a form goes on after "talk to a person",
"why do you need my e-mail?" and "算了不用人工了，继续退货吧". The browser test: the
agent's typing hint is never shown for an internal note and is gone after a handback.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from scripts.stack import Stack
from tests.e2e.test_handoff import (
    REPORTS,
    Chat,
    Desk,
    _conversation,
    desk_session,
    in_chat,
    new_agent,
    nobody_online,
    queue,
    shop_page,
    two,  # noqa: F401 - fixture
)

pytestmark = pytest.mark.e2e
#: what must never reach a customer: internal names and a form's complaint about an event
LEAKS = ("EXTERNAL", "handoff_returned", "rate_handoff", "/human_handoff",
         "doesn't look like", "不是有效的")


def fetched(stack: Stack, sender: str, after: int = 0) -> list[dict[str, Any]]:
    reply = requests.get(f"{stack.rasa_url}/webhooks/rest/messages",
                         params={"sender": sender, "after": after}, timeout=30)
    assert reply.status_code == 200, reply.text
    return reply.json()["messages"]


def wait_for(stack: Stack, sender: str, text: str, *, after: int = 0,
             timeout: float = 90) -> list[dict[str, Any]]:
    deadline = time.time() + timeout
    while time.time() < deadline:
        messages = fetched(stack, sender, after)
        if any(text in (m.get("text") or "") for m in messages):
            return messages
        time.sleep(0.3)
    raise AssertionError(f"{text!r} never reached {sender}: {fetched(stack, sender, after)}")


def no_leak(texts: list[str]) -> None:
    leaked = [t for t in texts if any(word in t for word in LEAKS)]
    assert not leaked, leaked


def test_a_handback_while_the_rasa_server_is_dead_greets_the_customer_once_it_is_back(
        stack: Stack, sender: str) -> None:
    agent_id = new_agent(stack, name="Ann")
    http, csrf = desk_session(stack, agent_id)
    queue(stack).set_online(agent_id, True)
    asked = stack.say(sender, "I want to return my order")
    assert any("order number" in t for t in asked), asked
    # a person asked for in the middle of the form's question: queued, not "invalid"
    queued = stack.say(sender, "talk to a person")
    no_leak(queued)
    assert any("queue" in t for t in queued), queued
    ticket = queue(stack).open_for(sender)
    assert ticket is not None
    base = f"{stack.desk_url}/desk/api/handoffs/{ticket.id}"
    assert http.post(f"{base}/claim", headers={"X-CSRF-Token": csrf},
                     timeout=30).status_code == 200
    joined = wait_for(stack, sender, "Ann from our team has joined")
    last = joined[-1]["id"]

    rasa = stack.processes["rasa"]
    rasa.kill()  # the server dies: the handback must neither fail nor be lost
    rasa.wait(timeout=30)
    try:
        back = http.post(f"{base}/handback", json={"summary": "return label sent"},
                         headers={"X-CSRF-Token": csrf}, timeout=30)
        assert back.status_code == 200, back.text
        # one atomic step: the queue and the record agree before Rasa knows
        assert queue(stack).get(ticket.id).state == "resolved"
        assert queue(stack).holding(sender).holder == "assistant"
        assert [c.kind for c in queue(stack).pending_changes(conversation=sender)] == \
            ["handed_back"]
    finally:
        stack.start_rasa()
    after = wait_for(stack, sender, "How satisfied", after=last)
    texts = [m["text"] for m in after]
    assert sum("has handed you back" in t for t in texts) == 1, texts
    no_leak(texts)
    assert not any("order number" in t for t in texts), texts  # the form is over
    # marked applied right after the tracker's save, which follows the greeting's delivery
    deadline = time.monotonic() + 15
    while queue(stack).pending_changes(conversation=sender) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert queue(stack).pending_changes(conversation=sender) == []
    # the customer is with the assistant again, whose next answer is a real one
    answer = stack.say(sender, "show me running shoes")
    no_leak(answer)
    assert any("$" in t for t in answer), answer
    # the desk's transcript shows the customer's words, never an event or a payload
    rated = stack.post({"sender": sender, "message": '/rate_handoff{"csat": "5"}'})
    assert rated.status_code == 200
    boss = new_agent(stack, "supervisor")
    supervisor, _ = desk_session(stack, boss)
    shown = [m["text"] for m in supervisor.get(base, timeout=30).json()["history"]["messages"]
             if m["role"] == "customer"]
    assert "★★★★★" in shown, shown
    no_leak(shown)
    assert queue(stack).latest_for(sender).csat == 5  # type: ignore[union-attr]


def test_waiting_with_nobody_online_keeps_messages_and_goes_back_to_the_return(
        stack: Stack, sender: str) -> None:
    nobody_online(stack)
    asked = stack.say(sender, "我要退货")
    assert any("订单号" in t for t in asked), asked
    queued = stack.say(sender, "转人工")
    no_leak(queued)
    assert any("没有人工客服在线" in t for t in queued), queued
    ticket = queue(stack).open_for(sender)
    assert ticket is not None and ticket.state == "waiting"
    # a message for the person: kept (the desk's feed has it) and acknowledged, never
    # the form's question or an unrelated answer
    kept = stack.say(sender, "你好，有人吗？我的快递三天没动了")
    no_leak(kept)
    assert any("留言" in t and "保存" in t for t in kept), kept
    assert not any("订单号" in t for t in kept), kept
    fed = [e.detail.get("text") for e in queue(stack).events(ticket.id)
           if e.action == "customer_message"]
    assert "你好，有人吗？我的快递三天没动了" in fed
    # "never mind, carry on with the return": out of the queue once, back to the return
    resumed = stack.say(sender, "算了不用人工了，继续退货吧")
    no_leak(resumed)
    assert any("取消" in t for t in resumed), resumed
    assert any("订单号" in t for t in resumed), resumed
    assert queue(stack).get(ticket.id).state == "cancelled"
    assert queue(stack).holding(sender).holder == "assistant"
    # inside the form: why it asks, then its question again
    why = stack.say(sender, "为什么要邮箱？")
    no_leak(why)
    assert any("不会用于其他用途" in t for t in why) and any("订单号" in t for t in why), why
    again = stack.say(sender, "算了")
    assert queue(stack).open_for(sender) is None and again


def test_forget_it_while_waiting_leaves_the_queue_once_in_english(stack: Stack,
                                                                  sender: str) -> None:
    nobody_online(stack)
    stack.say(sender, "can I talk to a human")
    ticket = queue(stack).open_for(sender)
    assert ticket is not None
    kept = stack.say(sender, "hello? is anyone there?")
    assert any("kept your message" in t for t in kept), kept
    left = stack.say(sender, "forget it, cancel the request")
    no_leak(left)
    assert any("out of the queue" in t for t in left), left
    assert not any(w in " ".join(left) for w in ("Goodbye", "order number")), left
    assert queue(stack).get(ticket.id).state == "cancelled"
    # said again, it is a plain "no": no second cancellation, no new ticket
    stack.say(sender, "never mind")
    assert [e.action for e in queue(stack).events(ticket.id)].count("cancelled") == 1
    assert queue(stack).open_for(sender) is None


@pytest.mark.parametrize(("ask", "retract", "listed", "bye", "goodbye"), [
    ("can I get a real person then", "actually forget it, show me sneakers instead",
     "matching products", "ok goodbye", "Goodbye"),
    ("那给我找个真人", "算了不用了，给我看看休闲鞋吧", "款商品", "好的再见", "再见")])
def test_a_request_taken_back_with_a_question_leaves_the_queue_and_is_answered(
        stack: Stack, ask: str, retract: str, listed: str, bye: str, goodbye: str) -> None:
    """"Actually forget it, show me sneakers": the customer is out of the queue and sees
    sneakers; their goodbye is a goodbye, not "I've kept your message for the person"."""
    nobody_online(stack)
    sender = f"retract-{uuid.uuid4().hex[:8]}"
    stack.say(sender, ask)
    ticket = queue(stack).open_for(sender)
    assert ticket is not None
    answer = stack.say(sender, retract)
    no_leak(answer)
    assert listed in " ".join(answer), answer
    assert queue(stack).get(ticket.id).state == "cancelled"
    assert queue(stack).open_for(sender) is None
    last = stack.say(sender, bye)
    assert any(goodbye in t for t in last) and not any("kept" in t or "留言" in t
                                                       for t in last), last


def test_inside_a_form_a_question_is_answered_and_the_form_asks_again(stack: Stack,
                                                                      sender: str) -> None:
    stack.say(sender, "where is my order?")
    why = stack.say(sender, "why do you need my e-mail?")
    no_leak(why)
    assert any("don't use them for anything else" in t for t in why), why
    assert any("order number" in t for t in why), why
    stopped = stack.say(sender, "cancel")
    no_leak(stopped)
    assert any("I've stopped" in t for t in stopped), stopped


def test_the_agent_s_typing_hint_follows_the_conversation_in_the_browser(
        stack: Stack, two) -> None:  # noqa: F811 - fixture
    customer_context, agent_context = two
    nobody_online(stack)
    agent_id = new_agent(stack, name="Ann")
    desk = Desk(agent_context, stack, agent_id)
    page = shop_page(customer_context, stack, "en")
    chat = Chat(page).open()
    chat.say("I want to return my order")
    chat.say("talk to a person")
    conversation = _conversation(page)
    desk.open_conversation(stack, conversation)
    desk.page.click("#claim")
    desk.wait_text("#conv-state", "assigned")
    in_chat(page, "has joined", role="notice")
    typing = ("() => { const t = document.querySelector('[data-shop-chat]').shadowRoot"
              ".querySelector('.typing'); return !!t && !t.hidden; }")
    # an internal note is not typing for the customer: in the order the desk page calls
    # its API, the first "typing on" comes after the note, from the reply typed after it
    calls: list[str] = []

    def record(request: Any) -> None:
        if request.method == "POST" and "/desk/api/handoffs/" in request.url:
            kind = request.url.rsplit("/", 1)[-1]
            on = kind == "typing" and json.loads(request.post_data or "{}").get("on")
            calls.append("typing on" if on else kind)

    desk.page.on("request", record)
    desk.page.check("#as-note")
    desk.page.type("#reply", "VIP customer, be kind", delay=30)
    desk.page.click("#send")
    desk.wait_text("#transcript", "VIP customer")
    desk.page.uncheck("#as-note")
    desk.page.type("#reply", "Let me check", delay=30)
    page.wait_for_function(typing, timeout=10_000)
    assert "note" in calls and "typing on" in calls[calls.index("note"):], calls
    assert "typing on" not in calls[:calls.index("note")], calls
    # handed back mid-sentence: the hint goes, the customer is greeted back
    desk.page.fill("#summary", "checked")
    desk.page.click("#handback")
    desk.wait_text("#conv-state", "resolved")
    in_chat(page, "has handed you back")
    in_chat(page, "How satisfied")
    page.wait_for_function(f"() => !({typing})()", timeout=10_000)
    texts = page.evaluate("() => [...document.querySelector('[data-shop-chat]').shadowRoot"
                          ".querySelectorAll('.msg')].map(m => m.innerText)")
    no_leak(texts)
    assert not [t for t in texts if "VIP customer" in t], texts  # a note never reaches them
    # clearing the hint after the handback is not refused
    http, csrf = desk_session(stack, agent_id)
    ticket = queue(stack).latest_for(conversation)
    assert ticket is not None
    cleared = http.post(f"{stack.desk_url}/desk/api/handoffs/{ticket.id}/typing",
                        json={"on": False}, headers={"X-CSRF-Token": csrf}, timeout=30)
    assert cleared.status_code == 200, cleared.text
    shown = http.post(f"{stack.desk_url}/desk/api/handoffs/{ticket.id}/typing",
                      json={"on": True}, headers={"X-CSRF-Token": csrf}, timeout=30)
    assert shown.status_code == 409  # showing it needs the conversation
    assert not desk.errors
    page.screenshot(path=str(REPORTS / "desk-handback-widget-en.png"))


def test_the_new_internal_routes_refuse_strangers_and_other_conversations(
        stack: Stack, sender: str) -> None:
    base = f"{stack.rasa_url}/webhooks/internal"
    forged = {"Authorization": "Bearer " + "0" * 64}
    for method, path in (("POST", "/wake"), ("GET", "/deliveries?channel=rest&conversation=x"),
                         ("POST", "/deliveries/1/retry")):
        reply = requests.request(method, base + path, json={}, headers=forged, timeout=30)
        assert reply.status_code == 401, (path, reply.status_code)
    token = {"Authorization": f"Bearer {stack.secrets['CHANNEL_PUSH_TOKEN']}"}
    stack.say(sender, "hi")
    pushed = stack.push(sender, {"text": "a notice"}, channel="rest", role="notice")
    assert pushed.status_code == 201, pushed.text
    found = requests.get(f"{base}/deliveries", params={"channel": "rest",
                                                       "conversation": sender},
                         headers=token, timeout=30).json()["deliveries"]
    assert [(d["text"], d["status"]) for d in found] == [("a notice", "sent")]
    # a delivery is retried only within its own conversation
    other = requests.post(f"{base}/deliveries/{found[0]['id']}/retry",
                          json={"conversation": "someone-else"}, headers=token, timeout=30)
    assert other.status_code == 404
    bad = requests.post(f"{base}/deliveries/{found[0]['id']}/retry", data=b"\xff\xfe",
                        headers=token, timeout=30)
    assert bad.status_code == 400
    # the notice is in the conversation's history once
    history = requests.get(f"{base}/conversations/{sender}", headers=token,
                           timeout=30).json()["messages"]
    assert [m["text"] for m in history if m["role"] == "notice"] == ["a notice"]


def test_a_customer_nobody_takes_is_told_once_through_the_record(stack: Stack,
                                                                 sender: str) -> None:
    nobody_online(stack)
    stack.say(sender, "I'd like to talk to a human please")
    ticket = queue(stack).open_for(sender)
    assert ticket is not None
    # an hour has passed (the desk's scheduler runs every 2 s)
    engine = sa.create_engine(f"sqlite:///{stack.data_dir / 'handoff.db'}")
    with engine.begin() as conn:
        conn.execute(sa.text("update handoffs set requested_at = requested_at - 3600 "
                             "where id = :id"), {"id": ticket.id})
    engine.dispose()
    try:
        told = wait_for(stack, sender, "no one from our team has been able to take",
                        timeout=60)
        assert sum("no one from our team" in m["text"] for m in told) == 1, told
        assert queue(stack).holding(sender).holder == "queue"
        # one published change (told once: tests/bot/test_follower.py)
        assert [c.kind for c in queue(stack).changes(sender)].count("timed_out") == 1
    finally:  # the shared stack's queue is left as it was found
        stack.say(sender, "never mind")
    assert queue(stack).open_for(sender) is None
