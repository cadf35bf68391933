// Unit tests of the desk's words (node --test desk/test/): the agent reads what the
// customer asked for and who holds what in their own language, never internal names.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { intentLabel, minutes, queueLines, quoteLine, shownLine, speaker, stillToCome, word } from "../static/words.js";

// a stand-in for the dictionaries desk/i18n.py gives the page, with the keys used here
// (tests/desk/test_i18n.py checks the real ones have every key the page uses)
const T = {
  en: { customer: "Customer", agent: "Agent", notice: "Notice", assistant: "Assistant",
        waiting: "waiting", ticket: "ticket", out_of_stock: " (out of stock)", list: "list",
        coupon: "coupon", shop_price: "shop",
        states: { waiting: "waiting", assigned: "assigned" },
        reasons: { asked: "asked for a person" }, in_language: { en: "English", zh: "Chinese" },
        intents: { human_handoff: "asked for a person", search_products: "product search" } },
  zh: { customer: "顾客", agent: "客服", notice: "通知", assistant: "智能助手", waiting: "已等待",
        ticket: "工单", out_of_stock: "（缺货）", list: "标价", coupon: "优惠券", shop_price: "店铺",
        states: { waiting: "等待中", assigned: "已接入" }, reasons: { asked: "要求人工" },
        in_language: { en: "英文", zh: "中文" },
        intents: { human_handoff: "要求人工", search_products: "找商品" } },
};

test("an intent is shown in the agent's words, never by its name", () => {
  const m = { role: "customer", intent: "human_handoff", confidence: 0.987 };
  assert.equal(intentLabel(T.zh, m), "要求人工 0.99");
  assert.equal(intentLabel(T.en, m), "asked for a person 0.99");
  assert.equal(intentLabel(T.en, { role: "assistant", intent: "x" }), null);
  // an intent no dictionary knows yet is shown as it is rather than hidden
  assert.equal(intentLabel(T.en, { role: "customer", intent: "new_one" }), "new_one");
});

test("who wrote what", () => {
  assert.equal(speaker(T.zh, { role: "customer" }), "顾客");
  assert.equal(speaker(T.en, { role: "agent", author: "Ann" }), "Ann");
  assert.equal(speaker(T.en, { role: "agent" }), "Agent");
  assert.equal(speaker(T.zh, { role: "notice" }), "通知");
  assert.equal(speaker(T.en, { role: "assistant" }), "Assistant");
});

test("a queue entry says the customer's language, the state and the wait", () => {
  const h = { id: 7, language: "en", channel: "widget", state: "waiting", agent: null,
              reason: "asked", waiting_seconds: 185, outside_hours: true };
  assert.deepEqual(queueLines(T.zh, h), ["#7 · 英文 · widget", "等待中 · 要求人工 · 已等待 3 min · 工单"]);
  assert.deepEqual(queueLines(T.en, { ...h, state: "assigned", agent: "ann", outside_hours: false }),
                   ["#7 · English · widget", "assigned · ann · asked for a person · waiting 3 min"]);
});

test("waits, products and quotes", () => {
  assert.equal(minutes(42.4), "42 s");
  assert.equal(minutes(-3), "0 s");
  assert.equal(minutes(3600), "60 min");
  assert.equal(word(T.en, "states", "resolved"), "resolved");
  assert.equal(shownLine(T.zh, { name: "跑鞋", price: 69.99, currency: "USD", in_stock: false }),
               "跑鞋 — 69.99 USD（缺货）");
  assert.equal(shownLine(T.en, { name: "Shoe", price: null, currency: "USD", in_stock: true }),
               "Shoe — ? USD");
  assert.equal(quoteLine(T.en, { kind: "quote", name: "Shoe", sku: "S1", price: 70, currency: "USD",
                                 list_price: 75, status: "shown", coupon: "SAVE-1" }),
               "quote · Shoe (S1): 70 USD, list 75 · shown · coupon SAVE-1");
});

