// The mock's clock as the console knows it: read from GET /-/mockprom/clock, moved with
// PUT /-/mockprom/clock. Every page's "now" is the mock's now, not the browser's.
import { api, control } from './api.js';

const listeners = new Set();
let last = null;   // {nowMs, mode, at}: the server's now at performance.now() == at
let failure = null;
let first = null;   // the first refresh (pages wait for it before they use now())

function set(nowMs, mode, forced) {
  const before = last ? clock.now() : null;
  last = { nowMs, mode, at: performance.now() };
  const jumped = forced || (before != null && Math.abs(nowMs - before) > 1500);
  for (const fn of listeners) fn({ jumped });
}

export const clock = {
  // The mock's current time in ms (a fixed clock stands still, a real one runs).
  now() {
    if (!last) return Date.now();
    return last.mode === 'fixed' ? last.nowMs : Math.round(last.nowMs + performance.now() - last.at);
  },
  mode() { return last ? last.mode : null; },
  error() { return failure; },
  known() { return last !== null; },
  ready() { return first || (first = clock.refresh()); },

  async refresh() {
    try {
      const d = (await control.get('clock')).data;
      failure = null;
      set(d.now_ms, d.mode, false);
    } catch (e) {
      failure = e;
      if (!last) {
        // The control API refused (no control token given): the API's time() still tells.
        try {
          const r = await api('query', { query: 'time()' });
          set(Math.round(parseFloat(r.data.result[1]) * 1000), 'unknown', false);
        } catch { /* the page shows its own error */ }
      }
      for (const fn of listeners) fn({ jumped: false });
    }
    return last;
  },

  // {now: <RFC3339|unix s>} or {advance: "5m"}: answers the new clock.
  async put(doc) {
    const d = (await control.put('clock', doc)).data;
    failure = null;
    set(d.now_ms, d.mode, true);
    return d;
  },

  subscribe(fn) {
    listeners.add(fn);
    return () => listeners.delete(fn);
  },
};
