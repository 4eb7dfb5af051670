import type { LoginLinkRow } from '../store/identity-queries.js';
import { caFileName, caInstallLine, connectLines, type PgEndpoint } from './connect-lines.js';
import { esc, layout } from './html.js';
import type { WebSession } from './session.js';

export function landingPage(ssoConfigured: boolean): string {
  return layout(
    'Sign in',
    ssoConfigured
      ? `<p>Sign in once with your company account, then connect with plain <code>psql</code>.</p>
<p><a class="button" href="/auth/login">Sign in with single sign-on</a></p>`
      : '<p>Single sign-on is not configured on this gateway. Ask an administrator for a token.</p>',
  );
}

function copyBlock(id: string, label: string, text: string, secret?: string): string {
  // The token sits in its own span: app.js masks it (and the Show token button reveals it),
  // while the element's text, which Copy takes, stays the whole line.
  const body = secret
    ? text
        .split(secret)
        .map((part) => esc(part))
        .join(`<span class="secret">${esc(secret)}</span>`)
    : esc(text);
  return `<section class="copy"><h2>${esc(label)}</h2><pre id="${id}">${body}</pre>
<button type="button" data-copy="${id}">Copy</button></section>`;
}

/** How this reader's psql comes to trust the gateway's certificate; no path of the gateway's own. */
function trustBlock(ep: PgEndpoint, consoleUrl: string): string {
  if (!ep.caPath)
    return `<p class="hint" id="trust">The gateway's certificate chains to a public CA: the lines use
<code>sslrootcert=system</code>, which needs psql and libpq 16 or later. With an older client, name your
system's CA bundle instead (Debian, Ubuntu: <code>sslrootcert=/etc/ssl/certs/ca-certificates.crt</code>).</p>`;
  return `<section class="copy" id="trust"><h2>Trust the gateway's CA (once per computer)</h2>
<p>This gateway's certificate comes from its own CA. <a href="/ca.crt" download="${esc(caFileName(ep.host))}" id="ca-download">Download the CA certificate</a>
and save it as <code>~/.postgresql/${esc(caFileName(ep.host))}</code>, or run:</p>
<pre id="ca-install">${esc(caInstallLine(consoleUrl, ep.host))}</pre>
<button type="button" data-copy="ca-install">Copy</button></section>`;
}

export function developerPage(
  s: WebSession,
  ep: PgEndpoint,
  databases: string[],
  roles?: ReadonlySet<string>,
  consoleUrl = '',
): string {
  const database = databases[0] ?? 'postgres';
  const lines = connectLines(ep, s.user, database, s.token);
  const expires = new Date(s.expiresAt);
  return layout(
    'Connect',
    `<p>Your token for <strong>${esc(s.user)}</strong>${s.groups.length ? ` (groups: ${esc(s.groups.join(', '))})` : ''}
expires <time id="expires" datetime="${esc(expires.toISOString())}">${esc(expires.toISOString().replace('T', ' ').slice(0, 16))} UTC</time>.
Databases you can name: ${databases.map((d) => `<code>${esc(d)}</code>`).join(', ') || 'none configured'}.</p>
${trustBlock(ep, consoleUrl)}
<section class="copy"><h2>Without pasting a token</h2>
<p>The pgward command signs in through this console, keeps the token in <code>~/.pgpass</code>, installs the CA and runs psql for you:</p>
<pre id="cli-lines">${esc(`pgward login --gateway ${consoleUrl}
pgward connect ${database}`)}</pre>
<button type="button" data-copy="cli-lines">Copy</button></section>
<p><button type="button" id="reveal-token" class="secondary" aria-pressed="false" hidden>Show token</button>
The lines below hold your token: it is masked on screen; Copy takes the whole line.</p>
${copyBlock('psql-line', 'psql', lines.psql, s.token)}
${copyBlock('pgpass-line', '~/.pgpass line', lines.pgpass, s.token)}
${copyBlock('uri-line', 'Connection URI', lines.uri, s.token)}
${copyBlock('export-line', 'Environment', lines.export, s.token)}
<p class="hint">Signing out revokes this token: connections using it are refused from then on.
Sessions already open with it run on, unless you end them too:</p>
<form method="post" action="/auth/logout" id="end-sessions"><input type="hidden" name="csrf" value="${esc(s.csrf)}">
<input type="hidden" name="end_sessions" value="on"><button type="submit" class="secondary">Sign out and end my open sessions</button></form>`,
    { user: s.user, csrf: s.csrf, roles },
  );
}

