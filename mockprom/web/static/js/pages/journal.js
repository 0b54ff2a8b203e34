// The live request journal (GET|DELETE /-/mockprom/requests): every request a client
// sent, newest first, with method, endpoint, PromQL, status, latency and the fault that
// answered it; filters, pause and clear. Click a row for its parameters and headers.
import { h, clear, alertBox, badge, fmtTime } from '../dom.js';
import { control, ENDPOINTS } from '../api.js';

const POLL_MS = 1000;
const KEEP = 5000;       // entries kept in the page
const SHOW = 500;        // rows drawn

export function render(root, ctx) {
  const entries = new Map();   // id -> entry
  let paused = false, timer = null, stopped = false;
  const open = new Set();
  const endpoint = h('select', { 'aria-label': 'Endpoint' }, h('option', { value: '' }, 'all endpoints'), ENDPOINTS.map(e => h('option', { value: e }, e)));
  const text = h('input', { type: 'search', placeholder: 'PromQL or path contains…', size: 30 });
  const status = h('select', { 'aria-label': 'Status' }, [['', 'any status'], ['2', '2xx'], ['4', '4xx'], ['5', '5xx'], ['0', 'no answer']].map(([v, l]) => h('option', { value: v }, l)));
  const faulted = h('input', { type: 'checkbox' });
  const mine = h('input', { type: 'checkbox' });
  const pause = h('button', { onClick: () => { paused = !paused; pause.textContent = paused ? 'Resume' : 'Pause'; } }, 'Pause');
  const count = h('span', { class: 'muted small' });
  const body = h('tbody');
  const msg = h('div');
  for (const el of [endpoint, status, faulted, mine]) el.addEventListener('change', draw);
  text.addEventListener('input', draw);

  function since() {
    // from the oldest unfinished entry (its status and latency may still change) or the newest
    let t = null, pending = null;
    for (const e of entries.values()) {
      if (e.duration_ms == null && (pending == null || e.time < pending)) pending = e.time;
      if (t == null || e.time > t) t = e.time;
    }
    return pending ?? t;
  }

  async function poll() {
    try {
      const s = since();
      const list = await control.get('requests', s == null ? {} : { since: s });
      let changed = s == null;
      for (const e of list) {
        const old = entries.get(e.id);
        if (!old || old.status !== e.status || old.duration_ms !== e.duration_ms || old.fault !== e.fault) changed = true;
        entries.set(e.id, e);
      }
      if (entries.size > KEEP) {
        const ids = [...entries.keys()].sort((a, b) => a - b);
        for (const id of ids.slice(0, entries.size - KEEP)) entries.delete(id);
      }
      if (msg.firstChild) { clear(msg); changed = true; }
      if (changed) draw();  // redraw only when something changed (keeps selections)
    } catch (e) {
      clear(msg, alertBox('error', 'Error reading the journal:', ` ${e.message}`));
    }
  }

  function shown() {
    const ep = endpoint.value, st = status.value, needle = text.value.trim().toLowerCase();
    return [...entries.values()].filter(e => (!ep || e.endpoint === ep)
      && (!st || String(e.status ?? 0)[0] === st)
      && (!faulted.checked || e.fault)
      && (!mine.checked || !(e.headers && e.headers['x-mockprom-console']))
      && (!needle || (e.expr || '').toLowerCase().includes(needle) || e.path.toLowerCase().includes(needle)))
      .sort((a, b) => b.id - a.id);
  }

  function row(e) {
    const code = e.status == null ? 0 : e.status;
    const tr = h('tr', { class: e.fault ? 'faulted' : '', 'data-id': String(e.id), style: { cursor: 'pointer' },
      onClick: () => { if (open.has(e.id)) open.delete(e.id); else open.add(e.id); draw(); } },
    h('td', { class: 'nowrap mono small' }, fmtTime(e.time * 1000, true).slice(11)),
    h('td', null, e.method),
    h('td', null, h('span', { class: 'mono small' }, e.endpoint),
      e.headers && e.headers['x-mockprom-console'] ? [' ', badge('console', 'plain')] : null),
    h('td', { class: 'expr' }, e.expr || h('span', { class: 'muted' }, e.path)),
    h('td', { class: `num status${String(code)[0]}` }, e.status == null ? (e.duration_ms == null ? '…' : 'none') : String(e.status)),
    h('td', { class: 'num nowrap' }, e.duration_ms == null ? '…' : `${e.duration_ms.toFixed(1)} ms`),
    h('td', null, e.fault ? badge(e.fault, 'mock') : ''));
    if (!open.has(e.id)) return tr;
    const detail = {
      path: e.path, scenario_time: e.scenario_time != null ? fmtTime(e.scenario_time * 1000, true) : null,
      params: e.params, effects: e.effects, fault_latency_ms: e.fault_latency_ms, headers: e.headers,
    };
    return [tr, h('tr', { class: 'details' }, h('td', { colspan: 7 }, h('pre', null, JSON.stringify(detail, null, 2))))];
  }

  function draw() {
    const list = shown();
    count.textContent = `${list.length} of ${entries.size} request${entries.size === 1 ? '' : 's'}${paused ? ' (paused)' : ''}`;
    clear(body, list.length ? list.slice(0, SHOW).map(row)
      : h('tr', null, h('td', { colspan: 7, class: 'empty' }, entries.size ? 'No request matches the filters.' : 'No requests yet. Point a client at this server, or run a query.')));
  }

  async function clearJournal() {
    try {
      await control.del('requests');
      entries.clear();
      draw();
    } catch (e) { clear(msg, alertBox('error', 'Error:', ` ${e.message}`)); }
  }

  async function loop() {
    if (stopped) return;
    if (!paused) await poll();
    if (!stopped) timer = setTimeout(loop, POLL_MS);
  }

  clear(root, h('h1', null, 'Requests'),
    h('div', { class: 'toolbar' }, endpoint, status, text,
      h('label', null, faulted, 'faulted only'), h('label', null, mine, 'hide this console\'s requests'),
      h('span', { class: 'spacer' }), count, pause, h('button', { class: 'danger', onClick: clearJournal }, 'Clear')),
    msg,
    h('section', { class: 'card', style: { padding: 0 } }, h('div', { class: 'tablewrap' }, h('table', { class: 'journal' },
      h('thead', null, h('tr', null, ['Time (UTC)', 'Method', 'Endpoint', 'PromQL / path', 'Status', 'Latency', 'Fault']
        .map((t, i) => h('th', { class: i === 4 || i === 5 ? 'num' : '' }, t)))), body))));
  poll().then(() => { ctx.ready(); timer = setTimeout(loop, POLL_MS); });
  return () => { stopped = true; clearTimeout(timer); };
}
