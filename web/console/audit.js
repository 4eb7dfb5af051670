// @ts-check
// The audit page (console page 'audit'): search across sessions and their statements, paged with the total; the export.
import { $, $el, $table, api, message, table, link, localTime, formData, pager, runPage } from './lib.js';

/** @typedef {typeof import('../../src/web/api-schemas-audit.js')} Schemas */
/** @template {import('zod').ZodType} S @typedef {import('../../src/web/api-schemas.js').ApiResponse<S>} Answer */

const PAGE = 50;
/** The search's fields, kept in the address so a search can be linked to, reloaded and gone back to. */
const FIELDS = ['user', 'target', 'from', 'to', 'text', 'table', 'category', 'outcome', 'anomaly', 'endReason'];

runPage(async () => {
  const form = $('#search', HTMLFormElement);
  const error = $el('#search-error');
  const results = $table('#results');

  /** Puts the address's search into the form. */
  const fill = () => {
    const q = new URLSearchParams(location.search);
    for (const name of FIELDS) {
      const el = form.elements.namedItem(name);
      if (el instanceof HTMLInputElement || el instanceof HTMLSelectElement) el.value = q.get(name) ?? '';
    }
    return q;
  };

  /** @param {Record<string, string>} params @param {number} offset @param {boolean} push */
  const search = async (params, offset, push) => {
    const q = new URLSearchParams({ ...params, ...(offset ? { offset: String(offset) } : {}) });
    if (push) history.pushState(null, '', `/audit${q.size ? `?${q}` : ''}`);
    error.textContent = '';
    const page = await api('GET', `/api/audit/search?${q}&limit=${PAGE}`)
      .then((x) => /** @type {Answer<Schemas['auditSearchPage']>} */ (x))
      .catch((/** @type {unknown} */ err) => {
        // A bad time or number: say what is wrong, and show no stale results under it.
        error.textContent = message(err);
        results.replaceChildren();
        $el('#results-pager').replaceChildren();
        return null;
      });
    if (!page) return;
    const find = new URLSearchParams(
      Object.entries(params).filter(([k]) => ['text', 'table', 'category', 'outcome'].includes(k)),
    );
    const statementFilter = find.size > 0;
    table(
      results,
      [
        // From a search by statement, the playback opens on the first statement that matched.
        ['Started', (r) => link(`/audit/sessions/${r.id}${find.size ? `?${find}` : ''}`, '')],
        ['User', (r) => r.username],
        ['Target', (r) => `${r.target ?? ''}/${r.database ?? ''}`],
        ['Role', (r) => r.upstreamRole],
        ['From', (r) => r.clientAddr],
        ['Statements', (r) => r.statements.toLocaleString()],
        ...(statementFilter
          ? /** @type {Array<[string, (r: Answer<Schemas['auditSearchPage']>['rows'][number]) => unknown]>} */ ([
              ['Matching', (r) => `${(r.matches ?? 0).toLocaleString()}: ${r.match ?? ''}`],
            ])
          : []),
        ['Anomalies', (r) => r.anomalies],
        ['End', (r) => r.endReason ?? 'running'],
      ],
      page.rows,
    );
    // The start time links to the playback: a link whose text is the time as the viewer reads it.
    results.querySelectorAll('tbody tr').forEach((tr, i) => {
      const a = tr.querySelector('a');
      const r = page.rows[i];
      if (a && r) a.replaceChildren(localTime(r.startedAt));
    });
    if (page.rows.length === 0) {
      const cell = results.querySelector('tbody td');
      if (cell)
        cell.textContent =
          page.total === 0 ? 'No session matches. Widen the time range or clear a filter.' : 'No more results.';
    }
    pager($el('#results-pager'), page, (o) => void search(params, o, true), 'sessions');
  };

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void search(formData(e.target), 0, true);
  });
  window.addEventListener('popstate', () => {
    const q = fill();
    void search(formData(form), Number(q.get('offset') ?? 0), false);
  });

  $el('#export').addEventListener('submit', async (e) => {
    e.preventDefault();
    const status = $el('#export-status');
    status.textContent = 'Exporting…';
    const { side, ...fields } = formData(e.target);
    try {
      const r = /** @type {Answer<Schemas['exported']>} */ (
        await api('POST', '/api/audit/exports', { ...fields, logins: side === 'on', adminActions: side === 'on' })
      );
      const extra = r.logins === null ? '' : `, ${r.logins} logins and ${r.adminActions ?? 0} admin actions`;
      status.replaceChildren(
        `${r.events} events of ${r.sessions} sessions${extra}: `,
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

  const q = fill();
  await search(formData(form), Number(q.get('offset') ?? 0), false);
});
