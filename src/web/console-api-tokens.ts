import type { FastifyInstance } from 'fastify';
import { ApiTokenQueries } from '../store/api-token-queries.js';
import type { ApiContext } from './api-context.js';
import { addApiRoute, caller } from './api-route.js';
import * as T from './api-schemas-tokens.js';
import { ApiTokenError, createApiToken } from './api-tokens.js';
import { sessionRoles } from './roles.js';

/**
 * API tokens for automation and remote admins (docs/api-tokens.md). Only a person signed in
 * to the console makes or lists them (a token cannot mint tokens, so a leaked one cannot
 * outlive its revocation), and only with scopes that person holds now.
 */
export function registerApiTokenRoutes(api: FastifyInstance, ctx: ApiContext): void {
  const tokens = new ApiTokenQueries(ctx.store);
  const byPerson = 'API tokens are managed by a person signed in to the console, not by another API token';

  addApiRoute(api, {
    method: 'GET',
    url: '/api/api-tokens',
    config: { role: 'admin' },
    schema: { summary: 'API tokens (never their values)', response: T.apiTokens },
    handler: async () => tokens.list(),
  });

  addApiRoute(api, {
    method: 'POST',
    url: '/api/api-tokens',
    config: { role: 'admin', csrf: true },
    schema: {
      summary: 'Make an API token; its value is in this answer only',
      body: T.apiTokenCreate,
      response: T.apiTokenCreated,
    },
    handler: async (req, reply) => {
      const s = caller(req);
      if (s.apiToken) return reply.code(403).send({ error: byPerson });
      const { name, scopes, ttl } = req.body;
      const usable = sessionRoles(s, ctx.config).usable;
      const missing = scopes.filter((r) => !usable.has(r));
      if (missing.length)
        return reply.code(403).send({ error: `you cannot give a scope you do not hold: ${missing.join(', ')}` });
      try {
        const made = await createApiToken(tokens, { name, scopes, ttl, createdBy: s.user });
        await ctx.adminEvent(s.user, 'api-token.create', { id: made.id, name, scopes, expiresAt: made.expiresAt });
        return { id: made.id, name, scopes: [...new Set(scopes)].sort(), expiresAt: made.expiresAt, token: made.token };
      } catch (err) {
        if (err instanceof ApiTokenError) return reply.code(400).send({ error: err.message });
        throw err;
      }
    },
  });

  addApiRoute(api, {
    method: 'POST',
    url: '/api/api-tokens/:id/revoke',
    config: { role: 'admin', csrf: true },
    schema: { summary: 'Revoke an API token (by id or name)', params: T.apiTokenRef, response: T.apiTokenRevoked },
    handler: async (req, reply) => {
      const s = caller(req);
      // A token may revoke itself or others (cleaning up after a leak), never make new ones.
      const row = await tokens.revoke(req.params.id, s.user);
      if (!row) return reply.code(404).send({ error: `no API token "${req.params.id}"` });
      await ctx.adminEvent(s.user, 'api-token.revoke', { id: row.id, name: row.name });
      return { id: row.id, name: row.name, revokedAt: row.revokedAt! };
    },
  });
}
