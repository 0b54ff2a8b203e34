// Target health, as Prometheus lays it out: targets by scrape pool with their endpoint,
// labels, last scrape, scrape duration, state and error. From /api/v1/targets.
import { h, clear, alertBox, badge, chips, fmtAgo, fmtSeconds } from '../dom.js';
import { api } from '../api.js';

export function render(root, ctx) {
  let targets = [], dropped = 0;
  let unhealthyOnly = false;
  const search = h('input', { type: 'search', placeholder: 'Filter by endpoint or labels', size: 34 });
  const health = h('span', { class: 'seg' });
  const list = h('div', { class: 'stack' });
  const note = h('p', { class: 'muted small' });
  search.addEventListener('input', () => draw());

  function draw() {
    clear(health,
      h('button', { class: unhealthyOnly ? '' : 'on', onClick: () => { unhealthyOnly = false; draw(); } }, 'All'),
      h('button', { class: unhealthyOnly ? 'on' : '', onClick: () => { unhealthyOnly = true; draw(); } }, 'Unhealthy'));
    const needle = search.value.trim().toLowerCase();
    const pools = new Map();
    for (const t of targets) {
      if (!pools.has(t.scrapePool)) pools.set(t.scrapePool, []);
      pools.get(t.scrapePool).push(t);
    }
    const now = ctx.clock.now();
    const cards = [];
    for (const [pool, all] of [...pools].sort((a, b) => a[0].localeCompare(b[0]))) {
      const up = all.filter(t => t.health === 'up').length;
      const shown = all.filter(t => (!unhealthyOnly || t.health !== 'up')
        && (!needle || t.scrapeUrl.toLowerCase().includes(needle) || JSON.stringify(t.labels).toLowerCase().includes(needle)));
      if (!shown.length) continue;
      cards.push(h('section', { class: 'card', 'data-pool': pool },
        h('header', null, h('h2', null, pool), badge(`${up} / ${all.length} up`, up === all.length ? 'up' : 'down'),
          h('span', { class: 'health', title: `${up} of ${all.length} up` }, h('div', { style: { width: `${(100 * up) / all.length}%` } }))),
        h('table', null,
          h('thead', null, h('tr', null, ['Endpoint', 'Labels', 'Last scrape', 'Duration', 'State', 'Error'].map(t => h('th', null, t)))),
          h('tbody', null, shown.map(t => h('tr', { 'data-health': t.health },
            h('td', { class: 'mono small' }, t.scrapeUrl),
            h('td', null, chips(t.labels)),
            h('td', { class: 'nowrap small' }, t.lastScrape ? fmtAgo(Date.parse(t.lastScrape), now) : ''),
            h('td', { class: 'nowrap small' }, fmtSeconds(t.lastScrapeDuration)),
            h('td', null, badge(t.health, t.health)),
            h('td', { class: 'small' }, t.lastError || '')))))));
    }
    clear(list, cards.length ? cards : h('div', { class: 'card empty' },
      targets.length ? 'No target matches the filter.' : 'No targets: the scenario has no series with job and instance labels.'));
    note.textContent = dropped ? `${dropped} dropped target${dropped === 1 ? '' : 's'} (relabelled away).` : '';
  }

  clear(root, h('h1', null, 'Targets'),
    h('div', { class: 'toolbar' }, health, h('span', { class: 'spacer' }), search), list, note);
  (async () => {
    try {
      await ctx.clock.ready();
      const d = (await api('targets')).data;
      targets = d.activeTargets || [];
      dropped = (d.droppedTargets || []).length;
      draw();
    } catch (e) {
      clear(list, alertBox('error', 'Error loading the targets:', ` ${e.message}`));
    }
    ctx.ready();
  })();
}
