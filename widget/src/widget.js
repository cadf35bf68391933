// The shop assistant's chat widget. One script tag:
//   <script src="https://HOST/webhooks/widget/widget.js" data-title="…" defer></script>
// Everything lives in a Shadow DOM; the only global is window.ShopChat (the API).
// Text from messages and products is always set as text (textContent), never as HTML.
import css from "./styles.css";
import { STRINGS, Outgoing, Transcript, backoff, clock, fitWithin, linkify, pickLocale, productCards, safeUrl } from "./core.js";

const SVG = "http://www.w3.org/2000/svg";
const ICONS = {
  chat: "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z",
  close: "M6.4 5 5 6.4 10.6 12 5 17.6 6.4 19l5.6-5.6 5.6 5.6 1.4-1.4-5.6-5.6L19 6.4 17.6 5 12 10.6z",
  clip: "M16.5 6v11.5a4 4 0 0 1-8 0V5a2.5 2.5 0 0 1 5 0v10.5a1 1 0 0 1-2 0V6H10v9.5a2.5 2.5 0 0 0 5 0V5a4 4 0 0 0-8 0v12.5a5.5 5.5 0 0 0 11 0V6z",
};
const MAX_PHOTO_SIDE = 1600;
const MAX_PHOTO_BYTES = 8 * 1024 * 1024;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === false || value == null) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

function icon(name) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(SVG, "path");
  path.setAttribute("d", ICONS[name]);
  svg.append(path);
  return svg;
}

function uid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

class Widget {
  constructor(options) {
    const script = options.script;
    const src = script && script.src ? new URL(script.src, location.href) : new URL(options.server || location.href);
    this.base = options.server ? new URL(options.server, location.href).href.replace(/\/?$/, "/") : new URL(".", src).href;
    this.options = options;
    this.locale = pickLocale(options.language, document.documentElement.lang, navigator.languages);
    this.user = options.user || null;
    this.listeners = {};
    this.seen = new Map();      // server entry id -> element
    this.mine = new Map();      // client id -> element (before the server's copy arrives)
    this.lastId = 0;
    this.unread = 0;
    this.attempt = 0;
    this.ws = null;
    this.token = null;
    this.photo = null;
    const storeKey = `shopchat:${new URL(this.base).host}`;
    this.tokenKey = `${storeKey}:token`;
    this.queue = new Outgoing(window.localStorage, `${storeKey}:outgoing`);
    let tabStore = null;
    try { tabStore = window.sessionStorage; } catch { tabStore = null; }
    this.transcript = new Transcript(tabStore, `${storeKey}:transcript`);
    this.build();
    this.applyTheme();
    this.restore();
    if (options.open === true || options.open === "true") this.open();
    this.connect();
  }

  t(key, ...args) {
    const value = STRINGS[this.locale][key];
    return typeof value === "function" ? value(...args) : value;
  }

  emit(name, detail) {
    for (const fn of this.listeners[name] || []) {
      try { fn(detail); } catch (e) { console.error(e); }
    }
  }

  // --- DOM -------------------------------------------------------------------------------

