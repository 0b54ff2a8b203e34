// The console's frame: header (navigation, mock clock, version, credentials) and a router
// that renders one page module at a time. Pages export render functions
// `(root, ctx) => cleanup`; they load their own data and call ctx.ready() once it shows.
import { h, clear, fmtTime } from './dom.js';
import { api, credentials, saveCredentials } from './api.js';
import { clock } from './clock.js';

const page = (title, load, fn = 'render', nav) => ({ title, load, fn, nav });
const queryPage = () => import('./pages/query.js');
const statusPage = () => import('./pages/status.js');
const PAGES = {
  '/query': page('Query', queryPage),
  '/graph': page('Query', queryPage, 'render', '/query'),
  '/alerts': page('Alerts', () => import('./pages/alerts.js')),
  '/rules': page('Rules', () => import('./pages/rules.js')),
  '/targets': page('Targets', () => import('./pages/targets.js')),
  '/status': page('Runtime & build information', statusPage, 'runtime'),
  '/tsdb-status': page('TSDB status', statusPage, 'tsdb'),
  '/flags': page('Command-line flags', statusPage, 'flags'),
  '/config': page('Configuration', statusPage, 'config'),
  '/mockprom/scenario': page('Scenario', () => import('./pages/scenario.js')),
  '/mockprom/requests': page('Requests', () => import('./pages/journal.js')),
  '/mockprom/faults': page('Faults & timeline', () => import('./pages/faults.js')),
  '/mockprom/clock': page('Clock', () => import('./pages/clock.js')),
};
const STATUS_MENU = ['/status', '/tsdb-status', '/flags', '/config'];
const PROM_NAV = [['/query', 'Query'], ['/alerts', 'Alerts'], ['/rules', 'Rules'], ['/targets', 'Targets']];
const MOCK_NAV = [['/mockprom/scenario', 'Scenario'], ['/mockprom/requests', 'Requests'],
  ['/mockprom/faults', 'Faults'], ['/mockprom/clock', 'Clock']];

let cleanup = null;
let renderSeq = 0;
let dataMarked = false;

// -- header -----------------------------------------------------------------------------

function navLink(path, label) {
  return h('a', { href: path, 'data-path': path }, label);
}

function keyIcon() {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', '17');
  svg.setAttribute('height', '17');
  svg.innerHTML = '<circle cx="8" cy="12" r="4" fill="none" stroke="currentColor" stroke-width="2"/>'
    + '<path d="M12 12h9M18 12v3M21 12v2" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round"/>';
  return svg;
}

function buildHeader() {
  const top = document.getElementById('top');
  const status = h('details', { class: 'status-menu' },
    h('summary', null, 'Status'),
    h('div', { class: 'menu' }, STATUS_MENU.map(p => navLink(p, PAGES[p].title))));
  const clockBtn = h('button', { class: 'clock', id: 'clockbtn', title: 'The mock\'s clock (click to move it)',
    onClick: toggleClockPopover });
  clear(top,
    h('a', { class: 'brand', href: '/query' }, h('img', { src: document.querySelector('link[rel=icon]').href, alt: '' }), 'mockprom'),
    h('nav', null, PROM_NAV.map(([p, l]) => navLink(p, l)), status),
    h('span', { class: 'sep' }),
    h('span', { class: 'tag' }, 'mock'),
    h('nav', { class: 'mock' }, MOCK_NAV.map(([p, l]) => navLink(p, l))),
    h('div', { class: 'right' },
      clockBtn,
      h('span', { class: 'version', id: 'version' }),
      h('button', { class: 'iconbtn', title: 'Credentials', 'aria-label': 'Credentials', onClick: () => { dismissed = false; openCredentials(); } }, keyIcon())));
  // close the Status menu after a choice or a click elsewhere
  document.addEventListener('click', (e) => {
    if (!status.contains(e.target)) status.open = false;
    const pop = document.getElementById('clockpop');
    if (pop && !pop.contains(e.target) && e.target !== clockBtn) pop.remove();
  });
}

function markNav(path) {
  const current = (PAGES[path] && PAGES[path].nav) || path;
  for (const a of document.querySelectorAll('#top a[data-path]')) a.classList.toggle('active', a.dataset.path === current);
  document.querySelector('#top .status-menu').classList.toggle('active', STATUS_MENU.includes(current));
}

function showClock() {
  const btn = document.getElementById('clockbtn');
  if (!btn) return;
  const err = clock.error();
  const mode = clock.mode();
  clear(btn, clock.known() ? fmtTime(clock.now()) + ' UTC' : 'clock…',
    h('span', { class: 'mode' }, mode === 'fixed' ? 'fixed' : mode === 'real' ? 'live' : err ? 'no access' : ''));
  btn.classList.toggle('error', !!err && mode !== 'real' && mode !== 'fixed');
}

function toggleClockPopover() {
  const old = document.getElementById('clockpop');
  if (old) { old.remove(); return; }
  const msg = h('div', { class: 'small muted' });
  const step = (label, advance) => h('button', {
    onClick: async () => {
      try { await clock.put({ advance }); msg.textContent = `moved by ${advance}`; } catch (e) { msg.textContent = e.message; }
    },
  }, label);
  const pop = h('div', { class: 'clockpop', id: 'clockpop' },
    h('div', { class: 'stack' },
      h('div', null, h('b', null, 'Mock clock'), ' ', h('span', { class: 'muted small' }, clock.mode() || '')),
      h('div', { class: 'row' }, step('−5m', '-5m'), step('+1m', '1m'), step('+5m', '5m'), step('+1h', '1h'), step('+1d', '1d')),
      msg,
      h('a', { href: '/mockprom/clock' }, 'Set the clock…')));
  document.body.append(pop);
}

