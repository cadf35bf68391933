"""The turns a shop's customers lost trust over, each as the customer typed it, through
the real Rasa server and action server: stated constraints honoured, short replies
that keep the thread, and the order turns that used to go wrong. Prices are read as
the customer reads them (the amounts in the replies and on the cards)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from scripts.stack import Stack
from shop.db import make_engine, session_factory, sqlite_url
from shop.models import Order

pytestmark = pytest.mark.e2e

MONEY = re.compile(r"[$¥]\s?(\d[\d,]*(?:\.\d+)?)")


@pytest.fixture(scope="module")
def orders(stack: Stack):
    return session_factory(make_engine(sqlite_url(stack.data_dir / "shop.db")))


def ask(stack: Stack, sender: str, text: str, **metadata: object) -> list[dict]:
    if metadata.get("customer_id"):
        metadata = {**metadata, **stack.signed(str(metadata["customer_id"]), sender)}
    response = stack.post({"sender": sender, "message": text, "metadata": metadata})
    assert response.status_code == 200, response.text
    return response.json()


def text_of(messages: list[dict]) -> str:
    return "\n".join(m.get("text", "") for m in messages)


def cards(messages: list[dict]) -> list[dict]:
    return [c for m in messages if isinstance(m.get("custom"), dict)
            for c in m["custom"].get("cards", [])]


def amount(text: str) -> Decimal:
    found = MONEY.search(text)
    assert found, text
    return Decimal(found.group(1).replace(",", ""))


def listed(reply: str) -> list[tuple[str, Decimal]]:
    """The numbered lines of a list: (name, price as shown)."""
    return [(m.group(1), amount(m.group(2)))
            for m in re.finditer(r"^\d+\. (.+?) — ([$¥][\d,.]+)", reply, re.M)]


@pytest.mark.parametrize(("message", "budget", "lang"), [
    ("有什么推荐的，2000元以下", Decimal(2000), "zh"),
    ("recommend something under $60", Decimal(60), "en"),
])
def test_a_budget_holds_for_every_recommendation(stack: Stack, sender: str, message: str,
                                                 budget: Decimal, lang: str) -> None:
    picks = cards(ask(stack, sender, message))
    assert picks, message
    assert all(amount(c["price"]) <= budget for c in picks), picks


def test_a_brand_named_holds_for_every_pick(stack: Stack, sender: str) -> None:
    picks = cards(ask(stack, sender, "can you recommend something from JBL?"))
    assert picks and all(c["title"].startswith("JBL") for c in picks), picks


def test_anything_cheaper_after_a_price_lists_cheaper_ones(stack: Stack, sender: str) -> None:
    price = amount(text_of(ask(stack, sender, "how much is the Sony WH-1000XM5?")))
    messages = ask(stack, sender, "anything cheaper?")
    shown = [amount(c["price"]) for c in cards(messages)] or \
        [p for _, p in listed(text_of(messages))]
    assert shown and all(p < price for p in shown), (price, text_of(messages))


@pytest.mark.parametrize(("search", "cheaper", "position"), [
    ("看看手机", "有没有比第三个更便宜的", 3),
    ("show me some phones", "anything cheaper than the third one?", 3),
])
def test_cheaper_than_a_listed_product_is_not_a_comparison(stack: Stack, sender: str,
                                                           search: str, cheaper: str,
                                                           position: int) -> None:
    shown = listed(text_of(ask(stack, sender, search)))
    ceiling = shown[position - 1][1]
    messages = ask(stack, sender, cheaper)
    reply = text_of(messages)
    assert " vs " not in reply and "对比" not in reply, reply
    prices = [amount(c["price"]) for c in cards(messages)] or [p for _, p in listed(reply)]
    assert prices and all(p < ceiling for p in prices), (ceiling, reply)


def test_a_brand_instead_recommends_from_that_brand(stack: Stack, sender: str) -> None:
    ask(stack, sender, "how much is the Adidas Ultraboost Light?")
    picks = cards(ask(stack, sender, "anything from Nike instead?"))
    assert picks and all(c["title"].startswith("Nike") for c in picks), picks


def test_a_signed_in_budget_follow_up_keeps_the_personal_picks(stack: Stack, sender: str,
                                                              orders) -> None:
    with orders() as session:
        customer = session.scalars(select(Order.customer_id).group_by(Order.customer_id)
                                   .order_by(func.count().desc())).first()
    first = ask(stack, sender, "what would you recommend?", customer_id=customer)
    assert "picks for you" in text_of(first)
    messages = ask(stack, sender, "anything under $100?", customer_id=customer)
    reply = text_of(messages)
    assert "I found" not in reply, reply  # not the catalog, cheapest first
    assert all(amount(c["price"]) <= 100 for c in cards(messages)), reply


def test_an_anonymous_visitor_is_never_told_about_their_purchases(stack: Stack,
                                                                  sender: str) -> None:
    for message in ("what would you recommend?", "有什么推荐的吗"):
        reply = text_of(ask(stack, f"{sender}-{len(message)}", message))
        assert reply and not re.search(r"your purchases|bought it before|购买记录|买过", reply)


@pytest.mark.parametrize("message", ["how much is the second one?", "第二个多少钱"])
def test_a_reference_to_nothing_gets_a_useful_question(stack: Stack, sender: str,
                                                       message: str) -> None:
    reply = text_of(ask(stack, sender, message))
    assert "0" not in reply and ("list" in reply or "商品" in reply), reply


def test_short_replies_keep_the_thread_in_english(stack: Stack, sender: str) -> None:
    reply = text_of(ask(stack, sender, "quick one - price of a Dell XPS 13?"))
    assert "Dell XPS 13" in reply and MONEY.search(reply) and "couldn't find" not in reply
    shown = listed(text_of(ask(stack, sender, "show me some headphones")))
    second = shown[1][0].split(" (")[0]
    assert second in text_of(ask(stack, sender, "2"))
    reply = text_of(ask(stack, sender, "k, price pls"))
    assert second in reply and MONEY.search(reply), reply
    reply = text_of(ask(stack, sender, "what would that one run me?"))
    assert second in reply and MONEY.search(reply), reply


def test_a_colour_picks_the_listed_product_in_that_colour(stack: Stack, sender: str) -> None:
    shown = listed(text_of(ask(stack, sender, "show me laptops")))
    grey = [name for name, _ in shown if "(grey)" in name]
    assert grey, shown
    reply = text_of(ask(stack, sender, "how much is the grey one?"))
    assert grey[0].split(" (")[0] in reply and MONEY.search(reply), reply


def test_short_replies_keep_the_thread_in_chinese(stack: Stack, sender: str) -> None:
    shown = listed(text_of(ask(stack, sender, "有联想的笔记本吗")))
    first = shown[0][0].split("（")[0]
    reply = text_of(ask(stack, sender, "排第一的那个多少钱"))
    assert first in reply and MONEY.search(reply), reply
    reply = text_of(ask(stack, sender, "好吧 那個還有貨嗎"))
    assert first in reply and ("有货" in reply or "缺货" in reply or "库存" in reply), reply


@pytest.mark.parametrize(("ask_for", "pick"), [("where's my order?", "2nd one pls"),
                                               ("帮我查一下订单", "第二个那单")])
def test_a_known_customer_picks_an_order_by_its_position(stack: Stack, sender: str, orders,
                                                         ask_for: str, pick: str) -> None:
    with orders() as session:
        customer = session.scalars(select(Order.customer_id).group_by(Order.customer_id)
                                   .having(func.count() >= 3)).first()
    numbers = re.findall(r"SH-\d{6}", text_of(ask(stack, sender, ask_for,
                                                  customer_id=customer)))
    assert len(numbers) >= 2, numbers
    reply = text_of(ask(stack, sender, pick, customer_id=customer))
    assert numbers[1] in reply and "doesn't look like" not in reply, reply


@pytest.mark.parametrize(("message", "returnable"), [
    ("cancel order {}", "you can still return it until"),
    ("取消订单 {}", "前仍可申请退货"),
])
def test_cancelling_a_delivered_order_says_until_when_it_can_be_returned(
        stack: Stack, sender: str, orders, message: str, returnable: str) -> None:
    with orders() as session:
        order = session.scalars(select(Order).where(
            Order.status == "delivered",
            Order.delivered_at > dt.datetime.now() - dt.timedelta(days=20))).first()
    assert order is not None
    reply = text_of(ask(stack, sender, message.format(order.number),
                        customer_id=order.customer_id))
    assert returnable in reply and "shipped" not in reply and "已发货" not in reply, reply
