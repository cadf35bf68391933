"""Human handoff end to end: the customer in the web widget (or over REST), the agent in
the desk, both in real Chromium windows at once, against the real Rasa server, action
server and agent desk.

Screenshots go to ``reports/desk-*.png``.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from handoff import HandoffService
from scripts.stack import ROOT, Stack
from tests.e2e.browser import AXE
from tests.e2e.test_widget import HOST, XSS, Chat, _conversation, shop_page

pytestmark = pytest.mark.e2e
REPORTS = ROOT / "reports"
PASSWORD = "a long enough password"


def queue(stack: Stack) -> HandoffService:
    return HandoffService(url=f"sqlite:///{stack.data_dir / 'handoff.db'}")


def nobody_online(stack: Stack) -> None:
    service = queue(stack)
    for agent in service.agents():
        service.set_online(agent.id, False)


def new_agent(stack: Stack, role: str = "agent", name: str | None = None) -> str:
    user_id = f"{role[:3]}-{uuid.uuid4().hex[:8]}"
    stack.desk_user(user_id, password=PASSWORD, role=role, name=name or user_id)
    return user_id


class Desk:
    """The agent desk in a browser page."""

    def __init__(self, context: Any, stack: Stack, user_id: str, lang: str = "") -> None:
        self.page = page = context.new_page()
        self.errors: list[str] = []
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.goto(f"{stack.desk_url}/desk/")
        assert page.url.endswith("/desk/login")  # nobody unauthenticated sees anything
        if lang:
            page.goto(f"{stack.desk_url}/desk/login?lang={lang}")
        page.fill("input[name=username]", user_id)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("#connection[data-state=live]", timeout=20_000)

    def open_conversation(self, stack: Stack, conversation: str,
                          timeout: float = 20_000) -> None:
        ticket = queue(stack).open_for(conversation)
        assert ticket is not None, f"{conversation} has no open handoff"
        item = f'#queue li[data-id="{ticket.id}"]'
        self.page.wait_for_selector(item, timeout=timeout)  # arrives live
        self.page.click(item)
        self.wait_text("#conv-title", conversation)

    def transcript(self) -> str:
        return self.page.inner_text("#transcript")

    def wait_text(self, selector: str, text: str, timeout: float = 20_000) -> None:
        self.page.wait_for_function(
            "([s, t]) => document.querySelector(s) && document.querySelector(s).innerText"
            ".includes(t)", arg=[selector, text], timeout=timeout)

    def reply(self, text: str) -> None:
        self.page.fill("#reply", text)
        self.page.click("#send")
        self.wait_text("#transcript", text)


def serious_a11y(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical findings on the whole page."""
    page.evaluate(AXE.read_text())  # evaluate is not subject to the page's CSP
    found = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.map(v => ({id: v.id, impact: v.impact,
                                       nodes: v.nodes.map(n => n.target.join(' '))}));
    }""")
    return [v for v in found if v["impact"] in ("serious", "critical")]


def in_chat(page: Any, text: str, *, role: str = "", timeout: float = 20_000) -> None:
    """Wait until the widget shows a message (of ``role``) containing ``text``."""
    page.wait_for_function(
        "([t, r]) => [...document.querySelector('[data-shop-chat]').shadowRoot"
        ".querySelectorAll('.msg' + (r ? '.' + r : ''))].some(m => m.innerText.includes(t))",
        arg=[text, role], timeout=timeout)


@pytest.fixture()
def two(browser) -> Iterator[tuple[Any, Any]]:
    """A customer's browser and an agent's browser, open at the same time."""
    customer = browser.new_context(viewport={"width": 1280, "height": 860})
    agent = browser.new_context(viewport={"width": 1440, "height": 900})
    try:
        yield customer, agent
    finally:
        customer.close()
        agent.close()


ASK = {"en": ("show me running shoes", "how much is the second one?",
              "I want to talk to a person", "number 1 in the queue",
              "Hi, this is Ann from the shop. How can I help?", "thanks! is it comfortable?",
              "has handed you back", "How satisfied"),
       "zh": ("有没有跑鞋", "第二个多少钱", "转人工", "第 1 位",
              "您好，我是客服小林，请问有什么可以帮您？", "谢谢！穿着舒服吗？", "已将对话交还给我",
              "满意吗")}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_widget_customer_is_handed_to_an_agent_and_back(stack: Stack, two, lang) -> None:
    search, second, ask, queued, hello, answer, back, csat = ASK[lang]
    customer_context, agent_context = two
    nobody_online(stack)
    agent_id = new_agent(stack, name="Ann" if lang == "en" else "小林")
    desk = Desk(agent_context, stack, agent_id)
    page = shop_page(customer_context, stack, lang)
    chat = Chat(page).open()
    chat.say(search)
    priced = chat.say(second)
    assert any(re.search(r"[$¥]\s?\d", t) for t in priced), priced
    replies = chat.say(ask)
    assert any(queued in t for t in replies), replies
    conversation = _conversation(page)

    # the desk: alerted, claims, sees what the customer was shown and quoted
    desk.page.wait_for_selector("#badge:not([hidden])", timeout=20_000)
    desk.open_conversation(stack, conversation)
    desk.page.click("#claim")
    desk.wait_text("#conv-state", "assigned")
    context = desk.page.inner_text("#context")
    assert "Products shown" in context and "none" not in context.split("Products shown")[1][:5]
    # the quote as the customer saw it, in their currency (the shop's own beside it)
    assert re.search(r"quote · .+ \(SKU-\d+\): [\d.]+ " + ("USD" if lang == "en" else
                                                          r"CNY \(\S+ [\d.]+ USD\)"),
                     context), context
    # amounts in the customer's currency, the shop's own (USD) beside them when they differ
    if lang == "zh":
        assert re.search(r"[\d.]+ CNY \(shop [\d.]+ USD\)", context), context
    else:
        assert "(shop " not in context, context
    assert ask in desk.transcript()  # the whole transcript, assistant turns included
    page.wait_for_selector(f"{HOST} .msg.notice", timeout=20_000)  # "… has joined"

    # typing shows both ways while a person holds the conversation
    desk.page.fill("#reply", "…")
    desk.page.type("#reply", "typing")
    in_typing = ("() => { const t = document.querySelector('[data-shop-chat]').shadowRoot"
                 ".querySelector('.typing'); return t && !t.hidden && t.textContent"
                 ".includes(" + repr("Ann" if lang == "en" else "小林") + "); }")
    page.wait_for_function(in_typing, timeout=10_000)
    page.locator(f"{HOST} textarea").type("a")
    desk.page.wait_for_selector("#customer-typing:not([hidden])", timeout=10_000)
    page.locator(f"{HOST} textarea").fill("")

    # text and a product card reach the widget live, with the agent's name
    desk.reply(hello)
    in_chat(page, hello[:20], role="agent", timeout=10_000)
    desk.page.fill("#product-query", "shoes" if lang == "en" else "跑鞋")
    desk.page.click("#product-search")
    desk.page.wait_for_selector("#product-results li button", timeout=20_000)
    desk.page.locator("#product-results li button").first.click()
    page.wait_for_selector(f"{HOST} .msg.agent .card", timeout=10_000)

    # the customer answers: the agent sees it live, the assistant stays silent
    assistant_before = chat.count("assistant")
    box = page.locator(f"{HOST} textarea")
    box.fill(answer)
    box.press("Enter")
    desk.wait_text("#transcript", answer)
    # the server recorded it as the person's (no turn of the assistant was taken for it)
    said = requests.get(f"{stack.rasa_url}/webhooks/internal/conversations/{conversation}",
                        headers={"Authorization":
                                 f"Bearer {stack.secrets['CHANNEL_PUSH_TOKEN']}"},
                        timeout=30).json()["messages"]
    assert [m["to_person"] for m in said if m["role"] == "customer"
            and m["text"] == answer] == [True], said
    assert chat.count("assistant") == assistant_before
    desk.page.screenshot(path=str(REPORTS / f"desk-conversation-{lang}.png"))
    page.screenshot(path=str(REPORTS / f"desk-widget-{lang}.png"))

    # handback: greeted back in their language, slots intact, then the CSAT question
    turns = chat.turns()
    desk.page.fill("#summary", "answered sizing")
    desk.page.click("#handback")
    desk.wait_text("#conv-state", "resolved")
    in_chat(page, back)
    in_chat(page, csat)
    page.locator(f"{HOST} .chip", has_text="5").click()
    chat.wait_turn(turns)
    again = chat.say(second)
    assert any(re.search(r"[$¥]\s?\d", t) for t in again), again
    rated = queue(stack).latest_for(conversation)
    assert rated is not None and rated.state == "resolved" and rated.csat == 5
    actions = [e.action for e in queue(stack).events(rated.id)]
    assert actions[:2] == ["requested", "claimed"] and "handed_back" in actions
    assert "replied" in actions and "rated" in actions
    assert not page.errors and not desk.errors  # type: ignore[attr-defined]


def desk_session(stack: Stack, user_id: str) -> tuple[requests.Session, str]:
    """Sign in to the desk as a browser would; the session and its CSRF token."""
    http = requests.Session()
    login = http.get(f"{stack.desk_url}/desk/login", timeout=30)
    csrf = re.search(r'name="csrf" value="([^"]+)"', login.text).group(1)  # type: ignore[union-attr]
    signed = http.post(f"{stack.desk_url}/desk/login", data={
        "csrf": csrf, "username": user_id, "password": PASSWORD}, timeout=30,
        allow_redirects=False)
    assert signed.status_code == 302, signed.text
    page = http.get(f"{stack.desk_url}/desk/", timeout=30)
    token = re.search(r'name="csrf" content="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    return http, token


def test_a_rest_customer_gets_the_agent_s_reply_by_fetching(stack: Stack, sender: str) -> None:
    agent_id = new_agent(stack)
    http, csrf = desk_session(stack, agent_id)
    queue(stack).set_online(agent_id, True)
    reply = stack.post({"sender": sender, "message": "can I speak to a real person"})
    assert any("queue" in m.get("text", "") for m in reply.json()), reply.json()
    ticket = queue(stack).open_for(sender)
    assert ticket is not None and ticket.channel == "rest" and ticket.reason == "asked"
    base = f"{stack.desk_url}/desk/api/handoffs/{ticket.id}"
    # no CSRF token, no claim
    assert http.post(f"{base}/claim", timeout=30).status_code == 403
    assert http.post(f"{base}/claim", headers={"X-CSRF-Token": csrf},
                     timeout=30).status_code == 200
    sent = http.post(f"{base}/reply", json={"text": "Hello from support"},
                     headers={"X-CSRF-Token": csrf}, timeout=30)
    assert sent.status_code == 200, sent.text
    # transferred to a colleague: only they may answer now
    colleague = new_agent(stack)
    moved = http.post(f"{base}/transfer", json={"to": colleague},
                      headers={"X-CSRF-Token": csrf}, timeout=30)
    assert moved.status_code == 200 and moved.json()["handoff"]["agent"] == colleague
    assert http.post(f"{base}/reply", json={"text": "still me"},
                     headers={"X-CSRF-Token": csrf}, timeout=30).status_code == 404
    http, csrf = desk_session(stack, colleague)
    sent = http.post(f"{base}/reply", json={"text": "Hello from support"},
                     headers={"X-CSRF-Token": csrf}, timeout=30)
    assert sent.status_code == 200, sent.text
    # the transfer's notice comes from the Rasa server following the handoff record
    deadline, fetched = time.time() + 30, []
    while time.time() < deadline and not any("is taking over" in m["text"] for m in fetched
                                             if m["role"] == "notice"):
        time.sleep(0.2)
        fetched = requests.get(f"{stack.rasa_url}/webhooks/rest/messages",
                               params={"sender": sender}, timeout=30).json()["messages"]
    assert [m["text"] for m in fetched if m["role"] == "agent"] == ["Hello from support"] * 2
    assert any("is taking over" in m["text"] for m in fetched if m["role"] == "notice")
    # while the person holds it, the assistant is silent
    held = stack.post({"sender": sender, "message": "how much are running shoes?"})
    assert held.json() == [] and held.headers["X-Handoff"] == "assigned"
    detail = http.get(base, timeout=30).json()
    said = [m for m in detail["history"]["messages"] if m["role"] == "customer"]
    assert said[-1]["text"] == "how much are running shoes?" and said[-1]["to_person"]
    assert said[-2]["intent"] == "human_handoff"
    back = http.post(f"{base}/handback", json={"summary": ""},
                     headers={"X-CSRF-Token": csrf}, timeout=30)
    assert back.status_code == 200, back.text
    # the Rasa server follows the handoff record: the greeting comes once it applied it
    deadline, after = time.time() + 30, []
    while time.time() < deadline and not any("handed you back" in m.get("text", "")
                                             for m in after):
        time.sleep(0.2)
        after = requests.get(f"{stack.rasa_url}/webhooks/rest/messages", params={
            "sender": sender, "after": fetched[-1]["id"]}, timeout=30).json()["messages"]
    assert any("handed you back" in m.get("text", "") for m in after), after


def test_no_agent_online_leaves_a_ticket_and_never_mind_cancels(stack: Stack,
                                                                 sender: str) -> None:
    nobody_online(stack)
    reply = stack.post({"sender": sender, "message": "转人工"})
    assert any("没有人工客服在线" in m.get("text", "") for m in reply.json()), reply.json()
    ticket = queue(stack).open_for(sender)
    assert ticket is not None and ticket.outside_hours and ticket.language == "zh"
    # the assistant keeps helping meanwhile
    assert stack.post({"sender": sender, "message": "有没有跑鞋"}).json()
    cancelled = stack.post({"sender": sender, "message": "算了"})
    assert any("取消" in m.get("text", "") for m in cancelled.json()), cancelled.json()
    assert queue(stack).open_for(sender) is None
    assert queue(stack).latest_for(sender).state == "cancelled"  # type: ignore[union-attr]


def test_two_misunderstood_messages_bring_an_offer_of_a_person(stack: Stack,
                                                               sender: str) -> None:
    stack.post({"sender": sender, "message": "flurb the wibble gorp"})
    offer = stack.post({"sender": sender, "message": "zorp blib quax"}).json()
    assert any("talk to a person" in m.get("text", "") for m in offer), offer
    buttons = [b["payload"] for m in offer for b in m.get("buttons", [])]
    assert "/human_handoff" in buttons
    taken = stack.post({"sender": sender, "message": "/human_handoff"}).json()
    assert taken and queue(stack).open_for(sender).reason == "fallbacks"  # type: ignore[union-attr]


DESK_ROUTES = [("GET", "/desk/"), ("GET", "/desk/api/me"), ("GET", "/desk/api/queue"),
               ("GET", "/desk/api/agents"), ("GET", "/desk/api/stream"),
               ("GET", "/desk/api/canned"), ("POST", "/desk/api/canned"),
               ("DELETE", "/desk/api/canned/1"), ("POST", "/desk/api/status"),
               ("GET", "/desk/api/products?q=shoe"), ("GET", "/desk/api/handoffs/1"),
               ("GET", "/desk/api/handoffs/1/photos/abc"),
               *[("POST", f"/desk/api/handoffs/1/{a}") for a in
                 ("claim", "reply", "note", "transfer", "handback", "typing")],
               ("POST", "/desk/api/handoffs/1/deliveries/1/retry"),
               ("POST", "/desk/logout"), ("POST", "/desk/internal/wake")]


def test_every_desk_route_refuses_strangers(stack: Stack) -> None:
    for method, path in DESK_ROUTES:
        reply = requests.request(method, f"{stack.desk_url}{path}", json={}, timeout=30,
                                 allow_redirects=False,
                                 cookies={"desk_session": "forged"})
        if path == "/desk/":
            assert reply.status_code == 302 and reply.headers["Location"].endswith("/login")
        else:
            assert reply.status_code == 401, (method, path, reply.status_code)
        assert "Content-Security-Policy" in reply.headers
    wrong = requests.post(f"{stack.desk_url}/desk/login", data={
        "csrf": "x", "username": "nobody", "password": "y"}, timeout=30,
        cookies={"desk_login": "x"})
    assert wrong.status_code == 401 and "Wrong user name or password" in wrong.text


def test_an_agent_cannot_open_another_agent_s_conversation(stack: Stack, sender: str) -> None:
    first, second = new_agent(stack), new_agent(stack)
    boss = new_agent(stack, "supervisor")
    queue(stack).set_online(first, True)
    stack.post({"sender": sender, "message": "I need a human"})
    ticket = queue(stack).open_for(sender)
    assert ticket is not None
    http, csrf = desk_session(stack, first)
    assert http.post(f"{stack.desk_url}/desk/api/handoffs/{ticket.id}/claim",
                     headers={"X-CSRF-Token": csrf}, timeout=30).status_code == 200
    other, other_csrf = desk_session(stack, second)
    base = f"{stack.desk_url}/desk/api/handoffs/{ticket.id}"
    assert other.get(base, timeout=30).status_code == 404
    assert other.post(f"{base}/reply", json={"text": "hi"}, headers={
        "X-CSRF-Token": other_csrf}, timeout=30).status_code == 404
    assert ticket.id not in [h["id"] for h in other.get(
        f"{stack.desk_url}/desk/api/queue", timeout=30).json()["handoffs"]]
    supervisor, boss_csrf = desk_session(stack, boss)
    assert supervisor.get(base, timeout=30).status_code == 200  # a supervisor sees all
    # canned responses: supervisors manage them, agents use them
    canned = {"language": "zh", "title": "退货政策", "text": "收货后30天内可申请退货。"}
    assert other.post(f"{stack.desk_url}/desk/api/canned", json=canned, headers={
        "X-CSRF-Token": other_csrf}, timeout=30).status_code == 403
    added = supervisor.post(f"{stack.desk_url}/desk/api/canned", json=canned, headers={
        "X-CSRF-Token": boss_csrf}, timeout=30)
    assert added.status_code == 201
    assert canned["text"] in [c["text"] for c in other.get(
        f"{stack.desk_url}/desk/api/canned", timeout=30).json()["canned"]]


def test_script_bearing_text_renders_as_text_in_the_desk(stack: Stack, two) -> None:
    customer_context, agent_context = two
    nobody_online(stack)
    agent_id = new_agent(stack)
    desk = Desk(agent_context, stack, agent_id)
    page = shop_page(customer_context, stack, "en")
    chat = Chat(page).open()
    chat.say("talk to someone")
    conversation = _conversation(page)
    desk.open_conversation(stack, conversation)
    desk.page.click("#claim")
    desk.wait_text("#conv-state", "assigned")
    box = page.locator(f"{HOST} textarea")
    box.fill(XSS)
    box.press("Enter")
    desk.wait_text("#transcript", "onerror")
    desk.page.fill("#reply", XSS)
    desk.page.click("#send")
    page.wait_for_selector(f"{HOST} .msg.agent", timeout=10_000)
    assert desk.page.evaluate("window.__pwned") is None
    assert page.evaluate("window.__pwned") is None
    assert desk.page.locator("#transcript img[src=x]").count() == 0
    assert XSS in desk.transcript()


def test_closed_hours_tell_when_the_team_is_back(tmp_path_factory, wechat, messenger) -> None:
    closed = Stack(data_dir=tmp_path_factory.mktemp("closed"), extra_env={
        # open one minute a week, in the middle of a Monday night
        "HANDOFF_HOURS": "mon=03:00-03:01", "HANDOFF_TIMEZONE": "Asia/Shanghai",
        # this shop's WeChat customers are served in WeChat's own customer-service system
        **wechat.env(), "WECHAT_HANDOFF": "wechat",
        # and its Messenger customers in the Page Inbox
        **messenger.env(), "MESSENGER_HANDOFF": "page_inbox"})
    closed.start()
    try:
        reply = closed.post({"sender": "closed-1", "message": "I want to talk to a human"})
        texts = " ".join(m.get("text", "") for m in reply.json())
        assert "they're back" in texts and "03:00 (Asia/Shanghai)" in texts, texts
        assert "leave your message" in texts
        service = HandoffService(url=f"sqlite:///{closed.data_dir / 'handoff.db'}")
        ticket = service.open_for("closed-1")
        assert ticket is not None and ticket.outside_hours and ticket.state == "waiting"
        # the message left meanwhile stays with the ticket
        closed.post({"sender": "closed-1", "message": "my parcel SH-1 never came"})
        engine = sa.create_engine(f"sqlite:///{closed.data_dir / 'rasa_tracker.db'}")
        with engine.connect() as conn:
            texts = [r[0] for r in conn.execute(sa.text(
                "select data from events where sender_id='closed-1' and type_name='user'"))]
        assert any("never came" in t for t in texts)
        # on WeChat the request goes to WeChat's customer service, not to this queue
        user = f"oKf_{uuid.uuid4().hex[:12]}"
        moved = wechat.text(closed.rasa_url, user, "转人工", mode="aes")
        assert moved.fields.get("MsgType") == "transfer_customer_service", moved.body
        assert service.open_for(user) is None
        assert ("wechat_kf", "cancelled") in [(e.actor, e.action) for e in service.events(
            service.latest_for(user).id)]
        # on Messenger the thread goes to the Page Inbox, and comes back
        psid = str(uuid.uuid4().int)[:16]
        messenger.deliver(closed.rasa_url, [messenger.text(psid, "I want to talk to a person")])
        deadline = time.time() + 30
        while time.time() < deadline and not [c for c in messenger.calls
                                              if c.psid == psid and "thread" in c.path]:
            time.sleep(0.2)
        passed = [c for c in messenger.calls if c.psid == psid and "thread" in c.path]
        assert passed and passed[0].body["target_app_id"] == "263902037430900"
        assert service.open_for(psid) is None
        refused = len(messenger.refused_sends)
        messenger.deliver(closed.rasa_url, [messenger.text(psid, "hello?")])
        messenger.deliver(closed.rasa_url, [messenger.item(psid, pass_thread_control={
            "new_owner_app_id": messenger.app_id, "metadata": "done"}),
            messenger.text(psid, "show me running shoes")])
        # the first thing the assistant sends after the Page Inbox held it answers the
        # message written after the thread came back; nothing was tried in between (Meta
        # refuses an app without thread control: 10/2018300)
        assert "$" in messenger.wait_sent(psid, 1)[0].message["text"]
        assert messenger.refused_sends[refused:] == []
    finally:
        closed.stop()


def test_a_chinese_speaking_agent_works_in_a_chinese_desk(stack: Stack, two) -> None:
    customer_context, agent_context = two
    nobody_online(stack)
    agent_id = new_agent(stack, name="小林")
    desk = Desk(agent_context, stack, agent_id, lang="zh")
    assert desk.page.inner_text("h1").startswith("客服工作台")
    assert desk.page.get_attribute("html", "lang") == "zh"
    page = shop_page(customer_context, stack, "en")  # an English-speaking customer
    chat = Chat(page).open()
    chat.say("show me running shoes")
    chat.say("I want to talk to a person")
    conversation = _conversation(page)
    # the queue by keyboard: Tab to the conversation, Enter opens it
    ticket = queue(stack).open_for(conversation)
    assert ticket is not None
    item = desk.page.locator(f'#queue li[data-id="{ticket.id}"]')
    item.wait_for(timeout=20_000)
    item.locator("button").focus()
    desk.page.keyboard.press("Enter")
    desk.wait_text("#conv-title", conversation)
    assert desk.page.inner_text("#claim") == "接入"
    desk.page.click("#claim")
    desk.wait_text("#conv-state", "已接入")
    transcript = desk.transcript()
    # what the customer asked for, in the agent's words, never an internal name
    assert "要求人工" in transcript and "找商品" in transcript, transcript
    assert "human_handoff" not in transcript and "search_products" not in transcript
    context = desk.page.inner_text("#context")
    assert "已展示的商品" in context and "英文" in context, context
    # the customer still gets the assistant's words in their own language
    in_chat(page, "has joined", role="notice")
    desk.page.screenshot(path=str(REPORTS / "desk-conversation-zh-agent.png"))
    assert serious_a11y(desk.page) == []
    # the choice is kept: the next page in the same browser is Chinese too
    desk.page.goto(f"{stack.desk_url}/desk/")
    desk.page.wait_for_selector("#connection[data-state=live]", timeout=20_000)
    assert desk.page.inner_text("#connection") == "已连接"
    assert not desk.errors


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_desk_page_passes_axe(stack: Stack, browser, lang) -> None:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    try:
        login = context.new_page()
        login.goto(f"{stack.desk_url}/desk/login?lang={lang}")
        assert serious_a11y(login) == []
        desk = Desk(context, stack, new_agent(stack), lang=lang)
        assert serious_a11y(desk.page) == []  # the queue, with or without conversations
    finally:
        context.close()
