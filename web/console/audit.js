// @ts-check
// The audit page's data (console page 'audit').
import { $el, $table, api, message, table, link, time, formData, runPage } from './lib.js';

/** @typedef {typeof import('../../src/web/api-schemas.js')} Schemas */
/** @template {import('zod').ZodType} S @typedef {import('../../src/web/api-schemas.js').ApiResponse<S>} Answer */
/** @template {import('zod').ZodType} S @typedef {import('../../src/web/api-schemas.js').ApiRequestBody<S>} Ask */
/** @typedef {Answer<Schemas['decision']>} Decision */
/** @typedef {Answer<Schemas['sessionDetail']>['events'][number]} TimelineEvent */

runPage(async () => {
  /** @param {Record<string, string>} params */
  const search = async (params) => {
    const rows = /** @type {Answer<Schemas['sessionSummaries']>} */ (
      await api('GET', `/api/audit/sessions?${new URLSearchParams(params)}`)
    );
    table(
      $table('#results'),
      [
        ['Started', (r) => link(`/audit/sessions/${r.id}`, time(r.startedAt))],
        ['User', (r) => r.username],
        ['Target', (r) => `${r.target}/${r.database}`],
        ['Role', (r) => r.upstreamRole],
        ['From', (r) => r.clientAddr],
        ['Statements', (r) => r.statements],
        ['Anomalies', (r) => r.anomalies],
        ['End', (r) => r.endReason ?? 'running'],
      ],
      rows,
    );
  };
  $el('#search').addEventListener('submit', (e) => {
    e.preventDefault();
    void search(formData(e.target));
  });
  $el('#export').addEventListener('submit', async (e) => {
    e.preventDefault();
    const status = $el('#export-status');
    status.textContent = 'Exporting…';
    try {
      const r = /** @type {Answer<Schemas['exported']>} */ (
        await api('POST', '/api/audit/exports', formData(e.target))
      );
      status.replaceChildren(
        `${r.events} events of ${r.sessions} sessions: `,
        link(r.file, 'export file'),
        ' and ',
        link(r.manifest, 'signed manifest'),
        '. Check with: pgward audit verify FILE',
      );
      status.querySelectorAll('a').forEach((a) => a.setAttribute('download', ''));
    } catch (err) {
      status.textContent = message(err);
    }
  });
  await search({});
});
