import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import { ApiTokenQueries } from '../store/api-token-queries.js';
import { AuditQueries } from '../store/audit-queries.js';
import { ConsoleQueries } from '../store/console-queries.js';
import type { ApiContext, ConsoleDeps } from './api-context.js';
import { addApiRoute, caller } from './api-route.js';
import * as S from './api-schemas.js';
import { ApiTokenCallers } from './api-token-callers.js';
import { registerAccessRoutes } from './console-api-access.js';
import { registerAdminRoutes } from './console-api-admin.js';
import { registerAuditRoutes } from './console-api-audit.js';
import { registerDashboardRoutes } from './console-api-dashboard.js';
import { registerPolicyRoutes } from './console-api-policy.js';
import { registerLockRoutes } from './console-api-locks.js';
import { registerMaskingRoutes } from './console-api-masking.js';
import { registerApiTokenRoutes } from './console-api-tokens.js';
import type { MetricsAccess } from './metrics-access.js';
import { openApiDocument, type DescribedRoute } from './openapi.js';
import { sessionRoles } from './roles.js';
import { csrfMatches, type WebSession } from './session.js';

export type { Role } from './api-route.js';
export type { ApiContext, ConsoleDeps, LiveSessions } from './api-context.js';

export { rolesOf } from './roles.js';

/**
 * The console's JSON API, as an encapsulated plugin. Each route declares who may call it
 * and whether it changes state (config.role, config.csrf); one hook enforces both on the
 * server before the body is validated, so a caller without the right gets 401 or 403, never
 * a schema error. The caller is the live server-side session (read from the store at each
 * request) and the role is worked out from it then: a signed-out or revoked session gets 401,
 * an admin or auditor whose groups need confirming by a new sign-in gets 401 saying so. Every admin action is written to admin_events. Responses never carry a
 * secret (vault values are write-only), and carry only the fields their schemas list.
 */
export async function registerConsoleApi(
  app: FastifyInstance,
  deps: ConsoleDeps,
  session: (req: FastifyRequest) => Promise<WebSession | null>,
): Promise<void> {
  await app.register(async (api) => {
    const queries = new ConsoleQueries(deps.store);
    const tokenCallers = new ApiTokenCallers(new ApiTokenQueries(deps.store));
    const audit = new AuditQueries(deps.store);
    const ctx: ApiContext = {
      ...deps,
      queries,
      audit,
      adminEvent: async (actor, action, detail) => {
        await audit.recordAdminEvent(actor, action, detail);
        deps.log.info({ event: 'admin_action', actor, action }, 'admin action');
      },
    };

    const routes: DescribedRoute[] = [];
    api.addHook('onRoute', (route) => {
      const role = route.config?.role;
      // Fail closed: an API route that does not say who may call it is a programming error.
      if (!role) throw new Error(`console API route ${route.method} ${route.url} declares no role`);
      for (const method of [route.method].flat()) {
        if (method !== 'HEAD')
          routes.push({
            method,
            url: route.url,
            role,
            csrf: route.config?.csrf ?? false,
            schema: (route.schema ?? {}) as Record<string, unknown>,
          });
      }
    });

    api.decorateRequest('webSession', null);
    api.addHook('preValidation', async (req, reply) => {
      const { role, csrf } = req.routeOptions.config;
      // A Bearer header means an API token, and only that: no falling back to a cookie.
      const bearer = req.headers.authorization?.startsWith('Bearer ');
      const s = bearer ? await tokenCallers.caller(req.headers.authorization, req.ip) : await session(req);
      if (!s)
        return reply
          .code(401)
          .send({ error: bearer ? 'the API token is unknown, revoked or expired' : 'sign in first' });
      if (role === undefined) return reply.code(403).send({ error: 'this needs the unknown role' });
      if (role !== 'signed-in') {
        const roles = sessionRoles(s, deps.config);
        if (roles.toConfirm.has(role))
          return reply.code(401).send({ error: `sign in again to confirm your ${role} role` });
        if (!roles.usable.has(role)) return reply.code(403).send({ error: `this needs the ${role} role` });
      }
      if (s.apiToken)
        deps.log.info(
          {
            event: 'api_token_call',
            tokenName: s.apiToken.name,
            method: req.method,
            route: req.routeOptions.url,
            from: req.ip,
          },
          'API token call',
        );
      // A browser sends cookies by itself, so cookie callers prove intent with the CSRF
      // token; a Bearer header is never added by a browser on its own.
      if (csrf && !s.apiToken && !csrfMatches(s, req.headers['x-csrf-token']))
        return reply.code(403).send({ error: 'missing or wrong CSRF token' });
      req.webSession = s;
    });

    api.setErrorHandler(async (err: FastifyError, _req, reply) => {
      if (err.validation) {
        const where = err.validationContext ?? 'request';
        return reply.code(400).send({
          error: 'invalid request',
          issues: err.validation.map((v) => `${where}${v.instancePath}: ${v.message ?? 'invalid'}`),
        });
      }
      throw err;
    });

    addApiRoute(api, {
      method: 'GET',
      url: '/api/me',
      config: { role: 'signed-in' },
      schema: { summary: 'Who I am: user, groups, roles, CSRF token', response: S.me },
      handler: async (req) => {
        const s = caller(req);
        return {
          user: s.user,
          groups: s.groups,
          roles: [...sessionRoles(s, deps.config).held],
          csrf: s.csrf,
          tokenExpiresAt: s.expiresAt,
        };
      },
    });
    addApiRoute(api, {
      method: 'GET',
      url: '/api/my/tokens',
      config: { role: 'developer' },
      schema: { summary: 'My tokens (never the token values)', response: S.myTokens },
      handler: async (req) => queries.myTokens(caller(req).user),
    });
    addApiRoute(api, {
      method: 'GET',
      url: '/api/my/sessions',
      config: { role: 'developer' },
      schema: { summary: 'My recent sessions', response: S.mySessions },
      handler: async (req) => queries.mySessions(caller(req).user),
    });

    registerPolicyRoutes(api, ctx);
    registerApiTokenRoutes(api, ctx);
    registerLockRoutes(api, ctx);
    registerMaskingRoutes(api, ctx);
    registerAdminRoutes(api, ctx);
    registerAuditRoutes(api, ctx);
    registerDashboardRoutes(api, ctx);
    registerAccessRoutes(api, ctx);

    addApiRoute(api, {
      method: 'GET',
      url: '/api/openapi.json',
      config: { role: 'signed-in' },
      schema: { summary: 'This description (OpenAPI 3.1)', response: S.openApi },
      handler: async () => openApiDocument(deps.publicUrl, routes),
    });
  });
}

/** Prometheus metrics of the gateway in this process (text, not part of the console API). */
export function registerMetrics(
  app: FastifyInstance,
  metrics: { registry: { metrics(): Promise<string>; contentType: string } } | null,
  access: MetricsAccess,
): void {
  app.get('/metrics', async (req, reply) => {
    const verdict = access.check(req);
    if (!verdict.ok) {
      if (verdict.status === 401) void reply.header('www-authenticate', 'Bearer realm="pgward metrics"');
      return reply.code(verdict.status).send({ error: verdict.error });
    }
    if (!metrics) return reply.code(404).send({ error: 'no gateway in this process' });
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
}
