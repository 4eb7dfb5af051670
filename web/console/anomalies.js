// @ts-check
// The anomalies page's data (console page 'anomalies').
import { $, $table, api, table, link, time, runPage } from './lib.js';

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
  table(
    $table('#recent'),
    [
      ['When', (r) => time(r.at)],
      ['User', (r) => r.username],
      ['Kind', (r) => r.kind],
      ['Severity', (r) => r.severity],
      ['Action', (r) => r.action],
      ['Session', (r) => (r.sessionId ? link(`/audit/sessions/${r.sessionId}`, 'timeline') : '')],
    ],
    recent,
  );
});
