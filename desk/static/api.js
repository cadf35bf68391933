// The desk's calls to its own server: JSON bodies, the CSRF token on every call, the
// session cookie; an error is thrown with the server's words (and what it kept, e.g.
// the id of a message kept undelivered), and a lapsed session goes to the sign-in page.

/**
 * A function `api(method, path, body)` for this page.
 * @param {string} csrf the page's CSRF token
 * @param {{fetch?: Function, signedOut?: Function}} [options] stand-ins for tests
 */
export function client(csrf, { fetch: send = (...a) => globalThis.fetch(...a),
                               signedOut = () => { globalThis.location.href = "/desk/login"; } } = {}) {
  return async function api(method, path, body) {
    const options = { method, headers: { "X-CSRF-Token": csrf }, credentials: "same-origin" };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const reply = await send(path, options);
    if (reply.status === 401) {
      signedOut();
      throw new Error("signed out");
    }
    const data = await reply.json().catch(() => ({}));
    if (!reply.ok) {
      const err = new Error(data.error || `error ${reply.status}`);
      err.data = data;
      err.status = reply.status;
      throw err;
    }
    return data;
  };
}

/**
 * An element with attributes (`text` is its text, `on…` its listeners) and children.
 * Text always goes in as text, never as markup.
 */
export function maker(doc) {
  return function el(tag, attrs, ...children) {
    const node = doc.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "text") node.textContent = String(v);
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, String(v));
    }
    for (const child of children) if (child) node.append(child);
    return node;
  };
}
