import type { AddPage } from './page-adder.js';

/** The admin's pages: policies, live sessions, targets, tokens. */
export function adminPages(page: AddPage): void {
  page(
    '/admin/policy',
    'admin',
    'Policies',
    'policy',
    `<p>Edit the policy documents; they are validated as you type against the same schema as the files in policies/.</p>
<p id="policy-source" role="alert" hidden></p>
<div id="files"></div>
<p class="field"><label for="doc">Document</label> <select id="doc"></select></p>
<label for="editor">Policy document (YAML)</label>
<textarea id="editor" spellcheck="false" rows="24" aria-describedby="validation"></textarea>
<p id="validation" role="status"></p>
<p class="field"><label for="comment">What changed and why</label> <input id="comment" name="comment" size="40"></p>
<p><button id="preview" type="button">Preview diff</button> <button id="save" type="button" disabled>Save as new version</button></p>
<pre id="diff" class="diff"></pre>
<h2>Dry run</h2>
<form id="dry-run" class="fields" aria-label="Dry run">
<label for="dr-user">User <input id="dr-user" name="user" required autocomplete="off"></label>
<label for="dr-groups">Groups (comma separated) <input id="dr-groups" name="groups" autocomplete="off"></label>
<label for="dr-database">Database <input id="dr-database" name="database" required autocomplete="off"></label>
<label for="dr-from">From IP address <input id="dr-from" name="from" placeholder="10.0.0.5" autocomplete="off"></label>
<label for="dr-at">At (ISO time, optional) <input id="dr-at" name="at" placeholder="2026-12-04T09:30:00Z" autocomplete="off"></label>
<button type="submit">Would they get in?</button></form>
<pre id="dry-run-result" aria-live="polite"></pre>
<h2>Who can reach a target</h2>
<form id="who" class="fields" aria-label="Who can reach a target"><label for="who-target">Target <input id="who-target" name="target" required autocomplete="off"></label>
<button type="submit">Show rules</button></form>
<div class="wide" tabindex="0" role="region" aria-label="Rules that let someone reach the target (scrolls sideways)"><table id="who-result" class="data"></table></div>
<h2>Versions</h2>
<div class="wide" tabindex="0" role="region" aria-label="Stored policy versions (scrolls sideways)"><table id="versions" class="data"></table></div>`,
  );
  page(
    '/admin/sessions',
    'admin',
    'Live sessions',
    'live',
    `<link rel="stylesheet" href="/static/console/insight.css">
<p>Sessions open on every gateway. What a session runs now, its transaction state, rows and bytes are
known to the gateway that runs it: open this page on that gateway's console to see them.</p>
<form id="live-filter" class="filters wide-page" role="search" aria-label="Filter live sessions">
<label for="f-user">User <input id="f-user" name="user" type="search" autocomplete="off"></label>
<label for="f-target">Target or database <input id="f-target" name="target" type="search" autocomplete="off"></label>
<label for="f-role">Upstream role <input id="f-role" name="role" type="search" autocomplete="off"></label>
<label for="f-state">State <select id="f-state" name="state">
<option value="">any</option><option value="active">running a statement</option><option value="idle">idle</option>
<option value="in transaction">in transaction</option><option value="failed">failed transaction</option></select></label>
<label for="f-refresh" class="check"><input id="f-refresh" name="refresh" type="checkbox" checked> Refresh every 3 s</label>
</form>
<p id="live-summary" role="status" aria-live="polite"></p>
<div class="wide" tabindex="0" role="region" aria-label="Live sessions table (scrolls sideways)"><table id="live" class="data"><caption class="visually-hidden">Live sessions; the column buttons sort</caption></table></div>
<p id="live-status" role="status"></p>
<dialog id="kill-dialog" aria-labelledby="kill-title">
<form id="kill-form" method="dialog">
<h2 id="kill-title">End the session</h2>
<p id="kill-who"></p>
<label for="kill-reason">Reason (the user's client shows it, the audit records it)</label>
<textarea id="kill-reason" name="reason" rows="3" required minlength="3" maxlength="300"></textarea>
<p><label for="kill-revoke" class="check"><input id="kill-revoke" name="revokeToken" type="checkbox"> Also revoke the token it logged in with (its other sessions end too, and it cannot log in again with it)</label></p>
<p><label for="kill-lock">Also lock the person out for this many minutes (empty: no lock; new logins, sign-ins and link approvals are refused on every gateway, with the reason)</label>
<input id="kill-lock" name="lockMinutes" type="number" min="1" max="43200" step="1" inputmode="numeric"></p>
<p id="kill-error" role="alert"></p>
<p><button id="kill-confirm" type="submit" class="danger" value="kill">End session</button>
<button id="kill-cancel" type="button" class="secondary">Cancel</button></p>
</form>
</dialog>`,
  );
  page(
    '/admin/targets',
    'admin',
    'Targets',
    'targets',
    `<div class="wide" tabindex="0" role="region" aria-label="Targets (scrolls sideways)"><table id="targets" class="data"></table></div>
<h2>Set a credential</h2><p>Secrets are write-only: stored sealed in the vault, never shown again.</p>
<form id="vault" class="fields" aria-label="Set a credential">
<label for="vault-target">Target <input id="vault-target" name="target" required autocomplete="off"></label>
<label for="vault-role">Upstream role <input id="vault-role" name="role" required autocomplete="off"></label>
<label for="vault-secret">Password <input id="vault-secret" name="secret" type="password" required autocomplete="new-password"></label>
<button type="submit">Store</button></form>
<p id="vault-status" role="status"></p>`,
  );
  page(
    '/admin/tokens',
    'admin',
    'Tokens',
    'tokens',
    `<div class="wide" tabindex="0" role="region" aria-label="Live tokens (scrolls sideways)"><table id="tokens" class="data"></table></div><p id="tokens-status" role="status"></p>`,
  );
}
