import type { AddPage } from './page-adder.js';

/**
 * Just-in-time access (docs/access-requests.md): the Request access page for everyone signed
 * in, and the approver's view (whether the person approves anything is the policy's to say,
 * by group, so the page is open to all and the API shows each person only their part).
 */
export function accessPages(page: AddPage): void {
  page(
    '/requests',
    'developer',
    'Request access',
    'requests',
    `<p>Ask for a grant you do not hold for a while; approvers decide, and psql connects once it is approved.</p>
<form id="request" novalidate>
<p><label for="rq-option">Target and role</label> <select id="rq-option" name="option" required></select>
<span class="field-error" id="rq-option-error" role="alert"></span></p>
<p><label for="rq-database">Database</label> <select id="rq-database" name="database"></select></p>
<p><label for="rq-duration">Duration</label> <input id="rq-duration" name="duration" placeholder="e.g. 30m">
<small id="rq-duration-help"></small> <span class="field-error" id="rq-duration-error" role="alert"></span></p>
<p><label for="rq-reason">Reason</label> <input id="rq-reason" name="reason" size="50">
<small id="rq-reason-help"></small> <span class="field-error" id="rq-reason-error" role="alert"></span></p>
<p><button type="submit">Request access</button> <span id="rq-status" role="status"></span></p>
</form>
<p id="rq-none" hidden>No requestable rule lets you ask for access.</p>
<h2>My requests</h2>
<div class="wide" tabindex="0" role="region" aria-label="My requests (scrolls sideways)"><table id="my-requests" class="data"></table></div>`,
  );
  page(
    '/approvals',
    'developer',
    'Approvals',
    'approvals',
    `<h2>Waiting for a decision</h2>
<p id="ap-none" hidden>You are not an approver of any requestable rule.</p>
<div class="wide" tabindex="0" role="region" aria-label="Pending requests (scrolls sideways)"><table id="pending" class="data"></table></div>
<p id="ap-status" role="status"></p>
<h2>My decisions</h2>
<div class="wide" tabindex="0" role="region" aria-label="My decisions (scrolls sideways)"><table id="decided" class="data"></table></div>`,
  );
}
