// Pure helpers of the widget: no DOM, no network (unit-tested with node --test).

export const STRINGS = {
  en: {
    title: "Shop assistant",
    open: "Open chat",
    close: "Close chat",
    placeholder: "Type a message…",
    send: "Send",
    attach: "Send a photo",
    typing: "The assistant is typing…",
    agentTyping: (name) => `${name} is typing…`,
    more: "Tell me more",
    offline: "Offline — messages will be sent when the connection returns.",
    reconnecting: "Reconnecting…",
    noHistory: "Earlier messages can't be shown right now; you can keep chatting.",
    uploading: "Uploading photo…",
    photo: "Photo",
    removePhoto: "Remove photo",
    unread: (n) => `${n} unread message${n === 1 ? "" : "s"}`,
    log: "Conversation",
    you: "You",
    assistant: "Assistant",
    agent: "Support agent",
    notice: "Notice",
    dropHere: "Drop a photo to send it",
    tooBig: "That photo is too large to send.",
    notImage: "That file isn't a photo. Please choose an image.",
    uploadFailed: "The photo couldn't be sent. Please try again.",
    unreadable: "That photo can't be opened (the file may be damaged). Please choose another one.",
    cards: "Products",
  },
  zh: {
    title: "购物助手",
    open: "打开聊天",
    close: "关闭聊天",
    placeholder: "请输入消息…",
    send: "发送",
    attach: "发送图片",
    typing: "助手正在输入…",
    agentTyping: (name) => `${name} 正在输入…`,
    more: "了解更多",
    offline: "网络已断开，恢复后会自动发送消息。",
    reconnecting: "正在重新连接…",
    noHistory: "暂时无法显示之前的消息，您可以继续聊天。",
    uploading: "图片上传中…",
    photo: "图片",
    removePhoto: "移除图片",
    unread: (n) => `${n} 条未读消息`,
    log: "对话",
    you: "我",
    assistant: "助手",
    agent: "人工客服",
    notice: "提示",
    dropHere: "拖放图片即可发送",
    tooBig: "图片太大，无法发送。",
    notImage: "这不是图片文件，请选择一张图片。",
    uploadFailed: "图片发送失败，请重试。",
    unreadable: "这张图片无法打开（文件可能已损坏），请换一张。",
    cards: "商品",
  },
};

/** The widget's language: an explicit `en`/`zh`, else the page's `lang`, else the browser's. */
export function pickLocale(option, pageLang, browserLangs) {
  const norm = (v) => (typeof v === "string" ? v.trim().toLowerCase() : "");
  const o = norm(option);
  if (o === "en" || o === "zh") return o;
  for (const candidate of [norm(pageLang), ...(browserLangs || []).map(norm)]) {
    if (candidate.startsWith("zh")) return "zh";
    if (candidate.startsWith("en")) return "en";
  }
  return "en";
}

/** Width and height to draw a photo at so that neither side exceeds `max` pixels. */
export function fitWithin(width, height, max) {
  if (!(width > 0 && height > 0)) return { width: 0, height: 0 };
  const scale = Math.min(1, max / Math.max(width, height));
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/** Product cards of a message's custom payload, or null: only well-formed string fields are kept. */
export function productCards(custom) {
  if (!custom || custom.type !== "product_cards" || !Array.isArray(custom.cards)) return null;
  const str = (v) => (typeof v === "string" ? v : v == null ? "" : String(v));
  const cards = custom.cards.slice(0, 20).map((card) => {
    const c = card && typeof card === "object" ? card : {};
    const button = Array.isArray(c.buttons) && c.buttons[0] && typeof c.buttons[0] === "object" ? c.buttons[0] : null;
    return {
      sku: str(c.sku),
      title: str(c.title),
      price: str(c.price),
      reason: str(c.reason),
      image: safeUrl(c.image),
      button: button ? { title: str(button.title), payload: str(button.payload) } : null,
    };
  });
  return cards.length ? cards : null;
}

/** An http(s) or same-origin path URL, or "" (no javascript:, data:, ... URLs). */
export function safeUrl(value, base) {
  if (typeof value !== "string" || !value) return "";
  try {
    const url = new URL(value, base || "http://invalid.local/");
    if (url.protocol !== "http:" && url.protocol !== "https:") return "";
    if (url.host === "invalid.local") return base ? url.href : "";
    return url.href;
  } catch {
    return "";
  }
}

/** Split text into runs of plain text and http(s) links (drawn as text and <a>, never as HTML). */
export function linkify(text) {
  const parts = [];
  const re = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]]/g;
  let last = 0;
  let match;
  while ((match = re.exec(text)) !== null) {
    if (match.index > last) parts.push({ text: text.slice(last, match.index) });
    parts.push({ text: match[0], href: match[0] });
    last = match.index + match[0].length;
  }
  if (last < text.length) parts.push({ text: text.slice(last) });
  return parts;
}

