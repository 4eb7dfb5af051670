// @ts-check
// The live page's data (console page 'live').
import { $el, $table, api, table, button, time, runPage } from './lib.js';

/** @typedef {typeof import('../../src/web/api-schemas.js')} Schemas */
/** @template {import('zod').ZodType} S @typedef {import('../../src/web/api-schemas.js').ApiResponse<S>} Answer */
/** @template {import('zod').ZodType} S @typedef {import('../../src/web/api-schemas.js').ApiRequestBody<S>} Ask */
/** @typedef {Answer<Schemas['decision']>} Decision */
/** @typedef {Answer<Schemas['sessionDetail']>['events'][number]} TimelineEvent */

runPage(async () => {
  const load = async () => {
    const rows = /** @type {Answer<Schemas['liveSessions']>} */ (await api('GET', '/api/sessions/live'));
    table(
      $table('#live'),
      [
        ['User', (r) => r.username],
        ['Database', (r) => r.database],
        ['From', (r) => r.clientAddr],
        ['Since', (r) => time(r.startedAt)],
        ['Gateway', (r) => r.gatewayId],
        [
          '',
          (r) =>
            button(
              'Kill',
              async () => {
                await api('POST', `/api/sessions/${r.id}/kill`, {});
                $el('#live-status').textContent = `Session of ${r.username} terminated.`;
                setTimeout(() => void load(), 300);
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
