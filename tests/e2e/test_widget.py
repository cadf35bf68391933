"""The web widget in a real browser (Debian's Chromium) against the real servers.

The demo storefront serves a page with the widget's script tag under a strict
Content-Security-Policy; every test drives that page as a customer would.
Screenshots go to ``reports/widget-*.png``.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from scripts.stack import ROOT, Stack
from tests.e2e.browser import AXE

pytestmark = pytest.mark.e2e

HOST = "[data-shop-chat]"
REPORTS = ROOT / "reports"
REPORTS.mkdir(exist_ok=True)
XSS = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'


class Chat:
    """The widget on one page, driven through its UI."""

    def __init__(self, page: Any) -> None:
        self.page = page
        page.wait_for_selector(f"{HOST} .launcher", state="attached")

    def open(self) -> Chat:
        if self.page.locator(f"{HOST} .panel").is_hidden():
            self.page.locator(f"{HOST} .launcher").click()
        self.page.wait_for_selector(f"{HOST} .panel", state="visible")
        return self

    def turns(self) -> int:
        return int(self.page.locator(HOST).get_attribute("data-turns") or 0)

    def say(self, text: str, *, timeout: float = 60_000) -> list[str]:
        """Type and send ``text``; the assistant's answers to it."""
        before, count = self.turns(), self.count("assistant")
        box = self.page.locator(f"{HOST} textarea")
        box.fill(text)
        box.press("Enter")
        self.wait_turn(before, timeout)
        return self.texts("assistant")[count:]

    def wait_turn(self, before: int, timeout: float = 60_000) -> None:
        self.page.wait_for_function(
            "n => Number(document.querySelector('[data-shop-chat]').getAttribute('data-turns')"
            " || 0) > n", arg=before, timeout=timeout)

    def count(self, role: str) -> int:
        """How many text bubbles ``role`` has drawn (a carousel has none)."""
        return self.page.locator(f"{HOST} .msg.{role} .bubble").count()

    def texts(self, role: str) -> list[str]:
        bubbles = self.page.locator(f"{HOST} .msg.{role} .bubble")
        return [t.strip() for t in bubbles.all_inner_texts()]

    def all_texts(self) -> list[str]:
        return [t.strip() for t in self.page.locator(f"{HOST} .msg .bubble").all_inner_texts()]


def shop_page(context: Any, stack: Stack, lang: str = "en", path: str = "/") -> Any:
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.errors = errors  # type: ignore[attr-defined]
    page.goto(f"{stack.storefront_url}{path}?lang={lang}")
    return page


