// The mock's clock: its current time and mode; set it (PUT /-/mockprom/clock {"now"})
// or move it ({"advance"}). Every page's "now" follows it.
import { h, clear, alertBox, badge, fmtTime, parseTime, parseDuration, fmtDuration } from '../dom.js';

const STEPS = ['-1d', '-1h', '-5m', '1m', '5m', '15m', '1h', '1d'];

export function render(root, ctx) {
  const { clock } = ctx;
  const big = h('div', { class: 'bigclock', id: 'mocknow' });
  const mode = h('span');
  const unix = h('span', { class: 'mono muted small' });
  const msg = h('div');
  const setInput = h('input', { size: 26, placeholder: 'YYYY-MM-DD HH:MM:SS (UTC) or unix seconds', 'aria-label': 'New time' });
  const advInput = h('input', { size: 8, placeholder: 'e.g. 90m', 'aria-label': 'Advance by' });

  function draw() {
    const now = clock.now();
    big.textContent = clock.known() ? `${fmtTime(now, true)} UTC` : '…';
    unix.textContent = clock.known() ? `unix ${(now / 1000).toFixed(3)}` : '';
    const m = clock.mode();
    clear(mode, m === 'fixed' ? badge('fixed: stands still until moved', 'mock')
      : m === 'real' ? badge('real: follows the wall clock', 'ok')
        : badge(clock.error() ? `unknown (${clock.error().message})` : 'unknown', 'warn'));
  }

  async function put(doc, done) {
    try {
      const d = await clock.put(doc);
      clear(msg, alertBox('info', done, ` the mock's now is ${d.now}.`));
    } catch (e) {
      clear(msg, alertBox('error', 'Refused:', ` ${e.message}`));
    }
    draw();
  }

  const advance = (d) => put({ advance: d }, `Moved by ${d}:`);
  clear(root, h('h1', null, 'Clock'),
    h('section', { class: 'card stack' },
      h('div', { class: 'row' }, big, mode), unix,
      h('p', { class: 'muted small', style: { margin: 0 } },
        'Requests without a time (instant queries, rules and alerts, targets) are answered at this time; the console\'s graphs end here.')),
    msg,
    h('section', { class: 'card stack' },
      h('h2', null, 'Move it'),
      h('div', { class: 'row' }, STEPS.map(s => h('button', { 'data-advance': s, onClick: () => advance(s) },
        s.startsWith('-') ? `−${s.slice(1)}` : `+${s}`))),
      h('form', { class: 'row', onSubmit: (e) => {
        e.preventDefault();
        const ms = parseDuration(advInput.value.replace(/^-/, ''));
        if (ms == null) { clear(msg, alertBox('error', 'Not a duration:', ` ${advInput.value}`)); return; }
        advance((advInput.value.trim().startsWith('-') ? '-' : '') + fmtDuration(ms));
      } }, h('span', { class: 'small muted' }, 'Advance by'), advInput, h('button', { class: 'mockbtn', type: 'submit' }, 'Advance')),
      h('form', { class: 'row', onSubmit: (e) => {
        e.preventDefault();
        const ms = parseTime(setInput.value);
        if (ms == null) { clear(msg, alertBox('error', 'Not a time:', ` ${setInput.value}`)); return; }
        put({ now: ms / 1000 }, 'Set:');
      } }, h('span', { class: 'small muted' }, 'Set to'), setInput, h('button', { class: 'mockbtn', type: 'submit' }, 'Set (and freeze)'))));
  const tick = setInterval(draw, 250);
  const unsubscribe = clock.subscribe(draw);
  clock.refresh().then(() => { draw(); setInput.value = fmtTime(clock.now()); ctx.ready(); });
  draw();
  return () => { clearInterval(tick); unsubscribe(); };
}
