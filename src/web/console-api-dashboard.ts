import type { FastifyInstance } from 'fastify';
import { DashboardQueries } from '../store/dashboard-queries.js';
import type { ApiContext } from './api-context.js';
import { addApiRoute } from './api-route.js';
import * as L from './api-schemas-live.js';
import { registerMyRoutes } from './console-api-my.js';

/**
 * The dashboard (admins and auditors) and the developer's own view. The dashboard's figures are
 * served at one path per role, as every console route declares exactly one role.
 */
export function registerDashboardRoutes(api: FastifyInstance, ctx: ApiContext): void {
  const queries = new DashboardQueries(ctx.store);
  for (const [url, role] of [
    ['/api/dashboard', 'admin'],
    ['/api/audit/dashboard', 'auditor'],
  ] as const) {
    addApiRoute(api, {
      method: 'GET',
      url,
      config: { role },
      schema: {
        summary:
          'Sessions now and per hour, refused logins by reason, anomalies by kind, top users and targets (?hours=24)',
        querystring: L.dashboardQuery,
        response: L.dashboard,
      },
      handler: async (req) => queries.dashboard(req.query.hours),
    });
  }
  registerMyRoutes(api, ctx);
}
