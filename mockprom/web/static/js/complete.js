// PromQL completion for a textarea: metric names (with their type and help), label names
// and values (of the metric being matched), functions, aggregations, keywords, durations.
// Names come from the API (/api/v1/label/__name__/values, /metadata, /labels,
// /label/<name>/values), fetched when first needed.
import { h, clear } from './dom.js';
import { api } from './api.js';

const FUNCTIONS = ['abs', 'absent', 'absent_over_time', 'acos', 'acosh', 'asin', 'asinh', 'atan', 'atanh',
  'avg_over_time', 'ceil', 'changes', 'clamp', 'clamp_max', 'clamp_min', 'cos', 'cosh', 'count_over_time',
  'day_of_month', 'day_of_week', 'day_of_year', 'days_in_month', 'deg', 'delta', 'deriv',
  'double_exponential_smoothing', 'exp', 'floor', 'histogram_avg', 'histogram_count', 'histogram_fraction',
  'histogram_quantile', 'histogram_stddev', 'histogram_stdvar', 'histogram_sum', 'holt_winters', 'hour',
  'idelta', 'increase', 'info', 'irate', 'label_join', 'label_replace', 'last_over_time', 'ln', 'log10',
  'log2', 'mad_over_time', 'max_over_time', 'min_over_time', 'minute', 'month', 'pi', 'predict_linear',
  'present_over_time', 'quantile_over_time', 'rad', 'rate', 'resets', 'round', 'scalar', 'sgn', 'sin',
  'sinh', 'sort', 'sort_by_label', 'sort_by_label_desc', 'sort_desc', 'sqrt', 'stddev_over_time',
  'stdvar_over_time', 'sum_over_time', 'tan', 'tanh', 'time', 'timestamp', 'vector', 'year'];
const AGGREGATIONS = ['avg', 'bottomk', 'count', 'count_values', 'group', 'limit_ratio', 'limitk', 'max',
  'min', 'quantile', 'stddev', 'stdvar', 'sum', 'topk'];
const KEYWORDS = ['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right',
  'offset', 'bool', 'atan2'];
const DURATIONS = ['1m', '5m', '10m', '15m', '30m', '1h', '3h', '6h', '12h', '1d', '7d'];
const MAX_ITEMS = 60;

const cache = { metrics: null, labels: new Map(), values: new Map() };

function metrics() {
  if (!cache.metrics) {
    cache.metrics = Promise.all([
      api('label/__name__/values'),
      api('metadata').catch(() => ({ data: {} })),
    ]).then(([names, meta]) => names.data.map(name => {
      const m = (meta.data[name] || meta.data[name.replace(/_(bucket|sum|count|total)$/, '')] || [])[0] || {};
      return { text: name, kind: m.type || 'metric', help: m.help || '' };
    })).catch(e => { cache.metrics = null; throw e; });
  }
  return cache.metrics;
}

function labelNames(metric) {
  const key = metric || '';
  if (!cache.labels.has(key)) {
    cache.labels.set(key, api('labels', metric ? { 'match[]': metric } : undefined)
      .then(r => r.data.filter(n => n !== '__name__').map(n => ({ text: n, kind: 'label' })))
      .catch(e => { cache.labels.delete(key); throw e; }));
  }
  return cache.labels.get(key);
}

function labelValues(name, metric) {
  const key = `${name}\u0000${metric || ''}`;
  if (!cache.values.has(key)) {
    cache.values.set(key, api(`label/${encodeURIComponent(name)}/values`, metric ? { 'match[]': metric } : undefined)
      .then(r => r.data.map(v => ({ text: v, kind: 'value' })))
      .catch(e => { cache.values.delete(key); throw e; }));
  }
  return cache.values.get(key);
}

const fixed = (list, kind) => list.map(text => ({ text, kind }));