export function linkPage(link: LoginLinkRow, s: WebSession, secret: string, problem: string | null): string {
  const body = problem
    ? `<p role="alert">${esc(problem)}</p>`
    : `<p>A <code>psql</code> session is waiting to sign in as <strong>${esc(link.username)}</strong>
to database <code>${esc(link.database ?? '')}</code> from <code>${esc(link.clientAddr ?? '')}</code>
(started ${esc(link.createdAt.toISOString().slice(11, 19))} UTC).</p>
<p>Approve it only if you started it.</p>
<form method="post" action="/link/${esc(secret)}"><input type="hidden" name="csrf" value="${esc(s.csrf)}">
<button type="submit" name="decision" value="approve">Approve this session</button>
<button type="submit" name="decision" value="refuse" class="secondary">Refuse</button></form>`;
  return layout('Sign in a psql session', body, { user: s.user, csrf: s.csrf });
}

export function messagePage(title: string, message: string, s?: WebSession): string {
  return layout(title, `<p role="status">${esc(message)}</p>`, { user: s?.user, csrf: s?.csrf });
}

export function devicePage(s: WebSession, userCode: string, problem: string | null): string {
  return layout(
    'Sign in a device',
    `${problem ? `<p role="alert">${esc(problem)}</p>` : ''}
<p>Enter the code your terminal shows to sign it in as <strong>${esc(s.user)}</strong>.</p>
<form method="post" action="/device"><input type="hidden" name="csrf" value="${esc(s.csrf)}">
<label for="user_code">Code</label> <input id="user_code" name="user_code" value="${esc(userCode)}" autocomplete="off" autocapitalize="characters" spellcheck="false">
<span class="hint">Upper or lower case, with or without the dash.</span>
<button type="submit">Sign in the device</button></form>`,
    { user: s.user, csrf: s.csrf },
  );
}

/**
 * What a `pgward login` asks before anything is issued: who would be signed in, and where
 * the one-time code would go. The request's port and the start of its state are both in the
 * URL the terminal printed, so the person can tell their own terminal from someone else's link.
 */
export function cliConfirmPage(s: WebSession, port: number, state: string): string {
  return layout(
    'Sign in a terminal',
    `<p>A terminal asks to be signed in as <strong>${esc(s.user)}</strong>${s.groups.length ? ` (groups: ${esc(s.groups.join(', '))})` : ''}.
It would get a token of its own, handed to <code>http://127.0.0.1:${port}</code> on this computer.</p>
<dl class="request"><dt>Port</dt><dd id="cli-port">${port}</dd><dt>Request</dt><dd id="cli-state"><code>${esc(state.slice(0, 8))}…</code></dd></dl>
<p>Confirm only if you just ran <code>pgward login</code> here and the address it printed ends with
<code>port=${port}&amp;state=${esc(state.slice(0, 8))}…</code>. If you did not, cancel.</p>
<form method="post" action="/cli/login"><input type="hidden" name="csrf" value="${esc(s.csrf)}">
<input type="hidden" name="port" value="${port}"><input type="hidden" name="state" value="${esc(state)}">
<button type="submit" name="decision" value="confirm">Sign in this terminal</button>
<button type="submit" name="decision" value="cancel" class="secondary">Cancel</button></form>`,
    { user: s.user, csrf: s.csrf },
  );
}
