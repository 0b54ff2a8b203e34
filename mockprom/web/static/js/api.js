// The console's only way to the server: the HTTP API (/api/v1/) and the control API
// (/-/mockprom/), with the credentials the user gave (kept in this tab's sessionStorage,
// sent in the Authorization header, never put in a URL).

// the endpoint names fault rules and the journal use, as the server lists them (shell.html)
export const ENDPOINTS = (document.querySelector('meta[name="mockprom-endpoints"]')?.content || '')
  .split(' ').filter(Boolean);

const STORE = 'mockprom.credentials';

export class ApiError extends Error {
  constructor(type, message, status, body) {
    super(message);
    this.type = type;
    this.status = status;
    this.body = body;
  }
}

export function credentials() {
  try { return JSON.parse(sessionStorage.getItem(STORE) || '{}'); } catch { return {}; }
}

export function saveCredentials(creds) {
  if (creds && (creds.api || creds.control)) sessionStorage.setItem(STORE, JSON.stringify(creds));
  else sessionStorage.removeItem(STORE);
}

function apiAuth(creds) {
  const a = creds.api;
  if (!a) return null;
  if (a.type === 'bearer' && a.token) return `Bearer ${a.token}`;
  if (a.type === 'basic' && a.username) {
    const bytes = new TextEncoder().encode(`${a.username}:${a.password || ''}`);
    return `Basic ${btoa(String.fromCharCode(...bytes))}`;
  }
  return null;
}

// The control API takes its own token when one is set; otherwise the API's credentials.
function authHeader(control) {
  const creds = credentials();
  if (control && creds.control) return `Bearer ${creds.control}`;
  return apiAuth(creds);
}

// A 401: ask for credentials (the challenge tells which kind: Bearer or Basic).
function authNeeded(resp, control) {
  const scheme = (resp.headers.get('WWW-Authenticate') || '').split(' ')[0].toLowerCase();
  window.dispatchEvent(new CustomEvent('mockprom:auth-needed', { detail: { control, scheme } }));
}

async function request(method, url, { params, body, type, control = false, signal } = {}) {
  const headers = { Accept: 'application/json', 'X-Mockprom-Console': '1' };
  const auth = authHeader(control);
  if (auth) headers.Authorization = auth;
  if (body !== undefined) headers['Content-Type'] = type || 'application/json';
  if (params) {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) {
      if (v == null || v === '') continue;
      for (const one of [v].flat()) qs.append(k, one);
    }
    const s = qs.toString();
    if (s) url += '?' + s;
  }
  let resp;
  try {
    resp = await fetch(url, { method, headers, body, credentials: 'same-origin', cache: 'no-store', signal });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError('network', `no answer from the server (${e.message})`, 0);
  }
  const text = await resp.text();
  let doc = null;
  try { doc = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  if (resp.status === 401) authNeeded(resp, control);
  if (doc && doc.status === 'error') {
    const hint = resp.status === 401 ? ' (give the credentials with the key button, top right)' : '';
    throw new ApiError(doc.errorType || 'error', (doc.error || `HTTP ${resp.status}`) + hint, resp.status, doc);
  }
  if (!resp.ok) {
    const detail = text && !doc ? `: ${text.trim().slice(0, 300)}` : '';
    throw new ApiError('http', `HTTP ${resp.status} ${resp.statusText}${detail}`, resp.status, doc);
  }
  if (doc === null && text) {
    throw new ApiError('malformed', `the answer is not JSON: ${text.slice(0, 200)}`, resp.status);
  }
  return doc;
}

// GET /api/v1/<path>: the whole envelope ({status, data, warnings, infos}).
export function api(path, params, opts = {}) {
  return request('GET', `/api/v1/${path}`, { params, ...opts });
}

// The control API: get/put/post/delete under /-/mockprom/.
export const control = {
  get: (path, params) => request('GET', `/-/mockprom/${path}`, { params, control: true }),
  del: (path) => request('DELETE', `/-/mockprom/${path}`, { control: true }),
  post: (path, doc, type) => request('POST', `/-/mockprom/${path}`,
    { body: typeof doc === 'string' ? doc : JSON.stringify(doc ?? {}), type, control: true }),
  put: (path, doc, type, params) => request('PUT', `/-/mockprom/${path}`,
    { body: typeof doc === 'string' ? doc : JSON.stringify(doc ?? {}), type, control: true, params }),
  // a text answer (YAML): fetched with the same headers
  async text(path, params) {
    const headers = { 'X-Mockprom-Console': '1' };
    const auth = authHeader(true);
    if (auth) headers.Authorization = auth;
    const resp = await fetch(`/-/mockprom/${path}?${new URLSearchParams(params)}`,
      { headers, credentials: 'same-origin', cache: 'no-store' });
    const text = await resp.text();
    if (resp.status === 401) authNeeded(resp, true);
    if (!resp.ok) {
      let msg = text;
      try { msg = JSON.parse(text).error || text; } catch { /* plain text */ }
      throw new ApiError('http', msg, resp.status);
    }
    return text;
  },
};