test("amounts in the customer's currency, the shop's own beside them when they differ", () => {
  assert.equal(shownLine(T.zh, { name: "跑鞋", price: "499", currency: "CNY", in_stock: true,
                                 shop_price: "69.99", shop_currency: "USD" }),
               "跑鞋 — 499 CNY (店铺 69.99 USD)");
  assert.equal(shownLine(T.en, { name: "Shoe", price: "69.99", currency: "USD", in_stock: true,
                                 shop_price: null, shop_currency: null }),
               "Shoe — 69.99 USD");
  assert.equal(quoteLine(T.zh, { kind: "quote", name: "跑鞋", sku: "S1", price: 524, currency: "CNY",
                                 list_price: 499, status: "shown", coupon: null,
                                 shop_price: "73.49", shop_currency: "USD" }),
               "quote · 跑鞋 (S1): 524 CNY (店铺 73.49 USD), 标价 499 · shown");
});

test("the page's script uses these helpers instead of its own copies", () => {
  const page = readFileSync(new URL("../static/desk.js", import.meta.url), "utf8");
  assert.match(page, /from "\.\/words\.js"/);
  assert.doesNotMatch(page, /function minutes\(/);
});

test("whether an agent's message reached the customer", async () => {
  const { deliveryLabel, withUndelivered } = await import("../static/words.js");
  const t = { delivered: "已送达", undelivered: "未送达", sending: "发送中…" };
  assert.equal(deliveryLabel(t, { status: "sent" }), "✓ 已送达");
  assert.equal(deliveryLabel(t, { status: "expired", error: "48 小时" }), "未送达: 48 小时");
  assert.equal(deliveryLabel(t, { status: "failed" }), "未送达");
  assert.equal(deliveryLabel(t, { status: "pending" }), "发送中…");
  assert.equal(deliveryLabel(t, null), null);
  // a message the history lacks (never delivered) takes its place in time
  const history = [{ role: "customer", text: "hi", ts: 1 }, { role: "agent", text: "ok", ts: 5, delivery: 2 }];
  const deliveries = [{ id: 1, status: "expired", text: "late", author: "Ann", at: 3 },
                      { id: 2, status: "sent", text: "ok", at: 5 }];
  assert.deepEqual(withUndelivered(history, deliveries).map((m) => [m.text, m.delivery]),
                   [["hi", undefined], ["late", 1], ["ok", 2]]);
});

test("the audit trail in words", async () => {
  const { auditLine } = await import("../static/words.js");
  const t = { actors: { customer: "顾客" }, actions: { requested: "请求人工", claimed: "接入" } };
  assert.match(auditLine(t, { at: 0, actor: "customer", action: "requested" }, "zh"), / 顾客 请求人工$/);
  assert.match(auditLine(t, { at: 0, actor: "ann", action: "claimed" }, "zh"), / ann 接入$/);
});

test("a message shown live stays on screen until a reload of the conversation holds it", () => {
  const live = [{ role: "customer", text: "<img src=x onerror=1>", shownAt: 100 },
                { role: "agent", author: "Ann", text: "On it. ", shownAt: 101 },
                { role: "customer", text: "thanks", shownAt: 102 }];
  // the history has the first and (trimmed) the second, not yet the third
  const loaded = [{ role: "assistant", text: "hello" }, { role: "customer", text: "<img src=x onerror=1>" },
                  { role: "agent", text: "On it." }];
  assert.deepEqual(stillToCome(live, loaded, 110), [live[2]]);
  // one loaded message accounts for one live one: the same words said twice, one loaded
  const twice = [{ role: "customer", text: "hi", shownAt: 100 }, { role: "customer", text: "hi", shownAt: 101 }];
  assert.deepEqual(stillToCome(twice, [{ role: "customer", text: "hi" }], 110), [twice[1]]);
  // the same words from someone else are not it
  assert.deepEqual(stillToCome([live[2]], [{ role: "agent", text: "thanks" }], 110), [live[2]]);
  // nothing is kept for ever: after two minutes the history has it or never will
  assert.deepEqual(stillToCome([live[2]], [], 102 + 120), [live[2]]);
  assert.deepEqual(stillToCome([live[2]], [], 102 + 121), []);
});
