// What the desk says about a conversation, in the agent's words (desk/i18n.py gives the
// dictionary T): pure functions, no page, unit-tested with `node --test desk/test/`.

/** A word of a group ("states", "reasons", "intents", "in_language"), or the key itself. */
export function word(T, group, key) {
  return (T[group] && T[group][key]) || key;
}

/** "42 s", "3 min". */
export function minutes(seconds) {
  const m = Math.floor(seconds / 60);
  return m < 1 ? `${Math.max(0, Math.round(seconds))} s` : `${m} min`;
}

/** Who wrote a transcript message. */
export function speaker(T, m) {
  if (m.role === "customer") return T.customer;
  if (m.role === "agent") return m.author || T.agent;
  return m.role === "notice" ? T.notice : T.assistant;
}

/** What the customer asked for, with the assistant's confidence (never the intent's name). */
export function intentLabel(T, m) {
  if (m.role !== "customer" || !m.intent) return null;
  const confidence = typeof m.confidence === "number" ? ` ${m.confidence.toFixed(2)}` : "";
  return `${word(T, "intents", m.intent)}${confidence}`;
}

/** A queue entry's two lines. */
export function queueLines(T, h) {
  return [
    `#${h.id} · ${word(T, "in_language", h.language)} · ${h.channel}`,
    `${word(T, "states", h.state)}${h.agent ? " · " + h.agent : ""} · ` +
      `${word(T, "reasons", h.reason)} · ${T.waiting} ${minutes(h.waiting_seconds)}` +
      (h.outside_hours ? ` · ${T.ticket}` : ""),
  ];
}

/** A product the customer was shown, with its price. */
/** An amount in the shop's own currency, beside the customer's, when they differ. */
export function shopAmount(T, x) {
  return x.shop_price !== null && x.shop_price !== undefined && x.shop_currency
    ? ` (${T.shop_price} ${x.shop_price} ${x.shop_currency})` : "";
}

export function shownLine(T, p) {
  return `${p.name} — ${p.price ?? "?"} ${p.currency}${shopAmount(T, p)}${p.in_stock ? "" : T.out_of_stock}`;
}

/** A price quote or coupon. */
export function quoteLine(T, q) {
  const list = q.list_price !== null && q.list_price !== undefined ? `, ${T.list} ${q.list_price}` : "";
  const coupon = q.coupon ? ` · ${T.coupon} ${q.coupon}` : "";
  return `${q.kind} · ${q.name} (${q.sku}): ${q.price ?? "-"} ${q.currency}${shopAmount(T, q)}${list} · ${q.status}${coupon}`;
}

/** Whether an agent's message reached the customer ("✓ delivered", "not delivered: why"). */
export function deliveryLabel(T, d) {
  if (!d) return null;
  if (d.status === "sent") return `✓ ${T.delivered}`;
  if (d.status === "pending") return T.sending;
  return d.error ? `${T.undelivered}: ${d.error}` : T.undelivered;
}

/** The transcript: the conversation's messages and the agent's messages that did not
 * reach the customer (which the history lacks), in time order. */
export function withUndelivered(messages, deliveries) {
  const kept = (deliveries || []).filter((d) => d.status === "failed" || d.status === "expired")
    .map((d) => ({ role: "agent", author: d.author, text: d.text || "", ts: d.at, delivery: d.id }));
  return [...messages, ...kept].sort((a, b) => (a.ts || 0) - (b.ts || 0));
}

/** The messages shown live (``pending``: from the desk's event stream, or the agent's
 * own just sent) that a reload of the conversation (``messages``) does not hold yet: a
 * message reaches the agent's screen a moment before the conversation's history, so a
 * reload in between must not make it disappear. Each loaded message accounts for one
 * live one of the same author and words; a live one older than ``maxAge`` seconds is
 * dropped (the history has it by then, or never will). */
export function stillToCome(pending, messages, now, maxAge = 120) {
  const key = (m) => `${m.role}\u0000${(m.text || "").trim()}`;
  const loaded = messages.map(key);
  return pending.filter((m) => {
    const at = loaded.indexOf(key(m));
    if (at >= 0) {
      loaded.splice(at, 1);
      return false;
    }
    return now - m.shownAt <= maxAge;
  });
}

/** One line of a handoff's audit trail: when, who, what (in words). */
export function auditLine(T, e, locale) {
  const when = new Date(e.at * 1000).toLocaleTimeString(locale === "zh" ? "zh-CN" : "en-GB");
  return `${when} ${word(T, "actors", e.actor)} ${word(T, "actions", e.action)}`;
}
