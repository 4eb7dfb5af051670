import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ApiContext } from './api-context.js';
import { addApiRoute, caller } from './api-route.js';

/* Locks (docs/login.md: locks): a person kept out of pgward for a while, on every gateway. */

const lock = z.object({ user: z.string(), until: z.date(), reason: z.string(), by: z.string(), at: z.date() });
export const lockRequest = z
  .object({
    /** 1 minute to 30 days. */
    minutes: z.number().int().min(1).max(43_200),
    reason: z.string().trim().min(3, 'say why (at least 3 characters)').max(300),
  })
  .strict();
const userParam = z.object({ user: z.string().min(1).max(63) });

export function registerLockRoutes(api: FastifyInstance, ctx: ApiContext): void {
  addApiRoute(api, {
    method: 'GET',
    url: '/api/users/locks',
    config: { role: 'admin' },
    schema: { summary: 'People locked out now, until when, by whom and why', response: z.array(lock) },
    handler: async () =>
      (await ctx.tokens.locked()).map((l) => ({
        user: l.username,
        until: l.until,
        reason: l.reason,
        by: l.by,
        at: l.at,
      })),
  });
  addApiRoute(api, {
    method: 'POST',
    url: '/api/users/:user/lock',
    config: { role: 'admin', csrf: true },
    schema: {
      summary: 'Lock a person out for some minutes: new logins, sign-ins and link approvals refused everywhere',
      params: userParam,
      body: lockRequest,
      response: lock,
    },
    handler: async (req) => {
      const s = caller(req);
      const { user } = req.params;
      const reason = req.body.reason.replace(/\s+/g, ' ');
      const l = await ctx.tokens.lockUser(user, req.body.minutes * 60_000, reason, s.user);
      await ctx.adminEvent(s.user, 'user.lock', { user, until: l.until, reason });
      return { user, until: l.until, reason: l.reason, by: l.by, at: l.at };
    },
  });
  addApiRoute(api, {
    method: 'POST',
    url: '/api/users/:user/unlock',
    config: { role: 'admin', csrf: true },
    schema: { summary: 'Lift a lock now', params: userParam, response: z.object({ unlocked: z.boolean() }) },
    handler: async (req) => {
      const s = caller(req);
      const unlocked = await ctx.tokens.unlockUser(req.params.user);
      await ctx.adminEvent(s.user, 'user.unlock', { user: req.params.user, unlocked });
      return { unlocked };
    },
  });
}
