// The expression page: panels of a PromQL box with completion, Table and Graph tabs, the
// query's errors, warnings and infos as Prometheus shows them. The URL keeps each panel's
// state in Prometheus's own parameters (g0.expr, g0.tab, g0.range_input, g0.end_input,
// g0.moment_input, g0.step_input, g0.display_mode, then g1...; 2.x's g0.tab=0|1 and
// g0.stacked too), so links made for Prometheus open here.
import { h, clear, alertBox, seriesNode, labelsText, fmtTime, parseTime, parseDuration, fmtDuration } from '../dom.js';
import { api } from '../api.js';
import { attachCompletion } from '../complete.js';
import { timeChart, loadUPlot } from '../chart.js';

const RANGES = ['1m', '5m', '15m', '30m', '1h', '2h', '3h', '6h', '12h', '1d', '2d', '1w', '2w', '4w'].map(parseDuration);
const MAX_ROWS = 1000;

// One panel's state from the URL's g<i>.* parameters.
function readPanel(q, i) {
  const get = (k) => q.get(`g${i}.${k}`);
  const tab = get('tab');
  return {
    expr: get('expr') || '',
    tab: tab === '0' || tab === 'graph' ? 'graph' : 'table',
    range: parseDuration(get('range_input') || '1h') || 3600e3,
    end: get('end_input') ? parseTime(get('end_input')) : null,
    moment: get('moment_input') ? parseTime(get('moment_input')) : null,
    step: get('step_input') ? parseDuration(get('step_input')) : null,
    stacked: get('display_mode') === 'stacked' || get('stacked') === '1',
  };
}

// Every panel given in the URL (g0, g1, ...), at least one.
function readPanels(search) {
  const q = new URLSearchParams(search);
  const indices = new Set();
  for (const k of q.keys()) {
    const m = /^g(\d+)\./.exec(k);
    if (m) indices.add(Number(m[1]));
  }
  const sorted = [...indices].sort((a, b) => a - b);
  return sorted.length ? sorted.map(i => readPanel(q, i)) : [readPanel(q, 0)];
}

function writePanels(states) {
  const q = new URLSearchParams();
  states.forEach((st, i) => {
    q.set(`g${i}.expr`, st.expr);
    q.set(`g${i}.tab`, st.tab);
    q.set(`g${i}.range_input`, fmtDuration(st.range));
    if (st.end != null) q.set(`g${i}.end_input`, fmtTime(st.end));
    if (st.moment != null) q.set(`g${i}.moment_input`, fmtTime(st.moment));
    if (st.step != null) q.set(`g${i}.step_input`, fmtDuration(st.step));
    q.set(`g${i}.display_mode`, st.stacked ? 'stacked' : 'lines');
  });
  history.replaceState(null, '', `${location.pathname}?${q}`);
}

// Prometheus's UI: resolution = range / 250, at least 1s (whole seconds).
const autoStep = (range) => Math.max(Math.floor(range / 250 / 1000), 1) * 1000;

// The query page: one panel per g<i> in the URL, and a button to add one.
export function render(root, ctx) {
  const panels = [];
  const list = h('div', { class: 'stack' });
  const save = () => writePanels(panels.map(p => p.state));
  const add = (st, focus) => {
    const p = panel(st, ctx, {
      save,
      remove: () => {
        if (panels.length < 2) return;
        panels.splice(panels.indexOf(p), 1);
        p.destroy();
        p.el.remove();
        save();
      },
    });
    panels.push(p);
    list.append(p.el);
    p.start(focus);
  };
  clear(root, list, h('div', { style: { marginTop: '12px' } },
    h('button', { class: 'add-panel', onClick: () => { add(readPanel(new URLSearchParams(), 0), true); save(); } }, '+ Add query')));
  readPanels(location.search).forEach((st, i) => add(st, i === 0 && !st.expr));
  loadUPlot().catch(() => {});
  const unsubscribe = ctx.clock.subscribe(({ jumped }) => { if (jumped) for (const p of panels) p.follow(); });
  return () => { unsubscribe(); for (const p of panels) p.destroy(); };
}

