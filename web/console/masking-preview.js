// @ts-check
// The policy editor's masking preview (docs/masking.md): a sample result, before and after
// the masking of a chosen rule, from the documents being edited. Mounted by policy.js.
import { api, button, message, table } from './lib.js';

/** @typedef {typeof import('../../src/web/api-schemas-masking.js').maskingPreview} PreviewSchema */
/** @typedef {import('../../src/web/api-schemas.js').ApiResponse<PreviewSchema>} Preview */

const SAMPLE = [
  'public.customers.email\tpublic.customers.card\tnotes',
  'alice@example.com\t4111111111111111\tcall +33 6 12 34 56 78 or bob@corp.example.org',
].join('\n');

/**
 * Tab-separated sample: the first line names the columns (schema.table.column for column
 * rules), `\N` is NULL.
 * @param {string} text
 */
export function parseSample(text) {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const columns = (lines[0] ?? '').split('\t').map((c) => c.trim());
  const rows = lines.slice(1).map((l) => l.split('\t').map((v) => (v === '\\N' ? null : v)));
  return { columns, rows };
}

/**
 * @param {HTMLElement} parent where the preview section goes
 * @param {() => Record<string, string>} documents the documents as edited now
 */
export function mountMaskingPreview(parent, documents) {
  const section = parent.appendChild(document.createElement('section'));
  section.id = 'masking-preview';
  section.className = 'fields';
  section.appendChild(document.createElement('h2')).textContent = 'Masking preview';
  const help = section.appendChild(document.createElement('p'));
  help.textContent =
    'A sample result as the sessions of a rule would see it. Name columns schema.table.column for column rules; other columns are seen by value rules only. Hashes here use a preview key, not the gateways\u2019.';
  /** A visible label for a control (placeholders and aria-labels alone are not enough). @param {string} id @param {string} text */
  const label = (id, text) => {
    const l = section.appendChild(document.createElement('label'));
    l.htmlFor = id;
    l.textContent = text;
  };
  label('masking-rule', 'Rule (an allow rule with session.masking)');
  const rule = section.appendChild(document.createElement('input'));
  rule.id = 'masking-rule';
  rule.autocomplete = 'off';
  label('masking-sample', 'Sample result (tab-separated; the first line names the columns)');
  const sample = section.appendChild(document.createElement('textarea'));
  sample.id = 'masking-sample';
  sample.rows = 4;
  sample.value = SAMPLE;
  const status = section.appendChild(document.createElement('p'));
  status.id = 'masking-status';
  status.setAttribute('role', 'status');
  const before = section.appendChild(document.createElement('table'));
  before.id = 'masking-before';
  const after = section.appendChild(document.createElement('table'));
  after.id = 'masking-after';
  section.appendChild(
    button('Preview', async () => {
      status.textContent = '';
      try {
        const { columns, rows } = parseSample(sample.value);
        const p = /** @type {Preview} */ (
          await api('POST', '/api/policy/masking-preview', { documents: documents(), rule: rule.value, columns, rows })
        );
        /** @type {Array<[string, (row: Array<string | null>) => unknown]>} */
        const cols = p.columns.map((c, i) => [
          c.rule ? `${c.name} (${c.strategy})` : c.name,
          (row) => row[i] ?? 'NULL',
        ]);
        table(before, cols, p.before);
        table(after, cols, p.after);
        const counts = Object.entries(p.masked).map(([k, n]) => `${k}: ${n}`);
        status.textContent = p.masking
          ? `Masked: ${counts.join(', ') || 'nothing in this sample'}.`
          : `Rule ${p.rule} has no masking: its sessions see data as it is.`;
      } catch (err) {
        status.textContent = message(err);
      }
    }),
  );
}
