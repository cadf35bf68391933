"""Prices, discounts and haggling through the real Rasa server and action server."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
import subprocess
import sys

import pytest
import requests

from scripts.stack import ROOT, Stack

pytestmark = pytest.mark.e2e


def quotes(stack: Stack, sender: str) -> list[tuple[str, str, float, float, str]]:
    """(kind, sku, list price, price, coupon) of every audited decision of a conversation."""
    with sqlite3.connect(stack.data_dir / "shop.db") as db:
        return db.execute("select kind, sku, list_price, price, coalesce(coupon, '') "
                          "from price_quotes where conversation_id = ? order by id",
                          (sender,)).fetchall()


def money(value: float, currency: str) -> str:
    return f"${value:,.2f}" if currency == "USD" else f"¥{value:,.2f}"


def local(stack: Stack, sku: str, currency: str) -> float:
    with sqlite3.connect(stack.data_dir / "shop.db") as db:
        if currency == "USD":
            return float(db.execute("select list_price from products where sku = ?",
                                    (sku,)).fetchone()[0])
        return float(db.execute("select amount from local_prices where product_sku = ? and "
                                "currency = ?", (sku, currency)).fetchone()[0])


def targeted_customer(stack: Stack) -> str:
    """A customer whose RFM segment gets coupons this period (as the action server sees it)."""
    from actions.services import purchase_history
    from pricing.coupons import DEFAULT_DISCOUNTS, DEFAULT_UPLIFT, allocate
    from pricing.segments import rfm, segment_stats
    from shop.db import make_engine, session_factory
    from shop.sales import ShopSales

    sales = ShopSales(session_factory(make_engine(f"sqlite:///{stack.data_dir / 'shop.db'}")))
    purchases = purchase_history(sales)
    scores = rfm(purchases, as_of=dt.datetime.now(dt.timezone.utc).replace(tzinfo=None))
    plan = allocate(segment_stats(purchases, scores), budget=500.0,
                    discounts=DEFAULT_DISCOUNTS, uplift=DEFAULT_UPLIFT)
    return next(c for c, r in sorted(scores.items()) if r.segment in plan)


def test_price_then_haggle_then_audit(stack: Stack, sender: str) -> None:
    """A guest is quoted the shop's published price (what the storefront shows, not what
    the quotes' ledger says was decided); a haggle goes below it or says it can't; the
    ledger then records what the customer was told."""
    from scripts.price_check import PriceBook

    texts = stack.say(sender, "how much is the MacBook Air 13?")
    decided = quotes(stack, sender)
    assert [d[0] for d in decided] == ["quote"], decided
    _kind, sku, list_price, price, _ = decided[0]
    published = PriceBook.open(stack.data_dir).storefront(sku, "USD")
    assert published is not None
    shown = float(published)
    assert any(money(shown, "USD") in t for t in texts), (texts, published)
    assert round(local(stack, sku, "USD") * price / list_price, 2) == shown  # as logged
    again = stack.say(sender, "and how much is it again?")
    assert any(money(shown, "USD") in t for t in again), again
    haggle = " ".join(stack.say(sender, "can you do better?"))
    decided = quotes(stack, sender)
    assert [d[0] for d in decided] == ["quote", "negotiation"], decided
    code = decided[1][4]
    if code:
        offered = [float(m.replace(",", "")) for m in re.findall(r"\$([\d,]+\.\d\d)", haggle)]
        assert code in haggle and offered and min(offered) < shown, haggle
        assert money(round(local(stack, sku, "USD") * decided[1][3] / list_price, 2),
                     "USD") in haggle  # the ledger holds the price that was offered
    else:
        assert "best price" in haggle, haggle
    once_more = " ".join(stack.say(sender, "come on, can you go lower?"))
    assert "can't go any lower" in once_more or "best price" in once_more, once_more
    audit = subprocess.run([sys.executable, "-m", "shopctl.pricing", "audit", sender],
                           cwd=ROOT, env=stack.env, capture_output=True, text=True, check=True)
    assert "quote" in audit.stdout and "negotiation" in audit.stdout and sku in audit.stdout


def test_chinese_price_and_a_coupon_redeemed_once(stack: Stack, sender: str) -> None:
    customer = targeted_customer(stack)
    texts = stack.say(sender, "iPhone 15多少钱？", customer_id=customer)
    _kind, sku, list_price, price, _ = quotes(stack, sender)[0]
    shown = round(local(stack, sku, "CNY") * price / list_price, 2)
    assert any(f"¥{shown:,.2f}" in t or f"¥{shown:,.0f}" in t for t in texts), texts
    offer = " ".join(stack.say(sender, "有优惠吗？", customer_id=customer))
    found = re.search(r"SAVE-[0-9A-F]{8}", offer)
    assert found and "优惠码" in offer, offer
    redeem = [sys.executable, "-m", "shopctl.pricing", "redeem", found.group(0),
              "--order", "SH-999999", "--customer", customer]
    first = subprocess.run(redeem, cwd=ROOT, env=stack.env, capture_output=True, text=True)
    assert first.returncode == 0 and "redeemed" in first.stdout, first.stderr
    second = subprocess.run(redeem, cwd=ROOT, env=stack.env, capture_output=True, text=True)
    assert second.returncode == 1 and "already used" in second.stderr


def test_discount_for_an_anonymous_shopper_is_a_polite_no(stack: Stack, sender: str) -> None:
    stack.say(sender, "how much is the Sony WH-1000XM5?")
    reply = " ".join(stack.say(sender, "is there a discount?"))
    assert "SAVE-" not in reply
    assert "no discount" in reply or "no further discount" in reply, reply


def _replies(stack: Stack, sender: str, text: str, **metadata: object) -> list[str]:
    """The texts and product cards (as "title — price" lines) of one answer."""
    from scripts.price_check import card_lines

    if metadata.get("customer_id"):
        metadata = {**metadata, **stack.signed(str(metadata["customer_id"]), sender)}
    answer = stack.post({"sender": sender, "message": text, "metadata": metadata})
    assert answer.status_code == 200, answer.text
    out: list[str] = []
    for m in answer.json():
        out += [m["text"]] if m.get("text") else []
        out += card_lines(m.get("custom"))
    return out


SHOPPING = {
    "en": ["show me running shoes", "how much is the first one?", "tell me more about it",
           "does it come in black?", "compare the first two", "how much is the second one?",
           "recommend something similar", "and how much is the first one again?"],
    "zh": ["我想看看跑鞋", "第一个多少钱？", "介绍一下第一个", "有黑色的吗？", "比较一下前两个",
           "第二个多少钱？", "推荐类似的", "第一个多少钱来着？"],
}


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("signed", [False, True], ids=["guest", "customer"])
def test_one_price_per_product_across_a_whole_conversation(stack: Stack, sender: str,
                                                           lang: str, signed: bool) -> None:
    """Lists, prices, details, colours, comparisons and recommendations of one chat show
    each product at one price, never above what the storefront shows for it; a
    customer's own lower price is said as such."""
    from scripts.price_check import PriceBook, check

    customer = {"customer_id": targeted_customer(stack)} if signed else {}
    replies: list[str] = []
    for text in SHOPPING[lang]:
        replies += _replies(stack, sender, text, **customer)
    book = PriceBook.open(stack.data_dir)
    assert check(book, replies) == [], "\n".join(replies)
    decided = quotes(stack, sender)
    assert decided, replies
    # every quote of the conversation is at or below the product's published price, and
    # the storefront's page shows that published price
    with sqlite3.connect(stack.data_dir / "shop.db") as db:
        for _kind, sku, _list, price, _ in decided:
            published = db.execute("select price from price_states where sku = ? and cell = ''",
                                   (sku,)).fetchone()[0]
            assert price <= published + 1e-6, (sku, price, published)
    sku = decided[0][1]
    page = requests.get(f"{stack.storefront_url}/products/{sku}", params={"lang": "en"},
                        timeout=30).text
    shown = book.storefront(sku, "USD")
    assert shown is not None and f"${shown:,.2f}" in page
