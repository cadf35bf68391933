import { test } from "node:test";
import assert from "node:assert/strict";
import { Outgoing, Transcript, backoff, fitWithin, linkify, pickLocale, productCards, safeUrl } from "../src/core.js";

test("the language: explicit option, then the page, then the browser", () => {
  assert.equal(pickLocale("zh", "en", ["en-US"]), "zh");
  assert.equal(pickLocale("auto", "zh-CN", ["en-US"]), "zh");
  assert.equal(pickLocale(undefined, "", ["zh-TW", "en"]), "zh");
  assert.equal(pickLocale(undefined, "fr", ["de-DE"]), "en");
});

test("phone photos are scaled down to fit, small ones kept", () => {
  assert.deepEqual(fitWithin(4032, 3024, 1600), { width: 1600, height: 1200 });
  assert.deepEqual(fitWithin(800, 600, 1600), { width: 800, height: 600 });
  assert.deepEqual(fitWithin(0, 10, 1600), { width: 0, height: 0 });
});

test("product cards keep only string fields and safe image URLs", () => {
  const cards = productCards({ type: "product_cards", cards: [
    { sku: "S1", title: "<img src=x onerror=alert(1)>", price: "$9", image: "javascript:alert(1)",
      buttons: [{ title: "Tell me more", payload: "/x" }] },
    { sku: 2, title: null, image: "https://cdn.example/p.jpg" }] });
  assert.equal(cards.length, 2);
  assert.equal(cards[0].title, "<img src=x onerror=alert(1)>");  // drawn as text, never parsed
  assert.equal(cards[0].image, "");
  assert.equal(cards[0].button.payload, "/x");
  assert.equal(cards[1].sku, "2");
  assert.equal(cards[1].image, "https://cdn.example/p.jpg");
  assert.equal(cards[1].button, null);
  assert.equal(productCards({ type: "other" }), null);
  assert.equal(productCards(null), null);
});

test("only http(s) URLs are used", () => {
  assert.equal(safeUrl("data:text/html,<script>"), "");
  assert.equal(safeUrl("JaVaScRiPt:alert(1)"), "");
  assert.equal(safeUrl("/images/p.jpg", "http://shop.test/webhooks/widget/"), "http://shop.test/images/p.jpg");
  assert.equal(safeUrl("/images/p.jpg"), "");
});

test("links are found in text without swallowing punctuation", () => {
  assert.deepEqual(linkify("see https://shop.test/a?b=1. thanks"), [
    { text: "see " }, { text: "https://shop.test/a?b=1", href: "https://shop.test/a?b=1" }, { text: ". thanks" }]);
  assert.deepEqual(linkify("<b>no link</b>"), [{ text: "<b>no link</b>" }]);
});

test("reconnection waits grow and stay bounded", () => {
  const waits = [0, 1, 2, 3, 10, 50].map((n) => backoff(n, () => 0.5));
  assert.deepEqual(waits, [500, 1000, 2000, 4000, 10000, 10000]);
});

test("unacknowledged messages survive a reload and leave once acknowledged", () => {
  const store = new Map();
  const storage = { getItem: (k) => store.get(k) ?? null, setItem: (k, v) => store.set(k, v) };
  const queue = new Outgoing(storage, "q");
  queue.add({ id: "a", text: "hi" });
  queue.add({ id: "b", text: "there" });
  const reloaded = new Outgoing(storage, "q");
  assert.deepEqual(reloaded.items.map((m) => m.id), ["a", "b"]);
  reloaded.ack("a");  // refused (no entry): forgotten
  assert.deepEqual(new Outgoing(storage, "q").items.map((m) => m.id), ["b"]);
  storage.setItem("q", "not json");
  assert.deepEqual(new Outgoing(storage, "q").items, []);
});

test("the transcript of a tab survives a reload, capped, without duplicates", () => {
  const data = new Map();
  const storage = { getItem: (k) => data.get(k) ?? null, setItem: (k, v) => data.set(k, v) };
  const kept = new Transcript(storage, "t", 3);
  for (const id of [1, 2, 2, 3, 4]) kept.add({ id, role: "assistant", text: `m${id}`, history: true });
  const reloaded = new Transcript(storage, "t", 3);
  assert.deepEqual(reloaded.entries.map((e) => e.id), [2, 3, 4]);
  assert.equal("history" in reloaded.entries[0], false);
  kept.add({ role: "customer", text: "not stored yet" });  // no server id: not kept
  reloaded.clear();
  assert.deepEqual(new Transcript(storage, "t").entries, []);
  data.set("t", "{not json");
  assert.deepEqual(new Transcript(storage, "t").entries, []);
  assert.deepEqual(new Transcript(null, "t").entries, []);
});

test("an acknowledged message is kept until its turn ends and resent only on a new connection", () => {
  const store = new Map();
  const storage = { getItem: (k) => store.get(k) ?? null, setItem: (k, v) => store.set(k, v) };
  const queue = new Outgoing(storage, "q", 1000);
  queue.add({ type: "message", id: "a", text: "hi" });
  queue.add({ type: "message", id: "b", text: "there" });
  queue.add({ type: "message", id: "c", text: "again" });
  queue.ack("a", 7, 100);
  queue.ack("b", 8, 100);
  // while connected, only what the server has not stored goes out again
  assert.deepEqual(queue.frames(false).map((m) => m.id), ["c"]);
  // the server answering "a" or "b" may have died: a new connection sends them again,
  // as the frames the page first sent (no bookkeeping fields)
  assert.deepEqual(queue.frames(true), [{ type: "message", id: "a", text: "hi" },
    { type: "message", id: "b", text: "there" }, { type: "message", id: "c", text: "again" }]);
  assert.deepEqual(new Outgoing(storage, "q").items.map((m) => m.entry), [7, 8, undefined]);
  queue.done(7, 200);  // the turn answering entry 7 ended
  assert.deepEqual(queue.items.map((m) => m.id), ["b", "c"]);
  queue.ack("b", null);  // a resend the server says was answered
  assert.deepEqual(queue.items.map((m) => m.id), ["c"]);
  queue.ack("c", 9, 300);
  queue.done(0, 1400);  // answered by a person, or never: forgotten after keepMs
  assert.deepEqual(new Outgoing(storage, "q").items, []);
});
