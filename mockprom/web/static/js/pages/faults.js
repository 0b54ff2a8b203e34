// Faults and timeline: the fault rules (GET /-/mockprom/faults) with what they match, do
// and how often they matched and fired; where the timeline is (GET /-/mockprom/timeline);
// add a rule from a form or pasted YAML/JSON (POST), remove one or all (DELETE).
import { h, clear, alertBox, badge, fmtDuration } from '../dom.js';
import { control, ENDPOINTS } from '../api.js';

const POLL_MS = 2000;
const ERRORS = ['bad_data', 'execution', 'timeout', 'canceled', 'unavailable', 'internal', 'too_many_requests', 'inconsistent'];
const TRANSPORTS = ['reset', 'empty', 'malformed', 'truncate', 'hang'];
const EXAMPLE = `# a rule as in a scenario's faults: list (YAML or JSON; a list adds several)
name: flaky-range
match: {endpoint: query_range}
error: unavailable
times: 2`;

// active (fires on a match), used up (its `times` are spent) or inactive (another
// timeline step's)
function ruleState(r) {
  if (!r.active) return badge('inactive', '');
  if (r.rule.times != null && r.hits >= r.rule.times) return badge('used up', 'warn');
  return badge('active', 'firing');
}

function summary(obj, keys) {
  return keys.filter(k => obj[k] != null).map(k => `${k}: ${typeof obj[k] === 'object' ? JSON.stringify(obj[k]) : obj[k]}`).join(', ');
}

let yamlLoading = null;
function loadYaml() {
  if (window.jsyaml) return Promise.resolve(window.jsyaml);
  if (!yamlLoading) {
    yamlLoading = new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = new URL('../../vendor/js-yaml.min.js', import.meta.url).href;
      s.onload = () => resolve(window.jsyaml);
      s.onerror = () => { yamlLoading = null; reject(new Error('could not load the YAML reader')); };
      document.head.append(s);
    });
  }
  return yamlLoading;
}

