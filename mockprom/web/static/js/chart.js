// Time-series charts with uPlot (vendor/uPlot.iife.min.js, MIT), loaded on first use.
import { fmtNumber, fmtTime } from './dom.js';

const VENDOR = new URL('../vendor/', import.meta.url);
let loading = null;

export function loadUPlot() {
  if (window.uPlot) return Promise.resolve(window.uPlot);
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      const css = document.createElement('link');
      css.rel = 'stylesheet';
      css.href = new URL('uPlot.min.css', VENDOR).href;
      document.head.append(css);
      const script = document.createElement('script');
      script.src = new URL('uPlot.iife.min.js', VENDOR).href;
      script.onload = () => resolve(window.uPlot);
      script.onerror = () => { loading = null; reject(new Error('could not load the chart library')); };
      document.head.append(script);
    });
  }
  return loading;
}

const PALETTE = ['#1f77b4', '#e6522c', '#2ca02c', '#9467bd', '#d62728', '#17becf', '#8c564b', '#e377c2',
  '#bcbd22', '#7f7f7f', '#3b5bdb', '#f08c00', '#0ca678', '#ae3ec9', '#c2255c', '#1098ad', '#5c940d',
  '#a61e4d', '#364fc7', '#d9480f'];

export function color(i) { return PALETTE[i % PALETTE.length]; }

// Cumulative sums across series (a gap stays a gap and adds nothing).
function stack(columns) {
  const acc = new Array(columns.length ? columns[0].length : 0).fill(0);
  return columns.map(vals => vals.map((v, i) => (v == null ? null : (acc[i] += v))));
}

// Time ticks in UTC, 24-hour: seconds when ticks are under a minute apart, the date where
// the day changes (and on the first tick), the date alone for ticks days apart.
function timeTicks(u, splits, axisIdx, space, incr) {
  let lastDay = null;
  return splits.map((ts) => {
    const iso = new Date(ts * 1000).toISOString();
    const day = iso.slice(5, 10);
    if (incr >= 86400) return day;
    const clock = iso.slice(11, incr < 60 ? 19 : 16);
    const label = day !== lastDay ? `${clock}\n${day}` : clock;
    lastDay = day;
    return label;
  });
}

const AXIS = { stroke: '#667085', grid: { stroke: '#eef0f3', width: 1 }, ticks: { stroke: '#dfe3e8', width: 1 } };

// A chart of series over time in `el`: xs in seconds, series [{label, values}] (null:
// no value). onZoom(fromMs, toMs) is called for a dragged selection. Returns {destroy}.
export async function timeChart(el, { xs, series, stacked = false, height = 360, onZoom = null, compact = false }) {
  const uPlot = await loadUPlot();
  const columns = series.map(s => s.values);
  const shown = stacked ? stack(columns) : columns;
  const raw = (si, idx) => (idx == null ? null : columns[si - 1][idx]);
  const opts = {
    width: Math.max(el.clientWidth, 200),
    height,
    tzDate: ts => uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC'),
    scales: { x: { time: true } },
    series: [
      { label: 'Time (UTC)', value: (u, v) => (v == null ? '' : fmtTime(v * 1000)) },
      ...series.map((s, i) => ({
        label: s.label,
        stroke: color(i),
        width: compact ? 1.25 : 1.5,
        fill: stacked ? color(i) + '66' : undefined,
        points: { show: xs.length <= 2 },
        value: (u, v, si, idx) => { const r = raw(si, idx); return r == null ? '—' : String(r); },
      })),
    ],
    axes: compact
      ? [{ show: false }, { ...AXIS, size: 46, font: '10px system-ui, sans-serif', ticks: { show: false },
        values: (u, vals) => vals.map(fmtNumber) }]
      : [{ ...AXIS, values: timeTicks }, { ...AXIS, size: 64, values: (u, vals) => vals.map(fmtNumber) }],
    legend: { show: !compact, live: true },
    cursor: compact ? { drag: { x: false, y: false }, points: { show: false } }
      : { drag: { x: true, y: false, setScale: false } },
    hooks: {
      setSelect: [u => {
        if (!onZoom || u.select.width < 3) return;
        const from = u.posToVal(u.select.left, 'x');
        const to = u.posToVal(u.select.left + u.select.width, 'x');
        u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
        onZoom(Math.round(from * 1000), Math.round(to * 1000));
      }],
    },
  };
  if (stacked) opts.bands = shown.slice(1).map((_, i) => ({ series: [i + 2, i + 1] }));
  el.replaceChildren();
  const plot = new uPlot(opts, [xs, ...shown], el);
  const resize = new ResizeObserver(() => {
    const w = Math.max(el.clientWidth, 200);
    if (w !== plot.width) plot.setSize({ width: w, height });
  });
  resize.observe(el);
  el.dataset.series = String(series.length);
  el.dataset.points = String(xs.length);
  let ymax = -Infinity;
  for (const col of shown) for (const v of col) if (v != null && v > ymax) ymax = v;
  el.dataset.ymax = String(ymax);
  if (xs.length) { el.dataset.start = String(xs[0] * 1000); el.dataset.end = String(xs[xs.length - 1] * 1000); }
  return { plot, destroy() { resize.disconnect(); plot.destroy(); } };
}
