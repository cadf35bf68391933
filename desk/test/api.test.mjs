// Unit tests of the desk's calls to its server and of how it builds the page's elements
// (node --test desk/test/), with stand-ins for fetch and the document.
import assert from "node:assert/strict";
import { test } from "node:test";

import { client, maker } from "../static/api.js";

function reply(status, body) {
  return { status, ok: status >= 200 && status < 300,
           json: async () => (body === undefined ? Promise.reject(new Error("no JSON")) : body) };
}

test("every call carries the CSRF token and a JSON body", async () => {
  const calls = [];
  const api = client("tok-1", { fetch: async (path, options) => { calls.push([path, options]); return reply(200, { ok: 1 }); } });
  assert.deepEqual(await api("POST", "/desk/api/handoffs/3/reply", { text: "你好" }), { ok: 1 });
  const [path, options] = calls[0];
  assert.equal(path, "/desk/api/handoffs/3/reply");
  assert.equal(options.headers["X-CSRF-Token"], "tok-1");
  assert.equal(options.headers["Content-Type"], "application/json");
  assert.equal(JSON.parse(options.body).text, "你好");
  await api("GET", "/desk/api/queue");
  assert.equal(calls[1][1].body, undefined);
  assert.equal(calls[1][1].headers["Content-Type"], undefined);
});

test("an error carries the server's words, its status and what it kept", async () => {
  const api = client("t", { fetch: async () => reply(409, { error: "not delivered: 48 hours", delivery: 7 }) });
  await assert.rejects(api("POST", "/x", {}), (err) => {
    assert.equal(err.message, "not delivered: 48 hours");
    assert.equal(err.status, 409);
    assert.equal(err.data.delivery, 7);
    return true;
  });
  const silent = client("t", { fetch: async () => reply(502) });
  await assert.rejects(silent("GET", "/x"), /error 502/);
});

test("a lapsed session goes to the sign-in page", async () => {
  let signedOut = 0;
  const api = client("t", { fetch: async () => reply(401, {}), signedOut: () => { signedOut += 1; } });
  await assert.rejects(api("GET", "/desk/api/queue"), /signed out/);
  assert.equal(signedOut, 1);
});

test("text goes on the page as text, never as markup", () => {
  const made = [];
  const doc = { createElement: (tag) => {
    const node = { tag, attrs: {}, children: [], listeners: {}, textContent: "" };
    node.setAttribute = (k, v) => { node.attrs[k] = v; };
    node.addEventListener = (k, f) => { node.listeners[k] = f; };
    node.append = (c) => node.children.push(c);
    made.push(node);
    return node;
  } };
  const el = maker(doc);
  const click = () => {};
  const node = el("li", { class: "customer", text: "<img src=x onerror=alert(1)>", onclick: click,
                          hidden: false, "data-id": 4, title: null },
                  el("span", { text: "hi" }), null);
  assert.equal(node.textContent, "<img src=x onerror=alert(1)>");
  assert.equal(node.innerHTML, undefined);
  assert.deepEqual(node.attrs, { class: "customer", "data-id": "4" });
  assert.equal(node.listeners.click, click);
  assert.equal(node.children.length, 1);
});
