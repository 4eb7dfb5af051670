// @ts-check
// The me page's data (console page 'me').
import { $table, api, table, time, runPage } from './lib.js';

/** @typedef {typeof import('../../src/web/api-schemas.js')} Schemas */
/** @template {import('zod').ZodType} S @typedef {import('../../src/web/api-schemas.js').ApiResponse<S>} Answer */
/** @template {import('zod').ZodType} S @typedef {import('../../src/web/api-schemas.js').ApiRequestBody<S>} Ask */
/** @typedef {Answer<Schemas['decision']>} Decision */
/** @typedef {Answer<Schemas['sessionDetail']>['events'][number]} TimelineEvent */

runPage(async () => {
  const [sessions, tokens] = await Promise.all([api('GET', '/api/my/sessions'), api('GET', '/api/my/tokens')]);
  table(
    $table('#my-sessions'),
    [
      ['Started', (r) => time(r.startedAt)],
      ['Database', (r) => r.database],
      ['From', (r) => r.clientAddr],
      ['Statements', (r) => r.statements],
      ['Ended', (r) => (r.endedAt ? `${time(r.endedAt)} (${r.endReason})` : 'running')],
    ],
    /** @type {Answer<Schemas['mySessions']>} */ (sessions),
  );
  table(
    $table('#my-tokens'),
    [
      ['Issued', (r) => time(r.issuedAt)],
      ['Expires', (r) => time(r.expiresAt)],
      ['By', (r) => r.issuedBy],
      [
        'State',
        (r) => (r.revokedAt ? `revoked (${r.revokedReason})` : new Date(r.expiresAt) < new Date() ? 'expired' : 'live'),
      ],
    ],
    /** @type {Answer<Schemas['myTokens']>} */ (tokens),
  );
});
