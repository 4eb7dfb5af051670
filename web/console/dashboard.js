// @ts-check
// The dashboard (console page 'dashboard'): sessions now and per hour, refused logins by reason, anomalies by kind, top users and targets.
import { $, $el, api, link, runPage } from './lib.js';

/** @typedef {typeof import('../../src/web/api-schemas.js')} Schemas */
/** @typedef {typeof import('../../src/web/api-schemas-live.js')} Live */
/** @template {import('zod').ZodType} S @typedef {import('../../src/web/api-schemas.js').ApiResponse<S>} Answer */
/** @typedef {Answer<Live['dashboard']>} Data */
/** @typedef {{ label: string; n: number }} Count */
/** @typedef {typeof import('chart.js').Chart} ChartClass */

const COLORS = ['#1d3557', '#e76f51', '#2a9d8f', '#e9c46a', '#8d99ae', '#f4a261', '#457b9d', '#b5838d'];

/** Chart.js, loaded once from our own origin (the CSP allows no inline script). @returns {Promise<ChartClass>} */
function chartJs() {
  const w = /** @type {Window & typeof globalThis & { Chart?: ChartClass }} */ (window);
  if (w.Chart) return Promise.resolve(w.Chart);
  return new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = '/static/vendor/chart/chart.umd.min.js';
    s.onload = () => (w.Chart ? resolve(w.Chart) : reject(new Error('chart.js did not load')));
    s.onerror = () => reject(new Error('chart.js did not load'));
    document.head.appendChild(s);
  });
}

/** @param {string} tag @param {string} [text] @param {string} [cls] */
function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

/**
 * A figure: a chart, the same numbers as a table (its text alternative), or what to do when there is nothing.
 * @param {string} id
 * @param {string} title
 * @param {string[]} headers
 * @param {Array<Array<string | number>>} rows
 * @param {string} summary read out for the chart
 * @param {string | null} empty what to say (and do) when there is nothing to draw
 */
function figure(id, title, headers, rows, summary, empty) {
  const fig = el('figure', undefined, 'chart');
  fig.id = id;
  fig.appendChild(el('figcaption', title)).id = `${id}-title`;
  if (empty !== null) {
    fig.appendChild(el('p', empty, 'empty'));
    return { fig, canvas: null };
  }
  const canvas = document.createElement('canvas');
  canvas.width = 560;
  canvas.height = 260;
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', `${title}: ${summary}`);
  fig.appendChild(canvas);
  const details = el('details');
  details.appendChild(el('summary', 'The numbers as a table'));
  const t = document.createElement('table');
  t.className = 'data';
  const head = t.createTHead().insertRow();
  for (const h of headers) {
    const th = el('th', h);
    th.setAttribute('scope', 'col');
    head.appendChild(th);
  }
  const body = t.createTBody();
  for (const r of rows) {
    const tr = body.insertRow();
    for (const v of r) tr.insertCell().textContent = String(v);
  }
  details.appendChild(t);
  fig.appendChild(details);
  return { fig, canvas };
}

/** @param {Count[]} counts */
const said = (counts) => counts.map((c) => `${c.label} ${c.n}`).join(', ');

/** @param {number} n @param {string} one @param {string} [many] */
const plural = (n, one, many) => `${n} ${n === 1 ? one : (many ?? `${one}s`)}`;