  build() {
    // a custom element of its own: page rules for div, section, ... never match it
    this.host = el("shop-chat", { "data-shop-chat": "" });
    if (this.options.position === "left") this.host.setAttribute("data-position", "left");
    const root = this.host.attachShadow({ mode: "open" });
    this.root = root;
    if ("adoptedStyleSheets" in root) {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(css);
      root.adoptedStyleSheets = [sheet];
    } else {
      root.append(el("style", { text: css }));
    }
    this.badge = el("span", { class: "badge", hidden: true, "aria-hidden": "true" });
    this.launcher = el("button", { class: "launcher", type: "button", "aria-expanded": "false", onclick: () => this.toggle() }, icon("chat"), this.badge);
    this.titleEl = el("h2", { id: "sc-title" });
    this.avatar = this.options.avatar ? el("img", { src: safeUrl(this.options.avatar, location.href), alt: "" }) : null;
    this.closeButton = el("button", { class: "icon-button", type: "button", onclick: () => this.close() }, icon("close"));
    this.status = el("div", { class: "status", role: "status", hidden: true });
    this.log = el("div", { class: "log", role: "log", "aria-live": "polite", "aria-relevant": "additions", tabindex: "0" });
    this.replies = el("div", { class: "replies" });
    this.typing = el("div", { class: "typing", hidden: true });
    this.previewImg = el("img", { alt: "" });
    this.progress = el("progress", { max: "100", value: "0" });
    this.removePhoto = el("button", { class: "icon-button", type: "button", onclick: () => this.clearPhoto() }, icon("close"));
    this.preview = el("div", { class: "preview", hidden: true }, this.previewImg, this.progress, this.removePhoto);
    this.file = el("input", { type: "file", accept: "image/*", class: "visually-hidden", tabindex: "-1", "aria-hidden": "true", onchange: () => this.pick(this.file.files[0]) });
    this.attach = el("button", { class: "icon-button attach", type: "button", onclick: () => this.file.click() }, icon("clip"));
    this.input = el("textarea", { rows: "1", maxlength: "1000", onkeydown: (e) => this.onKey(e), onpaste: (e) => this.onPaste(e), oninput: () => this.typed() });
    this.sendButton = el("button", { class: "send", type: "submit" });
    this.form = el("form", { onsubmit: (e) => { e.preventDefault(); this.submit(); } }, this.attach, this.file, this.input, this.sendButton);
    this.drop = el("div", { class: "drop", hidden: true });
    this.panel = el("section", { class: "panel", role: "dialog", "aria-labelledby": "sc-title", hidden: true },
      el("div", { class: "header" }, this.avatar, this.titleEl, this.closeButton),
      this.status, this.log, this.typing, this.replies, this.preview, this.form, this.drop);
    for (const [type, fn] of [["dragover", (e) => this.onDrag(e, true)], ["dragleave", (e) => this.onDrag(e, false)], ["drop", (e) => this.onDrop(e)]]) {
      this.panel.addEventListener(type, fn);
    }
    this.panel.addEventListener("keydown", (e) => { if (e.key === "Escape") { e.stopPropagation(); this.close(); } });
    root.append(this.panel, this.launcher);
    this.applyStrings();
    (document.body || document.documentElement).append(this.host);
  }

  // After a reload: the conversation as last drawn in this tab, and the messages not yet
  // sent (still delivered once, when the connection is back), shown at once; the
  // server's history replaces the first when it arrives.
  restore() {
    this.provisional = [];
    for (const entry of this.transcript.entries) {
      const node = this.draw({ ...entry, history: true });
      this.log.append(node);
      this.provisional.push(node);
    }
    for (const message of this.queue.items) {
      if (message.entry) continue;  // stored: the server's history draws it
      const node = this.draw({ role: "customer", text: message.text || "", photo: Boolean(message.image) });
      node.classList.add("pending");
      this.mine.set(message.id, node);
      this.log.append(node);
    }
  }

  applyStrings() {
    this.titleEl.textContent = this.options.title || this.t("title");
    this.launcher.setAttribute("aria-label", this.t("open"));
    this.closeButton.setAttribute("aria-label", this.t("close"));
    this.log.setAttribute("aria-label", this.t("log"));
    this.typing.textContent = this.t("typing");
    this.attach.setAttribute("aria-label", this.t("attach"));
    this.input.setAttribute("placeholder", this.t("placeholder"));
    this.input.setAttribute("aria-label", this.t("placeholder"));
    this.sendButton.textContent = this.t("send");
    this.removePhoto.setAttribute("aria-label", this.t("removePhoto"));
    this.progress.setAttribute("aria-label", this.t("uploading"));
    this.drop.textContent = this.t("dropHere");
    this.host.setAttribute("lang", this.locale === "zh" ? "zh-CN" : "en");
    this.updateBadge();
  }

