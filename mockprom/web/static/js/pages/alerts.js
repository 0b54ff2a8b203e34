// Alerts, as Prometheus lays them out: alerting rules by group, each with its state, its
// definition and its active alerts (labels, state, active since, value). From /api/v1/rules.
import { h, clear, alertBox, badge, chips, fmtTime, fmtAgo, fmtDuration } from '../dom.js';
import { api } from '../api.js';

const STATES = ['inactive', 'pending', 'firing'];

export function ruleText(rule) {
  const lines = [];
  if (rule.type === 'alerting') lines.push(`alert: ${rule.name}`);
  else lines.push(`record: ${rule.name}`);
  lines.push(`expr: ${rule.query}`);
  if (rule.duration) lines.push(`for: ${fmtDuration(rule.duration * 1000)}`);
  if (rule.keepFiringFor) lines.push(`keep_firing_for: ${fmtDuration(rule.keepFiringFor * 1000)}`);
  for (const key of ['labels', 'annotations']) {
    const m = rule[key] || {};
    const names = Object.keys(m);
    if (names.length) {
      lines.push(`${key}:`);
      for (const n of names.sort()) lines.push(`  ${n}: ${JSON.stringify(m[n])}`);
    }
  }
  return lines.join('\n');
}

export function render(root, ctx) {
  const show = new Set(STATES);
  let groups = [];
  const search = h('input', { type: 'search', placeholder: 'Filter by rule name or labels', size: 34 });
  const boxes = h('span', { class: 'row' });
  const list = h('div', { class: 'stack' });
  search.addEventListener('input', () => draw());

  function counts() {
    const c = { inactive: 0, pending: 0, firing: 0 };
    for (const g of groups) for (const r of g.rules) c[r.state] = (c[r.state] || 0) + 1;
    return c;
  }

  function draw() {
    const c = counts();
    clear(boxes, STATES.map(s => h('label', null,
      h('input', { type: 'checkbox', checked: show.has(s), 'data-state': s,
        onChange: (e) => { if (e.target.checked) show.add(s); else show.delete(s); draw(); } }),
      badge(`${s} (${c[s] || 0})`, s))));
    const needle = search.value.trim().toLowerCase();
    const matches = (r) => !needle || r.name.toLowerCase().includes(needle)
      || JSON.stringify(r.labels || {}).toLowerCase().includes(needle)
      || (r.alerts || []).some(a => JSON.stringify(a.labels).toLowerCase().includes(needle));
    const cards = [];
    for (const g of groups) {
      const rules = g.rules.filter(r => show.has(r.state) && matches(r));
      if (!rules.length) continue;
      cards.push(h('section', { class: 'card group' },
        h('header', null, h('h2', null, g.name), h('span', { class: 'muted small' }, g.file)),
        rules.map(ruleNode)));
    }
    clear(list, cards.length ? cards : h('div', { class: 'card empty' },
      groups.length ? 'No alerting rule matches the filter.' : 'The scenario defines no alerting rules.'));
  }

  function ruleNode(r) {
    const n = (r.alerts || []).length;
    return h('details', { class: `rule ${r.state}`, 'data-rule': r.name, open: r.state !== 'inactive' },
      h('summary', null, h('b', null, r.name), badge(r.state, r.state),
        n ? h('span', { class: 'muted small' }, `${n} active`) : null,
        r.health && r.health !== 'ok' ? badge(r.health, 'err') : null),
      h('div', { class: 'body' },
        h('pre', { class: 'code' }, ruleText(r)),
        r.lastError ? alertBox('error', 'Error:', ` ${r.lastError}`) : null,
        n ? h('table', { class: 'alerts', style: { marginTop: '10px' } },
          h('thead', null, h('tr', null, ['Alert labels', 'State', 'Active since', 'Value'].map(t => h('th', null, t)))),
          h('tbody', null, r.alerts.map(a => h('tr', null,
            h('td', null, chips(a.labels)), h('td', null, badge(a.state, a.state)),
            h('td', { class: 'nowrap' }, a.activeAt ? `${fmtTime(Date.parse(a.activeAt))} (${fmtAgo(Date.parse(a.activeAt), ctx.clock.now())})` : ''),
            h('td', { class: 'mono' }, a.value)))))
          : h('p', { class: 'muted small' }, 'No active alerts.')));
  }

  clear(root, h('h1', null, 'Alerts'),
    h('div', { class: 'toolbar' }, boxes, h('span', { class: 'spacer' }), search), list);

  (async () => {
    try {
      await ctx.clock.ready();
      const d = (await api('rules', { type: 'alert' })).data;
      groups = d.groups.map(g => ({ ...g, rules: g.rules.filter(r => r.type === 'alerting') })).filter(g => g.rules.length);
      draw();
    } catch (e) {
      clear(list, alertBox('error', 'Error loading the alerts:', ` ${e.message}`));
    }
    ctx.ready();
  })();
}
