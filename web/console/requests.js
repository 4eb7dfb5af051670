// @ts-check
// The Request access page (console page 'requests'): ask for a requestable rule, follow and cancel my requests.
import { $, $el, $table, api, csrf, message, table, button, time, runPage } from './lib.js';

/** @template {import('zod').ZodType} S @typedef {import('../../src/web/api-schemas.js').ApiResponse<S>} Answer */
/** @template {import('zod').ZodType} S @typedef {import('../../src/web/api-schemas.js').ApiRequestBody<S>} Ask */
/** @typedef {typeof import('../../src/web/api-schemas-access.js')} Access */
/** @typedef {Answer<Access['requestOptions']>[number]} Option */
/** @typedef {Answer<Access['accessRequest']>} AccessRequest */

const FIELDS = ['option', 'duration', 'reason'];

/** @param {number} ms */
const duration = (ms) =>
  ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : ms % 60_000 === 0 ? `${ms / 60_000}m` : `${ms / 1000}s`;

/** @param {AccessRequest} r */
function state(r) {
  if (r.state === 'pending') return `pending (${r.approvals.length}/${r.needed} approvals)`;
  if (r.state === 'approved') return `approved until ${time(r.expiresAt)}`;
  return `${r.state}${r.decidedBy ? ` by ${r.decidedBy}` : ''}${r.decisionReason ? `: ${r.decisionReason}` : ''}`;
}

runPage(async () => {
  const options = /** @type {Answer<Access['requestOptions']>} */ (await api('GET', '/api/access/options'));
  const form = $('#request', HTMLFormElement);
  const select = $('#rq-option', HTMLSelectElement);
  const databases = $('#rq-database', HTMLSelectElement);
  const status = $el('#rq-status');
  if (options.length === 0) {
    form.hidden = true;
    $el('#rq-none').hidden = false;
  }
  options.forEach((o, i) =>
    select.appendChild(
      new Option(
        `${o.target} as ${o.role} (rule ${o.rule}, ${o.approvals} approval${o.approvals > 1 ? 's' : ''})`,
        String(i),
      ),
    ),
  );
  /** @returns {Option | undefined} */
  const chosen = () => options[Number(select.value)];
  const describe = () => {
    const o = chosen();
    if (!o) return;
    databases.replaceChildren(...o.databases.map((d) => new Option(d, d)));
    $el('#rq-duration-help').textContent = `at most ${o.maxDuration} (the default)`;
    $el('#rq-reason-help').textContent = o.reasonRequired
      ? `required${o.reasonPattern ? `, must match ${o.reasonPattern}` : ''}`
      : 'optional';
  };
  select.addEventListener('change', describe);
  describe();

  /** @param {string} field @param {string} text */
  const showError = (field, text) => {
    const el = $el(`#rq-${field}-error`);
    el.textContent = text;
    el.className = text ? 'field-error err' : 'field-error';
    const input = document.querySelector(`#rq-${field}`);
    if (input) input.setAttribute('aria-invalid', text ? 'true' : 'false');
  };

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    for (const f of FIELDS) showError(f, '');
    status.textContent = '';
    const o = chosen();
    if (!o) return showError('option', 'Choose what to ask for.');
    const reason = $('#rq-reason', HTMLInputElement).value.trim();
    const dur = $('#rq-duration', HTMLInputElement).value.trim();
    /** @type {Ask<Access['createRequest']>} */
    const body = {
      target: o.target,
      rule: o.rule,
      database: databases.value || undefined,
      duration: dur || undefined,
      reason: reason || undefined,
    };
    // The API's refusal names the field (issues: ["reason: ..."]): shown beside it.
    const res = await fetch('/api/access-requests', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
      body: JSON.stringify(body),
    });
    const data = /** @type {{ error?: string; issues?: string[]; id?: string }} */ (await res.json().catch(() => ({})));
    if (!res.ok) {
      const issue = data.issues?.[0] ?? '';
      const m = /^(rule|duration|reason|target): (.*)$/s.exec(issue);
      if (m) showError(m[1] === 'duration' || m[1] === 'reason' ? m[1] : 'option', m[2] ?? '');
      else status.textContent = data.error ?? `HTTP ${res.status}`;
      return;
    }
    status.textContent = `Asked: request ${data.id}. Approvers have been told.`;
    form.reset();
    describe();
    await mine();
  });

  const mine = async () => {
    const rows = /** @type {Answer<Access['accessRequests']>} */ (await api('GET', '/api/my/access-requests'));
    table(
      $table('#my-requests'),
      [
        ['Asked', (r) => time(r.createdAt)],
        ['Target', (r) => `${r.target}/${r.database}`],
        ['Role', (r) => r.role],
        ['For', (r) => duration(r.durationMs)],
        ['Reason', (r) => r.reason],
        ['Status', (r) => state(r)],
        ['Request', (r) => r.id],
        [
          'Action',
          (r) =>
            r.state === 'pending' || r.state === 'approved'
              ? button(
                  r.state === 'approved' ? 'Give back' : 'Cancel',
                  async () => {
                    try {
                      await api('POST', `/api/access-requests/${r.id}/cancel`);
                      status.textContent = `Request ${r.id} cancelled.`;
                    } catch (err) {
                      status.textContent = message(err);
                    }
                    await mine();
                  },
                  'secondary',
                )
              : '',
        ],
      ],
      rows,
    );
  };
  await mine();
});