  applyTheme() {
    const colors = { primary: "--sc-primary", textOnPrimary: "--sc-on-primary", background: "--sc-bg", text: "--sc-text" };
    for (const [option, property] of Object.entries(colors)) {
      const value = this.options[option];
      if (typeof value === "string" && /^#[0-9a-f]{3,8}$|^rgba?\([\d\s.,%]+\)$/i.test(value)) this.host.style.setProperty(property, value);
    }
  }

  isOpen() { return !this.panel.hidden; }

  open() {
    if (this.isOpen()) return;
    this.panel.hidden = false;
    this.host.classList.add("open");
    this.launcher.setAttribute("aria-expanded", "true");
    this.unread = 0;
    this.updateBadge();
    this.scrollDown();
    this.input.focus();
    this.emit("opened", {});
  }

  close() {
    if (!this.isOpen()) return;
    this.panel.hidden = true;
    this.host.classList.remove("open");
    this.launcher.setAttribute("aria-expanded", "false");
    this.launcher.focus();
    this.emit("closed", {});
  }

  toggle() { if (this.isOpen()) this.close(); else this.open(); }

  updateBadge() {
    this.badge.hidden = this.unread === 0;
    this.badge.textContent = this.unread > 99 ? "99+" : String(this.unread);
    this.launcher.setAttribute("aria-label", this.unread ? `${this.t("open")} (${this.t("unread", this.unread)})` : this.t("open"));
  }

  scrollDown() { this.log.scrollTop = this.log.scrollHeight; }

  // A turn is over when the server said so and every answer of it is drawn;
  // `data-turns` on the host counts them (for the shop's scripts and for tests).
  finishTurn() {
    if (this.turnUpto == null || this.lastId < this.turnUpto) return;
    this.turnUpto = null;
    this.typing.hidden = true;
    this.turns = (this.turns || 0) + 1;
    this.host.setAttribute("data-turns", String(this.turns));
  }

  showStatus(text) {
    this.status.hidden = !text;
    this.status.textContent = text || "";
  }

  // --- rendering -------------------------------------------------------------------------

  textNode(text) {
    const bubble = el("div", { class: "bubble" });
    for (const part of linkify(text)) {
      bubble.append(part.href ? el("a", { href: part.href, target: "_blank", rel: "noopener noreferrer nofollow", text: part.text }) : document.createTextNode(part.text));
    }
    return bubble;
  }

  render(entry) {
    if (entry.id && this.seen.has(entry.id)) return;
    let node = entry.client_id ? this.mine.get(entry.client_id) : null;
    if (node) {                       // our own message, now stored by the server
      node.classList.remove("pending");
      this.mine.delete(entry.client_id);
    } else {
      node = this.draw(entry);
      this.log.append(node);
    }
    if (entry.id) {
      this.transcript.add(entry);
      this.seen.set(entry.id, node);
      this.lastId = Math.max(this.lastId, entry.id);
      this.finishTurn();
    }
    if (entry.role === "agent" && !entry.history) {  // the person's message ends their typing
      this.typing.hidden = true;
      this.typing.textContent = this.t("typing");
    }
    if (entry.role !== "customer") {
      this.drawReplies(entry.buttons || []);
      if (!this.isOpen() && !entry.history) { this.unread += 1; this.updateBadge(); }
      this.emit("message", { role: entry.role, text: entry.text || "", id: entry.id });
    }
    this.scrollDown();
  }

  draw(entry) {
    const role = ["customer", "assistant", "agent", "notice"].includes(entry.role) ? entry.role : "assistant";
    const who = role === "customer" ? this.t("you") : role === "agent" ? (typeof entry.author === "string" && entry.author ? entry.author : this.t("agent")) : this.t(role);
    const node = el("div", { class: `msg ${role}` });
    node.append(el("span", { class: "visually-hidden", text: `${who}: ` }));
    if (entry.localPhoto) node.append(el("img", { class: "photo", src: entry.localPhoto, alt: this.t("photo") }));
    else if (entry.photo) node.append(this.textNode(`📷 ${this.t("photo")}`));
    if (typeof entry.text === "string" && entry.text && !(entry.photo && entry.text.startsWith("/"))) node.append(this.textNode(entry.text));
    const image = safeUrl(entry.image, this.base);
    if (image) node.append(el("img", { class: "photo", src: image, alt: this.t("photo"), loading: "lazy" }));
    const cards = productCards(entry.custom);
    if (cards) {
      node.classList.add("wide");
      const list = el("div", { class: "cards", role: "list", "aria-label": this.t("cards") });
      for (const card of cards) {
        const img = card.image ? el("img", { src: safeUrl(card.image, this.base), alt: "", loading: "lazy" }) : null;
        const button = card.button && card.button.payload
          ? el("button", { type: "button", text: card.button.title || this.t("more"), "aria-label": `${card.button.title || this.t("more")}: ${card.title}`, onclick: () => this.send({ text: card.button.title || this.t("more"), payload: card.button.payload }) })
          : null;
        list.append(el("div", { class: "card", role: "listitem" }, img,
          el("div", { class: "body" }, el("span", { class: "name", text: card.title }), el("span", { class: "price", text: card.price }), card.reason ? el("span", { class: "reason", text: card.reason }) : null),
          button));
      }
      node.append(list);
    }
    if (entry.ts) node.append(el("span", { class: "meta", text: clock(entry.ts, this.locale) }));
    return node;
  }

  drawReplies(buttons) {
    this.replies.replaceChildren();
    for (const button of buttons.slice(0, 20)) {
      if (!button || typeof button.title !== "string") continue;
      this.replies.append(el("button", { class: "chip", type: "button", text: button.title, onclick: () => this.send({ text: button.title, payload: typeof button.payload === "string" ? button.payload : button.title }) }));
    }
  }

  // --- sending ---------------------------------------------------------------------------

  onKey(event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      this.submit();
    }
  }

