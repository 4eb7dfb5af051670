import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { importJWK, type CryptoKey } from 'jose';
import { z } from 'zod';
import { exportAudit } from '../audit/export.js';
import { EXPORT_FORMATS } from '../audit/formats.js';
import type { GatewayConfig } from '../config/schema.js';
import type { SigningKeys } from '../identity/signing-keys.js';
import type { TokenService } from '../identity/token-service.js';
import { dryRun, DryRunError, rulesForTarget } from '../policy/dry-run.js';
import { formatProblem, parsePolicyDocuments } from '../policy/loader.js';
import type { PolicySet } from '../policy/schema.js';
import { policyDiff, policyDigest } from '../policy/versioning.js';
import { PolicyQueries } from '../store/policy-queries.js';
import { REVOCATION_CHANNEL, type Store } from '../store/store.js';
import type { Logger } from '../util/logger.js';
import type { Vault } from '../vault/vault.js';
import type { WebSession } from './session.js';

export type Role = 'developer' | 'admin' | 'auditor';

/** The live sessions of the gateway in this process, if one runs here. */
export interface LiveSessions {
  list(): Array<{ id: string; user: string | null; target: string | null; clientAddr: string; startedAt: Date; kill(reason: string): void }>;
}

export interface ConsoleDeps {
  config: GatewayConfig;
  log: Logger;
  store: Store;
  vault: Vault;
  tokens: TokenService;
  keys: SigningKeys;
  policy: { current(): PolicySet };
  live: LiveSessions | null;
  metrics: { registry: { metrics(): Promise<string>; contentType: string } } | null;
}

export function rolesOf(groups: string[], config: GatewayConfig): Set<Role> {
  const roles = new Set<Role>(['developer']);
  if (groups.some((g) => config.web.roles.admin.includes(g))) roles.add('admin');
  if (groups.some((g) => config.web.roles.auditor.includes(g))) roles.add('auditor');
  return roles;
}

type Guard = (req: FastifyRequest, reply: FastifyReply) => WebSession | null;

/**
 * The console's JSON API. Every route checks the caller's role on the server; every state
 * change needs the session's CSRF token in the x-csrf-token header; every admin action is
 * written to admin_events. Responses never carry a secret (vault values are write-only).
 */
