// @ts-check
// The timeline page's data (console page 'timeline').
import { $el, $table, api, text, table, time, timelineRows, runPage } from './lib.js';

/** @typedef {typeof import('../../src/web/api-schemas.js')} Schemas */
/** @template {import('zod').ZodType} S @typedef {import('../../src/web/api-schemas.js').ApiResponse<S>} Answer */
/** @template {import('zod').ZodType} S @typedef {import('../../src/web/api-schemas.js').ApiRequestBody<S>} Ask */
/** @typedef {Answer<Schemas['decision']>} Decision */
/** @typedef {Answer<Schemas['sessionDetail']>['events'][number]} TimelineEvent */

runPage(async () => {
  const holder = $el('#session');
  const detail = /** @type {Answer<Schemas['sessionDetail']>} */ (
    await api('GET', `/api/audit/sessions/${holder.dataset['id'] ?? ''}`)
  );
  const s = detail.session;
  holder.replaceChildren();
  const dl = document.createElement('dl');
  for (const [k, v] of [
    ['User', s.username],
    ['From', s.clientAddr],
    ['Target', `${s.target}/${s.database} as ${s.upstreamRole}`],
    ['Authentication', s.authMethod],
    ['Policy', `${s.policyRule} (version ${s.policyVersion})`],
    ['TLS', s.tlsVersion],
    ['Started', time(s.startedAt)],
    ['Ended', s.endedAt ? `${time(s.endedAt)} (${s.endReason})` : 'running'],
    ['Chain', `${s.chainLength} events, head ${s.chainHead ?? ''}`],
  ]) {
    dl.appendChild(document.createElement('dt')).textContent = text(k);
    dl.appendChild(document.createElement('dd')).textContent = text(v);
  }
  holder.appendChild(dl);
  table(
    $table('#timeline'),
    [
      ['Time', (r) => time(r.at)],
      ['Event', (r) => r.kind],
      ['Statement', (r) => r.what],
      ['Detail', (r) => r.detail],
    ],
    timelineRows(detail.events),
  );
});
