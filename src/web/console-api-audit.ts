import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { importJWK, type CryptoKey } from 'jose';
import { exportAudit } from '../audit/export.js';
import { addApiRoute, caller, FILE } from './api-route.js';
import * as S from './api-schemas.js';
import type { ApiContext } from './api-context.js';
import { AuditReads, type TimelineIndexRow } from '../store/audit-queries.js';
import * as A from './api-schemas-audit.js';
import { eventItem, statementItems, timelineEvent, type TimelineItem } from './statement-runs.js';

/** A time a person typed, or a message saying what is wrong with it (answered as 400, shown on the page). */
export class BadInput extends Error {
  override name = 'BadInput';
}

/** An ISO 8601 time (a date alone is midnight UTC), checked here so the store never sees a bad one. */
export function parseTime(name: string, value: string | undefined): Date | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const v = value.trim();
  const d = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(v) ? new Date(v) : new Date(NaN);
  if (Number.isNaN(d.getTime()))
    throw new BadInput(`${name}: "${v}" is not a time; write it as 2026-12-04 or 2026-12-04T10:30Z (ISO 8601)`);
  return d;
}

/** offset (from 0) and limit (1 to max, default def) from a query string. */
export function parsePage(q: { offset?: string | undefined; limit?: string | undefined }, def: number, max: number) {
  const int = (name: string, v: string | undefined, fallback: number): number => {
    if (v === undefined || v === '') return fallback;
    if (!/^\d+$/.test(v)) throw new BadInput(`${name}: "${v}" is not a whole number`);
    return Number(v);
  };
  const offset = int('offset', q.offset, 0);
  const limit = int('limit', q.limit, def);
  if (limit < 1 || limit > max) throw new BadInput(`limit: must be from 1 to ${max}`);
  return { offset, limit };
}

/** Runs a handler, answering a BadInput as 400 with its message. */
async function checked<T>(reply: FastifyReply, fn: () => Promise<T>): Promise<T | FastifyReply> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof BadInput) return reply.code(400).send({ error: err.message });
    throw err;
  }
}

