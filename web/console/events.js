// @ts-check
// Logins and admin actions (console page 'events'): refused and accepted logins (auth_events) and what admins did
// (admin_events), searched and paged with the total.
import { $, $el, $table, api, message, table, link, localTime, formData, pager, runPage } from './lib.js';

/** @typedef {typeof import('../../src/web/api-schemas-audit.js')} Schemas */
/** @template {import('zod').ZodType} S @typedef {import('../../src/web/api-schemas.js').ApiResponse<S>} Answer */

const PAGE = 50;
const FIELDS = ['user', 'outcome', 'text', 'from', 'to'];

runPage(async () => {
  const form = $('#ev-search', HTMLFormElement);
  const error = $el('#events-error');
  const results = $table('#events');
  const buttons = { auth: $('#show-auth', HTMLButtonElement), admin: $('#show-admin', HTMLButtonElement) };
  let type = /** @type {'auth' | 'admin'} */ (
    new URLSearchParams(location.search).get('type') === 'admin' ? 'admin' : 'auth'
  );

  const fill = () => {
    const q = new URLSearchParams(location.search);
    for (const name of FIELDS) {
      const el = form.elements.namedItem(name);
      if (el instanceof HTMLInputElement || el instanceof HTMLSelectElement) el.value = q.get(name) ?? '';
    }
    type = q.get('type') === 'admin' ? 'admin' : 'auth';
    return q;
  };

  /** @param {Record<string, string>} params @param {number} offset @param {boolean} push */
  const search = async (params, offset, push) => {
    for (const [k, b] of Object.entries(buttons)) {
      b.setAttribute('aria-pressed', String(k === type));
      b.className = k === type ? '' : 'secondary';
    }
    $('#ev-outcome', HTMLSelectElement).disabled = type === 'admin';
    const q = new URLSearchParams({ type, ...params, ...(offset ? { offset: String(offset) } : {}) });
    if (push) history.pushState(null, '', `/audit/events?${q}`);
    error.textContent = '';
    const page = await api('GET', `/api/audit/events?${q}&limit=${PAGE}`)
      .then((x) => /** @type {Answer<Schemas['auditEventsPage']>} */ (x))
      .catch((/** @type {unknown} */ err) => {
        error.textContent = message(err);
        results.replaceChildren();
        $el('#events-pager').replaceChildren();
        return null;
      });
    if (!page) return;
    /** @typedef {Answer<Schemas['auditEventsPage']>['rows'][number]} Row */
    /** @type {Array<[string, (r: Row) => unknown]>} */
    const columns =
      page.type === 'auth'
        ? [
            ['When', (r) => localTime(r.at)],
            ['User', (r) => r.user],
            ['Outcome', (r) => (r.what === 'failure' ? 'refused' : 'accepted')],
            ['Reason', (r) => r.detail],
            ['From', (r) => r.clientAddr],
            ['Method', (r) => r.method],
            ['Gateway', (r) => r.gatewayId],
            // A refused login names the session it would have been; only an accepted one was recorded.
            [
              'Session',
              (r) => (r.sessionId && r.what === 'success' ? link(`/audit/sessions/${r.sessionId}`, 'playback') : ''),
            ],
          ]
        : [
            ['When', (r) => localTime(r.at)],
            ['Who', (r) => r.user],
            ['Action', (r) => r.what],
            ['Details', (r) => r.detail],
          ];
    table(results, columns, page.rows);
    if (page.rows.length === 0) {
      const cell = results.querySelector('tbody td');
      if (cell)
        cell.textContent =
          page.total === 0 ? 'Nothing matches. Widen the time range or clear a filter.' : 'No more results.';
    }
    pager(
      $el('#events-pager'),
      page,
      (o) => void search(params, o, true),
      page.type === 'auth' ? 'logins' : 'admin actions',
    );
  };

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void search(formData(e.target), 0, true);
  });
  for (const [k, b] of Object.entries(buttons))
    b.addEventListener('click', () => {
      type = /** @type {'auth' | 'admin'} */ (k);
      void search(formData(form), 0, true);
    });
  window.addEventListener('popstate', () => {
    const q = fill();
    void search(formData(form), Number(q.get('offset') ?? 0), false);
  });
  const q = fill();
  await search(formData(form), Number(q.get('offset') ?? 0), false);
});
