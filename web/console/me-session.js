// @ts-check
// One of my own sessions and what happened in it (console page 'me-session'; ?id= names the session).
import { $el, $table, api, localTime, runPage, table, text, timelineRows } from './lib.js';

/** @typedef {typeof import('../../src/web/api-schemas.js')} Schemas */
/** @template {import('zod').ZodType} S @typedef {import('../../src/web/api-schemas.js').ApiResponse<S>} Answer */

runPage(async () => {
  const id = new URLSearchParams(location.search).get('id') ?? '';
  const detail = /** @type {Answer<Schemas['sessionDetail']>} */ (
    await api('GET', `/api/my/sessions/${encodeURIComponent(id)}`)
  );
  const s = detail.session;
  const dl = document.createElement('dl');
  /** @type {Array<[string, string | Node]>} */
  const facts = [
    ['Database', `${s.target ?? ''}/${s.database ?? ''} as ${s.upstreamRole ?? ''}${s.readOnly ? ' (read-only)' : ''}`],
    ['From', `${s.clientAddr}${s.applicationName ? `, ${s.applicationName}` : ''}`],
    ['Signed in by', text(s.authMethod)],
    ['Granted by', `${s.policyRule ?? ''} (policy version ${s.policyVersion ?? 'from files'})`],
    ['Started', localTime(s.startedAt)],
    ['Ended', s.endedAt ? localTime(s.endedAt) : 'still running'],
    ['End reason', s.endReason ?? ''],
    ['Statements', `${s.statements}, ${s.rowsToClient} rows returned`],
  ];
  for (const [k, v] of facts) {
    dl.appendChild(document.createElement('dt')).textContent = k;
    dl.appendChild(document.createElement('dd')).append(v);
  }
  $el('#session').replaceChildren(dl);
  table(
    $table('#timeline'),
    [
      ['Time', (r) => localTime(r.at)],
      ['Event', (r) => r.kind],
      ['Statement', (r) => r.what],
      ['Detail', (r) => r.detail],
    ],
    timelineRows(detail.events),
  );
});
