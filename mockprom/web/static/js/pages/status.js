// Status pages, as Prometheus lays them out: runtime & build information, TSDB status,
// command-line flags, configuration. Each reads its /api/v1/status/* endpoint.
import { h, clear, alertBox, fmtTime } from '../dom.js';
import { api } from '../api.js';

const RUNTIME = [
  ['startTime', 'Start time', v => fmtTime(Date.parse(v))],
  ['CWD', 'Working directory'],
  ['reloadConfigSuccess', 'Configuration reload', v => (v ? 'Successful' : 'Unsuccessful')],
  ['lastConfigTime', 'Last successful configuration reload', v => fmtTime(Date.parse(v))],
  ['corruptionCount', 'WAL corruptions'],
  ['goroutineCount', 'Goroutines'],
  ['GOMAXPROCS', 'GOMAXPROCS'],
  ['GOMEMLIMIT', 'GOMEMLIMIT'],
  ['GOGC', 'GOGC'],
  ['GODEBUG', 'GODEBUG'],
  ['storageRetention', 'Storage retention'],
];
const BUILD = [['version', 'Version'], ['revision', 'Revision'], ['branch', 'Branch'], ['buildUser', 'Build user'],
  ['buildDate', 'Build date'], ['goVersion', 'Go version']];

function kvTable(rows) {
  return h('table', { class: 'kv' }, h('tbody', null, rows.map(([k, v]) => h('tr', null, h('th', null, k), h('td', { class: 'mono' }, String(v))))));
}

// Load `paths` from the API, then draw(datas) into the page; errors shown in its dialect.
function page(root, ctx, title, paths, draw) {
  const body = h('div', { class: 'stack' });
  clear(root, h('h1', null, title), body);
  (async () => {
    try {
      const docs = await Promise.all(paths.map(p => api(p)));
      clear(body, draw(...docs.map(d => d.data)));
    } catch (e) {
      clear(body, alertBox('error', 'Error loading the status:', ` ${e.message}`));
    }
    ctx.ready();
  })();
}

export function runtime(root, ctx) {
  page(root, ctx, 'Runtime & build information', ['status/runtimeinfo', 'status/buildinfo'], (rt, build) => [
    h('section', { class: 'card' }, h('header', null, h('h2', null, 'Runtime information')),
      kvTable(RUNTIME.filter(([k]) => k in rt).map(([k, label, f]) => [label, f ? f(rt[k]) : rt[k]]))),
    h('section', { class: 'card' }, h('header', null, h('h2', null, 'Build information')),
      kvTable(BUILD.filter(([k]) => k in build).map(([k, label]) => [label, build[k]]))),
  ]);
}

export function tsdb(root, ctx) {
  page(root, ctx, 'TSDB status', ['status/tsdb'], (d) => {
    const hs = d.headStats || {};
    const top = (title, rows, col) => h('section', { class: 'card' }, h('header', null, h('h2', null, title)),
      h('table', null, h('thead', null, h('tr', null, h('th', null, 'Name'), h('th', { class: 'num' }, col))),
        h('tbody', null, (rows || []).map(r => h('tr', null, h('td', { class: 'mono' }, r.name), h('td', { class: 'num' }, String(r.value)))))));
    return [
      h('section', { class: 'card' }, h('header', null, h('h2', null, 'Head block stats')),
        kvTable([['Number of series', hs.numSeries], ['Number of chunks', hs.chunkCount],
          ['Number of label pairs', hs.numLabelPairs], ['Current min time', `${fmtTime(hs.minTime)} (${hs.minTime})`],
          ['Current max time', `${fmtTime(hs.maxTime)} (${hs.maxTime})`]])),
      h('div', { class: 'grid two' },
        top('Top 10 series count by metric names', d.seriesCountByMetricName, 'Count'),
        top('Top 10 label names with value count', d.labelValueCountByLabelName, 'Count'),
        top('Top 10 label names with high memory usage', d.memoryInBytesByLabelName, 'Bytes'),
        top('Top 10 series count by label value pairs', d.seriesCountByLabelValuePair, 'Count')),
    ];
  });
}

export function flags(root, ctx) {
  page(root, ctx, 'Command-line flags', ['status/flags'], (d) => {
    const filter = h('input', { type: 'search', placeholder: 'Filter by flag name or value', size: 34 });
    const rows = Object.keys(d).sort().map(k => h('tr', { 'data-flag': k }, h('td', { class: 'mono' }, `--${k}`), h('td', { class: 'mono' }, d[k])));
    filter.addEventListener('input', () => {
      const n = filter.value.trim().toLowerCase();
      for (const r of rows) r.hidden = !!n && !r.textContent.toLowerCase().includes(n);
    });
    return h('section', { class: 'card' }, h('div', { class: 'toolbar' }, filter),
      h('table', null, h('thead', null, h('tr', null, h('th', null, 'Flag'), h('th', null, 'Value'))), h('tbody', null, rows)));
  });
}

export function config(root, ctx) {
  page(root, ctx, 'Configuration', ['status/config'], (d) => {
    const copy = h('button', { onClick: async () => {
      try { await navigator.clipboard.writeText(d.yaml); copy.textContent = 'Copied'; } catch { copy.textContent = 'Copy failed'; }
    } }, 'Copy to clipboard');
    return h('section', { class: 'card' }, h('header', null, h('span', { class: 'spacer' }), copy),
      h('pre', { class: 'code config', style: { maxHeight: 'none' } }, d.yaml));
  });
}