  async submit() {
    const text = this.input.value.trim();
    if (this.photo) {
      const photo = this.photo;
      this.input.value = "";
      await this.sendPhoto(photo, text);
      return;
    }
    if (!text) return;
    this.input.value = "";
    this.send({ text });
  }

  send({ text, payload, image, localPhoto }) {
    const message = { type: "message", id: uid(), text: text || "", locale: this.locale };
    this.typedAt = 0;
    if (payload) message.payload = payload;
    if (image) message.image = image;
    const node = this.draw({ role: "customer", text: message.text, localPhoto, photo: Boolean(image), ts: Date.now() / 1000 });
    node.classList.add("pending");
    this.mine.set(message.id, node);
    this.log.append(node);
    this.replies.replaceChildren();
    this.scrollDown();
    this.queue.add(message);
    this.flush();
  }

  // While a person answers, they see that the customer types (a hint at most every 3 s;
  // a new message starts afresh).
  typed() {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN || !this.ready) return;
    const now = Date.now();
    if (now - (this.typedAt || 0) < 3000) return;
    this.typedAt = now;
    this.ws.send(JSON.stringify({ type: "typing", on: true }));
  }

  flush(reconnected = false) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN || !this.ready) return;
    for (const message of this.queue.frames(reconnected)) this.ws.send(JSON.stringify(message));
  }

  // --- photos ----------------------------------------------------------------------------

  onPaste(event) {
    const item = Array.from(event.clipboardData ? event.clipboardData.items : []).find((i) => i.kind === "file");
    if (item) { event.preventDefault(); this.pick(item.getAsFile()); }
  }

  onDrag(event, over) {
    if (!event.dataTransfer || !Array.from(event.dataTransfer.types || []).includes("Files")) return;
    event.preventDefault();
    this.drop.hidden = !over;
  }

  onDrop(event) {
    event.preventDefault();
    this.drop.hidden = true;
    const file = event.dataTransfer && event.dataTransfer.files[0];
    if (file) this.pick(file);
  }

  async pick(file) {
    this.file.value = "";
    if (!file) return;
    if (!/^image\//.test(file.type || "")) { this.notice(this.t("notImage")); return; }
    let blob = file;
    try {
      blob = await this.downscale(file);
    } catch {
      // the browser cannot decode it: say so now, never a broken preview
      if (window.createImageBitmap) { this.notice(this.t("unreadable")); return; }
      blob = file;
    }
    if (blob.size > MAX_PHOTO_BYTES) { this.notice(this.t("tooBig")); return; }
    this.clearPhoto();
    this.photo = { blob, url: URL.createObjectURL(blob) };
    this.previewImg.src = this.photo.url;
    this.previewImg.alt = this.t("photo");
    this.progress.value = 0;
    this.preview.hidden = false;
    this.input.focus();
  }

  clearPhoto() {
    if (this.photo && !this.photo.sent) URL.revokeObjectURL(this.photo.url);
    this.photo = null;
    this.preview.hidden = true;
  }

  async downscale(file) {
    if (!window.createImageBitmap) return file;
    const bitmap = await createImageBitmap(file);
    const size = fitWithin(bitmap.width, bitmap.height, MAX_PHOTO_SIDE);
    if (size.width === bitmap.width && size.height === bitmap.height && file.size < 2 * 1024 * 1024) { bitmap.close(); return file; }
    const canvas = document.createElement("canvas");
    canvas.width = size.width;
    canvas.height = size.height;
    canvas.getContext("2d").drawImage(bitmap, 0, 0, size.width, size.height);
    bitmap.close();
    return await new Promise((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error("encode"))), "image/jpeg", 0.88));
  }

  sendPhoto(photo, caption) {
    return new Promise((resolve) => {
      // a multipart form with the token inside: a CORS "simple request" (no preflight)
      const form = new FormData();
      form.append("token", this.token || "");
      form.append("file", photo.blob, "photo");
      const xhr = new XMLHttpRequest();
      xhr.open("POST", `${this.base}media?lang=${this.locale}`);
      xhr.upload.onprogress = (e) => { if (e.lengthComputable) this.progress.value = Math.round((100 * e.loaded) / e.total); };
      xhr.onload = () => {
        let body = {};
        try { body = JSON.parse(xhr.responseText); } catch { body = {}; }
        if (xhr.status === 201 && body.media_id) {
          photo.sent = true;
          this.clearPhoto();
          this.send({ text: caption, image: body.media_id, localPhoto: photo.url });
        } else {
          this.clearPhoto();
          this.notice(typeof body.text === "string" && body.text ? body.text : this.t("uploadFailed"));
        }
        resolve();
      };
      xhr.onerror = () => { this.clearPhoto(); this.notice(this.t("uploadFailed")); resolve(); };
      xhr.send(form);
    });
  }

  notice(text) {
    this.log.append(this.draw({ role: "notice", text, ts: Date.now() / 1000 }));
    this.scrollDown();
  }

  // --- connection ------------------------------------------------------------------------

  async session(extra) {
    const body = { ...(extra || {}) };
    const saved = this.token || window.localStorage.getItem(this.tokenKey);
    if (saved && !body.reset) body.token = saved;
    if (this.user) body.user = this.user;
    // a text body: a CORS "simple request", no preflight
    const response = await fetch(`${this.base}session`, { method: "POST", body: JSON.stringify(body), credentials: "omit" });
    if (response.status === 401 && this.user) {
      // the shop's signature was refused (forged, expired): go on as an anonymous visitor
      console.warn("shop chat: the signed customer was refused; continuing anonymously");
      this.user = null;
      this.emit("error", { reason: "identity" });
      return this.session({ reset: true });
    }
    if (!response.ok) throw new Error(`session ${response.status}`);
    const data = await response.json();
    this.token = data.token;
    this.conversation = data.conversation;
    try { window.localStorage.setItem(this.tokenKey, data.token); } catch { /* private mode */ }
    return data;
  }

  async connect(extra) {
    clearTimeout(this.retry);
    try {
      if (!this.token || extra) await this.session(extra);
    } catch (e) {
      this.scheduleReconnect();
      return;
    }
    const url = new URL("socket", this.base);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(url.href);
    this.ws = ws;
    this.ready = false;
    ws.onopen = () => ws.send(JSON.stringify({ type: "hello", token: this.token, since: this.lastId }));
    ws.onmessage = (event) => this.onFrame(event.data);
    ws.onclose = (event) => {
      if (this.ws !== ws) return;
      this.ready = false;
      if (event.code === 4401) { this.token = null; try { window.localStorage.removeItem(this.tokenKey); } catch { /* */ } }
      this.scheduleReconnect();
    };
  }

  scheduleReconnect() {
    this.showStatus(navigator.onLine === false ? this.t("offline") : this.t("reconnecting"));
    clearTimeout(this.retry);
    this.retry = setTimeout(() => this.connect(), backoff(this.attempt++));
  }

  onFrame(raw) {
    let frame;
    try { frame = JSON.parse(raw); } catch { return; }
    if (!frame || typeof frame !== "object") return;
    if (frame.type === "ready") {
      this.ready = true;
      this.attempt = 0;
      // the server's history away (its database): chat on, keep what this page shows
      this.showStatus(frame.degraded ? this.t("noHistory") : "");
      const first = this.lastId === 0;
      const replace = first && !frame.degraded;
      const waiting = replace ? [...this.mine.values()] : [];
      if (replace) {  // the server's history replaces what a reload restored
        for (const node of [...this.provisional, ...waiting]) node.remove();
        this.provisional = [];
        this.transcript.clear();
      }
      for (const entry of frame.history || []) this.render({ ...entry, history: first });
      for (const node of waiting) if (!node.isConnected) this.log.append(node);
      if (replace && !(frame.history || []).length && typeof this.options.greeting === "string" && this.options.greeting && !this.greeted) {
        this.greeted = true;
        this.log.append(this.draw({ role: "assistant", text: this.options.greeting }));
      }
      this.flush(true);  // a new connection: what the last one may have left unanswered
      if (first) {
        this.host.setAttribute("data-ready", String(Math.round(performance.now())));
        this.emit("ready", { conversation: frame.conversation });
      }
    } else if (frame.type === "message") {
      if (frame.id && this.status.textContent === this.t("noHistory")) this.showStatus("");
      this.render(frame);
    } else if (frame.type === "ack") {
      // kept until its turn ends; a resend the server says was answered is forgotten
      this.queue.ack(frame.id, frame.refused || frame.answered ? null : frame.entry);
      const mine = this.mine.get(frame.id);
      if (mine) {
        mine.classList.remove("pending");
        if (frame.refused) { mine.classList.add("refused"); this.mine.delete(frame.id); }
      }
    } else if (frame.type === "typing") {
      if (frame.on) {
        this.typing.hidden = false;
        this.scrollDown();
      } else {
        this.turnUpto = Number(frame.upto) || 0;
        this.queue.done(this.turnUpto);
        this.finishTurn();
      }
    } else if (frame.type === "agent_typing") {
      const name = typeof frame.author === "string" && frame.author ? frame.author : this.t("agent");
      this.typing.textContent = frame.on ? this.t("agentTyping", name) : this.t("typing");
      this.typing.hidden = !frame.on;
      if (frame.on) this.scrollDown();
    } else if (frame.type === "error" && typeof frame.error === "string") {
      console.warn("shop chat:", frame.error);
    }
  }

  // --- API -------------------------------------------------------------------------------

  setLocale(locale) {
    this.locale = pickLocale(locale, document.documentElement.lang, navigator.languages);
    this.applyStrings();
  }

  setUser(user) {
    this.user = user || null;
    this.restart({});
  }

  reset() {
    this.user = null;
    this.restart({ reset: true });
  }

  restart(extra) {
    this.queue.items = [];
    this.queue.save();
    this.seen.clear();
    this.mine.clear();
    this.lastId = 0;
    this.log.replaceChildren();
    this.replies.replaceChildren();
    this.token = null;
    try { window.localStorage.removeItem(this.tokenKey); } catch { /* */ }
    const old = this.ws;
    this.ws = null;
    if (old) old.close();
    this.connect(extra);
  }
}