export function registerConsoleApi(app: FastifyInstance, deps: ConsoleDeps, session: (req: FastifyRequest) => WebSession | null): void {
  const policies = new PolicyQueries(deps.store);
  const exports = new Map<string, { owner: string; file: string; manifest: string }>();

  const guard = (role: Role, change: boolean): Guard => (req, reply) => {
    const s = session(req);
    if (!s) {
      void reply.code(401).send({ error: 'sign in first' });
      return null;
    }
    if (!rolesOf(s.groups, deps.config).has(role)) {
      void reply.code(403).send({ error: `this needs the ${role} role` });
      return null;
    }
    if (change && req.headers['x-csrf-token'] !== s.csrf) {
      void reply.code(403).send({ error: 'missing or wrong CSRF token' });
      return null;
    }
    return s;
  };
  const adminEvent = async (actor: string, action: string, detail: Record<string, unknown>): Promise<void> => {
    await deps.store.pool.query('insert into admin_events (actor, action, detail) values ($1, $2, $3)', [actor, action, JSON.stringify(detail)]);
    deps.log.info({ event: 'admin_action', actor, action }, 'admin action');
  };
  const body = <T>(schema: z.ZodType<T>, req: FastifyRequest, reply: FastifyReply): T | null => {
    const r = schema.safeParse(req.body);
    if (!r.success) {
      void reply.code(400).send({ error: 'invalid request', issues: r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) });
      return null;
    }
    return r.data;
  };
  const targets = () => Object.entries(deps.config.targets).map(([name, t]) => ({ name, database: t.database, databases: t.databases, role: t.role }));

  app.get('/api/me', async (req, reply) => {
    const s = session(req);
    if (!s) return reply.code(401).send({ error: 'sign in first' });
    return { user: s.user, groups: s.groups, roles: [...rolesOf(s.groups, deps.config)], csrf: s.csrf, tokenExpiresAt: s.expiresAt };
  });

  // ---- developer --------------------------------------------------------------------
  app.get('/api/my/tokens', async (req, reply) => {
    const s = guard('developer', false)(req, reply);
    if (!s) return reply;
    const { rows } = await deps.store.pool.query(
      `select jti, groups, issued_at, expires_at, revoked_at, revoked_reason, issued_by from tokens where username = $1 order by issued_at desc limit 50`,
      [s.user],
    );
    return rows;
  });
  app.get('/api/my/sessions', async (req, reply) => {
    const s = guard('developer', false)(req, reply);
    if (!s) return reply;
    const { rows } = await deps.store.pool.query(
      `select id, target, database, client_addr, started_at, ended_at, end_reason, statements, anomalies, policy_rule
         from sessions where username = $1 order by started_at desc limit 50`,
      [s.user],
    );
    return rows;
  });

  // ---- admin: policies ----------------------------------------------------------------
  const documentsSchema = z.object({ documents: z.record(z.string().regex(/^[\w.-]+\.ya?ml$/), z.string().max(1_000_000)) });
  app.get('/api/policy', async (req, reply) => {
    if (!guard('admin', false)(req, reply)) return reply;
    const latest = await policies.latest();
    return { version: latest?.id ?? null, documents: latest?.documents ?? {}, author: latest?.author ?? null, createdAt: latest?.createdAt ?? null };
  });
  app.post('/api/policy/validate', async (req, reply) => {
    if (!guard('admin', true)(req, reply)) return reply;
    const b = body(documentsSchema, req, reply);
    if (!b) return reply;
    const loaded = parsePolicyDocuments(b.documents);
    return loaded.ok ? { ok: true, rules: loaded.set.rules.length, problems: [] } : { ok: false, problems: loaded.problems.map((p) => ({ ...p, text: formatProblem(p) })) };
  });
  app.post('/api/policy/diff', async (req, reply) => {
    if (!guard('admin', true)(req, reply)) return reply;
    const b = body(documentsSchema, req, reply);
    if (!b) return reply;
    const latest = await policies.latest();
    return { diff: policyDiff(latest?.documents ?? null, b.documents) };
  });
  app.post('/api/policy', async (req, reply) => {
    const s = guard('admin', true)(req, reply);
    if (!s) return reply;
    const b = body(documentsSchema.extend({ comment: z.string().max(500).optional() }), req, reply);
    if (!b) return reply;
    const loaded = parsePolicyDocuments(b.documents);
    if (!loaded.ok) return reply.code(422).send({ error: 'the policy is invalid', problems: loaded.problems.map(formatProblem) });
    const { id, created } = await policies.append({
      author: `${s.user} (console)`,
      source: 'console',
      documents: b.documents,
      digest: policyDigest(b.documents),
      diff: (prev) => policyDiff(prev, b.documents),
      comment: b.comment,
    });
    await adminEvent(s.user, 'policy.save', { version: id, created });
    return { version: id, created };
  });
  app.get('/api/policy/versions', async (req, reply) => {
    if (!guard('admin', false)(req, reply)) return reply;
    return (await policies.list()).map((v) => ({ id: v.id, createdAt: v.createdAt, author: v.author, source: v.source, comment: v.comment, diff: v.diff }));
  });
  app.post('/api/policy/rollback', async (req, reply) => {
    const s = guard('admin', true)(req, reply);
    if (!s) return reply;
    const b = body(z.object({ version: z.number().int().positive() }), req, reply);
    if (!b) return reply;
    const v = await policies.version(b.version);
    if (!v) return reply.code(404).send({ error: 'no such version' });
    const { id } = await policies.append({
      author: `${s.user} (console)`,
      source: 'rollback',
      documents: v.documents,
      digest: policyDigest(v.documents),
      diff: (prev) => policyDiff(prev, v.documents),
      comment: `rollback to version ${b.version}`,
    });
    await adminEvent(s.user, 'policy.rollback', { to: b.version, version: id });
    return { version: id };
  });
  app.post('/api/policy/dry-run', async (req, reply) => {
    if (!guard('admin', true)(req, reply)) return reply;
    const b = body(
      z.object({
        user: z.string().min(1),
        groups: z.array(z.string()).default([]),
        database: z.string().min(1),
        from: z.string().optional(),
        at: z.string().optional(),
        method: z.string().optional(),
        params: z.record(z.string(), z.string()).default({}),
      }),
      req,
      reply,
    );
    if (!b) return reply;
    try {
      return dryRun(deps.policy.current(), targets(), { ...b, params: Object.entries(b.params), at: b.at ? new Date(b.at) : new Date() });
    } catch (err) {
      if (err instanceof DryRunError) return reply.code(400).send({ error: err.message });
      throw err;
    }
  });
  app.get<{ Querystring: { target?: string } }>('/api/policy/who-can-reach', async (req, reply) => {
    if (!guard('admin', false)(req, reply)) return reply;
    return rulesForTarget(deps.policy.current(), req.query.target ?? '*');
  });

  // ---- admin: targets, vault, sessions, tokens -----------------------------------------
  app.get('/api/targets', async (req, reply) => {
    if (!guard('admin', false)(req, reply)) return reply;
    const entries = await deps.store.listVaultEntries();
    return Object.entries(deps.config.targets).map(([name, t]) => ({
      name,
      host: t.host,
      port: t.port,
      database: t.database,
      role: t.role,
      tls: t.tls.mode,
      // Write-only: which roles have a credential and when it last changed, never the value.
      credentials: entries.filter((e) => e.target === name).map((e) => ({ role: e.role, rotatedAt: e.rotatedAt })),
    }));
  });
  app.put('/api/vault', async (req, reply) => {
    const s = guard('admin', true)(req, reply);
    if (!s) return reply;
    const b = body(z.object({ target: z.string().min(1), role: z.string().min(1), secret: z.string().min(1).max(10_000) }), req, reply);
    if (!b) return reply;
    if (!deps.config.targets[b.target]) return reply.code(404).send({ error: 'no such target' });
    await deps.vault.set(b.target, b.role, b.secret);
    await adminEvent(s.user, 'vault.set', { target: b.target, role: b.role });
    return { target: b.target, role: b.role, stored: true };
  });
  app.get('/api/sessions/live', async (req, reply) => {
    if (!guard('admin', false)(req, reply)) return reply;
    const { rows } = await deps.store.pool.query(
      `select id, gateway_id, username, target, database, client_addr, started_at, policy_rule from sessions
        where ended_at is null and started_at > now() - interval '2 days' order by started_at desc limit 500`,
    );
    return rows;
  });
  app.post<{ Params: { id: string } }>('/api/sessions/:id/kill', async (req, reply) => {
    const s = guard('admin', true)(req, reply);
    if (!s) return reply;
    if (!z.string().uuid().safeParse(req.params.id).success) return reply.code(400).send({ error: 'not a session id' });
    const here = deps.live?.list().find((x) => x.id === req.params.id);
    if (here) here.kill(`terminated by administrator ${s.user}`);
    // Other gateways hear it on the revocation channel.
    else await deps.store.pool.query('select pg_notify($1, $2)', [REVOCATION_CHANNEL, JSON.stringify({ session: req.params.id, by: s.user })]);
    await adminEvent(s.user, 'session.kill', { session: req.params.id });
    return { killed: req.params.id, local: here !== undefined };
  });
  app.post<{ Params: { jti: string } }>('/api/tokens/:jti/revoke', async (req, reply) => {
    const s = guard('admin', true)(req, reply);
    if (!s) return reply;
    const b = body(z.object({ endSessions: z.boolean().default(false) }), req, reply);
    if (!b) return reply;
    const done = await deps.tokens.revoke(req.params.jti, `revoked by ${s.user} in the console`, { endSessions: b.endSessions });
    await adminEvent(s.user, 'token.revoke', { jti: req.params.jti, endSessions: b.endSessions });
    return { revoked: done };
  });
  app.post<{ Params: { user: string } }>('/api/users/:user/revoke', async (req, reply) => {
    const s = guard('admin', true)(req, reply);
    if (!s) return reply;
    const b = body(z.object({ endSessions: z.boolean().default(true) }), req, reply);
    if (!b) return reply;
    const n = await deps.tokens.revokeUser(req.params.user, `revoked by ${s.user} in the console`, { endSessions: b.endSessions });
    await adminEvent(s.user, 'user.revoke', { user: req.params.user, tokens: n, endSessions: b.endSessions });
    return { revoked: n };
  });
  app.get<{ Querystring: { user?: string } }>('/api/tokens', async (req, reply) => {
    if (!guard('admin', false)(req, reply)) return reply;
    const { rows } = await deps.store.pool.query(
      `select jti, username, groups, issued_at, expires_at, revoked_at, issued_by from tokens
        where ($1::text is null or username = $1) and revoked_at is null and expires_at > now() order by issued_at desc limit 200`,
      [req.query.user ?? null],
    );
    return rows;
  });

  // ---- auditor ------------------------------------------------------------------------
  const searchSchema = z.object({
    user: z.string().optional(),
    target: z.string().optional(),
    from: z.string().optional(),
    to: z.string().optional(),
    anomaly: z.string().optional(),
    endReason: z.string().optional(),
  });
  app.get('/api/audit/sessions', async (req, reply) => {
    if (!guard('auditor', false)(req, reply)) return reply;
    const q = searchSchema.parse(req.query);
    const { rows } = await deps.store.pool.query(
      `select s.id, s.username, s.target, s.database, s.upstream_role, s.client_addr, s.started_at, s.ended_at, s.end_reason,
              s.statements, s.anomalies, s.auth_method, s.policy_rule, s.policy_version
         from sessions s
        where ($1::text is null or s.username = $1) and ($2::text is null or s.target = $2)
          and ($3::timestamptz is null or s.started_at >= $3) and ($4::timestamptz is null or s.started_at < $4)
          and ($5::text is null or exists (select 1 from anomalies a where a.session_id = s.id and ($5 = '*' or a.kind = $5)))
          and ($6::text is null or s.end_reason = $6)
        order by s.started_at desc limit 200`,
      [q.user || null, q.target || null, q.from || null, q.to || null, q.anomaly || null, q.endReason || null],
    );
    return rows;
  });
  app.get<{ Params: { id: string } }>('/api/audit/sessions/:id', async (req, reply) => {
    if (!guard('auditor', false)(req, reply)) return reply;
    if (!z.string().uuid().safeParse(req.params.id).success) return reply.code(400).send({ error: 'not a session id' });
    const s = await deps.store.pool.query(`select * from sessions where id = $1`, [req.params.id]);
    if (!s.rows[0]) return reply.code(404).send({ error: 'no such session' });
    const ev = await deps.store.pool.query(
      `select seq, at, kind, payload, encode(hash, 'hex') as hash from session_events where session_id = $1 order by seq limit 5000`,
      [req.params.id],
    );
    const { chain_head: head, ...session } = s.rows[0] as Record<string, unknown> & { chain_head: Buffer | null };
    return { session: { ...session, chain_head: head ? head.toString('hex') : null }, events: ev.rows };
  });
  app.get('/api/audit/anomalies', async (req, reply) => {
    if (!guard('auditor', false)(req, reply)) return reply;
    const { rows } = await deps.store.pool.query(
      `select date_trunc('hour', at) as bucket, kind, count(*)::int as n from anomalies
        where at > now() - interval '7 days' group by 1, 2 order by 1`,
    );
    const recent = await deps.store.pool.query(
      `select at, session_id, username, kind, severity, action, detail from anomalies order by id desc limit 50`,
    );
    return { series: rows, recent: recent.rows };
  });
  app.post('/api/audit/exports', async (req, reply) => {
    const s = guard('auditor', true)(req, reply);
    if (!s) return reply;
    const b = body(z.object({ from: z.string(), to: z.string().optional(), user: z.string().optional(), format: z.enum(EXPORT_FORMATS).default('jsonl') }), req, reply);
    if (!b) return reply;
    const from = new Date(b.from);
    const to = b.to ? new Date(b.to) : new Date();
    if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime())) return reply.code(400).send({ error: 'from and to must be times' });
    const dir = await mkdtemp(join(tmpdir(), 'pgward-export-'));
    const id = randomUUID();
    const file = join(dir, `pgward-audit-${id}.${b.format === 'csv' ? 'csv' : 'jsonl'}`);
    const key = deps.keys.signingKey();
    const jwk = deps.keys.publicJwks().keys.find((k) => k.kid === key.kid)!;
    const client = await deps.store.pool.connect();
    try {
      const { manifest, manifestPath } = await exportAudit(client, {
        from,
        to,
        user: b.user || undefined,
        format: b.format,
        out: file,
        signer: { kid: key.kid, privateKey: key.privateKey, publicKey: (await importJWK(jwk, 'ES256')) as CryptoKey },
      });
      exports.set(id, { owner: s.user, file, manifest: manifestPath });
      await adminEvent(s.user, 'audit.export', { from: manifest.from, to: manifest.to, user: b.user ?? null, format: b.format, events: manifest.events });
      return { id, events: manifest.events, sessions: manifest.sessions.length, file: `/api/audit/exports/${id}/file`, manifest: `/api/audit/exports/${id}/manifest` };
    } finally {
      client.release();
    }
  });
  app.get<{ Params: { id: string; part: string } }>('/api/audit/exports/:id/:part', async (req, reply) => {
    const s = guard('auditor', false)(req, reply);
    if (!s) return reply;
    const e = exports.get(req.params.id);
    if (!e || e.owner !== s.user || !['file', 'manifest'].includes(req.params.part)) return reply.code(404).send({ error: 'no such export' });
    const path = req.params.part === 'file' ? e.file : e.manifest;
    const name = path.split('/').pop()!;
    return reply.header('content-disposition', `attachment; filename="${name}"`).type('application/octet-stream').send(createReadStream(path));
  });

  // ---- operations -----------------------------------------------------------------------
  app.get('/metrics', async (_req, reply) => {
    if (!deps.metrics) return reply.code(404).send({ error: 'no gateway in this process' });
    return reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
}
