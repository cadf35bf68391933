"""Conversation-level evaluation: whole chats against the real servers, every answer
checked against the shop's data.

A suite is one or more YAML files of conversations (``evaluation/conversations/``
holds the project's own; pass ``--suite`` for any other, e.g. fresh ones the
project has never seen). A conversation succeeds when every turn meets its
expectations; the figure reported is the share of conversations that succeed,
per language and per capability. ``make eval-conversations`` starts both servers
on a freshly generated demo shop, runs the suite and writes
``reports/conversations.{json,md,png}``.

File format::

    conversations:
    - id: en-range-1               # unique
      language: en                 # en | zh: what the customer writes (for a message in
                                   # both scripts, the language the answer must be in)
      capability: search_range     # reported per capability
      signed: false                # true: the shop signs the owner of {order:...} in
      turns:
      - user: running shoes between $60 and $100 please
        expect:
          list: {category: running_shoes, min_price: 60, max_price: 100}
      - user: what's the 2nd one going for?
        expect: {product: {listed: 2}, price: true}

Expectations (all optional; a turn with none only has to be answered, in the
customer's language, without a fallback):

``action`` / ``not_action``
    an action that must (one of a list) / must not run in the turn.
``response`` / ``not_response``
    a response template (``utter_...``) that must (one of a list) / must not be said.
``list``
    the products listed in the turn (the ``shown_products`` slot, set in this
    turn): non-empty, and every one matches ``category`` (or a subcategory),
    ``brand``, ``color``, ``min_price``/``max_price`` (in ``currency``, by default
    USD for English and CNY for Chinese; held to the prices shown, today's
    published ones), ``below: REF`` (cheaper than a product).
``product``
    the product under discussion after the turn: ``{listed: N}`` (the Nth of the
    list shown before the turn, -1 the last), ``{name: "KT9"}`` (its model name
    contains this), ``{same: true}``, plus optional ``color``.
``price: true``
    the reply states the price audited for that product in this conversation.
``stock: true`` / ``material: true`` / ``colors: true``
    the reply agrees with the shop's stock, material, or lists the model's colours.
``order: status``
    the reply gives the order's status from the shop database.
``order_state: cancelled``
    the order's state in the database after the turn (the order the turn names,
    else the conversation's first).
``says`` / ``not_says``
    regular expressions that must / must not match the reply.

Every conversation is also held to the price rule as a whole
(:mod:`scripts.price_check`): no product is shown at two prices without a
stated reason (a personal price, a coupon, an offer), and none above what the
storefront shows for it today.

User text may hold ``{order:STATUS}`` (an order in that state: processing,
shipped, delivered (within the return window), delivered_old, cancelled,
returned), ``{email}`` (the e-mail of that order) and ``{wrong_email}``. A signed
conversation is signed in as the owner of its first order; one whose first
message names no order is signed in from the start as a customer with several
orders, and its orders are that customer's where they have one in the state.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import secrets
import sqlite3
import sys
import tempfile
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests
import yaml

from scripts.price_check import PriceBook, card_lines
from scripts.price_check import check as price_check

ROOT = Path(__file__).resolve().parents[1]
SUITE = ROOT / "evaluation" / "conversations"
#: written after the work on SUITE was done, run once; never tuned on
HOLDOUT = ROOT / "evaluation" / "holdout"
HAN = re.compile(r"[\u3400-\u9fff]")
CODES = re.compile(r"\S+@\S+|\b[A-Za-z]{1,4}[-_]?\d[\w-]*")
MONEY = re.compile(r"(?:[$¥€£])\s?(\d[\d,]*(?:\.\d+)?)|(\d[\d,]*(?:\.\d+)?)\s?(?:元|EUR|GBP)")
FALLBACKS = {"utter_default", "action_default_fallback"}
CURRENCY = {"en": "USD", "zh": "CNY"}
STOCK_RESPONSES = {"utter_stock_in", "utter_stock_low", "utter_stock_out"}
RETURN_WINDOW_DAYS = 30
# every evaluation client writes from 127.0.0.1: per-address limits would count it as one
EVAL_LIMITS = {"LIMIT_MESSAGES_PER_IP": "1000000", "LIMIT_LOOKUP_FAILURES_PER_CLIENT": "100000",
               "LIMIT_CONCESSIONS_PER_CLIENT": "100000", "LIMIT_CONCESSIONS_PER_CUSTOMER": "1000",
               "LIMIT_UPLOADS_PER_IP": "100000"}


class SuiteError(ValueError):
    """A conversation file is malformed."""


@dataclass(frozen=True)
class Turn:
    """One customer message and what the answer must satisfy."""

    user: str
    expect: dict[str, Any]


@dataclass(frozen=True)
class Conversation:
    """A whole chat of one customer."""

    id: str
    language: str
    capability: str
    turns: tuple[Turn, ...]
    signed: bool = False
    slice: bool = False


@dataclass
class Result:
    """How one conversation went."""

    conversation: Conversation
    failures: list[str] = field(default_factory=list)
    transcript: list[dict[str, Any]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


def load_suite(paths: Iterable[Path]) -> list[Conversation]:
    """Every conversation of the YAML files (or directories of them) in ``paths``."""
    files: list[Path] = []
    for path in paths:
        files.extend(sorted(path.glob("*.yml")) if path.is_dir() else [path])
    found: list[Conversation] = []
    seen: set[str] = set()
    for file in files:
        data = yaml.safe_load(file.read_text("utf-8")) or {}
        for raw in data.get("conversations", []):
            try:
                conversation = Conversation(
                    id=str(raw["id"]), language=str(raw["language"]),
                    capability=str(raw["capability"]), signed=bool(raw.get("signed")),
                    slice=bool(raw.get("slice")),
                    turns=tuple(Turn(str(t["user"]), dict(t.get("expect") or {}))
                                for t in raw["turns"]))
            except (KeyError, TypeError) as error:
                raise SuiteError(f"{file}: malformed conversation {raw!r}") from error
            if conversation.id in seen:
                raise SuiteError(f"{file}: duplicate conversation id {conversation.id}")
            if conversation.language not in CURRENCY or not conversation.turns:
                raise SuiteError(f"{file}: {conversation.id}: bad language or no turns")
            seen.add(conversation.id)
            found.append(conversation)
    return found


class ShopData:
    """The shop database a stack runs on, read the way the checks need it."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._db = sqlite3.connect(data_dir / "shop.db", check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._parents = {r["key"]: r["parent_key"] for r in self._db.execute(
            "select key, parent_key from categories")}
        self._used_orders: set[str] = set()
        self._used_customers: set[str] = set()

    def product(self, sku: str) -> sqlite3.Row | None:
        return self._db.execute("select * from products where sku = ?", (sku,)).fetchone()

    def price(self, sku: str, currency: str) -> Decimal | None:
        if currency == "USD":
            row = self._db.execute("select list_price from products where sku = ?",
                                   (sku,)).fetchone()
        else:
            row = self._db.execute("select amount from local_prices where product_sku = ? "
                                   "and currency = ?", (sku, currency)).fetchone()
        return Decimal(str(row[0])) if row and row[0] is not None else None

    def in_category(self, category: str | None, wanted: str) -> bool:
        while category:
            if category == wanted:
                return True
            category = self._parents.get(category)
        return False

    def group_skus(self, sku: str) -> list[sqlite3.Row]:
        return list(self._db.execute(
            "select * from products where group_id = (select group_id from products "
            "where sku = ?)", (sku,)))

    def quoted(self, conversation: str, sku: str) -> tuple[Decimal, Decimal] | None:
        """(price, list price) of the audited quote of ``sku`` in ``conversation``."""
        row = self._db.execute(
            "select price, list_price from price_quotes where conversation_id = ? and sku = ? "
            "and kind = 'quote' order by id limit 1", (conversation, sku)).fetchone()
        return (Decimal(str(row[0])), Decimal(str(row[1]))) if row else None

    def order(self, number: str) -> sqlite3.Row | None:
        return self._db.execute("select * from orders where number = ?", (number,)).fetchone()

    def customer_with_orders(self, states: Iterable[str] = ()) -> str | None:
        """A customer no other conversation of the run has used, with at least three
        orders and an unused one in each of ``states`` (a signed conversation is one
        customer's: "where's my order A, and cancel B"); ``None`` when there is none."""
        wanted = sorted(set(states))
        for (customer,) in self._db.execute(
                "select customer_id from orders group by customer_id having count(*) >= 3 "
                "order by customer_id"):
            if customer in self._used_customers:
                continue
            if all(self._has(customer, state) for state in wanted):
                self._used_customers.add(customer)
                return str(customer)
        return None

    def _has(self, customer: str, state: str) -> bool:
        try:
            row = self.pick_order(state, customer, dry=True)
        except SuiteError:
            return False
        return row["customer_id"] == customer

    def pick_order(self, state: str, customer: str | None = None, *,
                   dry: bool = False) -> sqlite3.Row:
        """An order in ``state`` no other conversation of the run has used (of
        ``customer`` when given and they have one); ``dry``: only look."""
        now = dt.datetime.now()
        window = (now - dt.timedelta(days=RETURN_WINDOW_DAYS - 2)).isoformat(" ")
        query = {
            "delivered": ("status = 'delivered' and delivered_at > ?", (window,)),
            "delivered_old": ("status = 'delivered' and delivered_at < ?",
                              ((now - dt.timedelta(days=RETURN_WINDOW_DAYS + 5)).isoformat(" "),)),
        }.get(state, ("status = ?", (state,)))
        rows = list(self._db.execute(f"select * from orders where {query[0]} order by number",
                                     query[1]))
        if customer is not None and any(r["customer_id"] == customer for r in rows):
            rows = [r for r in rows if r["customer_id"] == customer]
        for row in rows:
            if row["number"] not in self._used_orders:
                if not dry:
                    self._used_orders.add(row["number"])
                return row
        raise SuiteError(f"the demo shop has no unused order in state {state!r}")


