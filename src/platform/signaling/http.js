// The signaling's one HTTP request (src/platform/signaling/http.rs calls it): `fetch` with the
// headers the protocols use, the reply read in one go. Plain JS: building a Request and reading
// a Response through web-sys at each call site cost 1.2 kB more gzip of wasm than this one
// function and its import (bench/README.md "Size").
//
// request(method, url, token, type, ifMatch, body, signal, keepalive, timeoutMs)
//   token, type, ifMatch, body: "" for none; signal: an AbortSignal or undefined;
//   timeoutMs > 0: aborted after that many ms (only without a signal of the caller's).
// Resolves [status, body, url, Location, ETag, Link, Accept-Patch, X-Session-ID] (a header
// absent or not exposed by CORS: null); rejects as fetch does (network, CORS, abort, a header
// value fetch refuses).
export async function request(method, url, token, type, ifMatch, body, signal, keepalive, timeoutMs) {
  const headers = {};
  if (type) headers["Content-Type"] = type;
  if (token) headers.Authorization = `Bearer ${token}`;
  if (ifMatch) headers["If-Match"] = ifMatch;
  let timer;
  if (timeoutMs > 0 && !signal) {
    const abort = new AbortController();
    timer = setTimeout(() => abort.abort(), timeoutMs);
    signal = abort.signal;
  }
  try {
    const r = await fetch(url, { method, headers, body: body || undefined, signal, keepalive });
    const text = await r.text().catch(() => "");
    const h = (name) => r.headers.get(name);
    return [r.status, text, r.url, h("Location"), h("ETag"), h("Link"), h("Accept-Patch"), h("X-Session-ID")];
  } finally {
    clearTimeout(timer);
  }
}
