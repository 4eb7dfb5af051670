import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { GatewayConfig } from '../config/schema.js';
import { caller, type Role } from './api-route.js';
import { sessionRoles } from './roles.js';
import { esc, layout } from './html.js';
import type { WebSession } from './session.js';

/**
 * Console pages: server-rendered shells, checked for the role on the server; their data
 * comes from the JSON API through /static/console.js (same-origin, CSRF header on changes).
 */
export async function registerConsolePages(
  app: FastifyInstance,
  deps: { config: GatewayConfig },
  session: (req: FastifyRequest) => Promise<WebSession | null>,
  html: (reply: FastifyReply, body: string, status?: number) => FastifyReply,
): Promise<void> {
  await app.register(async (pages) => registerPages(pages, deps, session, html));
}

/** The pages, in a scope of their own: one hook checks each page's config.role. */
function registerPages(
  app: FastifyInstance,
  deps: { config: GatewayConfig },
  session: (req: FastifyRequest) => Promise<WebSession | null>,
  html: (reply: FastifyReply, body: string, status?: number) => FastifyReply,
): void {
  app.decorateRequest('webSession', null);
  app.addHook('onRequest', async (req, reply) => {
    const s = await session(req);
    if (!s) return reply.redirect(`/auth/login?next=${encodeURIComponent(req.url)}`);
    const role = req.routeOptions.config.role ?? 'admin';
    const { held: roles, usable, toConfirm } = sessionRoles(s, deps.config);
    // The groups behind this role are older than web.rolesMaxAge: the identity provider says again.
    if (role !== 'signed-in' && toConfirm.has(role))
      return reply.redirect(`/auth/login?next=${encodeURIComponent(req.url)}`);
    if (role !== 'signed-in' && !usable.has(role)) {
      return html(
        reply,
        layout('Not allowed', `<p role="alert">This page needs the ${esc(role)} role.</p>`, {
          user: s.user,
          csrf: s.csrf,
          roles,
        }),
        403,
      );
    }
    req.webSession = s;
  });
  /** The page around a body, for the signed-in caller. */
  const shell = (req: FastifyRequest, reply: FastifyReply, title: string, name: string, body: string): FastifyReply => {
    const s = caller(req);
    return html(
      reply,
      layout(title, body, { user: s.user, csrf: s.csrf, roles: sessionRoles(s, deps.config).held, page: name }),
    );
  };
  const page = (path: string, role: Role, title: string, name: string, body: string): void => {
    app.get(path, { config: { role } }, async (req, reply) => shell(req, reply, title, name, body));
  };

  page(
    '/me',
    'developer',
    'My activity',
    'me',
    `<h2>My sessions</h2><table id="my-sessions" class="data"></table><h2>My tokens</h2><table id="my-tokens" class="data"></table>`,
  );

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
  page(
    '/audit',
    'auditor',
    'Audit',
    'audit',
    `<form id="search">
<input name="user" placeholder="user"> <input name="target" placeholder="target">
<input name="from" placeholder="from (ISO time)"> <input name="to" placeholder="to (ISO time)">
<input name="anomaly" placeholder="anomaly kind or *"> <input name="endReason" placeholder="end reason">
<button type="submit">Search</button></form>
<table id="results" class="data"></table>
<h2>Export</h2>
<form id="export"><input name="from" placeholder="from (ISO time)" required> <input name="to" placeholder="to (ISO time)"> <input name="user" placeholder="user">
<select name="format"><option>jsonl</option><option>csv</option><option>ocsf</option></select> <button type="submit">Export</button></form>
<p id="export-status" role="status"></p>`,
  );
  app.get<{ Params: { id: string } }>('/audit/sessions/:id', { config: { role: 'auditor' } }, async (req, reply) =>
    shell(
      req,
      reply,
      'Session timeline',
      'timeline',
      `<div id="session" data-id="${esc(req.params.id)}"></div><table id="timeline" class="data"></table>`,
    ),
  );
  page(
    '/audit/anomalies',
    'auditor',
    'Anomalies',
    'anomalies',
    `<canvas id="chart" width="900" height="320"></canvas><h2>Recent</h2><table id="recent" class="data"></table>`,
  );
}
