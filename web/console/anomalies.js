// @ts-check
// The anomalies page's data (console page 'anomalies').
import { $, $el, $table, api, table, link, time, localTime, runPage } from './lib.js';

/** @typedef {typeof import('../../src/web/api-schemas.js')} Schemas */
/** @template {import('zod').ZodType} S @typedef {import('../../src/web/api-schemas.js').ApiResponse<S>} Answer */
/** @template {import('zod').ZodType} S @typedef {import('../../src/web/api-schemas.js').ApiRequestBody<S>} Ask */
/** @typedef {Answer<Schemas['decision']>} Decision */
/** @typedef {Answer<Schemas['sessionDetail']>['events'][number]} TimelineEvent */

runPage(async () => {
  const { series, recent } = /** @type {Answer<Schemas['anomalies']>} */ (await api('GET', '/api/audit/anomalies'));
  const buckets = [...new Set(series.map((r) => r.bucket))];
  const kinds = [...new Set(series.map((r) => r.kind))];
  // Chart.js (served from the chart.js package as a global; no inline script under the CSP).
  const { Chart } = /** @type {Window & typeof globalThis & { Chart: typeof import('chart.js').Chart }} */ (window);
  new Chart($('#chart', HTMLCanvasElement), {
    type: 'bar',
    data: {
      labels: buckets.map((b) => time(b).slice(0, 13) + 'h'),
      datasets: kinds.map((k) => ({
        label: k,
        data: buckets.map((b) => series.find((r) => r.bucket === b && r.kind === k)?.n ?? 0),
      })),
    },
    options: {
      animation: false,
      responsive: false,
      scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } },
    },
  });
  // The chart's text alternative: the same numbers in words.
  const perKind = kinds.map((k) => [k, series.filter((r) => r.kind === k).reduce((n, r) => n + r.n, 0)]);
  const all = perKind.reduce((n, [, c]) => n + Number(c), 0);
  $el('#chart-text').textContent =
    all === 0
      ? 'No anomalies in the last 7 days.'
      : `Anomalies per hour over the last 7 days: ${all} in all (${perKind.map(([k, c]) => `${k} ${c}`).join(', ')}).`;
  table(
    $table('#recent'),
    [
      ['When', (r) => localTime(r.at)],
      ['User', (r) => r.username],
      ['Kind', (r) => r.kind],
      ['Severity', (r) => r.severity],
      ['Action', (r) => r.action],
      ['Session', (r) => (r.sessionId ? link(`/audit/sessions/${r.sessionId}`, 'playback') : '')],
    ],
    recent,
  );
});