// What to complete at the end of `before` (the text left of the cursor):
// {prefix, items: Promise<list>, quote} or null.
function context(before) {
  const braceOpen = before.lastIndexOf('{');
  const inBraces = braceOpen > before.lastIndexOf('}');
  const metricBefore = (pos) => {
    const m = /([a-zA-Z_:][\w:]*)\s*$/.exec(before.slice(0, pos));
    return m && !FUNCTIONS.includes(m[1]) && !AGGREGATIONS.includes(m[1]) ? m[1] : null;
  };
  if (inBraces) {
    const inside = before.slice(braceOpen + 1);
    const value = /([a-zA-Z_]\w*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)$/.exec(inside);
    if (value) return { prefix: value[3], items: labelValues(value[1], metricBefore(braceOpen)), quote: true };
    const name = /(?:^|,)\s*([a-zA-Z_]\w*)?$/.exec(inside);
    if (name) return { prefix: name[1] || '', items: labelNames(metricBefore(braceOpen)) };
    return null;
  }
  const grouping = /\b(by|without|on|ignoring|group_left|group_right)\s*\(([^()]*,)?\s*([a-zA-Z_]\w*)?$/.exec(before);
  if (grouping) return { prefix: grouping[3] || '', items: labelNames(null) };
  const bracket = before.lastIndexOf('[');
  if (bracket > before.lastIndexOf(']')) {
    const d = /([\dsmhdwy:]*)$/.exec(before.slice(bracket + 1));
    return { prefix: d[1], items: Promise.resolve(fixed(DURATIONS, 'duration')) };
  }
  const word = /[a-zA-Z_:][\w:]*$/.exec(before);
  if (!word) return null;
  if (/\d$/.test(before.slice(0, word.index))) return null; // a duration's unit (5m)
  const items = metrics().catch(() => []).then(ms => [
    ...ms, ...fixed(AGGREGATIONS, 'aggregation'), ...fixed(FUNCTIONS, 'function'), ...fixed(KEYWORDS, 'keyword')]);
  return { prefix: word[0], items };
}

// Names starting with the prefix, then names containing it; once the prefix is a whole
// name, only its longer names (Enter then runs the query instead of picking "group" for "up").
function rank(items, prefix) {
  const p = prefix.toLowerCase();
  const starts = [], contains = [];
  let exact = false;
  for (const it of items) {
    const t = it.text.toLowerCase();
    if (t === p) { exact = true; continue; }
    if (t.startsWith(p)) starts.push(it);
    else if (p && t.includes(p)) contains.push(it);
  }
  return (exact ? starts : [...starts, ...contains]).slice(0, MAX_ITEMS);
}

// Attach completion to `input` (a textarea inside a positioned container); onExecute()
// runs on Enter when no suggestion list is open (Shift+Enter: new line).
export function attachCompletion(input, { onExecute }) {
  const box = h('div', { class: 'complete', hidden: true, role: 'listbox' });
  input.after(box);
  let items = [], sel = 0, ctx = null, seq = 0;

  const close = () => { box.hidden = true; items = []; };
  const show = () => {
    if (!items.length) { close(); return; }
    clear(box, h('ul', null, items.map((it, i) => h('li', {
      class: i === sel ? 'on' : '', role: 'option',
      onMousedown: (e) => { e.preventDefault(); sel = i; accept(); },
    }, h('span', { class: 'ctext' }, it.text), it.help ? h('span', { class: 'chelp', title: it.help }, it.help) : null,
    h('span', { class: 'ckind' }, it.kind)))));
    box.hidden = false;
    const on = box.querySelector('li.on');
    if (on) on.scrollIntoView({ block: 'nearest' });
  };

  async function update(force = false) {
    const pos = input.selectionStart;
    if (pos !== input.selectionEnd) { close(); return; }
    const c = context(input.value.slice(0, pos));
    if (!c || (!force && !c.prefix && !c.quote && !/[{,(]\s*$/.test(input.value.slice(0, pos)))) { close(); return; }
    const mine = ++seq;
    let all;
    try { all = await c.items; } catch { all = []; }
    if (mine !== seq) return;
    ctx = c;
    items = rank(all, c.prefix);
    sel = 0;
    show();
  }

  function accept() {
    const it = items[sel];
    if (!it || !ctx) return;
    const pos = input.selectionStart;
    const start = pos - ctx.prefix.length;
    let text = it.text;
    const after = input.value.slice(pos);
    if (ctx.quote) {
      text = text.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
      if (!after.startsWith('"')) text += '"';
    } else if (it.kind === 'function' || it.kind === 'aggregation') {
      if (!after.startsWith('(')) text += '(';
    }
    input.setRangeText(text, start, pos, 'end');
    close();
    input.dispatchEvent(new Event('input'));
    input.focus();
  }

  input.addEventListener('keydown', (e) => {
    const open = !box.hidden && items.length;
    if (open && e.key === 'ArrowDown') { sel = (sel + 1) % items.length; show(); e.preventDefault(); }
    else if (open && e.key === 'ArrowUp') { sel = (sel - 1 + items.length) % items.length; show(); e.preventDefault(); }
    else if (open && (e.key === 'Enter' || e.key === 'Tab') && !e.shiftKey) { accept(); e.preventDefault(); }
    else if (open && e.key === 'Escape') { close(); e.preventDefault(); }
    else if (e.key === ' ' && e.ctrlKey) { update(true); e.preventDefault(); }
    else if (e.key === 'Enter' && !e.shiftKey) { close(); e.preventDefault(); onExecute(); }
  });
  input.addEventListener('input', () => update(false));
  input.addEventListener('blur', () => setTimeout(close, 150));
  input.addEventListener('click', () => close());
  return { close };
}
