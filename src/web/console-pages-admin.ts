import type { AddPage } from './console-pages.js';

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
<label for="editor">Document <select id="doc"></select></label>
<textarea id="editor" spellcheck="false" rows="24"></textarea>
<p id="validation" role="status"></p>
<p><button id="preview" type="button">Preview diff</button> <button id="save" type="button" disabled>Save as new version</button>
<input id="comment" placeholder="What changed and why"></p>
<pre id="diff" class="diff"></pre>
<h2>Dry run</h2>
<form id="dry-run">
<input name="user" placeholder="user" required> <input name="groups" placeholder="groups, comma separated">
<input name="database" placeholder="database" required> <input name="from" placeholder="from IP (e.g. 10.0.0.5)">
<input name="at" placeholder="at (ISO time, optional)"> <button type="submit">Would they get in?</button></form>
<pre id="dry-run-result"></pre>
<h2>Who can reach a target</h2>
<form id="who"><input name="target" placeholder="target" required> <button type="submit">Show rules</button></form>
<table id="who-result" class="data"></table>
<h2>Versions</h2>
<table id="versions" class="data"></table>`,
  );
  page(
    '/admin/sessions',
    'admin',
    'Live sessions',
    'live',
    `<table id="live" class="data"></table><p id="live-status" role="status"></p>`,
  );
  page(
    '/admin/targets',
    'admin',
    'Targets',
    'targets',
    `<table id="targets" class="data"></table>
<h2>Set a credential</h2><p>Secrets are write-only: stored sealed in the vault, never shown again.</p>
<form id="vault"><input name="target" placeholder="target" required> <input name="role" placeholder="role" required>
<input name="secret" type="password" placeholder="password" required autocomplete="new-password"> <button type="submit">Store</button></form>
<p id="vault-status" role="status"></p>`,
  );
  page(
    '/admin/tokens',
    'admin',
    'Tokens',
    'tokens',
    `<table id="tokens" class="data"></table><p id="tokens-status" role="status"></p>`,
  );
}