/** Delay before the n-th reconnection attempt: exponential, capped, with jitter. */
export function backoff(attempt, random = Math.random) {
  const base = Math.min(10000, 500 * 2 ** Math.max(0, attempt));
  return Math.round(base * (0.75 + 0.5 * random()));
}

/** A time as "14:05". */
export function clock(seconds, locale) {
  const d = new Date(seconds * 1000);
  const pad = (n) => String(n).padStart(2, "0");
  return locale === "zh" ? `${pad(d.getHours())}:${pad(d.getMinutes())}` : `${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** Messages not yet acknowledged by the server, resent after a reconnect; ids make resends harmless. */
/** The messages a tab sent, kept (localStorage) until the turn that answers them ends:
 * unacknowledged ones are sent again whenever the socket is ready; acknowledged ones
 * (`entry`: the server's id) only on a new connection, in case the server answering
 * them died mid-turn (the server answers a message once however often it comes). */
export class Outgoing {
  constructor(storage, key, keepMs = 120000) {
    this.storage = storage;
    this.key = key;
    this.keepMs = keepMs;
    this.items = [];
    try {
      const saved = storage && JSON.parse(storage.getItem(key) || "[]");
      if (Array.isArray(saved)) this.items = saved.filter((m) => m && typeof m.id === "string");
    } catch {
      this.items = [];
    }
  }
  add(message) {
    this.items.push(message);
    this.save();
  }
  /** Stored by the server as `entry`; without one (refused), or when the server says it
   * was answered, the message is forgotten. */
  ack(id, entry, now = Date.now()) {
    const before = JSON.stringify(this.items);
    this.items = this.items.flatMap((m) => {
      if (m.id !== id) return [m];
      return Number.isInteger(entry) && entry > 0 ? [{ ...m, entry, ackedAt: m.ackedAt || now }] : [];
    });
    if (JSON.stringify(this.items) !== before) this.save();
  }
  /** The turn that answered everything up to entry `upto` ended; acknowledged messages
   * older than `keepMs` go too (a person answers them, or nobody will). */
  done(upto, now = Date.now()) {
    const before = this.items.length;
    this.items = this.items.filter((m) => !(m.entry && (m.entry <= upto || now - m.ackedAt > this.keepMs)));
    if (this.items.length !== before) this.save();
  }
  /** The frames to send: every kept message on a new connection, else the unacknowledged. */
  frames(reconnected) {
    return this.items.filter((m) => reconnected || !m.entry).map(({ entry, ackedAt, ...frame }) => frame);
  }
  save() {
    try {
      if (this.storage) this.storage.setItem(this.key, JSON.stringify(this.items));
    } catch {
      /* storage full or blocked: the queue lives in memory */
    }
  }
}

/** The conversation as last drawn, kept for this browser tab (sessionStorage): after a
 * reload it is shown at once, even offline, until the server's history replaces it. */
export class Transcript {
  constructor(storage, key, limit = 100) {
    this.storage = storage;
    this.key = key;
    this.limit = limit;
    this.entries = [];
    try {
      const saved = storage && JSON.parse(storage.getItem(key) || "[]");
      if (Array.isArray(saved)) this.entries = saved.filter((e) => e && typeof e === "object" && typeof e.id === "number");
    } catch {
      this.entries = [];
    }
  }
  add(entry) {
    if (typeof entry.id !== "number" || this.entries.some((e) => e.id === entry.id)) return;
    const { history, ...kept } = entry;  // eslint-disable-line no-unused-vars
    this.entries.push(kept);
    if (this.entries.length > this.limit) this.entries = this.entries.slice(-this.limit);
    this.save();
  }
  clear() {
    this.entries = [];
    this.save();
  }
  save() {
    try {
      if (this.storage) this.storage.setItem(this.key, JSON.stringify(this.entries));
    } catch {
      /* storage full or blocked: nothing to show after a reload */
    }
  }
}
