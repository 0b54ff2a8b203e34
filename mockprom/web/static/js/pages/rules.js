// Rule health, as Prometheus lays it out: each rule group with its interval and last
// evaluation, each rule with its health, error, last evaluation and evaluation time.
import { h, clear, alertBox, badge, fmtAgo, fmtSeconds, fmtDuration } from '../dom.js';
import { api } from '../api.js';
import { ruleText } from './alerts.js';

export function render(root, ctx) {
  const list = h('div', { class: 'stack' });
  clear(root, h('h1', null, 'Rules'), list);
  (async () => {
    try {
      await ctx.clock.ready();
      const groups = (await api('rules')).data.groups;
      const now = ctx.clock.now();
      clear(list, groups.length ? groups.map(g => h('section', { class: 'card group', 'data-group': g.name },
        h('header', null, h('h2', null, g.name), h('span', { class: 'muted small' }, g.file),
          h('span', { class: 'spacer' }),
          h('span', { class: 'muted small' }, `interval ${fmtDuration((g.interval || 0) * 1000)} · last evaluation ${fmtAgo(Date.parse(g.lastEvaluation), now)} · took ${fmtSeconds(g.evaluationTime)}`)),
        h('table', null,
          h('thead', null, h('tr', null, ['Rule', 'State', 'Error', 'Last evaluation', 'Evaluation time'].map(t => h('th', null, t)))),
          h('tbody', null, g.rules.map(r => h('tr', null,
            h('td', null, h('pre', { class: 'code', style: { border: 0, padding: '4px 6px' } }, ruleText(r))),
            h('td', null, badge(r.health, r.health === 'ok' ? 'ok' : r.health === 'err' ? 'err' : 'unknown')),
            h('td', { class: 'small' }, r.lastError || ''),
            h('td', { class: 'nowrap small' }, r.lastEvaluation ? fmtAgo(Date.parse(r.lastEvaluation), now) : 'never'),
            h('td', { class: 'nowrap small' }, fmtSeconds(r.evaluationTime))))))))
        : h('div', { class: 'card empty' }, 'The scenario defines no rules.'));
    } catch (e) {
      clear(list, alertBox('error', 'Error loading the rules:', ` ${e.message}`));
    }
    ctx.ready();
  })();
}
