import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { GatewayConfig } from '../config/schema.js';
import { caller } from './api-route.js';
import { sessionRoles } from './roles.js';
import { esc, layout } from './html.js';
import type { WebSession } from './session.js';
import type { AddPage, AddParamPage } from './page-adder.js';

export type { AddPage, AddParamPage } from './page-adder.js';
import { accessPages } from './console-pages-access.js';
import { adminPages } from './console-pages-admin.js';
import { auditPages } from './console-pages-audit.js';
import { developerPages } from './console-pages-developer.js';

/**
 * Console pages: server-rendered shells, checked for the role on the server; their data
 * comes from the JSON API through /static/console/<page>.js (same-origin, CSRF header on changes).
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
  const page: AddPage = (path, role, title, name, body) => {
    app.get(path, { config: { role } }, async (req, reply) => shell(req, reply, title, name, body));
  };
  const pageWithParam: AddParamPage = (path, role, title, name, body) => {
    app.get<{ Params: Record<string, string> }>(path, { config: { role } }, async (req, reply) =>
      shell(req, reply, title, name, body(req.params)),
    );
  };
  developerPages(page);
  adminPages(page);
  auditPages(page, pageWithParam);
  accessPages(page);
}