@pytest.fixture()
def context(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    try:
        yield context
    finally:
        context.close()


def test_the_page_runs_under_a_strict_csp_and_leaks_nothing(stack: Stack, context) -> None:
    page = shop_page(context, stack)
    chat = Chat(page).open()
    csp = requests.get(stack.storefront_url, timeout=30).headers["content-security-policy"]
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    # styled by its own sheet inside the shadow root, not by the page (or inline styles)
    color = page.locator(f"{HOST} .launcher").evaluate("e => getComputedStyle(e).backgroundColor")
    assert color == "rgb(31, 95, 191)"
    # one global (the API), nothing added to the page's styles
    assert page.evaluate("typeof window.ShopChat.open") == "function"
    assert page.evaluate("document.styleSheets.length") == 1
    assert page.evaluate("document.querySelectorAll('style').length") == 0
    assert chat.say("hello")
    assert not [e for e in page.errors if "Content Security Policy" in e], page.errors


HOSTILE_CSS = """
* { box-sizing: content-box !important; font: 40px/3 serif !important; color: red !important;
    margin: 7px !important; padding: 9px !important; }
div, section, button, textarea { all: unset !important; background: yellow !important; }
body > * { position: static !important; transform: scale(0.5) !important; }
"""


def test_a_page_with_its_own_css_reset_does_not_change_the_widget(stack: Stack, browser,
                                                                  context) -> None:
    def looks(page: Any) -> dict:
        Chat(page).open()
        return page.evaluate("""() => {
            const host = document.querySelector('[data-shop-chat]');
            const root = host.shadowRoot;
            const box = e => { const r = e.getBoundingClientRect();
                               return [Math.round(r.right), Math.round(r.bottom),
                                       Math.round(r.width), Math.round(r.height)]; };
            const style = e => { const c = getComputedStyle(e);
                                 return [c.fontSize, c.color, c.backgroundColor]; };
            return {launcher: box(root.querySelector('.launcher')),
                    panel: box(root.querySelector('.panel')),
                    send: style(root.querySelector('.send')),
                    input: style(root.querySelector('textarea'))};
        }""")

    plain = looks(shop_page(context, stack))
    hostile = browser.new_context(viewport={"width": 1280, "height": 860}, bypass_csp=True)
    try:
        page = shop_page(hostile, stack)
        page.add_style_tag(content=HOSTILE_CSS)
        assert looks(page) == plain
    finally:
        hostile.close()


@pytest.mark.parametrize(("lang", "ask", "follow_up", "money"), [
    ("en", "can you recommend me something?", "how much is it?", r"\$\d"),
    ("zh", "有什么推荐的吗", "这个多少钱", r"(¥|元)\s?\d|\d+(\.\d+)?\s?元")])
def test_a_product_conversation_through_the_carousel(stack: Stack, context, lang, ask,
                                                      follow_up, money) -> None:
    page = shop_page(context, stack, lang)
    chat = Chat(page).open()
    said = chat.say(ask)
    cards = page.locator(f"{HOST} .card")
    assert cards.count() >= 2
    # the cards are drawn, not listed again in words above them
    titles = [t.strip() for t in cards.locator(".name").all_inner_texts()]
    assert not [line for text in said for line in text.splitlines()
                if re.match(r"\d+\. ", line) and any(t in line for t in titles)], said
    second = cards.nth(1).locator(".name").inner_text()
    model = re.split(r"[（(]", second)[0].strip()
    before = chat.turns()
    cards.nth(1).locator("button").click()  # "Tell me more" sends the card's payload
    chat.wait_turn(before)
    answer = " ".join(chat.texts("assistant")[-3:])
    assert model.split()[0] in answer
    reply = " ".join(chat.say(follow_up))
    assert re.search(money, reply), reply
    assert model.split()[0] in reply
    page.screenshot(path=str(REPORTS / f"widget-desktop-{lang}.png"), animations="disabled")


def test_history_survives_reload_a_second_tab_and_navigation(stack: Stack, context) -> None:
    page = shop_page(context, stack)
    chat = Chat(page).open()
    chat.say("show me huawei phones")
    said = chat.all_texts()
    page.reload()
    assert Chat(page).open().page.wait_for_function(
        "n => document.querySelector('[data-shop-chat]').shadowRoot"
        ".querySelectorAll('.msg .bubble').length >= n", arg=len(said))
    assert Chat(page).all_texts() == said
    other = Chat(shop_page(context, stack)).open()  # a second tab of the same visitor
    other.page.wait_for_function(
        "n => document.querySelector('[data-shop-chat]').shadowRoot"
        ".querySelectorAll('.msg .bubble').length >= n", arg=len(said))
    assert other.all_texts() == said
    # what one tab says appears in the other, once
    answer = chat.say("how much is the first one?")
    other.page.wait_for_function(
        "t => [...document.querySelector('[data-shop-chat]').shadowRoot"
        ".querySelectorAll('.msg.assistant .bubble')].some(b => b.innerText.includes(t))",
        arg=answer[-1][:20])
    assert other.all_texts() == chat.all_texts()
    page.goto(f"{stack.storefront_url}/products/{_some_sku(page, stack)}?lang=en")
    moved = Chat(page).open()
    moved.page.wait_for_function(
        "n => document.querySelector('[data-shop-chat]').shadowRoot"
        ".querySelectorAll('.msg .bubble').length >= n", arg=len(chat.all_texts()))
    assert moved.all_texts()[:len(said)] == said


def _some_sku(page: Any, stack: Stack) -> str:
    html = requests.get(stack.storefront_url, timeout=30).text
    return re.search(r'href="/products/([^"?]+)', html).group(1)


def test_a_network_drop_loses_and_duplicates_nothing(stack: Stack, context) -> None:
    page = shop_page(context, stack)
    chat = Chat(page).open()
    chat.say("hi")
    before, customers = chat.turns(), chat.count("customer")
    context.set_offline(True)
    page.evaluate("() => window.dispatchEvent(new Event('offline'))")
    box = page.locator(f"{HOST} textarea")
    box.fill("show me running shoes")
    box.press("Enter")
    page.wait_for_timeout(1500)
    assert chat.count("customer") == customers + 1  # shown at once, marked as pending
    assert page.locator(f"{HOST} .msg.customer.pending").count() == 1
    context.set_offline(False)
    chat.wait_turn(before, timeout=90_000)
    page.wait_for_timeout(1000)
    assert page.locator(f"{HOST} .msg.customer.pending").count() == 0
    assert chat.texts("customer").count("show me running shoes") == 1
    conversation = page.evaluate("localStorage.getItem(Object.keys(localStorage)"
                                 ".find(k => k.endsWith(':token')))")
    assert conversation and conversation not in page.url
    page.reload()
    reloaded = Chat(page).open()
    page.wait_for_function(
        "() => document.querySelector('[data-shop-chat]').shadowRoot"
        ".querySelectorAll('.msg.assistant').length >= 2")
    assert reloaded.texts("customer").count("show me running shoes") == 1


def test_after_a_reload_without_a_connection_the_chat_is_still_there(stack: Stack,
                                                                   context) -> None:
    """Reloaded while the chat server cannot be reached: the conversation is shown at once
    (this tab's copy), a message typed then waits, and it is delivered once when the
    connection is back."""
    page = shop_page(context, stack)
    chat = Chat(page).open()
    chat.say("show me huawei phones")
    said = chat.all_texts()
    page.route_web_socket(re.compile(r".*/socket$"), lambda ws: ws.close())
    page.reload()
    cut_off = Chat(page).open()
    page.wait_for_function(
        "n => document.querySelector('[data-shop-chat]').shadowRoot"
        ".querySelectorAll('.msg .bubble').length >= n", arg=len(said), timeout=10_000)
    assert cut_off.all_texts() == said
    box = page.locator(f"{HOST} textarea")
    box.fill("how much is the first one?")
    box.press("Enter")
    assert page.locator(f"{HOST} .msg.customer.pending").count() == 1
    page.close()
    back = Chat(shop_page(context, stack)).open()  # the connection is back
    back.page.wait_for_function(
        "() => [...document.querySelector('[data-shop-chat]').shadowRoot"
        ".querySelectorAll('.msg.assistant .bubble')].some(b => /\\$/.test(b.innerText)"
        " && b.innerText.includes('costs'))", timeout=90_000)
    assert back.texts("customer").count("how much is the first one?") == 1


def test_a_damaged_photo_is_refused_before_any_preview(stack: Stack, context) -> None:
    for lang, words in (("en", "can't be opened"), ("zh", "无法打开")):
        page = shop_page(context, stack, lang)
        Chat(page).open()
        page.locator(f"{HOST} input[type=file]").set_input_files(files=[{
            "name": "holiday.jpg", "mimeType": "image/jpeg",
            "buffer": b"\xff\xd8\xff\xe0\x00\x10JFIF" + b"\x00broken" * 200}])
        page.wait_for_function(
            "w => [...document.querySelector('[data-shop-chat]').shadowRoot"
            ".querySelectorAll('.msg .bubble')].some(b => b.innerText.includes(w))", arg=words,
            timeout=10_000)
        assert page.locator(f"{HOST} .preview").is_hidden()
        page.close()


def test_a_pushed_message_appears_in_an_open_widget(stack: Stack, context) -> None:
    page = shop_page(context, stack, "zh")
    chat = Chat(page).open()
    chat.say("你好")
    conversation = _conversation(page)
    pushed = stack.push(conversation, {"text": "您好，我是客服小林，我来帮您。", "author": "小林"})
    assert pushed.status_code == 201, pushed.text
    page.wait_for_selector(f"{HOST} .msg.agent", timeout=10_000)
    assert "我是客服小林" in chat.texts("agent")[-1]
    assert "小林" in page.locator(f"{HOST} .msg.agent").last.inner_text()
    # the push route is internal: no token, no push
    forged = requests.post(f"{stack.rasa_url}/webhooks/internal/push", json={
        "channel": "widget", "conversation": conversation, "message": {"text": "phish"}},
        headers={"Authorization": "Bearer " + "0" * 64}, timeout=30)
    assert forged.status_code == 401


def _conversation(page: Any) -> str:
    token = page.evaluate("localStorage.getItem(Object.keys(localStorage)"
                          ".find(k => k.endsWith(':token')))")
    body = token.split(".")[0]
    return json.loads(_b64(body))["c"]


def _b64(text: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_script_bearing_text_is_shown_as_text(stack: Stack, context) -> None:
    page = shop_page(context, stack)
    chat = Chat(page).open()
    chat.say(f"do you sell {XSS}?")
    conversation = _conversation(page)
    cards = {"type": "product_cards", "cards": [
        {"sku": "X1", "title": XSS, "price": "<b>$1</b>", "reason": XSS,
         "image": "javascript:window.__pwned=3",
         "buttons": [{"title": XSS, "payload": "/ask_details"}]}]}
    assert stack.push(conversation, {"text": XSS, "custom": cards,
                                     "buttons": [{"title": XSS, "payload": "/greet"}]},
                      role="assistant").status_code == 201
    page.wait_for_selector(f"{HOST} .card")
    page.wait_for_timeout(500)
    assert page.evaluate("window.__pwned") is None
    assert XSS in chat.texts("customer")[-1]
    assert page.locator(f"{HOST} .card .name").last.inner_text() == XSS
    assert page.locator(f"{HOST} .chip").last.inner_text() == XSS
    injected = page.evaluate("""() => {
        const root = document.querySelector('[data-shop-chat]').shadowRoot;
        return [...root.querySelectorAll('*')].filter(e => e.tagName === 'SCRIPT'
            || [...e.attributes].some(a => a.name.startsWith('on'))
            || (e.tagName === 'IMG' && e.hasAttribute('src')
                && !/^(https?|blob):/.test(e.getAttribute('src'))))
            .map(e => e.outerHTML);
    }""")
    assert injected == []


def test_keyboard_only(stack: Stack, context) -> None:
    page = shop_page(context, stack)
    Chat(page)
    # the widget comes last on the page: Shift+Tab from the top of the page reaches it
    for _ in range(5):
        page.keyboard.press("Shift+Tab")
        if page.evaluate("document.activeElement && document.activeElement.matches"
                         "('[data-shop-chat]') && document.activeElement.shadowRoot"
                         ".activeElement?.classList.contains('launcher')"):
            break
    else:
        pytest.fail("the launcher cannot be reached with Tab")
    page.keyboard.press("Enter")
    page.wait_for_selector(f"{HOST} .panel", state="visible")
    focused = page.evaluate("document.querySelector('[data-shop-chat]').shadowRoot"
                            ".activeElement.tagName")
    assert focused == "TEXTAREA"
    before = Chat(page).turns()
    page.keyboard.type("hello")
    page.keyboard.press("Enter")
    Chat(page).wait_turn(before)
    page.keyboard.press("Escape")
    assert page.locator(f"{HOST} .panel").is_hidden()
    assert page.evaluate("document.querySelector('[data-shop-chat]').shadowRoot"
                         ".activeElement.classList.contains('launcher')")
    # the focus is visible
    outline = page.locator(f"{HOST} .launcher").evaluate("e => getComputedStyle(e).outlineStyle")
    assert outline != "none"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_accessibility_with_axe(stack: Stack, context, lang) -> None:
    page = shop_page(context, stack, lang)
    chat = Chat(page).open()
    chat.say("recommend something" if lang == "en" else "推荐点什么")
    page.evaluate(AXE.read_text())  # evaluate is not subject to the page's CSP
    result = page.evaluate("""async () => {
        const r = await axe.run({include: [['[data-shop-chat]']]},
                                {resultTypes: ['violations']});
        return r.violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.length}));
    }""")
    serious = [v for v in result if v["impact"] in ("serious", "critical")]
    assert not serious, serious
    # the page has its own banner: the widget adds no second one (nor other landmarks)
    assert not [v for v in result if v["id"].startswith("landmark")], result
    live = page.locator(f"{HOST} [role=log]")
    assert live.get_attribute("aria-live") == "polite"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_on_a_phone_the_panel_fills_the_screen(stack: Stack, browser, lang) -> None:
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                has_touch=True, device_scale_factor=2)
    try:
        page = shop_page(phone, stack, lang)
        chat = Chat(page).open()
        chat.say("show me headphones" if lang == "en" else "看看耳机")
        box = page.locator(f"{HOST} .panel").bounding_box()
        assert box["width"] >= 389 and box["height"] >= 843
        page.screenshot(path=str(REPORTS / f"widget-phone-{lang}.png"), animations="disabled")
    finally:
        phone.close()


def test_an_unread_badge_while_closed(stack: Stack, context) -> None:
    page = shop_page(context, stack)
    chat = Chat(page).open()
    chat.say("hi")
    conversation = _conversation(page)
    page.locator(f"{HOST} .launcher").click()  # close
    assert page.locator(f"{HOST} .panel").is_hidden()
    stack.push(conversation, {"text": "Are you still there?"})
    page.wait_for_selector(f"{HOST} .badge:not([hidden])")
    assert page.locator(f"{HOST} .badge").inner_text() == "1"
    chat.open()
    assert page.locator(f"{HOST} .badge").is_hidden()


def test_other_origins_are_refused(stack: Stack) -> None:
    url = f"{stack.rasa_url}/webhooks/widget/session"
    allowed = requests.post(url, json={}, headers={"Origin": stack.storefront_url}, timeout=30)
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == stack.storefront_url
    refused = requests.post(url, json={}, headers={"Origin": "https://evil.example"}, timeout=30)
    assert refused.status_code == 403 and "access-control-allow-origin" not in refused.headers
    upload = requests.post(f"{stack.rasa_url}/webhooks/widget/media", data=b"x",
                           headers={"Origin": stack.storefront_url,
                                    "Authorization": "Bearer forged.token"}, timeout=30)
    assert upload.status_code == 401
    for route in ("session", "media"):  # preflights, then a POST from a stranger's page
        route_url = f"{stack.rasa_url}/webhooks/widget/{route}"
        ok = requests.options(route_url, timeout=30, headers={
            "Origin": stack.storefront_url, "Access-Control-Request-Method": "POST"})
        assert ok.status_code in (200, 204), route
        assert ok.headers["access-control-allow-origin"] == stack.storefront_url
        assert "POST" in ok.headers["access-control-allow-methods"]
        evil = requests.options(route_url, timeout=30, headers={
            "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
        assert evil.status_code == 403 and "access-control-allow-origin" not in evil.headers
        stranger = requests.post(route_url, data=b"x", timeout=30,
                                 headers={"Origin": "https://evil.example"})
        assert stranger.status_code == 403, route


def test_a_socket_from_another_origin_or_without_a_token_is_closed(stack: Stack,
                                                                    context) -> None:
    page = context.new_page()
    page.goto("about:blank")
    ws = stack.rasa_url.replace("http", "ws") + "/webhooks/widget/socket"
    code = page.evaluate("""url => new Promise(done => {
        const ws = new WebSocket(url);
        ws.onopen = () => ws.send(JSON.stringify({type: 'hello', token: 'forged.x'}));
        ws.onclose = e => done(e.code);
    })""", ws)
    assert code in (1006, 4403)  # about:blank has no allowed origin
    shop = shop_page(context, stack)
    code = shop.evaluate("""url => new Promise(done => {
        const ws = new WebSocket(url);
        ws.onopen = () => ws.send(JSON.stringify({type: 'hello', token: 'forged.x'}));
        ws.onclose = e => done(e.code);
    })""", ws)
    assert code == 4401


def _photo_stack_page(grocery: Stack, context: Any, lang: str) -> Any:
    return shop_page(context, grocery, lang)


def test_a_photo_from_the_file_chooser_finds_the_product(grocery: Stack, context,
                                                         tmp_path: Path) -> None:
    from tests.knowledge_graph.test_grocery_store import GROCERY

    # in Chinese a photo with no caption: the answer follows the chat window's language
    for lang, caption, expected in (("en", "do you sell this?", "Banana"),
                                    ("zh", "", "Banana")):
        page = shop_page(context, grocery, lang)
        chat = Chat(page).open()
        photo = GROCERY / "val" / "Fruit" / "Banana" / "Banana_003.jpg"
        with page.expect_file_chooser() as chooser:
            page.locator(f"{HOST} .attach").click()
        chooser.value.set_files(str(photo))
        page.wait_for_selector(f"{HOST} .preview:not([hidden])")
        before = chat.turns()
        answered = len(chat.texts("assistant"))
        page.locator(f"{HOST} textarea").fill(caption)
        page.locator(f"{HOST} textarea").press("Enter")
        chat.wait_turn(before, timeout=120_000)
        assert page.locator(f"{HOST} .msg.customer img.photo").count() == 1
        cards = page.locator(f"{HOST} .card .name").all_inner_texts()
        answer = " ".join(chat.texts("assistant")) + " ".join(cards)
        assert expected.lower() in answer.lower(), answer
        said = chat.texts("assistant")[answered]  # the answer's text, not the greeting
        assert bool(re.search(r"[\u4e00-\u9fff]", said)) == (lang == "zh"), said
        # the catalog's photo of the product, served by the shop's page, in the card
        picture = page.locator(f"{HOST} .card img").first
        picture.wait_for(timeout=10_000)
        page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                               arg=picture.element_handle(), timeout=10_000)
        # a file that is no photo: refused in the customer's language, nothing sent
        fake = tmp_path / "notes.jpg"
        fake.write_bytes(b"this is not an image at all" * 40)
        with page.expect_file_chooser() as chooser:
            page.locator(f"{HOST} .attach").click()
        chooser.value.set_files(str(fake))
        page.locator(f"{HOST} textarea").press("Enter")
        notice = page.locator(f"{HOST} .msg.notice").last
        notice.wait_for(timeout=30_000)
        text = notice.inner_text()
        assert ("图片" in text) if lang == "zh" else ("photo" in text.lower() or "image" in
                                                       text.lower()), text
        page.close()


def test_a_signed_in_customer_asks_about_their_order_and_logs_out(stack: Stack,
                                                                  context) -> None:
    import sqlite3

    with sqlite3.connect(stack.data_dir / "shop.db") as db:
        number, customer, tracking = db.execute(
            "select number, customer_id, tracking_number from orders where status = 'shipped' "
            "order by number limit 1").fetchone()
    page = shop_page(context, stack)
    chat = Chat(page).open()
    sender = f"shop-session-{uuid.uuid4().hex[:10]}"
    page.evaluate("user => ShopChat.setUser(user)",
                  {"sender": sender, **stack.signed(customer, sender)})
    # the page drops its token while it asks for the new one: wait for the new one
    page.wait_for_function("s => { const k = Object.keys(localStorage).find(k => "
                           "k.endsWith(':token')); const t = k && localStorage.getItem(k); "
                           "return t && JSON.parse(atob(t.split('.')[0].replace(/-/g, '+')"
                           ".replace(/_/g, '/'))).c === s; }", arg=sender)
    assert tracking in " ".join(chat.say(f"where is my order {number}?"))
    # a forged claim is refused: the page keeps no customer conversation
    page.evaluate("user => ShopChat.setUser(user)",
                  {"sender": sender, **stack.signed(customer, sender), "customer_id": "C99999"})
    page.wait_for_function("s => { const k = Object.keys(localStorage).find(k => "
                           "k.endsWith(':token')); const t = k && localStorage.getItem(k); "
                           "return t && !atob(t.split('.')[0].replace(/-/g, '+')"
                           ".replace(/_/g, '/')).includes(s); }", arg=sender)
    assert _conversation(page) != sender
    page.evaluate("() => ShopChat.reset()")  # logging out: a new anonymous conversation
    page.wait_for_function("s => { const k = Object.keys(localStorage).find(k => "
                           "k.endsWith(':token')); return k && localStorage.getItem(k); }",
                           arg=sender)
    reply = " ".join(Chat(page).say(f"where is my order {number}?"))
    assert tracking not in reply


def test_a_flood_of_messages_is_refused_before_anything_is_stored(stack: Stack,
                                                                  context) -> None:
    import sqlite3

    page = shop_page(context, stack)
    Chat(page)
    page.wait_for_selector(f"{HOST}[data-ready]", state="attached")
    conversation = _conversation(page)
    url = stack.rasa_url.replace("http", "ws") + "/webhooks/widget/socket"
    acks = page.evaluate("""([url, key]) => new Promise(done => {
        const token = localStorage.getItem(Object.keys(localStorage).find(k => k.endsWith(key)));
        const ws = new WebSocket(url); const acks = [];
        ws.onopen = () => ws.send(JSON.stringify({type: 'hello', token, since: 0}));
        ws.onmessage = e => {
            const f = JSON.parse(e.data);
            if (f.type === 'ready')
                for (let i = 0; i < 60; i++)
                    ws.send(JSON.stringify({type: 'message', id: 'flood-' + i, text: 'hi ' + i}));
            if (f.type !== 'ack') return;
            acks.push(f);
            if (acks.length === 60) { ws.close(); done(acks); }
        };
    })""", [url, ":token"])
    refused = [a for a in acks if a.get("refused")]
    assert len(refused) >= 60 - 30  # LIMIT_MESSAGES_PER_SENDER (30 a minute)
    with sqlite3.connect(stack.data_dir / "channels.db") as db:
        stored = db.execute("select count(*) from channel_messages where conversation = ? "
                            "and role = 'customer'", (conversation,)).fetchone()[0]
    assert stored == 60 - len(refused) <= 30