function panel(st, ctx, hooks) {
  let chart = null;
  let runSeq = 0;
  let hasRun = false;
  let finished = 0;   // completed runs, in data-runs (tests and tools wait on it)

  const input = h('textarea', { class: 'expr', rows: 1, spellcheck: 'false', placeholder: 'Expression (press Shift+Enter for newlines)',
    'aria-label': 'PromQL expression', autocomplete: 'off' });
  input.value = st.expr;
  const grow = () => { input.style.height = 'auto'; input.style.height = `${Math.max(38, input.scrollHeight + 2)}px`; };
  input.addEventListener('input', grow);
  const execBtn = h('button', { class: 'primary', onClick: () => run() }, 'Execute');
  const exprWrap = h('div', { class: 'grow', style: { position: 'relative' } }, input);
  const tabs = h('div', { class: 'tabs' });
  const stats = h('span', { class: 'stats' });
  const messages = h('div', { class: 'messages' });
  const controls = h('div', { class: 'toolbar' });
  const output = h('div', { class: 'output' });

  const tabBtn = (id, label) => h('button', { class: st.tab === id ? 'on' : '', 'data-tab': id,
    onClick: () => { st.tab = id; showTabs(); run(); } }, label);
  function showTabs() {
    clear(tabs, tabBtn('table', 'Table'), tabBtn('graph', 'Graph'), stats);
    buildControls();
  }

  // -- controls ----------------------------------------------------------------------
  function buildControls() {
    if (st.tab === 'table') {
      const moment = h('input', { class: 'moment', placeholder: 'now (evaluation time)', size: 22,
        value: st.moment != null ? fmtTime(st.moment) : '' });
      moment.addEventListener('change', () => { st.moment = moment.value.trim() ? parseTime(moment.value) : null; run(); });
      const shift = (dir) => () => { st.moment = (st.moment ?? ctx.clock.now()) + dir * st.range; run(); buildControls(); };
      clear(controls, h('span', { class: 'muted small' }, 'Evaluation time'),
        h('span', { class: 'inputgroup' }, h('button', { title: 'Earlier by the range', onClick: shift(-1) }, '‹'), moment,
          h('button', { title: 'Later by the range', onClick: shift(1) }, '›')),
        st.moment != null ? h('button', { class: 'link', onClick: () => { st.moment = null; run(); buildControls(); } }, 'now') : null);
      return;
    }
    const range = h('input', { class: 'range', size: 6, value: fmtDuration(st.range), 'aria-label': 'Range' });
    range.addEventListener('change', () => { const v = parseDuration(range.value); if (v > 0) st.range = v; run(); buildControls(); });
    const zoom = (dir) => () => {
      const i = RANGES.findIndex(r => r >= st.range);
      const at = i < 0 ? RANGES.length - 1 : i;
      st.range = RANGES[Math.min(RANGES.length - 1, Math.max(0, dir > 0 ? (RANGES[at] > st.range ? at : at + 1) : at - 1))];
      run(); buildControls();
    };
    const end = h('input', { class: 'end', size: 20, placeholder: 'now (end time)', value: st.end != null ? fmtTime(st.end) : '' });
    end.addEventListener('change', () => { st.end = end.value.trim() ? parseTime(end.value) : null; run(); });
    const move = (dir) => () => { st.end = (st.end ?? ctx.clock.now()) + dir * st.range / 2; run(); buildControls(); };
    const step = h('input', { class: 'step', size: 9, placeholder: `res. (${fmtDuration(autoStep(st.range))})`,
      value: st.step != null ? fmtDuration(st.step) : '', 'aria-label': 'Resolution (step)' });
    step.addEventListener('change', () => { st.step = step.value.trim() ? parseDuration(step.value) : null; run(); });
    const mode = (on, label) => h('button', { class: st.stacked === on ? 'on' : '', 'data-mode': on ? 'stacked' : 'lines',
      onClick: () => { st.stacked = on; run(); buildControls(); } }, label);
    clear(controls,
      h('span', { class: 'inputgroup' }, h('button', { title: 'Shorter range', onClick: zoom(-1) }, '−'), range,
        h('button', { title: 'Longer range', onClick: zoom(1) }, '+')),
      h('span', { class: 'inputgroup' }, h('button', { title: 'Back by half the range', onClick: move(-1) }, '‹'), end,
        h('button', { title: 'Forward by half the range', onClick: move(1) }, '›')),
      st.end != null ? h('button', { class: 'link', onClick: () => { st.end = null; run(); buildControls(); } }, 'now') : null,
      step,
      h('span', { class: 'seg' }, mode(false, 'Lines'), mode(true, 'Stacked')),
      h('span', { class: 'hint' }, 'Drag across the graph to zoom in.'));
  }

  // -- running -----------------------------------------------------------------------
  function showMessages(err, doc) {
    clear(messages);
    if (err) messages.append(alertBox('error', 'Error executing query:', ` ${err.message}`));
    for (const w of (doc && doc.warnings) || []) messages.append(alertBox('warning', 'Warning:', ` ${w}`));
    for (const i of (doc && doc.infos) || []) messages.append(alertBox('info', 'Info:', ` ${i}`));
  }

  async function run() {
    st.expr = input.value.trim();
    hooks.save();
    if (!st.expr) { clear(output); clear(messages); clear(stats); done(); return; }
    const mine = ++runSeq;
    hasRun = true;
    execBtn.disabled = true;
    const started = performance.now();
    let doc = null, err = null, params = null;
    try {
      if (st.tab === 'table') {
        doc = await api('query', { query: st.expr, time: st.moment != null ? st.moment / 1000 : null });
      } else {
        await ctx.clock.ready();
        const end = st.end ?? ctx.clock.now();
        const step = st.step || autoStep(st.range);
        params = { start: (end - st.range) / 1000, end: end / 1000, step: step / 1000 };
        doc = await api('query_range', { query: st.expr, ...params });
      }
    } catch (e) { err = e; doc = e.body || null; }
    if (mine !== runSeq) return;
    execBtn.disabled = false;
    const ms = Math.round(performance.now() - started);
    showMessages(err, doc);
    if (chart) { chart.destroy(); chart = null; }
    if (err) { clear(output); clear(stats, h('span', null, `Load time: ${ms}ms`)); done(); return; }
    const data = doc.data;
    const n = Array.isArray(data.result) && data.resultType !== 'scalar' && data.resultType !== 'string' ? data.result.length : 1;
    clear(stats, h('span', null, `Load time: ${ms}ms`),
      params ? h('span', null, `Resolution: ${fmtDuration(params.step * 1000)}`) : null,
      h('span', { class: 'count' }, `Result series: ${n}`));
    if (st.tab === 'table') showTable(data);
    else await showGraph(data, params);
    done();
  }

  function done() {
    card.dataset.runs = String(++finished);
    ctx.ready();
  }

  function showTable(data) {
    const rows = [];
    const value = (v) => h('td', { class: 'num mono' }, v);
    if (data.resultType === 'vector') {
      for (const s of data.result.slice(0, MAX_ROWS)) {
        rows.push(h('tr', null, h('td', null, seriesNode(s.metric)),
          value(s.value ? s.value[1] : histogramText(s.histogram[1]))));
      }
    } else if (data.resultType === 'matrix') {
      for (const s of data.result.slice(0, MAX_ROWS)) {
        const points = (s.values || []).map(([t, v]) => `${v} @${t}`)
          .concat((s.histograms || []).map(([t, hv]) => `${histogramText(hv)} @${t}`));
        rows.push(h('tr', null, h('td', null, seriesNode(s.metric)), h('td', { class: 'num mono' }, points.map(p => h('div', null, p)))));
      }
    } else if (data.resultType === 'scalar' || data.resultType === 'string') {
      rows.push(h('tr', null, h('td', null, h('span', { class: 'series' }, data.resultType)), value(data.result[1])));
    }
    const total = data.resultType === 'vector' || data.resultType === 'matrix' ? data.result.length : rows.length;
    clear(output,
      rows.length ? h('div', { class: 'tablewrap' }, h('table', { class: 'result', 'data-rows': String(rows.length) },
        h('thead', null, h('tr', null, h('th', null, 'Series'), h('th', { class: 'num' }, 'Value'))), h('tbody', null, rows)))
        : h('div', { class: 'empty', 'data-rows': '0' }, 'Empty query result'),
      total > MAX_ROWS ? h('p', { class: 'muted small' }, `Showing the first ${MAX_ROWS} of ${total} series.`) : null);
  }

  async function showGraph(data, params) {
    if (data.resultType !== 'matrix') {
      clear(output, h('div', { class: 'empty' }, `The query returned a ${data.resultType}; the graph shows range results.`));
      return;
    }
    if (!data.result.length) { clear(output, h('div', { class: 'empty chart', 'data-series': '0' }, 'Empty query result')); return; }
    const stepMs = Math.round(params.step * 1000);
    const startMs = Math.round(params.start * 1000);
    const count = Math.floor((Math.round(params.end * 1000) - startMs) / stepMs) + 1;
    const xs = Array.from({ length: count }, (_, i) => (startMs + i * stepMs) / 1000);
    const series = data.result.map(s => {
      const values = new Array(count).fill(null);
      const put = (t, v) => {
        const i = Math.round((t * 1000 - startMs) / stepMs);
        if (i >= 0 && i < count && isFinite(v)) values[i] = v;
      };
      for (const [t, v] of s.values || []) put(t, parseFloat(v));
      for (const [t, hv] of s.histograms || []) put(t, parseFloat(hv.count));
      return { label: labelsText(s.metric), values };
    });
    const el = h('div', { class: 'chart' });
    clear(output, el);
    chart = await timeChart(el, {
      xs, series, stacked: st.stacked,
      onZoom: (from, to) => { st.end = to; st.range = Math.max(1000, Math.round((to - from) / 1000) * 1000); run(); buildControls(); },
    });
  }

  const card = h('div', { class: 'card panel', 'data-runs': '0' },
    h('div', { class: 'exprbox' }, exprWrap, execBtn),
    tabs, messages, controls, output);
  const formatBtn = h('button', { class: 'format', title: 'Format the expression (/api/v1/format_query)', onClick: async () => {
    if (!input.value.trim()) return;
    try {
      input.value = (await api('format_query', { query: input.value })).data;
      grow();
      clear(messages);
    } catch (e) { showMessages(e, e.body); }
  } }, 'Format');
  execBtn.before(formatBtn);
  execBtn.after(h('button', { class: 'remove-panel', title: 'Remove this query', 'aria-label': 'Remove this query',
    onClick: hooks.remove }, '×'));
  attachCompletion(input, { onExecute: () => run() });
  showTabs();
  return {
    el: card,
    state: st,
    start(focus) {
      grow();
      if (st.expr) run(); else { if (focus) input.focus(); done(); }
    },
    // The mock's clock was moved: a panel following "now" follows it.
    follow() { if (hasRun && (st.tab === 'graph' ? st.end == null : st.moment == null)) run(); },
    destroy() { if (chart) chart.destroy(); runSeq++; },
  };
}

function histogramText(hv) {
  return hv ? `count=${hv.count} sum=${hv.sum}` : '';
}
