// @ts-check
// The policy page's data (console page 'policy').
import { $, $el, $table, api, message, table, button, time, formData, decisionText, runPage } from './lib.js';
import { mountMaskingPreview } from './masking-preview.js';

/** @typedef {typeof import('../../src/web/api-schemas.js')} Schemas */
/** @template {import('zod').ZodType} S @typedef {import('../../src/web/api-schemas.js').ApiResponse<S>} Answer */
/** @template {import('zod').ZodType} S @typedef {import('../../src/web/api-schemas.js').ApiRequestBody<S>} Ask */
/** @typedef {Answer<Schemas['decision']>} Decision */
/** @typedef {Answer<Schemas['sessionDetail']>['events'][number]} TimelineEvent */

runPage(async () => {
  const current = /** @type {Answer<Schemas['policyInForce']>} */ (await api('GET', '/api/policy'));
  /** @type {Ask<Schemas['documents']>['documents']} */
  const docs = { ...current.documents };
  if (Object.keys(docs).length === 0) docs['policy.yaml'] = 'rules: []\n';
  const select = $('#doc', HTMLSelectElement);
  for (const name of Object.keys(docs)) select.appendChild(new Option(name, name));
  const editor = $('#editor', HTMLTextAreaElement);
  const validation = $el('#validation');
  const save = $('#save', HTMLButtonElement);
  // Files are the source of the policy in force: the editor shows it, checks drafts, saves nothing.
  const readOnly = current.readOnly;
  if (readOnly) {
    const note = $el('#policy-source');
    note.textContent = readOnly;
    note.hidden = false;
    editor.readOnly = true;
  }
  let name = select.value;
  editor.value = docs[name] ?? '';
  select.addEventListener('change', () => {
    name = select.value;
    editor.value = docs[name] ?? '';
  });
  /** Shows the version in force again (after a rollback): the editor must not offer to undo it. */
  const reload = async () => {
    const now = /** @type {Answer<Schemas['policyInForce']>} */ (await api('GET', '/api/policy'));
    for (const k of Object.keys(docs)) delete docs[k];
    Object.assign(docs, now.documents);
    select.replaceChildren(...Object.keys(docs).map((n) => new Option(n, n)));
    name = Object.hasOwn(docs, name) ? name : select.value;
    select.value = name;
    editor.value = docs[name] ?? '';
    $el('#diff').textContent = '';
  };
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  const validate = async () => {
    const r = /** @type {Answer<Schemas['validation']>} */ (
      await api('POST', '/api/policy/validate', { documents: docs })
    );
    // Warnings (a group nobody has, a role with no credential) let the policy through; errors do not.
    const warnings = r.ok ? r.problems.map((p) => p.text) : [];
    validation.textContent = r.ok
      ? `Valid: ${r.rules} rules.${warnings.length ? `\nWarnings:\n${warnings.join('\n')}` : ''}`
      : r.problems.map((p) => p.text).join('\n');
    validation.className = r.ok ? (warnings.length ? 'warn' : 'ok') : 'err';
    save.disabled = !r.ok || readOnly !== null;
  };
  editor.addEventListener('input', () => {
    docs[name] = editor.value;
    save.disabled = true;
    clearTimeout(timer);
    timer = setTimeout(() => void validate(), 250);
  });
  $el('#preview').addEventListener('click', async () => {
    const r = /** @type {Answer<Schemas['diff']>} */ (await api('POST', '/api/policy/diff', { documents: docs }));
    $el('#diff').textContent = r.diff || '(no changes)';
  });
  save.addEventListener('click', async () => {
    // A new version reaches every gateway within a second: ask before it does.
    if (!confirm('Save as a new version? It applies to new connections on every gateway within a second.')) return;
    try {
      /** @type {Ask<Schemas['saveDocuments']>} */
      const body = { documents: docs, comment: $('#comment', HTMLInputElement).value || undefined };
      const r = /** @type {Answer<Schemas['saved']>} */ (await api('POST', '/api/policy', body));
      validation.textContent = r.created ? `Saved as version ${r.version}.` : `No change from version ${r.version}.`;
      await versions();
    } catch (err) {
      validation.textContent = message(err);
    }
  });
  $el('#dry-run').addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = formData(e.target);
    /** @type {Ask<Schemas['dryRunRequest']>} */
    const body = {
      user: f['user'] ?? '',
      database: f['database'] ?? '',
      groups: (f['groups'] ?? '')
        .split(',')
        .map((g) => g.trim())
        .filter(Boolean),
      from: f['from'],
      at: f['at'],
    };
    const out = $el('#dry-run-result');
    try {
      const d = /** @type {Decision} */ (await api('POST', '/api/policy/dry-run', body));
      out.textContent = decisionText(d);
      // A refusal a requestable rule covers: who could ask, on what terms, and the hint psql would print.
      const covered = d.kind === 'deny' ? /; requestable by rule (\S+)(?: \((.*)\))?$/.exec(d.reason) : null;
      if (d.kind === 'deny' && covered)
        out.textContent +=
          `\nCovered by requestable rule ${covered[1]}${covered[2] ? ` (${covered[2]})` : ''}: ${body.user} can ask for access.` +
          `\nThe person would see: HINT:  ${d.hint ?? ''}`;
    } catch (err) {
      out.textContent = message(err);
    }
  });
  $el('#who').addEventListener('submit', async (e) => {
    e.preventDefault();
    const rows = /** @type {Answer<Schemas['reachingRules']>} */ (
      await api('GET', `/api/policy/who-can-reach?target=${encodeURIComponent(formData(e.target)['target'] ?? '')}`)
    );
    table(
      $table('#who-result'),
      [
        ['Rule', (r) => r.name],
        ['Effect', (r) => r.effect],
        ['Who', (r) => r.subjects],
        ['Role', (r) => r.role],
        ['Conditions', (r) => r.conditions.join('; ')],
      ],
      rows,
    );
  });
  const versions = async () => {
    const rows = /** @type {Answer<Schemas['versions']>} */ (await api('GET', '/api/policy/versions'));
    table(
      $table('#versions'),
      [
        ['Version', (r) => r.id],
        ['When', (r) => time(r.createdAt)],
        ['Author', (r) => r.author],
        ['Source', (r) => r.source],
        ['Comment', (r) => r.comment],
        [
          // A header that names the column for screen readers (an empty one is announced as nothing).
          'In force',
          (r) =>
            r.id === rows[0]?.id
              ? 'in force'
              : readOnly
                ? ''
                : button(`Roll back to ${r.id}`, async () => {
                    if (
                      !confirm(
                        `Roll back to version ${r.id}? Its documents become a new version, in force for new connections on every gateway within a second.`,
                      )
                    )
                      return;
                    try {
                      const out = /** @type {Answer<Schemas['rolledBack']>} */ (
                        await api('POST', '/api/policy/rollback', { version: r.id })
                      );
                      await reload();
                      await versions();
                      await validate();
                      validation.textContent = `Version ${out.version} restores version ${r.id}; the editor shows it.`;
                    } catch (err) {
                      validation.textContent = message(err);
                    }
                  }),
        ],
      ],
      rows,
    );
  };
  await versions();
  await validate();
  // A sample result masked as a chosen rule's sessions would see it, from the documents as edited.
  mountMaskingPreview($el('main'), () => docs);
});
