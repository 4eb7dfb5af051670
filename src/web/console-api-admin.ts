import type { FastifyInstance } from 'fastify';
import { addApiRoute, caller } from './api-route.js';
import * as S from './api-schemas.js';
import type { ApiContext } from './api-context.js';

/** Admin: targets and the vault, live sessions, tokens. */
export function registerAdminRoutes(api: FastifyInstance, ctx: ApiContext): void {
  addApiRoute(api, {
    method: 'GET',
    url: '/api/targets',
    config: { role: 'admin' },
    schema: {
      summary: 'Targets and which roles have vaulted credentials (rotation dates, never values)',
      response: S.targets,
    },
    handler: async () => {
      const entries = await ctx.store.listVaultEntries();
      return Object.entries(ctx.config.targets).map(([name, t]) => ({
        name,
        host: t.host,
        port: t.port,
        database: t.database,
        role: t.role,
        tls: t.tls.mode,
        // Write-only: which roles have a credential and when it last changed, never the value.
        credentials: entries.filter((e) => e.target === name).map((e) => ({ role: e.role, rotatedAt: e.rotatedAt })),
      }));
    },
  });
  addApiRoute(api, {
    method: 'PUT',
    url: '/api/vault',
    config: { role: 'admin', csrf: true },
    schema: { summary: 'Store a credential (write-only)', body: S.vaultSet, response: S.vaultStored },
    handler: async (req, reply) => {
      const s = caller(req);
      const { target, role, secret } = req.body;
      if (!ctx.config.targets[target]) return reply.code(404).send({ error: 'no such target' });
      await ctx.vault.set(target, role, secret);
      await ctx.adminEvent(s.user, 'vault.set', { target, role });
      return { target, role, stored: true };
    },
  });
  addApiRoute(api, {
    method: 'GET',
    url: '/api/sessions/live',
    config: { role: 'admin' },
    schema: { summary: 'Sessions running on any gateway', response: S.liveSessions },
    handler: async () => ctx.queries.liveSessions(),
  });
  addApiRoute(api, {
    method: 'POST',
    url: '/api/sessions/:id/kill',
    config: { role: 'admin', csrf: true },
    schema: { summary: 'End a live session with a FATAL (any gateway)', params: S.sessionId, response: S.killed },
    handler: async (req) => {
      const s = caller(req);
      const { id } = req.params;
      const here = ctx.live?.list().find((x) => x.id === id);
      if (here) here.kill(`terminated by administrator ${s.user}`);
      // Another gateway may own it: every gateway hears the notice, the owner ends it.
      else await ctx.store.publish({ kind: 'session-killed', session: id, by: s.user });
      await ctx.adminEvent(s.user, 'session.kill', { session: id });
      return { killed: id, local: here !== undefined };
    },
  });
  addApiRoute(api, {
    method: 'POST',
    url: '/api/tokens/:jti/revoke',
    config: { role: 'admin', csrf: true },
    schema: {
      summary: 'Revoke a token, optionally ending its sessions',
      params: S.tokenId,
      body: S.endSessions(false),
      response: S.tokenRevoked,
    },
    handler: async (req) => {
      const s = caller(req);
      const { jti } = req.params;
      const { endSessions } = req.body;
      const done = await ctx.tokens.revoke(jti, `revoked by ${s.user} in the console`, { endSessions });
      await ctx.adminEvent(s.user, 'token.revoke', { jti, endSessions });
      return { revoked: done };
    },
  });
  addApiRoute(api, {
    method: 'POST',
    url: '/api/users/:user/revoke',
    config: { role: 'admin', csrf: true },
    schema: {
      summary: 'Revoke every token of a user',
      params: S.userName,
      body: S.endSessions(true),
      response: S.userRevoked,
    },
    handler: async (req) => {
      const s = caller(req);
      const { user } = req.params;
      const { endSessions } = req.body;
      const n = await ctx.tokens.revokeUser(user, `revoked by ${s.user} in the console`, { endSessions });
      await ctx.adminEvent(s.user, 'user.revoke', { user, tokens: n, endSessions });
      return { revoked: n };
    },
  });
  addApiRoute(api, {
    method: 'GET',
    url: '/api/tokens',
    config: { role: 'admin' },
    schema: { summary: 'Live tokens (?user=)', querystring: S.userQuery, response: S.liveTokens },
    handler: async (req) => ctx.queries.liveTokens(req.query.user ?? null),
  });
}