/** Timeline indexes of ended sessions (their chains no longer change), the latest few. */
const INDEX_CACHE_SIZE = 16;

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
    handler: async (req, reply) =>
      checked(reply, async () => {
        parseTime('from', req.query.from);
        parseTime('to', req.query.to);
        return ctx.queries.searchSessions(req.query);
      }),
  });
  const reads = new AuditReads(ctx.store);
  addApiRoute(api, {
    method: 'GET',
    url: '/api/audit/search',
    config: { role: 'auditor' },
    schema: {
      summary:
        'Search sessions, paged with the total (?user, target, from, to, anomaly, endReason, text, table, category, outcome, offset, limit)',
      querystring: A.auditSearch,
      response: A.auditSearchPage,
    },
    handler: async (req, reply) =>
      checked(reply, async () => {
        const q = req.query;
        const { offset, limit } = parsePage(q, 50, 500);
        const { rows, total } = await reads.searchSessions(
          { ...q, from: parseTime('from', q.from), to: parseTime('to', q.to) },
          offset,
          limit,
        );
        return { offset, limit, total, rows };
      }),
  });
  const indexes = new Map<string, TimelineIndexRow[]>();
  addApiRoute(api, {
    method: 'GET',
    url: '/api/audit/sessions/:id/timeline',
    config: { role: 'auditor' },
    schema: {
      summary: 'A session as a readable timeline, a page of items at a time (?offset, limit), with its totals',
      params: S.sessionId,
      querystring: A.timelineQuery,
      response: A.timelinePage,
    },
    handler: async (req, reply) =>
      checked(reply, async () => {
        const q = req.query;
        const { limit, offset: asked } = parsePage(q, 100, 1000);
        let offset = asked;
        const session = await reads.timelineSession(req.params.id);
        if (!session) return reply.code(404).send({ error: 'no such session' });
        let index = indexes.get(session.id);
        if (!index) {
          index = await reads.timelineIndex(session.id);
          if (session.endedAt) {
            indexes.set(session.id, index);
            if (indexes.size > INDEX_CACHE_SIZE) indexes.delete(indexes.keys().next().value!);
          }
        }
        // Opened from a search by statement: the page of the first run that matched.
        let focus: number | null = null;
        if (q.offset === undefined && (q.text || q.table || q.category || q.outcome)) {
          const hit = await reads.firstMatch(session.id, q);
          if (hit) {
            let start = 0;
            for (const e of index) {
              if (e.seq === hit.seq) break;
              start += e.items;
            }
            focus = start + hit.run;
            offset = Math.floor(focus / limit) * limit;
          }
        }
        return {
          offset,
          limit,
          focus,
          ...(await timelinePage(reads, session.id, index, offset, limit)),
          session: { ...session },
          totals: totalsOf(index, session),
        };
      }),
  });
  addApiRoute(api, {
    method: 'GET',
    url: '/api/audit/events',
    config: { role: 'auditor' },
    schema: {
      summary:
        'Logins (refused and accepted) or admin actions, paged with the total (?type=auth|admin, user, outcome, text, from, to)',
      querystring: A.auditEventsQuery,
      response: A.auditEventsPage,
    },
    handler: async (req, reply) =>
      checked(reply, async () => {
        const q = req.query;
        const { offset, limit } = parsePage(q, 50, 500);
        const f = {
          user: q.user,
          outcome: q.outcome,
          text: q.text,
          from: parseTime('from', q.from),
          to: parseTime('to', q.to),
        };
        if (q.type === 'admin') {
          const { rows, total } = await reads.adminEvents(f, offset, limit);
          return {
            type: 'admin' as const,
            offset,
            limit,
            total,
            rows: rows.map((r) => ({
              id: r.id,
              at: r.at,
              user: r.actor,
              what: r.action,
              detail: Object.entries(r.detail)
                .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
                .join(' '),
              clientAddr: null,
              method: null,
              gatewayId: null,
              sessionId: null,
            })),
          };
        }
        const { rows, total } = await reads.authEvents(f, offset, limit);
        return {
          type: 'auth' as const,
          offset,
          limit,
          total,
          rows: rows.map((r) => ({
            id: r.id,
            at: r.at,
            user: r.username,
            what: r.outcome,
            detail: r.reason ?? '',
            clientAddr: r.clientAddr,
            method: r.method,
            gatewayId: r.gatewayId,
            sessionId: r.sessionId,
          })),
        };
      }),
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
    schema: {
      summary: 'Export events with a signed manifest (and, when asked, the logins and admin actions of the range)',
      body: A.exportRequest,
      response: A.exported,
    },
    handler: async (req, reply) => {
      const s = caller(req);
      const b = req.body;
      let from: Date;
      let to: Date;
      try {
        from = parseTime('from', b.from) ?? new Date(NaN);
        to = parseTime('to', b.to) ?? new Date();
      } catch (err) {
        return reply.code(400).send({ error: (err as Error).message });
      }
      if (Number.isNaN(from.getTime())) return reply.code(400).send({ error: 'from: give the start of the range' });
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
        include: { auth: b.logins, admin: b.adminActions },
      });
      exports.set(id, { owner: s.user, file, manifest: manifestPath });
      await ctx.adminEvent(s.user, 'audit.export', {
        from: manifest.from,
        to: manifest.to,
        user: b.user ?? null,
        format: b.format,
        events: manifest.events,
        logins: manifest.auth_events?.events ?? null,
        adminActions: manifest.admin_events?.events ?? null,
      });
      return {
        id,
        events: manifest.events,
        sessions: manifest.sessions.length,
        logins: manifest.auth_events?.events ?? null,
        adminActions: manifest.admin_events?.events ?? null,
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

/** The items of one page: only the events it touches are read, and of a statements event only the runs on the page are built. */
async function timelinePage(
  reads: AuditReads,
  id: string,
  index: TimelineIndexRow[],
  offset: number,
  limit: number,
): Promise<{ total: number; items: TimelineItem[] }> {
  const end = offset + limit;
  const wanted: Array<{ seq: number; start: number }> = [];
  let start = 0;
  for (const e of index) {
    if (start + e.items > offset && start < end) wanted.push({ seq: e.seq, start });
    start += e.items;
  }
  const payloads = await reads.eventPayloads(
    id,
    wanted.map((w) => w.seq),
  );
  const startOf = new Map(wanted.map((w) => [w.seq, w.start]));
  const items: TimelineItem[] = [];
  for (const e of payloads) {
    const first = startOf.get(e.seq) ?? 0;
    if (e.kind === 'statements') items.push(...statementItems(e.seq, e.payload, first, offset - first, end - first));
    else if (first >= offset && first < end) items.push(eventItem(first, e.seq, e.at, e.kind, e.payload));
  }
  return { total: start, items };
}

function totalsOf(index: TimelineIndexRow[], session: { startedAt: Date; endedAt: Date | null }) {
  const t = { statements: 0, errors: 0, blocked: 0, anomalies: 0, rows: 0, bytes: 0, ms: 0 };
  for (const e of index) {
    if (e.kind === 'anomaly') t.anomalies++;
    if (e.kind !== 'statements') continue;
    t.statements += e.items;
    t.errors += e.errors;
    t.blocked += e.blocked;
    t.rows += e.rows;
    t.bytes += e.bytes;
    t.ms += e.ms;
  }
  return { ...t, durationMs: session.endedAt ? session.endedAt.getTime() - session.startedAt.getTime() : null };
}
