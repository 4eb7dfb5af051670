// @ts-check
// The header's Approvals link and its count of waiting requests, on every console page.
// Shown only to people the policy names as approvers (by group); a failure leaves it hidden.

/** @template {import('zod').ZodType} S @typedef {import('../../src/web/api-schemas.js').ApiResponse<S>} Answer */
/** @typedef {typeof import('../../src/web/api-schemas-access.js')} Access */

/** Reads the count again and shows it (the approvals page calls this after each decision). */
export async function refreshCount() {
  const link = document.querySelector('#nav-approvals');
  const count = document.querySelector('#approvals-count');
  if (!(link instanceof HTMLElement) || !count) return;
  const res = await fetch('/api/access-requests/count', { credentials: 'same-origin' }).catch(() => null);
  if (!res?.ok) return;
  const c = /** @type {Answer<Access['approverCount']>} */ (await res.json());
  link.hidden = !c.approver;
  count.textContent = `(${c.pending})`;
  link.dataset['pending'] = String(c.pending);
}

void refreshCount();
// New requests arrive while a page stays open: the count follows (a cheap indexed query per minute and tab).
setInterval(() => void refreshCount(), 60_000);
