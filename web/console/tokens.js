// @ts-check
// The tokens page's data (console page 'tokens').
import { $el, $table, api, table, button, time, runPage } from './lib.js';

/** @typedef {typeof import('../../src/web/api-schemas.js')} Schemas */
/** @template {import('zod').ZodType} S @typedef {import('../../src/web/api-schemas.js').ApiResponse<S>} Answer */
/** @template {import('zod').ZodType} S @typedef {import('../../src/web/api-schemas.js').ApiRequestBody<S>} Ask */
/** @typedef {Answer<Schemas['decision']>} Decision */
/** @typedef {Answer<Schemas['sessionDetail']>['events'][number]} TimelineEvent */

runPage(async () => {
  const load = async () => {
    const rows = /** @type {Answer<Schemas['liveTokens']>} */ (await api('GET', '/api/tokens'));
    table(
      $table('#tokens'),
      [
        ['User', (r) => r.username],
        ['Groups', (r) => r.groups.join(', ')],
        ['Issued', (r) => time(r.issuedAt)],
        ['Expires', (r) => time(r.expiresAt)],
        ['By', (r) => r.issuedBy],
        [
          // A header that names the column for screen readers (an empty one is announced as nothing).
          'Action',
          (r) =>
            button(
              'Revoke and end sessions',
              async () => {
                await api('POST', `/api/tokens/${r.jti}/revoke`, { endSessions: true });
                $el('#tokens-status').textContent = `Revoked a token of ${r.username}.`;
                await load();
              },
              'danger',
            ),
        ],
      ],
      rows,
    );
  };
  await load();
});
