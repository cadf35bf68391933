// The agent desk's page. No framework, no inline code; every piece of customer text
// and product data goes on the page through textContent (never innerHTML).
import {
  auditLine, deliveryLabel, intentLabel, minutes, queueLines, quoteLine, shownLine, speaker, stillToCome,
  withUndelivered, word,
} from "./words.js";
import { client, maker } from "./api.js";

{
  const csrf = document.querySelector('meta[name="csrf"]').content;
  const me = { id: document.body.dataset.user, role: document.body.dataset.role,
               name: document.body.dataset.name };
  const $ = (id) => document.getElementById(id);
  // the agent's language (desk/i18n.py): every word on the page comes from here
  const T = JSON.parse(document.body.dataset.strings || "{}");
  const state = { queue: [], current: null, detail: null, unseen: 0, known: new Set(), deliveries: new Map(),
                  typingTimer: null, typingSent: 0, canned: [], seq: 0, loading: 0,
                  reloadAfter: false, pending: [] };

  const el = maker(document);
  const api = client(csrf);

  function showError(message) {
    const box = $("error");
    box.textContent = message || "";
    box.hidden = !message;
  }

  // --- alert: a short tone and a badge when a conversation arrives -------------------

  function alertNew() {
    state.unseen += 1;
    const badge = $("badge");
    badge.textContent = String(state.unseen);
    badge.hidden = false;
    document.title = `(${state.unseen}) ${T.title}`;
    try {
      const audio = new (window.AudioContext || window.webkitAudioContext)();
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      tone.frequency.value = 880;
      gain.gain.value = 0.08;
      tone.connect(gain).connect(audio.destination);
      tone.start();
      tone.stop(audio.currentTime + 0.25);
    } catch (_) { /* no sound: the badge stays */ }
  }

  function seen() {
    state.unseen = 0;
    $("badge").hidden = true;
    document.title = T.title;
  }

  // --- the queue ---------------------------------------------------------------------

  async function loadQueue() {
    const data = await api("GET", "/desk/api/queue");
    state.queue = data.handoffs;
    const list = $("queue");
    list.replaceChildren();
    for (const h of state.queue) {
      // a list item holding a button: Tab to it, Enter or Space opens the conversation
      const [line, meta] = queueLines(T, h);
      const item = el("li", { "data-id": h.id, class: h.id === state.current ? "current" : "" },
        el("button", { type: "button", class: "open-conversation",
                       "aria-current": h.id === state.current ? "true" : null,
                       onclick: () => openHandoff(h.id) },
           el("span", { class: "line", text: line }), el("span", { class: "meta", text: meta })));
      if (!state.known.has(h.id)) item.classList.add("new");
      state.known.add(h.id);
      list.append(item);
    }
  }

  async function loadAgents() {
    const data = await api("GET", "/desk/api/agents");
    const select = $("transfer-to");
    select.replaceChildren(...data.agents.filter((a) => a.id !== me.id).map((a) =>
      el("option", { value: a.id, text: `${a.name}${a.online ? "" : ` (${T.offline})`} · ${a.holding}/${a.capacity}` })));
  }

  // --- one conversation --------------------------------------------------------------

  function messageItem(m) {
    const item = el("li", { class: m.role }, el("span", { class: "who", text: speaker(T, m) }),
                    el("span", { class: "text", text: m.text || "" }));
    const asked = intentLabel(T, m);  // in the agent's words, never an internal name
    if (asked) item.append(el("span", { class: "intent", text: asked }));
    if (m.role === "customer" && m.to_person) item.append(el("span", { class: "intent", text: T.to_person }));
    if (m.image && state.current) {
      item.append(el("img", { alt: T.photo,
                              src: `/desk/api/handoffs/${state.current}/photos/${encodeURIComponent(m.image)}` }));
    }
    const cards = m.data && m.data.custom && Array.isArray(m.data.custom.cards) ? m.data.custom.cards : [];
    if (cards.length) item.append(el("div", { class: "meta", text: T.cards + cards.map((c) => c.title).join(" · ") }));
    const delivery = m.delivery ? state.deliveries.get(m.delivery) : (m.sent ? { status: "sent" } : null);
    const status = deliveryLabel(T, delivery);
    if (status) {
      if (m.delivery) item.dataset.delivery = String(m.delivery);
      item.append(el("span", { class: `delivery ${delivery.status}`, text: status }));
      if (delivery.status === "failed" || delivery.status === "expired") {
        item.append(el("button", { type: "button", class: "retry", text: T.retry,
                                   onclick: () => retry(m.delivery) }));
      }
    }
    return item;
  }

  function renderTranscript(detail) {
    const list = $("transcript");
    state.deliveries = new Map((detail.deliveries || []).map((d) => [d.id, d]));
    const loaded = withUndelivered(detail.history.messages, detail.deliveries);
    list.replaceChildren(...loaded.map(messageItem));
    // what was shown live and this load did not read yet stays on screen
    state.pending = stillToCome(state.pending, loaded, Date.now() / 1000);
    for (const message of state.pending) list.append(messageItem(message));
    for (const note of detail.history.notes || []) {
      list.append(el("li", { class: "note" }, el("span", { class: "who", text: `${T.note} · ${note.author || ""}` }),
                     el("span", { text: note.text || "" })));
    }
    list.scrollTop = list.scrollHeight;
  }

  function dl(pairs) {
    const list = el("dl");
    for (const [term, value] of pairs) {
      list.append(el("dt", { text: term }));
      if (value instanceof Node) list.append(el("dd", {}, value));
      else list.append(el("dd", { text: value === null || value === undefined || value === "" ? "—" : value }));
    }
    return list;
  }

  function renderContext(detail) {
    const c = detail.context;
    const h = detail.handoff;
    const shown = el("ul");
    for (const p of c.shown) shown.append(el("li", { text: shownLine(T, p) }));
    const orders = el("ul");
    for (const o of c.orders) orders.append(el("li", { text: `${o.number}: ${o.status}, ${o.total} ${o.currency}` }));
    const quotes = el("ul");
    for (const q of c.quotes) quotes.append(el("li", { text: quoteLine(T, q) }));
    const photos = el("div");
    for (const id of detail.history.photos || []) {
      photos.append(el("img", { alt: T.photo, src: `/desk/api/handoffs/${h.id}/photos/${encodeURIComponent(id)}` }));
    }
    const audit = el("ul");
    for (const e of detail.events) audit.append(el("li", { text: auditLine(T, e, document.body.dataset.lang) }));
    $("context").replaceChildren(dl([
      [T.customer, c.customer ? `${c.customer.id} (${c.customer.segment || T.no_segment})` : T.not_signed_in],
      [T.language_channel, `${word(T, "in_language", h.language)} · ${h.channel}`],
      [T.reason, word(T, "reasons", h.reason)],
      [T.open_order, c.open_order],
      [T.orders, c.orders.length ? orders : T.none],
      [T.product, c.product ? shownLine(T, c.product) : null],
      [T.shown, c.shown.length ? shown : T.none],
      [T.quotes, c.quotes.length ? quotes : T.none],
      [T.photos, (detail.history.photos || []).length ? photos : T.none],
      [T.history, audit],
    ]));
  }

  function renderHead(detail) {
    const h = detail.handoff;
    $("empty").hidden = true;
    $("open").hidden = false;
    $("conv-title").textContent = `#${h.id} · ${h.conversation}`;
    $("conv-state").textContent = word(T, "states", h.state) + (h.agent ? ` · ${h.agent}` : "");
    const mine = h.state === "assigned" && h.agent === me.id;
    $("claim").hidden = h.state !== "waiting";
    for (const id of ["send", "handback", "product-search", "reply"]) $(id).disabled = !mine;
    $("as-note").disabled = false;
    $("transfer").hidden = $("transfer-to").hidden = !(h.state === "assigned" && (mine || me.role === "supervisor"));
  }

  // A conversation is (re)loaded whole; a live message that arrives while a load is in
  // flight may be missing from what that load read, so another load follows it, and an
  // older load that answers late never overwrites a newer one.
  async function openHandoff(id) {
    if (state.current !== id) state.pending = [];
    state.current = id;
    const seq = ++state.seq;
    state.loading += 1;
    seen();
    showError("");
    try {
      const detail = await api("GET", `/desk/api/handoffs/${id}`);
      if (state.current !== id || seq !== state.seq) return;
      state.detail = detail;
      renderHead(detail);
      renderTranscript(detail);
      renderContext(detail);
      fillCanned(detail.handoff.language);
      for (const li of $("queue").children) li.classList.toggle("current", Number(li.dataset.id) === id);
    } catch (err) {
      showError(err.message);
    } finally {
      state.loading -= 1;
      if (state.reloadAfter && !state.loading && state.current === id) {
        state.reloadAfter = false;
        openHandoff(id);
      }
    }
  }

  function append(message) {
    if (state.loading) state.reloadAfter = true;  // a load in flight may not have it
    state.pending.push({ ...message, shownAt: Date.now() / 1000 });
    $("transcript").append(messageItem(message));
    $("transcript").scrollTop = $("transcript").scrollHeight;
  }

  // --- replying ----------------------------------------------------------------------

  function fillCanned(language) {
    const select = $("canned");
    select.replaceChildren(el("option", { value: "", text: T.canned }),
      ...state.canned.filter((c) => c.language === language).map((c) =>
        el("option", { value: String(c.id), text: c.title })));
  }

  async function loadCanned() {
    state.canned = (await api("GET", "/desk/api/canned")).canned;
    if (state.detail) fillCanned(state.detail.handoff.language);
    const list = $("canned-list");
    list.replaceChildren(...state.canned.map((c) => el("li", {},
      el("span", { text: `[${c.language}] ${c.title}: ${c.text} ` }),
      el("button", { type: "button", text: T.delete, onclick: async () => {
        await api("DELETE", `/desk/api/canned/${c.id}`); loadCanned();
      } }))));
  }

  async function send(event) {
    event.preventDefault();
    const text = $("reply").value.trim();
    if (!text || !state.current) return;
    showError("");
    const id = state.current;
    try {
      if ($("as-note").checked) {
        await api("POST", `/desk/api/handoffs/${id}/note`, { text });
        $("transcript").append(el("li", { class: "note" }, el("span", { class: "who", text: `${T.note} · ${me.name}` }),
                                  el("span", { text })));
      } else {
        try {
          await api("POST", `/desk/api/handoffs/${id}/reply`, { text });
          // answered only once the platform took it: delivered
          append({ role: "agent", author: me.name, text, sent: true });
        } catch (err) {
          if (!err.data || !err.data.delivery) throw err;
          // kept undelivered: shown with why, and a retry
          state.deliveries.set(err.data.delivery, { id: err.data.delivery, error: err.message,
                                                    status: err.status === 409 ? "expired" : "failed" });
          append({ role: "agent", author: me.name, text, delivery: err.data.delivery });
          showError(err.message);
        }
        typing(false);
      }
      $("reply").value = "";
    } catch (err) {
      showError(err.message);
    }
  }

  async function retry(delivery) {
    showError("");
    try {
      const data = await api("POST", `/desk/api/handoffs/${state.current}/deliveries/${delivery}/retry`);
      if (data.delivery.status !== "sent") showError(`${T.undelivered}: ${data.delivery.error || ""}`);
    } catch (err) {
      showError(err.message);
    }
    if (state.current) openHandoff(state.current);
  }

  function typing(on) {
    if (!state.current || !state.detail || state.detail.handoff.agent !== me.id) return;
    const now = Date.now();
    clearTimeout(state.typingTimer);
    if (on) {
      state.typingTimer = setTimeout(() => typing(false), 4000);
      if (now - state.typingSent < 2500) return;
      state.typingSent = now;
    } else {
      state.typingSent = 0;
    }
    api("POST", `/desk/api/handoffs/${state.current}/typing`, { on }).catch(() => {});
  }

  async function searchProducts() {
    const q = $("product-query").value.trim();
    if (!q || !state.detail) return;
    const lang = state.detail.handoff.language;
    const data = await api("GET", `/desk/api/products?q=${encodeURIComponent(q)}&lang=${lang}`);
    const list = $("product-results");
    list.replaceChildren(...data.products.map((card) => el("li", {},
      card.image ? el("img", { src: card.image, alt: "" }) : null,
      el("div", { text: card.title }), el("div", { class: "meta", text: card.price }),
      el("button", { type: "button", text: T.send_card, onclick: () => sendCard(card) }))));
    if (!data.products.length) list.append(el("li", { text: T.no_product }));
  }

  async function sendCard(card) {
    try {
      await api("POST", `/desk/api/handoffs/${state.current}/reply`, { product: card.sku });
      append({ role: "agent", author: me.name, text: `${card.title} — ${card.price}`,
               data: { custom: { cards: [card] } } });
    } catch (err) {
      showError(err.message);
    }
  }

  // --- live updates ------------------------------------------------------------------

  function onEvent(payload) {
    if (payload.type === "signed_out") { location.href = "/desk/login"; return; }
    if (payload.type === "agents") { loadAgents().catch(() => {}); return; }
    if (payload.type === "queue") { loadQueue().catch(() => {}); return; }
    if (payload.type === "typing") {
      if (payload.handoff === state.current) $("customer-typing").hidden = !payload.on;
      return;
    }
    if (payload.type !== "event") return;
    if (payload.action === "requested") alertNew();
    if (payload.handoff === state.current) {
      if (payload.action === "customer_message") {
        $("customer-typing").hidden = true;
        append({ role: "customer", text: payload.detail.text || "", image: payload.detail.image,
                 to_person: true });
      } else if (payload.action === "replied" && payload.actor !== me.id) {
        append({ role: "agent", author: payload.actor, text: payload.detail.text || "" });
      } else if (!["replied", "noted"].includes(payload.action)) {
        openHandoff(state.current);
      }
    }
    if (!["customer_message", "replied", "noted"].includes(payload.action)) loadQueue().catch(() => {});
  }

  function connect() {
    const source = new EventSource("/desk/api/stream");
    source.onopen = () => {
      $("connection").textContent = T.live;
      $("connection").dataset.state = "live";
      loadQueue().catch(() => {});
      if (state.current) openHandoff(state.current);
    };
    source.onmessage = (message) => {
      try { onEvent(JSON.parse(message.data)); } catch (err) { console.warn(err); }
    };
    // EventSource reconnects by itself (the server asks for 2 s)
    source.onerror = () => {
      $("connection").textContent = T.reconnecting;
      $("connection").dataset.state = "reconnecting";
    };
  }

  // --- wiring ------------------------------------------------------------------------

  $("composer").addEventListener("submit", send);
  // an internal note is not "typing" for the customer: only a reply shows the hint
  $("reply").addEventListener("input", () => typing(!$("as-note").checked));
  $("reply").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); $("send").click(); }
  });
  $("as-note").addEventListener("change", () => {
    if ($("as-note").checked) typing(false);
    const mine = state.detail && state.detail.handoff.agent === me.id;
    $("send").disabled = !$("as-note").checked && !mine;
    $("reply").disabled = !$("as-note").checked && !mine;
  });
  $("canned").addEventListener("change", () => {
    const item = state.canned.find((c) => String(c.id) === $("canned").value);
    if (item) $("reply").value = item.text.replaceAll("{agent}", me.name);
    $("canned").value = "";
    $("reply").focus();
  });
  $("product-search").addEventListener("click", () => searchProducts().catch((e) => showError(e.message)));
  $("product-query").addEventListener("keydown", (e) => {
    if (e.key === "Enter") { e.preventDefault(); $("product-search").click(); }
  });
  $("claim").addEventListener("click", async () => {
    try { await api("POST", `/desk/api/handoffs/${state.current}/claim`); await openHandoff(state.current); loadQueue(); }
    catch (err) { showError(err.message); }
  });
  $("transfer").addEventListener("click", async () => {
    try { await api("POST", `/desk/api/handoffs/${state.current}/transfer`, { to: $("transfer-to").value }); await openHandoff(state.current); loadQueue(); }
    catch (err) { showError(err.message); }
  });
  $("handback").addEventListener("click", async () => {
    try {
      await api("POST", `/desk/api/handoffs/${state.current}/handback`, { summary: $("summary").value });
      $("summary").value = "";
      await openHandoff(state.current);
      loadQueue();
    } catch (err) { showError(err.message); }
  });
  $("available").addEventListener("change", () => {
    api("POST", "/desk/api/status", { online: $("available").checked }).catch((e) => showError(e.message));
  });
  $("logout").addEventListener("click", async () => {
    await api("POST", "/desk/logout").catch(() => {});
    location.href = "/desk/login";
  });
  $("canned-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      await api("POST", "/desk/api/canned", { language: $("canned-lang").value,
                                              title: $("canned-title").value, text: $("canned-text").value });
      $("canned-title").value = $("canned-text").value = "";
      loadCanned();
    } catch (err) { showError(err.message); }
  });
  window.addEventListener("focus", seen);
  if (me.role === "supervisor") $("canned-admin").hidden = false;

  connect();
  loadAgents().catch(() => {});
  loadCanned().catch(() => {});
}
