import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { importJWK, type CryptoKey } from 'jose';
import { exportAudit } from '../audit/export.js';
import { addApiRoute, caller, FILE } from './api-route.js';
import * as S from './api-schemas.js';
import type { ApiContext } from './api-context.js';
import { timelineEvent } from './statement-runs.js';

/** Auditor: session search, timelines, anomalies, signed exports. */
export function registerAuditRoutes(api: FastifyInstance, ctx: ApiContext): void {
  /** Exports made in this process, downloadable by the auditor who made them. */
  const exports = new Map<string, { owner: string; file: string; manifest: string }>();

  addApiRoute(api, {
    method: 'GET',
    url: '/api/audit/sessions',
    config: { role: 'auditor' },
    schema: {
      summary: 'Search sessions (?user, target, from, to, anomaly, endReason)',
      querystring: S.sessionSearch,
      response: S.sessionSummaries,
    },
    handler: async (req) => ctx.queries.searchSessions(req.query),
  });
  addApiRoute(api, {
    method: 'GET',
    url: '/api/audit/sessions/:id',
    config: { role: 'auditor' },
    schema: {
      summary: 'A session and its chained events (statements as named runs)',
      params: S.sessionId,
      response: S.sessionDetail,
    },
    handler: async (req, reply) => {
      const session = await ctx.queries.auditSession(req.params.id);
      if (!session) return reply.code(404).send({ error: 'no such session' });
      const events = await ctx.queries.sessionEvents(req.params.id);
      return { session, events: events.map(timelineEvent) };
    },
  });
  addApiRoute(api, {
    method: 'GET',
    url: '/api/audit/anomalies',
    config: { role: 'auditor' },
    schema: { summary: 'Anomalies per hour and kind (7 days), and the latest', response: S.anomalies },
    handler: async () => {
      const [series, recent] = await Promise.all([ctx.queries.anomalySeries(), ctx.queries.recentAnomalies()]);
      return { series, recent };
    },
  });
  addApiRoute(api, {
    method: 'POST',
    url: '/api/audit/exports',
    config: { role: 'auditor', csrf: true },
    schema: { summary: 'Export events with a signed manifest', body: S.exportRequest, response: S.exported },
    handler: async (req, reply) => {
      const s = caller(req);
      const b = req.body;
      const from = new Date(b.from);
      const to = b.to ? new Date(b.to) : new Date();
      if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime()))
        return reply.code(400).send({ error: 'from and to must be times' });
      const dir = await mkdtemp(join(tmpdir(), 'pgward-export-'));
      const id = randomUUID();
      const file = join(dir, `pgward-audit-${id}.${b.format === 'csv' ? 'csv' : 'jsonl'}`);
      const key = ctx.keys.signingKey();
      const jwk = ctx.keys.publicJwks().keys.find((k) => k.kid === key.kid);
      if (!jwk) throw new Error('the signing key is missing from the JWKS');
      const { manifest, manifestPath } = await exportAudit(ctx.audit, {
        from,
        to,
        user: b.user || undefined,
        format: b.format,
        out: file,
        signer: { kid: key.kid, privateKey: key.privateKey, publicKey: (await importJWK(jwk, 'ES256')) as CryptoKey },
      });
      exports.set(id, { owner: s.user, file, manifest: manifestPath });
      await ctx.adminEvent(s.user, 'audit.export', {
        from: manifest.from,
        to: manifest.to,
        user: b.user ?? null,
        format: b.format,
        events: manifest.events,
      });
      return {
        id,
        events: manifest.events,
        sessions: manifest.sessions.length,
        file: `/api/audit/exports/${id}/file`,
        manifest: `/api/audit/exports/${id}/manifest`,
      };
    },
  });
  addApiRoute(api, {
    method: 'GET',
    url: '/api/audit/exports/:id/:part',
    config: { role: 'auditor' },
    schema: { summary: 'Download an export (part = file | manifest)', params: S.exportPart, response: FILE },
    handler: async (req, reply) => {
      const e = exports.get(req.params.id);
      if (!e || e.owner !== caller(req).user) return reply.code(404).send({ error: 'no such export' });
      const path = req.params.part === 'file' ? e.file : e.manifest;
      return reply
        .header('content-disposition', `attachment; filename="${basename(path)}"`)
        .type('application/octet-stream')
        .send(createReadStream(path));
    },
  });
}
