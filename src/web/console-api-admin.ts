import type { FastifyInstance } from 'fastify';
import { addApiRoute, caller } from './api-route.js';
import * as S from './api-schemas.js';
import type { ApiContext } from './api-context.js';
import * as L from './api-schemas-live.js';
import { liveSessionRows } from './live-rows.js';

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
    schema: {
      summary: 'Sessions running on any gateway, with what those of this gateway run now',
      response: L.liveSessionRows,
    },
    handler: async () => liveSessionRows(ctx),
  });
  addApiRoute(api, {
    method: 'POST',
    url: '/api/sessions/:id/kill',
    config: { role: 'admin', csrf: true },
    schema: {
      summary: 'End a live session with a FATAL carrying the reason (any gateway); optionally revoke its token',
      params: S.sessionId,
      body: L.killRequest,
      response: L.killResult,
    },
    handler: async (req, reply) => {
      const s = caller(req);
      const { id } = req.params;
      const { revokeToken, lockMinutes } = req.body;
      // One line, as the client prints it after "FATAL:" (the body's schema is checked by Ajv, which trims nothing).
      const reason = req.body.reason?.replace(/\s+/g, ' ').trim();
      if (reason !== undefined && reason.length < 3)
        return reply.code(400).send({ error: 'say why the session is ended (at least 3 characters)' });
      const row = await ctx.queries.sessionOwner(id);
      if (row?.endedAt) return reply.code(409).send({ error: 'that session has already ended' });
      const here = ctx.live?.list().find((x) => x.id === id);
      const by = reason ? `${s.user}: ${reason}` : s.user;
      if (here) here.kill(`terminated by administrator ${by}`);
      // Another gateway may own it (or it is still starting): every gateway hears the notice, the
      // owner ends it with the same words (it writes "terminated by administrator <by>").
      else await ctx.store.publish({ kind: 'session-killed', session: id, by });
      const answer: {
        killed: string;
        local: boolean;
        message?: string;
        revoked?: boolean;
        note?: string;
        lockedUntil?: Date;
      } = {
        killed: id,
        local: here !== undefined,
      };
      if (reason) answer.message = `terminating connection: terminated by administrator ${by}`;
      if (revokeToken) {
        const jti = here?.tokenJti ?? row?.tokenJti ?? null;
        // After the kill, on the same notice channel: every gateway ends the session with the reason first.
        if (jti)
          answer.revoked = await ctx.tokens.revoke(jti, `revoked by ${s.user} with a session kill: ${reason ?? ''}`, {
            endSessions: true,
          });
        else {
          answer.revoked = false;
          answer.note = 'the session logged in without a gateway token (link login or workload identity)';
        }
      }
      const person = here?.user ?? row?.username ?? null;
      if (lockMinutes !== undefined && person) {
        const lock = await ctx.tokens.lockUser(
          person,
          lockMinutes * 60_000,
          reason ?? `session ended by administrator ${s.user}`,
          s.user,
        );
        answer.lockedUntil = lock.until;
      }
      await ctx.adminEvent(s.user, 'session.kill', {
        session: id,
        user: person,
        reason: reason ?? null,
        revokeToken,
        ...(answer.revoked !== undefined ? { revoked: answer.revoked } : {}),
        ...(answer.lockedUntil ? { lockedUntil: answer.lockedUntil } : {}),
      });
      return answer;
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
