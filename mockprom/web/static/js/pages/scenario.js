// The scenario: every series family (one entry of `series:`) with its type, how it is
// made, its labels and a small plot of what it holds over the last hours
// (GET /-/mockprom/families); the scenario's YAML (GET /-/mockprom/scenario?format=yaml),
// editable and applied with PUT /-/mockprom/scenario; switch to a library scenario; reset.
import { h, clear, alertBox, badge } from '../dom.js';
import { control } from '../api.js';
import { timeChart, loadUPlot } from '../chart.js';

const PREVIEW_RANGE = '6h';

function generatorText(g) {
  if (!g) return '';
  const { kind, ...rest } = g;
  const parts = Object.entries(rest).map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : v}`);
  return `${kind}${parts.length ? ' ' + parts.join(' ') : ''}`;
}

function howMade(f) {
  if (f.kind === 'generator') return `generator: ${generatorText(f.generator)} every ${f.interval}`;
  if (f.kind === 'notation') return `notation: ${f.values}`;
  return `${f.samples} explicit sample${f.samples === 1 ? '' : 's'}`;
}

export function render(root, ctx) {
  const charts = [];
  const head = h('section', { class: 'card' });
  const grid = h('div', { class: 'grid', id: 'families' });
  const yamlCard = h('section', { class: 'card', id: 'yaml' });
  const msg = h('div');

  let observer = null;
  function drop() {
    if (observer) { observer.disconnect(); observer = null; }
    while (charts.length) charts.pop().destroy();
  }

  const changed = () => window.dispatchEvent(new Event('mockprom:scenario-changed'));

  async function load() {
    drop();
    let d, list;
    try {
      [d, list] = await Promise.all([control.get('families', { range: PREVIEW_RANGE }), control.get('scenarios').catch(() => null)]);
    } catch (e) {
      clear(grid, alertBox('error', 'Error loading the scenario:', ` ${e.message}`));
      ctx.ready();
      return;
    }
    d = d.data;
    drawHead(d, list && list.data);
    const xs = Array.from({ length: d.points }, (_, i) => (d.start + i * d.step) / 1000);
    const cards = d.families.map(f => familyCard(f));
    clear(grid, cards.length ? cards : h('div', { class: 'empty' }, 'The scenario has no series.'));
    // Plot the previews as their cards scroll into view; the first batch is the page's data.
    const todo = new Map(cards.map((c, i) => [c.querySelector('.spark'), d.families[i]]));
    const draw = (el, f) => {
      if (!f.preview.length) { el.append(h('div', { class: 'muted small' }, f.preview_error || 'no series')); return null; }
      return timeChart(el, { xs, compact: true, height: 90,
        series: f.preview.map(p => ({ label: JSON.stringify(p.labels), values: p.values })) })
        .then(c => charts.push(c)).catch(() => {});
    };
    await new Promise((resolve) => {
      let first = true;
      observer = new IntersectionObserver((seen) => {
        const drawn = [];
        for (const e of seen) {
          if (!e.isIntersecting || !todo.has(e.target)) continue;
          drawn.push(draw(e.target, todo.get(e.target)));
          todo.delete(e.target);
          observer.unobserve(e.target);
        }
        if (first) { first = false; Promise.all(drawn).then(resolve); }
      }, { rootMargin: '200px' });
      for (const el of todo.keys()) observer.observe(el);
      if (!todo.size) resolve();
    });
    ctx.ready();
    loadYaml();
  }

  function drawHead(d, library) {
    const pick = library && library.available && library.available.length
      ? h('select', { 'aria-label': 'Library scenario' }, library.available.map(n => h('option', { value: n, selected: n === library.current }, n)))
      : null;
    clear(head,
      h('header', null,
        h('h1', { style: { margin: 0 } }, 'Scenario ', h('span', { class: 'mono', id: 'scenario-name' }, d.name)),
        badge(`${d.families.length} families`, 'plain'), badge(`${d.total_series} series`, 'plain'),
        h('span', { class: 'spacer' }),
        pick, pick ? h('button', { class: 'mockbtn', onClick: () => switchTo(pick.value) }, 'Load') : null,
        h('button', { class: 'danger', title: 'Rebuild from the scenario: ingested data, deletes, clock changes, added faults and the journal are dropped',
          onClick: reset }, 'Reset')),
      h('p', { class: 'muted small', style: { margin: 0 } },
        `Previews: the last ${PREVIEW_RANGE} up to the mock's now, as an instant query sees each series (histograms and summaries show their _count).`),
      msg);
  }

  function familyCard(f) {
    const expr = f.metric;
    const labels = Object.entries(f.labels);
    return h('article', { class: 'card family', 'data-metric': f.metric },
      h('header', null,
        h('a', { class: 'name', href: `/query?${new URLSearchParams({ 'g0.expr': expr, 'g0.tab': 'graph' })}` }, f.metric),
        badge(f.type, 'info'), badge(`${f.series} series`, 'plain')),
      f.help ? h('div', { class: 'help' }, f.help) : null,
      h('div', { class: 'gen' }, howMade(f)),
      h('div', { class: 'spark chart' }),
      labels.length ? h('dl', null, labels.map(([k, vs]) => [h('dt', null, k), h('dd', null, vs.join(', '))])) : null);
  }

  async function loadYaml() {
    try {
      showYaml(await control.text('scenario', { format: 'yaml' }));
    } catch (e) {
      clear(yamlCard, alertBox('error', 'Error loading the YAML:', ` ${e.message}`));
    }
  }

  function showYaml(text) {
    clear(yamlCard,
      h('header', null, h('h2', null, 'YAML'), h('span', { class: 'muted small' }, 'as loaded (secrets redacted)'),
        h('span', { class: 'spacer' }), h('button', { onClick: () => edit(text) }, 'Edit')),
      h('pre', { class: 'code' }, text));
  }

  function edit(text) {
    const area = h('textarea', { class: 'code', spellcheck: 'false' });
    area.value = text;
    const problems = h('div');
    clear(yamlCard,
      h('header', null, h('h2', null, 'Edit the scenario'), h('span', { class: 'spacer' }),
        h('button', { onClick: () => showYaml(text) }, 'Cancel'),
        h('button', { class: 'mockbtn', onClick: async () => {
          try {
            await control.put('scenario', area.value, 'application/yaml');
            clear(msg, alertBox('info', 'Applied:', ' the new scenario is loaded.'));
            changed();
            await ctx.clock.refresh();
            load();
          } catch (e) {
            const list = (e.body && e.body.data && e.body.data.problems) || [e.message];
            clear(problems, alertBox('error', 'Refused (the old scenario stays):', '\n' + list.join('\n')));
          }
        } }, 'Apply')),
      problems, area);
  }

  async function switchTo(name) {
    try {
      await control.put('scenario', '', 'application/json', { name });
      clear(msg, alertBox('info', 'Loaded:', ` ${name}`));
      changed();
      await ctx.clock.refresh();
      load();
    } catch (e) { clear(msg, alertBox('error', 'Error:', ` ${e.message}`)); }
  }

  async function reset() {
    if (!confirm('Reset the mock: rebuild from the scenario and drop ingested data, deletes, clock changes, added faults and the request journal?')) return;
    try {
      await control.post('reset');
      clear(msg, alertBox('info', 'Reset:', ' rebuilt from the scenario.'));
      await ctx.clock.refresh();
      load();
    } catch (e) { clear(msg, alertBox('error', 'Error:', ` ${e.message}`)); }
  }

  clear(root, head, grid, yamlCard);
  clear(head, h('h1', { style: { margin: 0 } }, 'Scenario'));
  loadUPlot().catch(() => {});
  load();
  return drop;
}