class Runner:
    """Plays conversations against a running stack and checks every answer."""

    def __init__(self, *, rasa_url: str, api_url: str, api_token: str, data: ShopData,
                 sign: Any) -> None:
        self.rasa_url, self.api_url, self.api_token = rasa_url, api_url, api_token
        self.data, self.sign = data, sign
        self.prices = PriceBook.open(data.data_dir)
        self.http = requests.Session()

    def tracker(self, sender: str) -> dict[str, Any]:
        answer = self.http.get(f"{self.api_url}/conversations/{sender}/tracker",
                               params={"token": self.api_token, "include_events": "ALL"},
                               timeout=60)
        answer.raise_for_status()
        return dict(answer.json())

    def run(self, conversation: Conversation) -> Result:
        result = Result(conversation)
        sender = f"eval-{conversation.id}-{uuid.uuid4().hex[:8]}"
        values: dict[str, str] = {}
        owner: str | None = None
        slots: dict[str, Any] = {}
        events_seen = 0
        replies: list[str] = []
        if conversation.signed:
            # one customer's conversation: someone with orders in every state it names,
            # signed in from the first message ("show me my orders") when it names none
            states = [m for t in conversation.turns for m in re.findall(r"\{order:(\w+)\}",
                                                                        t.user)]
            opens = "{order:" in conversation.turns[0].user
            customer = self.data.customer_with_orders(states) \
                if len(set(states)) > 1 or not opens else None
            if customer is not None:
                values["customer"] = customer
                owner = None if opens else customer
        for index, turn in enumerate(conversation.turns, start=1):
            values.pop("named", None)
            try:
                text = self._fill(turn.user, values)
            except SuiteError as error:
                result.failures.append(f"turn {index}: {error}")
                return result
            if owner is None and "order" in values:
                owner = values["customer"]
            metadata = self.sign(owner, sender) if conversation.signed and owner else {}
            # the order this message names, else the conversation's first
            order_before = self.data.order(values.get("named") or values["order"]) \
                if "order" in values else None
            answer = self.http.post(f"{self.rasa_url}/webhooks/rest/webhook",
                                    json={"sender": sender, "message": text,
                                          "metadata": metadata}, timeout=120)
            if answer.status_code != 200:
                result.failures.append(f"turn {index}: HTTP {answer.status_code}")
                return result
            tracker = self.tracker(sender)
            events = tracker.get("events") or []
            new, events_seen = events[events_seen:], len(events)
            turn_view = Outcome(new, before=dict(slots))
            slots.update(turn_view.slot_changes)
            turn_view.after = dict(slots)
            replies.extend(turn_view.texts + turn_view.cards)
            result.transcript.append({"user": text, "bot": turn_view.texts + turn_view.cards,
                                      "actions": turn_view.actions,
                                      "responses": turn_view.responses})
            for problem in self.check(turn, turn_view, conversation, sender, text, values,
                                      order_before):
                result.failures.append(f"turn {index} ({text!r}): {problem}")
        # the whole conversation: one price per product, never above the storefront's
        self.prices.refresh()
        result.failures.extend(f"prices: {p}" for p in price_check(self.prices, replies))
        return result

    def _fill(self, text: str, values: dict[str, str]) -> str:
        def order(match: re.Match[str]) -> str:
            state = match.group(1)
            key = f"order:{state}"
            if key not in values:
                row = self.data.pick_order(state, values.get("customer"))
                values[key] = row["number"]
                values.setdefault("order", row["number"])
                values.setdefault("email", row["email"])
                values.setdefault("customer", row["customer_id"])
            values["named"] = values[key]  # the order this message names
            return values[key]

        text = re.sub(r"\{order:(\w+)\}", order, text)
        if "{email}" in text and "email" not in values:
            raise SuiteError("{email} before any {order:...}")
        return (text.replace("{email}", values.get("email", ""))
                .replace("{wrong_email}", "nobody.here@example.com"))

    def check(self, turn: Turn, out: Outcome, conversation: Conversation, sender: str,
              text: str, values: dict[str, str], order_before: Any) -> Iterator[str]:
        expect = turn.expect
        words = CODES.sub(" ", text)  # e-mails and order numbers have no language
        han, latin = HAN.search(text), re.search(r"[A-Za-z]{2,}", words)
        # one script decides; a message in both ("do you have the 华为 Mate 60 Pro?",
        # "show me 华为手机") is in the language its conversation is labelled with
        lang = conversation.language if han and latin else (
            "zh" if han else "en" if latin else conversation.language)
        reply = "\n".join(out.texts)
        if not out.texts:
            yield "no answer"
            return
        if lang == "zh" and not HAN.search(reply):
            yield f"answered in English: {reply[:80]!r}"
        if lang == "en" and HAN.search(reply):
            yield f"answered in Chinese: {reply[:80]!r}"
        allowed = set(_many(expect.get("response"))) | set(_many(expect.get("action")))
        fallback = (set(out.responses) | set(out.actions)) & FALLBACKS - allowed
        if fallback:
            yield f"fell back ({', '.join(sorted(fallback))}): {reply[:80]!r}"
        if "action" in expect and not set(_many(expect["action"])) & set(out.actions):
            yield f"expected action {expect['action']}, ran {out.actions}"
        for name in _many(expect.get("not_action")):
            if name in out.actions:
                yield f"ran {name}"
        if "response" in expect and not set(_many(expect["response"])) & set(out.responses):
            yield f"expected {expect['response']}, said {out.responses}: {reply[:80]!r}"
        for name in _many(expect.get("not_response")):
            if name in out.responses:
                yield f"said {name}"
        for pattern in _many(expect.get("says")):
            if not re.search(pattern, reply, re.IGNORECASE):
                yield f"reply lacks /{pattern}/: {reply[:100]!r}"
        for pattern in _many(expect.get("not_says")):
            if re.search(pattern, reply, re.IGNORECASE):
                yield f"reply has /{pattern}/: {reply[:100]!r}"
        currency = str((expect.get("list") or {}).get("currency") or CURRENCY[lang])
        if "list" in expect:
            yield from self._check_list(expect["list"], out, currency, lang)
        product = out.after.get("product")
        if "product" in expect:
            yield from self._check_product(expect["product"], out, product)
        if expect.get("price"):
            yield from self._check_price(sender, product, reply, lang)
        if expect.get("stock"):
            yield from self._check_stock(product, out)
        if expect.get("material"):
            row = self.data.product(product) if product else None
            if row is None or not row["material"]:
                yield "no product with a material under discussion"
            elif "utter_material" not in out.responses:
                yield f"no material answer: {reply[:80]!r}"
        if expect.get("colors"):
            yield from self._check_colors(product, out, reply)
        if expect.get("order") == "status":
            if order_before is None:
                yield "no order in this conversation"
            elif f"utter_order_status_{order_before['status']}" not in out.responses:
                yield f"status of {order_before['number']} is {order_before['status']}, " \
                      f"said {out.responses}"
        if "order_state" in expect:
            row = self.data.order(values.get("named") or values.get("order", ""))
            if row is None or row["status"] != expect["order_state"]:
                yield f"order is {row['status'] if row else None}, " \
                      f"expected {expect['order_state']}"

    def _check_list(self, wanted: dict[str, Any], out: Outcome, currency: str,
                    lang: str) -> Iterator[str]:
        if "shown_products" not in out.slot_changes or not out.after.get("shown_products"):
            yield "no product list shown"
            return
        skus = out.after["shown_products"]
        self.prices.refresh()  # limits hold for the prices shown: today's published ones
        below = None
        if "below" in wanted:
            below = self._reference(wanted["below"], out)
            if below is None:
                yield f"unknown reference {wanted['below']!r}"
                return
        for sku in skus:
            row = self.data.product(sku)
            if row is None:
                yield f"{sku} is not in the shop"
                continue
            name = row["model_en"]
            if "category" in wanted and not self.data.in_category(row["category_key"],
                                                                  wanted["category"]):
                yield f"{name} is not in {wanted['category']}"
            if "brand" in wanted and row["brand_key"] != wanted["brand"]:
                yield f"{name} is not by {wanted['brand']}"
            if "color" in wanted and row["color"] != wanted["color"]:
                yield f"{name} is {row['color']}, not {wanted['color']}"
            price = self.prices.storefront(sku, currency)
            if price is None:
                continue
            if "max_price" in wanted and price > Decimal(str(wanted["max_price"])):
                yield f"{name} costs {price} {currency} > {wanted['max_price']}"
            if "min_price" in wanted and price < Decimal(str(wanted["min_price"])):
                yield f"{name} costs {price} {currency} < {wanted['min_price']}"
            if below is not None:
                limit = self.prices.storefront(below, currency)
                if limit is not None and price >= limit:
                    yield f"{name} ({price}) is not cheaper than {below} ({limit})"

    def _reference(self, ref: Any, out: Outcome) -> str | None:
        if isinstance(ref, dict) and "listed" in ref:
            shown = out.before.get("shown_products") or []
            n = int(ref["listed"])
            try:
                return str(shown[n - 1 if n > 0 else n])
            except IndexError:
                return None
        if isinstance(ref, dict) and ref.get("same"):
            return out.before.get("product")
        name = str(ref.get("name") if isinstance(ref, dict) else ref).lower()
        for row in self.data._db.execute("select sku, model_en, model_zh from products "
                                         "order by sku"):
            if name in row["model_en"].lower() or name in (row["model_zh"] or ""):
                return str(row["sku"])
        return None

    def _check_product(self, ref: Any, out: Outcome, product: str | None) -> Iterator[str]:
        if not product:
            yield "no product under discussion"
            return
        row = self.data.product(product)
        if row is None:
            yield f"{product} is not in the shop"
            return
        ref = ref if isinstance(ref, dict) else {"name": ref}
        if "listed" in ref or ref.get("same"):
            target = self._reference(ref, out)
            target_row = self.data.product(target) if target else None
            if target_row is None:
                yield f"nothing to refer to with {ref}"
            elif target_row["group_id"] != row["group_id"]:
                yield f"talks about {row['model_en']}, meant {target_row['model_en']}"
        if "name" in ref:
            name = str(ref["name"]).lower()
            if name not in row["model_en"].lower() and name not in (row["model_zh"] or ""):
                yield f"talks about {row['model_en']}, meant {ref['name']}"
        if "color" in ref and row["color"] != ref["color"]:
            yield f"talks about the {row['color']} {row['model_en']}, meant {ref['color']}"

    def _check_price(self, sender: str, product: str | None, reply: str,
                     lang: str) -> Iterator[str]:
        if not product:
            yield "no product to price"
            return
        quote = self.data.quoted(sender, product)
        if quote is None:
            yield f"no audited quote of {product}"
            return
        local = self.data.price(product, CURRENCY[lang])
        if local is None:
            return
        expected = local * quote[0] / quote[1]
        said = [Decimal(a or b.replace(",", "")) if (a or b) else None
                for a, b in ((m.group(1) and m.group(1).replace(",", ""), m.group(2) or "")
                             for m in MONEY.finditer(reply))]
        if not any(s is not None and abs(s - expected) <= Decimal("1.01") for s in said):
            yield f"quoted {expected:.2f} {CURRENCY[lang]} but the reply says {reply[:100]!r}"

    def _check_stock(self, product: str | None, out: Outcome) -> Iterator[str]:
        row = self.data.product(product) if product else None
        if row is None:
            yield "no product under discussion"
            return
        said = set(out.responses) & STOCK_RESPONSES
        expected = "utter_stock_out" if row["stock"] <= 0 else None
        if not said:
            yield f"no stock answer ({out.responses})"
        elif expected and expected not in said:
            yield f"{row['model_en']} is out of stock, said {said}"
        elif not expected and "utter_stock_out" in said:
            yield f"{row['model_en']} has {row['stock']} in stock, said out of stock"

    def _check_colors(self, product: str | None, out: Outcome, reply: str) -> Iterator[str]:
        if not product:
            yield "no product under discussion"
            return
        if not set(out.responses) & {"utter_colors_list", "utter_color_available",
                                     "utter_color_unavailable"}:
            yield f"no colour answer ({out.responses})"


