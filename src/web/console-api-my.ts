import type { FastifyInstance } from 'fastify';
import { AccessRequestQueries } from '../store/access-request-queries.js';
import type { ApiContext } from './api-context.js';
import { addApiRoute, caller } from './api-route.js';
import * as S from './api-schemas.js';
import * as L from './api-schemas-live.js';
import { reachOf } from './my-reach.js';
import { timelineEvent } from './statement-runs.js';

/** The developer's own view: what they can reach now, and the timeline of their own sessions. */
export function registerMyRoutes(api: FastifyInstance, ctx: ApiContext): void {
  const requests = new AccessRequestQueries(ctx.store);
  addApiRoute(api, {
    method: 'GET',
    url: '/api/my/reach',
    config: { role: 'developer' },
    schema: {
      summary: 'Which databases and roles I can reach now (the policy in force, my groups, from this address)',
      response: L.myReach,
    },
    handler: async (req) => {
      const s = caller(req);
      const policy = ctx.policy.current();
      const at = new Date();
      const mine = await requests.list({ requester: s.user, states: ['approved'], limit: 50 });
      return {
        user: s.user,
        groups: s.groups,
        tokenExpiresAt: s.expiresAt,
        from: req.ip,
        policyVersion: policy.version,
        databases: reachOf({
          user: s.user,
          groups: s.groups,
          tokenExpiresAt: new Date(s.expiresAt),
          from: req.ip,
          at,
          policy,
          targets: ctx.config.targets,
          pg: ctx.pg,
          requests: mine,
        }),
      };
    },
  });
  addApiRoute(api, {
    method: 'GET',
    url: '/api/my/sessions/:id',
    config: { role: 'developer' },
    schema: {
      summary: "One of my own sessions and its chained events (another person's session is not found)",
      params: S.sessionId,
      response: S.sessionDetail,
    },
    handler: async (req, reply) => {
      const s = caller(req);
      const session = await ctx.queries.auditSession(req.params.id);
      // Someone else's session answers exactly as a missing one: its existence is not for a developer to learn.
      if (!session || session.username !== s.user) return reply.code(404).send({ error: 'no such session of yours' });
      const events = await ctx.queries.sessionEvents(req.params.id);
      return { session, events: events.map(timelineEvent) };
    },
  });
}