function readDataset(script) {
  if (!script) return {};
  const d = script.dataset;
  const options = {};
  for (const key of ["position", "title", "avatar", "greeting", "language", "open", "primary", "textOnPrimary", "background", "text", "server"]) {
    if (d[key] !== undefined) options[key] = d[key];
  }
  if (d.user) { try { options.user = JSON.parse(d.user); } catch { /* ignored: not JSON */ } }
  return options;
}

const current = document.currentScript;
let widget = null;
const pending = {};

const ShopChat = {
  init(options) {
    if (widget) return ShopChat;
    widget = new Widget({ script: current, ...readDataset(current), ...(options || {}) });
    for (const [name, fns] of Object.entries(pending)) for (const fn of fns) ShopChat.on(name, fn);
    return ShopChat;
  },
  open() { widget && widget.open(); },
  close() { widget && widget.close(); },
  toggle() { widget && widget.toggle(); },
  setUser(user) { widget && widget.setUser(user); },
  setLocale(locale) { widget && widget.setLocale(locale); },
  reset() { widget && widget.reset(); },
  on(name, fn) {
    if (typeof fn !== "function") return ShopChat;
    if (!widget) (pending[name] = pending[name] || []).push(fn);
    else (widget.listeners[name] = widget.listeners[name] || []).push(fn);
    return ShopChat;
  },
};

if (!window.ShopChat) {
  Object.defineProperty(window, "ShopChat", { value: Object.freeze(ShopChat), configurable: false, writable: false });
  if (!current || current.dataset.manual === undefined) {
    const start = () => ShopChat.init();
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start, { once: true });
    else start();
  }
}
