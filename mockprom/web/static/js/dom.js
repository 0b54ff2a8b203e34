// Small DOM and formatting helpers shared by every page.

// h('div', {class: 'x', onClick: fn}, child, ...): an element; children may be nodes,
// strings, numbers, arrays, or null/false (skipped). `value` is set after the children
// (a <select> needs its options first).
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  let value;
  for (const [k, v] of Object.entries(props || {})) {
    if (v == null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'value') value = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2).toLowerCase(), v);
    else if (k === 'checked' || k === 'disabled' || k === 'selected' || k === 'open') el[k] = !!v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  if (value !== undefined) el.value = value;
  return el;
}

export function append(el, children) {
  for (const c of [children].flat(Infinity)) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

export function clear(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

// -- time and durations (always UTC, as Prometheus's UI shows them by default) --------

export function fmtTime(ms, millis = false) {
  if (ms == null || !isFinite(ms)) return '';
  const iso = new Date(ms).toISOString();
  return iso.slice(0, 10) + ' ' + iso.slice(11, millis ? 23 : 19);
}

// "2026-12-02 23:14:20", "2026-12-02T23:14:20Z", unix seconds -> ms (null if invalid)
export function parseTime(text) {
  const s = String(text).trim();
  if (!s) return null;
  if (/^-?\d+(\.\d+)?$/.test(s)) return Math.round(parseFloat(s) * 1000);
  let iso = s.replace(' ', 'T');
  if (/^\d{4}-\d\d-\d\d$/.test(iso)) iso += 'T00:00:00';
  if (!/(Z|[+-]\d\d:?\d\d)$/.test(iso)) iso += 'Z';
  const ms = Date.parse(iso);
  return isNaN(ms) ? null : ms;
}

const UNITS = [['y', 365 * 864e5], ['w', 7 * 864e5], ['d', 864e5], ['h', 36e5], ['m', 6e4], ['s', 1e3], ['ms', 1]];
const UNIT_MS = Object.fromEntries(UNITS);

// Prometheus durations ("1h30m", "5m", "250ms") or seconds ("90", "1.5") -> ms (null if invalid)
export function parseDuration(text) {
  const s = String(text).trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(parseFloat(s) * 1000);
  const re = /(\d+)(ms|y|w|d|h|m|s)/y;
  let total = 0, m, pos = 0;
  while (pos < s.length && (m = re.exec(s))) { total += parseInt(m[1], 10) * UNIT_MS[m[2]]; pos = re.lastIndex; }
  return pos === s.length && pos > 0 ? total : null;
}

export function fmtDuration(ms) {
  if (!ms) return '0s';
  let out = ms < 0 ? '-' : '';
  let left = Math.abs(Math.round(ms));
  for (const [unit, size] of UNITS) {
    if (left >= size) { out += Math.floor(left / size) + unit; left %= size; }
  }
  return out;
}

export function fmtAgo(ms, nowMs) {
  const d = (nowMs - ms) / 1000;
  if (!isFinite(d)) return '';
  if (Math.abs(d) < 60) return `${d.toFixed(Math.abs(d) < 10 ? 1 : 0)}s ago`;
  return `${fmtDuration(Math.round(d) * 1000)} ago`;
}

export function fmtSeconds(s) {
  if (s == null || !isFinite(s)) return '';
  if (s < 1e-3) return `${(s * 1e6).toFixed(0)}µs`;
  if (s < 1) return `${(s * 1e3).toFixed(s < 0.01 ? 2 : 1)}ms`;
  return `${s.toFixed(3)}s`;
}

// Compact numbers for axes: 1.5k, 2.3M, 0.001
export function fmtNumber(v) {
  if (v == null || !isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a === 0) return '0';
  const prefixes = [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
  for (const [size, p] of prefixes) if (a >= size) return trim(v / size) + p;
  if (a < 1e-3) return v.toExponential(1);
  return trim(v);
}

function trim(v) { return String(parseFloat(v.toPrecision(4))); }

// -- series labels ------------------------------------------------------------------

export function labelsText(metric) {
  const { __name__: name = '', ...rest } = metric || {};
  const pairs = Object.keys(rest).sort().map(k => `${k}=${JSON.stringify(rest[k])}`);
  return pairs.length || !name ? `${name}{${pairs.join(', ')}}` : name;
}

export function seriesNode(metric) {
  const { __name__: name = '', ...rest } = metric || {};
  const keys = Object.keys(rest).sort();
  const el = h('span', { class: 'series' }, name ? h('span', { class: 'name' }, name) : null);
  if (keys.length || !name) {
    el.append('{');
    keys.forEach((k, i) => {
      if (i) el.append(', ');
      el.append(h('span', { class: 'lname' }, k), '=', h('span', { class: 'lval' }, JSON.stringify(rest[k])));
    });
    el.append('}');
  }
  return el;
}

export function chips(labels) {
  return h('div', { class: 'chips' }, Object.keys(labels || {}).sort().map(k => h('span', { class: 'chip' }, `${k}="${labels[k]}"`)));
}

export function alertBox(kind, title, text) {
  return h('div', { class: `alert ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, h('b', null, title), text);
}

export function badge(text, kind = '') {
  return h('span', { class: `badge ${kind}` }, text);
}

// One repeating task per page: start(), stop() (the page's cleanup calls stop).
export function every(ms, fn) {
  let timer = null, stopped = false;
  const tick = async () => {
    if (stopped) return;
    try { await fn(); } catch (e) { /* shown by the page itself */ }
    if (!stopped) timer = setTimeout(tick, ms);
  };
  timer = setTimeout(tick, ms);
  return () => { stopped = true; clearTimeout(timer); };
}
