// @ts-check
// The approver's view (console page 'approvals'): pending requests this person may decide, and their decisions.
import { $el, $table, api, message, table, button, time, runPage } from './lib.js';
import { refreshCount } from './approvals-count.js';

/** @template {import('zod').ZodType} S @typedef {import('../../src/web/api-schemas.js').ApiResponse<S>} Answer */
/** @typedef {typeof import('../../src/web/api-schemas-access.js')} Access */

/** @param {number} ms */
const duration = (ms) =>
  ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : ms % 60_000 === 0 ? `${ms / 60_000}m` : `${ms / 1000}s`;

runPage(async () => {
  const status = $el('#ap-status');
  const count = /** @type {Answer<Access['approverCount']>} */ (await api('GET', '/api/access-requests/count'));
  $el('#ap-none').hidden = count.approver;

  /**
   * A decision with its reason, asked for in the row itself.
   * @param {string} id @param {'approve' | 'deny'} verb @param {HTMLInputElement} reason
   */
  const decide = async (id, verb, reason) => {
    try {
      const r = /** @type {Answer<Access['accessRequest']>} */ (
        await api('POST', `/api/access-requests/${id}/${verb}`, { reason: reason.value.trim() || undefined })
      );
      status.textContent =
        r.state === 'approved'
          ? `Approved: ${r.requester} may connect as ${r.role} on ${r.target}/${r.database} until ${time(r.expiresAt)}.`
          : r.state === 'denied'
            ? `Denied the request of ${r.requester}.`
            : `Approval counted (${r.approvals.length}/${r.needed}).`;
      status.className = 'ok';
    } catch (err) {
      status.textContent = message(err);
      status.className = 'err';
    }
    await load();
  };

  const load = async () => {
    const pending = /** @type {Answer<Access['pendingRequests']>} */ (await api('GET', '/api/access-requests/pending'));
    table(
      $table('#pending'),
      [
        ['Asked', (r) => time(r.createdAt)],
        ['Who', (r) => `${r.requester} (${r.requesterGroups.join(', ')})`],
        ['Target', (r) => `${r.target}/${r.database}`],
        ['Role', (r) => r.role],
        ['For', (r) => duration(r.durationMs)],
        ['Reason', (r) => r.reason],
        ['Approvals', (r) => `${r.approvals.length}/${r.needed}${r.note ? ` — ${r.note}` : ''}`],
        [
          'Decision',
          (r) => {
            if (!r.canApprove) return '';
            const span = document.createElement('span');
            const reason = document.createElement('input');
            reason.placeholder = 'reason';
            reason.setAttribute('aria-label', `reason for the decision on the request of ${r.requester}`);
            reason.className = 'decision-reason';
            span.append(
              reason,
              ' ',
              button(
                r.breakGlass ? 'Approve (break-glass)' : 'Approve',
                () => decide(r.id, 'approve', reason),
                r.breakGlass ? 'danger' : undefined,
              ),
              ' ',
              button('Deny', () => decide(r.id, 'deny', reason), 'secondary'),
            );
            return span;
          },
        ],
      ],
      pending,
    );
    const decided = /** @type {Answer<Access['accessRequests']>} */ (await api('GET', '/api/access-requests/decided'));
    table(
      $table('#decided'),
      [
        ['Decided', (r) => time(r.decidedAt ?? r.createdAt)],
        ['Who asked', (r) => r.requester],
        ['Target', (r) => `${r.target}/${r.database} as ${r.role}`],
        ['Reason asked', (r) => r.reason],
        ['State', (r) => r.state],
        [
          'Approvals',
          (r) =>
            r.approvals
              .map((a) => `${a.by}${a.breakGlass ? ' (break-glass)' : ''}${a.reason ? `: ${a.reason}` : ''}`)
              .join('; '),
        ],
        ['Decision reason', (r) => r.decisionReason],
      ],
      decided,
    );
    await refreshCount();
  };
  await load();
});