runPage(async () => {
  const me = /** @type {Answer<Schemas['me']>} */ (await api('GET', '/api/me'));
  const url = me.roles.includes('admin')
    ? '/api/dashboard'
    : me.roles.includes('auditor')
      ? '/api/audit/dashboard'
      : null;
  const holder = $el('#dashboard');
  if (!url) {
    $el('#window').hidden = true;
    const p = el('p', 'The dashboard is for administrators and auditors. Your own databases and sessions are on ');
    p.append(link('/me', 'My activity'), '.');
    holder.replaceChildren(p);
    return;
  }
  const Chart = await chartJs();
  /** @type {import('chart.js').Chart[]} */
  let charts = [];
  const hours = $('#hours', HTMLSelectElement);

  const load = async () => {
    const d = /** @type {Data} */ (await api('GET', `${url}?hours=${hours.value}`));
    for (const c of charts) c.destroy();
    charts = [];
    const period = hours.selectedOptions[0]?.textContent ?? `last ${d.hours} hours`;

    const cards = el('div', undefined, 'cards');
    /** @type {Array<[string, number, string | null]>} */
    const figures = [
      ['open now', d.liveNow, me.roles.includes('admin') ? '/admin/sessions' : null],
      [`sessions, ${period}`, d.totals.sessions, null],
      [`statements, ${period}`, d.totals.statements, null],
      [`refused logins, ${period}`, d.totals.refused, null],
      [`anomalies, ${period}`, d.totals.anomalies, me.roles.includes('auditor') ? '/audit/anomalies' : null],
    ];
    for (const [label, n, href] of figures) {
      const card = el('div', undefined, 'card');
      card.appendChild(el('strong', String(n)));
      card.append(href ? link(href, label) : label);
      cards.appendChild(card);
    }
    if (d.liveByGateway.length > 1) cards.appendChild(el('p', `Open by gateway: ${said(d.liveByGateway)}.`));

    const grid = el('div', undefined, 'charts');
    const nothing = d.totals.sessions === 0 && d.totals.refused === 0 && d.totals.anomalies === 0;
    /** @type {Array<() => void>} */
    const draws = [];
    const bar = (/** @type {HTMLCanvasElement} */ canvas, /** @type {Count[]} */ counts, /** @type {string} */ label) =>
      draws.push(() =>
        charts.push(
          new Chart(canvas, {
            type: 'bar',
            data: {
              labels: counts.map((c) => c.label),
              datasets: [{ label, data: counts.map((c) => c.n), backgroundColor: COLORS }],
            },
            options: {
              animation: false,
              responsive: false,
              indexAxis: 'y',
              plugins: { legend: { display: false } },
              scales: { x: { beginAtZero: true, ticks: { precision: 0 } } },
            },
          }),
        ),
      );

    // Over time: one line per series, hours on the axis in the viewer's time zone.
    const labels = d.series.map((p) =>
      new Date(p.bucket).toLocaleString(undefined, {
        month: 'short',
        day: 'numeric',
        hour: '2-digit',
        minute: '2-digit',
      }),
    );
    const peak = d.series.reduce(
      (m, p) => (p.sessions > m.sessions ? p : m),
      d.series[0] ?? { sessions: 0, bucket: '' },
    );
    const time = figure(
      'chart-time',
      `Logins (sessions opened), refused logins and anomalies per hour (${period})`,
      ['Hour', 'Sessions opened', 'Refused logins', 'Anomalies'],
      d.series.map((p, i) => [labels[i] ?? '', p.sessions, p.refused, p.anomalies]),
      `${plural(d.totals.sessions, 'session')}, ${plural(d.totals.refused, 'refused login')}, ${plural(d.totals.anomalies, 'anomaly', 'anomalies')}` +
        (peak.sessions ? `; busiest hour ${new Date(peak.bucket).toLocaleString()} with ${peak.sessions}` : ''),
      nothing
        ? 'Nothing happened in this period. Connect with psql (the line is on the Connect page) or pick a longer period above.'
        : null,
    );
    if (time.canvas) {
      const canvas = time.canvas;
      canvas.width = 1100;
      draws.push(() =>
        charts.push(
          new Chart(canvas, {
            type: 'line',
            data: {
              labels,
              datasets: [
                {
                  label: 'sessions opened',
                  data: d.series.map((p) => p.sessions),
                  borderColor: COLORS[0],
                  tension: 0.2,
                },
                { label: 'refused logins', data: d.series.map((p) => p.refused), borderColor: COLORS[1], tension: 0.2 },
                { label: 'anomalies', data: d.series.map((p) => p.anomalies), borderColor: COLORS[2], tension: 0.2 },
              ],
            },
            options: {
              animation: false,
              responsive: false,
              scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
            },
          }),
        ),
      );
    }

    /** @type {Array<[string, string, string, Count[], string, string]>} */
    const bars = [
      [
        'chart-refusals',
        'Reason',
        'Refused logins by reason',
        d.refusalsByReason,
        'refused logins',
        'No login was refused in this period. Refusals (wrong token, policy, throttling) show here with their reason.',
      ],
      [
        'chart-anomalies',
        'Kind',
        'Anomalies by kind',
        d.anomaliesByKind,
        'anomalies',
        'No anomaly in this period. The detector profiles in the policy decide what counts; see the Anomalies page for the latest.',
      ],
      [
        'chart-users',
        'User',
        'Top users by sessions',
        d.topUsers,
        'sessions',
        'No sessions in this period: nobody has connected yet. Share the Connect page with your developers.',
      ],
      [
        'chart-targets',
        'Target',
        'Top targets by sessions',
        d.topTargets,
        'sessions',
        'No sessions in this period. Targets are the databases in the gateway configuration.',
      ],
      [
        'chart-ends',
        'End reason',
        'How sessions ended',
        d.endReasons,
        'sessions',
        'No sessions in this period, so none ended.',
      ],
    ];
    const figs = [time.fig];
    for (const [id, column, title, counts, unit, empty] of bars) {
      const f = figure(
        id,
        `${title} (${period})`,
        [column, unit],
        counts.map((c) => [c.label, c.n]),
        said(counts),
        counts.length === 0 ? empty : null,
      );
      if (f.canvas) bar(f.canvas, counts, unit);
      figs.push(f.fig);
    }
    time.fig.classList.add('wide');
    // A redraw keeps the tables people opened and the keyboard's place.
    const opened = [...holder.querySelectorAll('details[open]')].map((x) => x.closest('figure')?.id);
    const focused = document.activeElement?.closest('figure')?.id;
    holder.replaceChildren(cards, time.fig, grid);
    grid.append(...figs.slice(1));
    for (const id of opened) holder.querySelector(`#${id} details`)?.setAttribute('open', '');
    if (focused) /** @type {HTMLElement | null} */ (holder.querySelector(`#${focused} summary`))?.focus();
    for (const draw of draws) draw();
    holder.setAttribute('data-at', d.at);
  };

  hours.addEventListener('change', () => void load());
  // Open sessions change by the minute: redraw each minute while the tab is visible.
  setInterval(() => {
    if (!document.hidden) void load().catch(() => undefined);
  }, 60_000);
  $('#window', HTMLFormElement).addEventListener('submit', (ev) => ev.preventDefault());
  await load();
});