export function render(root, ctx) {
  let stopped = false, timer = null, last = null;
  const timelineCard = h('section', { class: 'card', id: 'timeline' });
  const rulesCard = h('section', { class: 'card', id: 'rules' });
  const addMsg = h('div');

  async function refresh() {
    let rules, tl;
    try {
      [rules, tl] = await Promise.all([control.get('faults'), control.get('timeline')]);
    } catch (e) {
      clear(rulesCard, alertBox('error', 'Error loading the fault rules:', ` ${e.message}`));
      last = null;
      return;
    }
    const seen = JSON.stringify([rules, tl]);
    if (seen === last) return;  // redraw only when something changed
    last = seen;
    drawRules(rules);
    drawTimeline(tl, rules);
  }

  function drawRules(rules) {
    clear(rulesCard,
      h('header', null, h('h2', null, 'Fault rules'), badge(`${rules.length}`, 'plain'), h('span', { class: 'spacer' }),
        rules.length ? h('button', { class: 'danger', onClick: removeAll }, 'Remove all') : null),
      rules.length ? h('div', { class: 'tablewrap' }, h('table', { class: 'faults' },
        h('thead', null, h('tr', null, ['ID', 'Name', 'Source', 'Match', 'Effect', 'Trigger', 'Matched', 'Fired', 'State', '']
          .map((t, i) => h('th', { class: i === 6 || i === 7 ? 'num' : '' }, t)))),
        h('tbody', null, rules.map(r => h('tr', { 'data-id': r.id },
          h('td', { class: 'mono' }, r.id),
          h('td', null, r.name || h('span', { class: 'muted' }, '—')),
          h('td', null, badge(r.source, 'plain')),
          h('td', { class: 'mono small' }, r.rule.match ? summary(r.rule.match, Object.keys(r.rule.match)) : 'every request'),
          h('td', { class: 'mono small' }, summary(r.rule, ['error', 'status', 'message', 'latency', 'dribble', 'warnings', 'infos', 'drop_series', 'transport', 'retry_after'])),
          h('td', { class: 'mono small' }, summary(r.rule, ['times', 'after', 'every', 'probability', 'window']) || 'always'),
          h('td', { class: 'num matched' }, String(r.matched)),
          h('td', { class: 'num hits' }, String(r.hits)),
          h('td', null, ruleState(r)),
          h('td', null, r.source === 'timeline' ? null : h('button', { class: 'danger', onClick: () => remove(r.id) }, 'Remove')))))))
        : h('p', { class: 'empty' }, 'No fault rules: every request is answered normally.'));
  }

  function drawTimeline(tl, rules) {
    const label = Object.fromEntries(rules.map(r => [r.id, r.name || r.id]));
    if (!tl.steps || !tl.steps.length) {
      clear(timelineCard, h('header', null, h('h2', null, 'Timeline')), h('p', { class: 'muted' }, 'The scenario has no timeline.'));
      return;
    }
    clear(timelineCard,
      h('header', null, h('h2', null, 'Timeline'),
        badge(tl.step < 0 ? 'before the first step' : `step ${tl.step}`, 'mock'),
        h('span', { class: 'muted small' }, `${tl.requests_in_step} request${tl.requests_in_step === 1 ? '' : 's'} in this step`)),
      h('table', null,
        h('thead', null, h('tr', null, ['Step', 'Name', 'When', 'Faults'].map(t => h('th', null, t)))),
        h('tbody', null, tl.steps.map(s => h('tr', { class: s.index === tl.step ? 'faulted' : '', 'data-step': String(s.index) },
          h('td', null, s.index === tl.step ? h('b', null, `▶ ${s.index}`) : String(s.index)),
          h('td', null, s.name || ''),
          h('td', { class: 'mono small' }, s.at_ms != null ? `at +${fmtDuration(s.at_ms)}` : s.at_time_ms != null
            ? `at ${new Date(s.at_time_ms).toISOString()}` : `after ${s.after_requests} requests`),
          h('td', { class: 'mono small' }, s.faults.length ? s.faults.map(id => label[id] || id).join(', ') : 'healthy'))))));
  }

  async function add(doc) {
    try {
      const r = await control.post('faults', doc);
      clear(addMsg, alertBox('info', 'Added:', ` rule ${r.ids ? r.ids.join(', ') : r.id}`));
      await refresh();
      return true;
    } catch (e) {
      const problems = (e.body && e.body.problems) || [];
      clear(addMsg, alertBox('error', 'Refused:', ` ${problems.length ? problems.join('\n') : e.message}`));
      return false;
    }
  }

  async function remove(id) {
    try { await control.del(`faults/${encodeURIComponent(id)}`); } catch (e) { clear(addMsg, alertBox('error', 'Error:', ` ${e.message}`)); }
    refresh();
  }

  async function removeAll() {
    try { await control.del('faults'); } catch (e) { clear(addMsg, alertBox('error', 'Error:', ` ${e.message}`)); }
    refresh();
  }

  // -- the form -----------------------------------------------------------------------
  const f = {
    name: h('input', { name: 'name', placeholder: 'optional', size: 16 }),
    endpoint: h('select', { name: 'endpoint' }, h('option', { value: '' }, 'any'), ENDPOINTS.map(e => h('option', { value: e }, e))),
    method: h('select', { name: 'method' }, ['', 'GET', 'POST'].map(m => h('option', { value: m }, m || 'any'))),
    expr: h('input', { name: 'expr', placeholder: 'regex, e.g. rate\\(', size: 18 }),
    metric: h('input', { name: 'metric', placeholder: 'e.g. up', size: 16 }),
    error: h('select', { name: 'error' }, h('option', { value: '' }, 'none'), ERRORS.map(e => h('option', { value: e }, e))),
    status: h('input', { name: 'status', type: 'number', min: 100, max: 599, placeholder: 'default', size: 6 }),
    message: h('input', { name: 'message', placeholder: 'default', size: 22 }),
    latency: h('input', { name: 'latency', placeholder: 'e.g. 2s', size: 8 }),
    transport: h('select', { name: 'transport' }, h('option', { value: '' }, 'none'), TRANSPORTS.map(t => h('option', { value: t }, t))),
    warnings: h('input', { name: 'warnings', placeholder: 'a warning to add', size: 22 }),
    times: h('input', { name: 'times', type: 'number', min: 1, placeholder: 'always', size: 6 }),
    after: h('input', { name: 'after', type: 'number', min: 0, size: 6 }),
    every: h('input', { name: 'every', type: 'number', min: 1, size: 6 }),
    probability: h('input', { name: 'probability', type: 'number', min: 0, max: 1, step: 0.05, size: 6 }),
  };
  const field = (label, el) => h('label', { class: 'field' }, label, el);

  function formRule() {
    const rule = {};
    const match = {};
    if (f.name.value.trim()) rule.name = f.name.value.trim();
    if (f.endpoint.value) match.endpoint = f.endpoint.value;
    if (f.method.value) match.method = f.method.value;
    if (f.expr.value.trim()) match.expr = f.expr.value.trim();
    if (f.metric.value.trim()) match.metric = f.metric.value.trim();
    if (Object.keys(match).length) rule.match = match;
    if (f.error.value) rule.error = f.error.value;
    if (f.status.value) rule.status = Number(f.status.value);
    if (f.message.value.trim()) rule.message = f.message.value.trim();
    if (f.latency.value.trim()) rule.latency = f.latency.value.trim();
    if (f.transport.value) rule.transport = f.transport.value;
    if (f.warnings.value.trim()) rule.warnings = [f.warnings.value.trim()];
    for (const k of ['times', 'after', 'every']) if (f[k].value !== '') rule[k] = Number(f[k].value);
    if (f.probability.value !== '') rule.probability = Number(f.probability.value);
    return rule;
  }

  const form = h('form', { class: 'stack', id: 'fault-form', onSubmit: async (e) => {
    e.preventDefault();
    if (await add(formRule())) form.reset();
  } },
  h('div', { class: 'row' }, h('b', { class: 'small' }, 'Match'), field('Endpoint', f.endpoint), field('Method', f.method),
    field('PromQL regex', f.expr), field('Metric', f.metric)),
  h('div', { class: 'row' }, h('b', { class: 'small' }, 'Effect'), field('Error', f.error), field('Status', f.status),
    field('Message', f.message), field('Latency', f.latency), field('Transport', f.transport), field('Warning', f.warnings)),
  h('div', { class: 'row' }, h('b', { class: 'small' }, 'Trigger'), field('Times', f.times), field('After', f.after),
    field('Every', f.every), field('Probability', f.probability), field('Name', f.name)),
  h('div', { class: 'row' }, h('button', { class: 'mockbtn', type: 'submit' }, 'Add rule')));

  const paste = h('textarea', { class: 'paste', rows: 9, spellcheck: 'false', placeholder: EXAMPLE, 'aria-label': 'Fault rule as YAML or JSON' });
  const pasteBtn = h('button', { class: 'mockbtn', onClick: async () => {
    const text = paste.value.trim();
    if (!text) return;
    let doc;
    try {
      doc = /^[[{]/.test(text) ? JSON.parse(text) : (await loadYaml()).load(text);
    } catch (e) {
      clear(addMsg, alertBox('error', 'Cannot read the rule:', ` ${e.message}`));
      return;
    }
    if (await add(doc)) paste.value = '';
  } }, 'Add from YAML/JSON');

  clear(root, h('h1', null, 'Faults & timeline'), timelineCard, rulesCard,
    h('section', { class: 'card' }, h('header', null, h('h2', null, 'Add a rule')), addMsg,
      h('div', { class: 'grid', style: { gridTemplateColumns: 'minmax(0, 3fr) minmax(0, 2fr)' } },
        form, h('div', { class: 'stack' }, paste, h('div', null, pasteBtn)))));

  async function loop() {
    if (stopped) return;
    await refresh();
    if (!stopped) timer = setTimeout(loop, POLL_MS);
  }
  refresh().then(() => { ctx.ready(); timer = setTimeout(loop, POLL_MS); });
  return () => { stopped = true; clearTimeout(timer); };
}