// The emulated version, read once per tab (and again after a scenario change) so that
// moving between pages adds no request to the journal.
const VERSION_KEY = 'mockprom.version';

async function showVersion(fresh = false) {
  let version = fresh ? null : sessionStorage.getItem(VERSION_KEY);
  if (!version) {
    try {
      version = (await api('status/buildinfo')).data.version;
      sessionStorage.setItem(VERSION_KEY, version);
    } catch { return; /* pages show errors; the header stays quiet */ }
  }
  document.getElementById('version').textContent = `Prometheus ${version}`;
}
window.addEventListener('mockprom:scenario-changed', () => showVersion(true));

// -- credentials ------------------------------------------------------------------------

function openCredentials(reason, scheme) {
  const dlg = document.getElementById('credentials');
  if (dlg.open) return;
  const creds = credentials();
  const a = creds.api || {};
  const asked = scheme === 'bearer' || scheme === 'basic' ? scheme : null;
  const type = h('select', { name: 'type', value: a.type || asked || 'none' },
    h('option', { value: 'none' }, 'none'), h('option', { value: 'bearer' }, 'Bearer token'),
    h('option', { value: 'basic' }, 'Basic (user and password)'));
  const token = h('input', { name: 'token', type: 'password', autocomplete: 'off', value: a.token || '' });
  const user = h('input', { name: 'username', autocomplete: 'off', value: a.username || '' });
  const pass = h('input', { name: 'password', type: 'password', autocomplete: 'off', value: a.password || '' });
  const ctl = h('input', { name: 'control', type: 'password', autocomplete: 'off', value: creds.control || '' });
  const bearerRow = h('label', { class: 'field' }, 'Token', token);
  const basicRows = h('div', { class: 'stack' }, h('label', { class: 'field' }, 'User (account id)', user),
    h('label', { class: 'field' }, 'Password (token)', pass));
  const sync = () => { bearerRow.hidden = type.value !== 'bearer'; basicRows.hidden = type.value !== 'basic'; };
  type.addEventListener('change', sync);
  sync();
  const form = h('form', { method: 'dialog' },
    h('h2', null, 'Credentials'),
    reason ? h('div', { class: 'alert warning' }, reason) : null,
    h('p', { class: 'small muted' }, 'Sent in the Authorization header of the console\'s requests; kept in this tab only (sessionStorage), never in a URL.'),
    h('label', { class: 'field' }, 'API authentication (the scenario\'s auth)', type),
    bearerRow, basicRows,
    h('label', { class: 'field' }, 'Control token (server.control_token, for /-/mockprom/)', ctl),
    h('div', { class: 'row' },
      h('button', { class: 'primary', value: 'save' }, 'Save'),
      h('button', { value: 'forget', class: 'danger' }, 'Forget'),
      h('span', { class: 'spacer' }),
      h('button', { value: 'cancel', formnovalidate: true }, 'Cancel')));
  clear(dlg, form);
  dlg.onclose = () => {
    dismissed = dlg.returnValue === 'cancel' || dlg.returnValue === '';
    if (dlg.returnValue === 'save') {
      const api = type.value === 'bearer' ? { type: 'bearer', token: token.value }
        : type.value === 'basic' ? { type: 'basic', username: user.value, password: pass.value } : null;
      saveCredentials({ api, control: ctl.value || null });
    } else if (dlg.returnValue === 'forget') {
      saveCredentials(null);
    } else return;
    clock.refresh();
    showVersion(true);
    render();
  };
  dlg.returnValue = '';
  dlg.showModal();
}

// Ask at most once until the user opens the dialog again (the header's clock polls the
// control API every few seconds: a refused poll must not reopen a dismissed dialog).
let dismissed = false;
window.addEventListener('mockprom:auth-needed', (e) => {
  if (dismissed) return;
  const { control, scheme } = e.detail;
  openCredentials(control
    ? 'The control API asked for credentials: give the control token (or the API\'s credentials when no control token is set).'
    : `The server asked for credentials (${scheme === 'basic' ? 'Basic: user and password' : 'a bearer token'}).`,
  control ? null : scheme);
});

// -- router -----------------------------------------------------------------------------

const ctx = {
  clock,
  navigate(url) { history.pushState(null, '', url); render(); },
  // A page calls ready() when its first data is on screen (the load-time figure).
  ready() {
    if (dataMarked) return;
    dataMarked = true;
    performance.mark('mockprom:data');
    document.body.dataset.ready = '1';
  },
};

async function render() {
  const path = location.pathname;
  const def = PAGES[path];
  if (cleanup) { try { cleanup(); } catch { /* ignore */ } cleanup = null; }
  markNav(path);
  const root = document.getElementById('page');
  if (!def) { clear(root, h('p', null, 'No console page here. ', h('a', { href: '/query' }, 'Query'))); return; }
  document.title = `${def.title} · mockprom`;
  const seq = ++renderSeq;
  let mod;
  try { mod = await def.load(); } catch (e) {
    clear(root, h('div', { class: 'alert error' }, `Could not load the page: ${e.message}`));
    return;
  }
  if (seq !== renderSeq) return;
  clear(root);
  document.body.dataset.page = path;
  cleanup = mod[def.fn](root, ctx) || null;
}

document.addEventListener('click', (e) => {
  const a = e.target.closest('a[href]');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || !PAGES[url.pathname] || a.target) return;
  e.preventDefault();
  const details = a.closest('details');
  if (details) details.open = false;
  ctx.navigate(url.pathname + url.search);
});
window.addEventListener('popstate', render);

buildHeader();
clock.subscribe(showClock);
setInterval(showClock, 1000);
setInterval(() => clock.refresh(), 5000);
clock.ready().then(showClock);
showVersion();
render();