def _many(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


class Outcome:
    """What happened in one turn, from the tracker's new events."""

    def __init__(self, events: list[dict[str, Any]], *, before: dict[str, Any]) -> None:
        self.before = before
        self.after: dict[str, Any] = {}
        self.actions: list[str] = []
        self.responses: list[str] = []
        self.texts: list[str] = []
        self.cards: list[str] = []  # product cards as "title — price" lines
        self.slot_changes: dict[str, Any] = {}
        for event in events:
            kind = event.get("event")
            if kind == "action" and event.get("name") not in (None, "action_listen"):
                self.actions.append(str(event["name"]))
            elif kind == "bot":
                if event.get("text"):
                    self.texts.append(str(event["text"]))
                self.cards.extend(card_lines((event.get("data") or {}).get("custom")))
                utter = (event.get("metadata") or {}).get("utter_action")
                if utter:
                    self.responses.append(str(utter))
            elif kind == "slot":
                self.slot_changes[str(event.get("name"))] = event.get("value")


@dataclass
class Report:
    """Pass rates per language and capability."""

    results: list[Result]

    def rates(self) -> dict[str, dict[str, tuple[int, int]]]:
        table: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
        for r in self.results:
            for key in (r.conversation.capability, "all"):
                cell = table[key][r.conversation.language]
                cell[0] += r.passed
                cell[1] += 1
        return {k: {lang: (v[0], v[1]) for lang, v in row.items()} for k, row in table.items()}

    def markdown(self) -> str:
        rates = self.rates()
        lines = ["| capability | English | Chinese |", "|---|---|---|"]
        for key in sorted(k for k in rates if k != "all") + ["all"]:
            cells = []
            for lang in ("en", "zh"):
                ok, n = rates[key].get(lang, (0, 0))
                cells.append(f"{ok}/{n} ({100 * ok / n:.0f}%)" if n else "–")
            label = "**all**" if key == "all" else key
            lines.append(f"| {label} | {cells[0]} | {cells[1]} |")
        return "\n".join(lines)

    def plot(self, path: Path, title: str = "make eval-conversations") -> None:
        plot_rates(self.rates(), path, title)


def plot_rates(rates: dict[str, dict[str, tuple[int, int]]], path: Path, title: str) -> None:
    """Horizontal bars: the share of conversations that succeed, per capability and
    language, with the 90% target."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = sorted(k for k in rates if k != "all") + ["all"]
    fig, ax = plt.subplots(figsize=(10, 0.32 * len(keys) + 2))
    for offset, lang, colour in ((-0.2, "en", "#4C72B0"), (0.2, "zh", "#DD8452")):
        cells = [tuple(rates[k].get(lang, (0, 0))) for k in keys]
        values = [100 * ok / n if n else 0 for ok, n in cells]
        ax.barh([i + offset for i in range(len(keys))], values, height=0.4, color=colour,
                label={"en": "English", "zh": "Chinese"}[lang])
    ax.axvline(90, color="grey", linestyle="--", linewidth=1, label="target 90%")
    ax.set_yticks(range(len(keys)), keys)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("conversations that succeed (%)")
    ax.set_title(f"Conversation success per capability ({title})")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.09), ncol=3, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def evaluate(conversations: list[Conversation], runner: Runner, *,
             progress: bool = True) -> Report:
    """Run every conversation and collect the results."""
    from tqdm import tqdm

    results = [runner.run(c) for c in tqdm(conversations, desc="conversations", unit="chat",
                                            disable=not progress)]
    return Report(results)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", type=Path, nargs="+", default=[SUITE],
                        help="conversation files or directories (default: the project's own)")
    parser.add_argument("--slice", action="store_true", help="only conversations marked slice")
    parser.add_argument("--out", type=Path, default=ROOT / "reports", help="report directory")
    parser.add_argument("--name", default="conversations", help="report file name stem")
    args = parser.parse_args(argv)
    conversations = load_suite(args.suite)
    if args.slice:
        conversations = [c for c in conversations if c.slice]
    from scripts.stack import Stack

    token = secrets.token_hex(16)
    with tempfile.TemporaryDirectory(prefix="eval-conversations-") as work:
        print("starting the action server and Rasa on a fresh demo shop …", file=sys.stderr)
        stack = Stack(data_dir=Path(work), api_token=token, extra_env=EVAL_LIMITS).start()
        try:
            runner = Runner(rasa_url=stack.rasa_url, api_url=f"http://127.0.0.1:{stack.api_port}",
                            api_token=token, data=ShopData(stack.data_dir),
                            sign=lambda customer, sender: stack.signed(customer, sender))
            report = evaluate(conversations, runner)
        finally:
            stack.stop()
    args.out.mkdir(parents=True, exist_ok=True)
    failures = {r.conversation.id: {"failures": r.failures, "transcript": r.transcript}
                for r in report.results if not r.passed}
    (args.out / f"{args.name}.json").write_text(json.dumps(
        {"rates": report.rates(), "failures": failures}, ensure_ascii=False, indent=1), "utf-8")
    table = report.markdown()
    (args.out / f"{args.name}.md").write_text(table + "\n", "utf-8")
    report.plot(args.out / f"{args.name}.png")
    for r in report.results:
        if not r.passed:
            print(f"FAIL {r.conversation.id}: {r.failures[0]}")
    print(table)
    print(f"details: {args.out / (args.name + '.json')}, plot: {args.out / (args.name + '.png')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
