// @ts-check
// The targets page's data (console page 'targets').
import { $, $el, $table, api, message, table, time, formData, runPage } from './lib.js';

/** @typedef {typeof import('../../src/web/api-schemas.js')} Schemas */
/** @template {import('zod').ZodType} S @typedef {import('../../src/web/api-schemas.js').ApiResponse<S>} Answer */
/** @template {import('zod').ZodType} S @typedef {import('../../src/web/api-schemas.js').ApiRequestBody<S>} Ask */
/** @typedef {Answer<Schemas['decision']>} Decision */
/** @typedef {Answer<Schemas['sessionDetail']>['events'][number]} TimelineEvent */

runPage(async () => {
  const rows = /** @type {Answer<Schemas['targets']>} */ (await api('GET', '/api/targets'));
  table(
    $table('#targets'),
    [
      ['Target', (r) => r.name],
      ['Server', (r) => `${r.host}:${r.port}/${r.database}`],
      ['TLS', (r) => r.tls],
      ['Default role', (r) => r.role],
      ['Credentials (rotated)', (r) => r.credentials.map((c) => `${c.role} (${time(c.rotatedAt)})`).join(', ')],
    ],
    rows,
  );
  const form = $('#vault', HTMLFormElement);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const status = $el('#vault-status');
    try {
      const r = /** @type {Answer<Schemas['vaultStored']>} */ (await api('PUT', '/api/vault', formData(form)));
      status.textContent = `Stored the credential of ${r.role} on ${r.target}.`;
    } catch (err) {
      status.textContent = message(err);
    }
    form.reset();
  });
});
