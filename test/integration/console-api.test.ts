import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { FastifyInstance, InjectOptions } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { SESSION_COOKIE } from '../../src/web/session.js';
import { EVERYONE_POLICY, startTestGateway, type TestGateway } from '../harness/gateway.js';
import { consoleSessions } from './console-signin.js';

/*
 * The console API's role/CSRF matrix, in process with app.inject(): every API route, called
 * by nobody, a developer, an admin and an auditor, and each state change with no, a wrong
 * and the right CSRF token. The table below is written out by hand (who may call what);
 * the app's own route list must match it, so a new route cannot go untested.
 */

type Who = 'nobody' | 'developer' | 'admin' | 'auditor';
type Access = 'signed-in' | 'developer' | 'admin' | 'auditor';
type Csrf = 'none' | 'wrong' | 'right';

/** The roles each test identity holds (config: admins -> admin, auditors -> auditor; everyone is a developer). */
const HOLDS: Record<Exclude<Who, 'nobody'>, Access[]> = {
  developer: ['signed-in', 'developer'],
  admin: ['signed-in', 'developer', 'admin'],
  auditor: ['signed-in', 'developer', 'auditor'],
};
const GROUPS: Record<Exclude<Who, 'nobody'>, string[]> = {
  developer: ['developers'],
  admin: ['admins'],
  auditor: ['auditors'],
};
const USERS: Record<Exclude<Who, 'nobody'>, string> = { developer: 'alice', admin: 'bob', auditor: 'carol' };

interface Route {
  method: 'GET' | 'POST' | 'PUT';
  url: string;
  /** The registered path, for matching the app's route list. */
  path: string;
  access: Access;
  change: boolean;
  body?: unknown;
  /** The status a permitted caller gets with this request. */
  ok: number;
}

const someId = randomUUID();
const documents = { 'everyone.yaml': EVERYONE_POLICY };

const ROUTES: Route[] = [
  { method: 'GET', url: '/api/me', path: '/api/me', access: 'signed-in', change: false, ok: 200 },
  { method: 'GET', url: '/api/openapi.json', path: '/api/openapi.json', access: 'signed-in', change: false, ok: 200 },
  { method: 'GET', url: '/api/my/tokens', path: '/api/my/tokens', access: 'developer', change: false, ok: 200 },
  { method: 'GET', url: '/api/my/sessions', path: '/api/my/sessions', access: 'developer', change: false, ok: 200 },
  { method: 'GET', url: '/api/policy', path: '/api/policy', access: 'admin', change: false, ok: 200 },
  {
    method: 'POST',
    url: '/api/policy/validate',
    path: '/api/policy/validate',
    access: 'admin',
    change: true,
    body: { documents },
    ok: 200,
  },
  {
    method: 'POST',
    url: '/api/policy/diff',
    path: '/api/policy/diff',
    access: 'admin',
    change: true,
    body: { documents },
    ok: 200,
  },
  // The test gateway reads policy files, so the files are the source: saving is refused (409, why).
  {
    method: 'POST',
    url: '/api/policy',
    path: '/api/policy',
    access: 'admin',
    change: true,
    body: { documents },
    ok: 409,
  },
  { method: 'GET', url: '/api/policy/versions', path: '/api/policy/versions', access: 'admin', change: false, ok: 200 },
  // The test gateway's policy has no rule named "nobody": 404 with the reason.
  {
    method: 'POST',
    url: '/api/policy/masking-preview',
    path: '/api/policy/masking-preview',
    access: 'admin',
    change: true,
    body: { documents, rule: 'nobody', columns: ['public.t.email'], rows: [['a@example.com']] },
    ok: 404,
  },
  {
    method: 'POST',
    url: '/api/policy/rollback',
    path: '/api/policy/rollback',
    access: 'admin',
    change: true,
    body: { version: 1 },
    ok: 409,
  },
  {
    method: 'POST',
    url: '/api/policy/dry-run',
    path: '/api/policy/dry-run',
    access: 'admin',
    change: true,
    body: { user: 'alice', database: 'app' },
    ok: 200,
  },
  {
    method: 'GET',
    url: '/api/policy/who-can-reach?target=app',
    path: '/api/policy/who-can-reach',
    access: 'admin',
    change: false,
    ok: 200,
  },
  { method: 'GET', url: '/api/targets', path: '/api/targets', access: 'admin', change: false, ok: 200 },
  {
    method: 'PUT',
    url: '/api/vault',
    path: '/api/vault',
    access: 'admin',
    change: true,
    body: { target: 'app', role: 'matrix_role', secret: 'matrix-secret' },
    ok: 200,
  },
  { method: 'GET', url: '/api/sessions/live', path: '/api/sessions/live', access: 'admin', change: false, ok: 200 },
  { method: 'GET', url: '/api/my/reach', path: '/api/my/reach', access: 'developer', change: false, ok: 200 },
  {
    method: 'GET',
    url: `/api/my/sessions/${someId}`,
    path: '/api/my/sessions/{id}',
    access: 'developer',
    change: false,
    ok: 404,
  },
  { method: 'GET', url: '/api/dashboard', path: '/api/dashboard', access: 'admin', change: false, ok: 200 },
  {
    method: 'GET',
    url: '/api/audit/dashboard?hours=6',
    path: '/api/audit/dashboard',
    access: 'auditor',
    change: false,
    ok: 200,
  },
  {
    method: 'POST',
    url: `/api/sessions/${someId}/kill`,
    path: '/api/sessions/{id}/kill',
    access: 'admin',
    change: true,
    body: {},
    ok: 200,
  },
  {
    method: 'POST',
    url: `/api/tokens/${someId}/revoke`,
    path: '/api/tokens/{jti}/revoke',
    access: 'admin',
    change: true,
    body: {},
    ok: 200,
  },
  {
    method: 'POST',
    url: '/api/users/nobody-at-all/revoke',
    path: '/api/users/{user}/revoke',
    access: 'admin',
    change: true,
    body: {},
    ok: 200,
  },
  { method: 'GET', url: '/api/tokens', path: '/api/tokens', access: 'admin', change: false, ok: 200 },
  { method: 'GET', url: '/api/api-tokens', path: '/api/api-tokens', access: 'admin', change: false, ok: 200 },
  { method: 'GET', url: '/api/users/locks', path: '/api/users/locks', access: 'admin', change: false, ok: 200 },
  {
    method: 'POST',
    url: '/api/users/matrix-person/lock',
    path: '/api/users/{user}/lock',
    access: 'admin',
    change: true,
    body: { minutes: 1, reason: 'matrix test' },
    ok: 200,
  },
  {
    method: 'POST',
    url: '/api/users/matrix-person/unlock',
    path: '/api/users/{user}/unlock',
    access: 'admin',
    change: true,
    body: {},
    ok: 200,
  },
  { method: 'GET', url: '/api/audit/search', path: '/api/audit/search', access: 'auditor', change: false, ok: 200 },
  {
    method: 'GET',
    url: `/api/audit/sessions/${someId}/timeline`,
    path: '/api/audit/sessions/{id}/timeline',
    access: 'auditor',
    change: false,
    ok: 404,
  },
  { method: 'GET', url: '/api/audit/events', path: '/api/audit/events', access: 'auditor', change: false, ok: 200 },
  {
    method: 'POST',
    url: '/api/api-tokens',
    path: '/api/api-tokens',
    access: 'admin',
    change: true,
    body: { name: 'matrix-token', scopes: ['admin'], ttl: '1h' },
    ok: 200,
  },
  {
    method: 'POST',
    url: '/api/api-tokens/matrix-token/revoke',
    path: '/api/api-tokens/{id}/revoke',
    access: 'admin',
    change: true,
    body: {},
    ok: 200,
  },
  {
    method: 'GET',
    url: '/api/access/options',
    path: '/api/access/options',
    access: 'developer',
    change: false,
    ok: 200,
  },
  {
    method: 'GET',
    url: '/api/my/access-requests',
    path: '/api/my/access-requests',
    access: 'developer',
    change: false,
    ok: 200,
  },
  // The test gateway's policy has no requestable rule: the request is refused, beside its field (400).
  {
    method: 'POST',
    url: '/api/access-requests',
    path: '/api/access-requests',
    access: 'developer',
    change: true,
    body: { target: 'app', rule: 'none', reason: 'OPS-1' },
    ok: 400,
  },
  {
    method: 'GET',
    url: '/api/access-requests/count',
    path: '/api/access-requests/count',
    access: 'developer',
    change: false,
    ok: 200,
  },
  {
    method: 'GET',
    url: '/api/access-requests/pending',
    path: '/api/access-requests/pending',
    access: 'developer',
    change: false,
    ok: 200,
  },
  {
    method: 'GET',
    url: '/api/access-requests/decided',
    path: '/api/access-requests/decided',
    access: 'developer',
    change: false,
    ok: 200,
  },
  ...(['cancel', 'approve', 'deny', 'revoke'] as const).map((verb): Route => ({
    method: 'POST',
    url: `/api/access-requests/${someId}/${verb}`,
    path: `/api/access-requests/{id}/${verb}`,
    access: 'developer',
    change: true,
    body: {},
    ok: 404,
  })),
  {
    method: 'GET',
    url: `/api/access-requests/${someId}`,
    path: '/api/access-requests/{id}',
    access: 'signed-in',
    change: false,
    ok: 404,
  },
  { method: 'GET', url: '/api/audit/sessions', path: '/api/audit/sessions', access: 'auditor', change: false, ok: 200 },
  {
    method: 'GET',
    url: `/api/audit/sessions/${someId}`,
    path: '/api/audit/sessions/{id}',
    access: 'auditor',
    change: false,
    ok: 404,
  },
  {
    method: 'GET',
    url: '/api/audit/anomalies',
    path: '/api/audit/anomalies',
    access: 'auditor',
    change: false,
    ok: 200,
  },
  {
    method: 'POST',
    url: '/api/audit/exports',
    path: '/api/audit/exports',
    access: 'auditor',
    change: true,
    body: { from: new Date(Date.now() - 3600_000).toISOString() },
    ok: 200,
  },
  {
    method: 'GET',
    url: `/api/audit/exports/${someId}/file`,
    path: '/api/audit/exports/{id}/{part}',
    access: 'auditor',
    change: false,
    ok: 404,
  },
];

let gw: TestGateway;
let app: FastifyInstance;
const sessions = new Map<Exclude<Who, 'nobody'>, { cookie: string; csrf: string }>();

/** A console session as the SSO callback makes it: a row in the store, its id and token in the sealed cookie. */
async function signIn(who: Exclude<Who, 'nobody'>): Promise<{ cookie: string; csrf: string }> {
  const issued = await gw.cp.tokens.issue({ user: USERS[who], groups: GROUPS[who], issuedBy: 'test' });
  const made = await consoleSessions(gw).create({ user: USERS[who], email: null, groups: GROUPS[who] }, issued);
  return { cookie: `${SESSION_COOKIE}=${made.cookie}`, csrf: made.session.csrf };
}

function call(r: Pick<Route, 'method' | 'url' | 'body'>, who: Who, csrf: Csrf, extra: Partial<InjectOptions> = {}) {
  const s = who === 'nobody' ? null : sessions.get(who)!;
  const headers: Record<string, string> = {};
  if (s) headers['cookie'] = s.cookie;
  if (csrf === 'right' && s) headers['x-csrf-token'] = s.csrf;
  if (csrf === 'wrong') headers['x-csrf-token'] = 'not-the-token';
  return app.inject({
    method: r.method,
    url: r.url,
    headers,
    ...(r.body === undefined ? {} : { payload: r.body as object }),
    ...extra,
  });
}

function expected(r: Route, who: Who, csrf: Csrf): number {
  if (who === 'nobody') return 401;
  if (!HOLDS[who].includes(r.access)) return 403;
  if (r.change && csrf !== 'right') return 403;
  return r.ok;
}

beforeAll(async () => {
  gw = await startTestGateway(inject('pgCluster'), {}, { web: true });
  app = gw.web!.app;
  for (const who of ['developer', 'admin', 'auditor'] as const) sessions.set(who, await signIn(who));
});
afterAll(async () => {
  await gw?.close();
});

describe('console API role and CSRF matrix (app.inject)', () => {
  it('the table covers every API route the app registers, and the OpenAPI document declares the same access', async () => {
    const registered = [...new Set((app as unknown as { apiRoutes: string[] }).apiRoutes)].sort();
    expect(ROUTES.map((r) => `${r.method} ${r.path}`).sort()).toEqual(registered);
    const doc = (await call({ method: 'GET', url: '/api/openapi.json' }, 'developer', 'none')).json() as {
      paths: Record<string, Record<string, { 'x-pgward-role': string; 'x-pgward-csrf': boolean }>>;
    };
    const declared = Object.entries(doc.paths).flatMap(([p, ops]) =>
      Object.entries(ops).map(([m, op]) => `${m.toUpperCase()} ${p} ${op['x-pgward-role']} ${op['x-pgward-csrf']}`),
    );
    expect(declared.sort()).toEqual(ROUTES.map((r) => `${r.method} ${r.path} ${r.access} ${r.change}`).sort());
  });

  it.each(ROUTES.map((r) => [`${r.method} ${r.url}`, r] as const))('%s', async (_name, r) => {
    const seen: string[] = [];
    const want: string[] = [];
    // The permitted call with the right token goes last: it is the one that changes something.
    for (const who of ['nobody', 'developer', 'admin', 'auditor'] as const) {
      for (const csrf of r.change ? (['none', 'wrong', 'right'] as const) : (['none'] as const)) {
        const res = await call(r, who, csrf);
        seen.push(`${who}/${csrf}: ${res.statusCode}`);
        want.push(`${who}/${csrf}: ${expected(r, who, csrf)}`);
        if (res.statusCode === 401 || res.statusCode === 403) expect(res.json()).toEqual({ error: expect.any(String) });
      }
    }
    expect(seen).toEqual(want);
  });
});

describe('console pages (app.inject)', () => {
  const PAGES: Array<[string, Access]> = [
    ['/me', 'developer'],
    ['/admin/policy', 'admin'],
    ['/admin/sessions', 'admin'],
    ['/admin/targets', 'admin'],
    ['/admin/tokens', 'admin'],
    ['/audit', 'auditor'],
    [`/audit/sessions/${someId}`, 'auditor'],
    ['/audit/anomalies', 'auditor'],
    ['/audit/events', 'auditor'],
  ];
  it.each(PAGES)('%s: sign-in redirect, 403 without the %s role, the page with it', async (url, access) => {
    const seen: string[] = [];
    const want: string[] = [];
    for (const who of ['nobody', 'developer', 'admin', 'auditor'] as const) {
      const res = await call({ method: 'GET', url }, who, 'none');
      seen.push(`${who}: ${res.statusCode}${res.statusCode === 302 ? ` ${res.headers['location']}` : ''}`);
      want.push(
        `${who}: ${who === 'nobody' ? `302 /auth/login?next=${encodeURIComponent(url)}` : HOLDS[who].includes(access) ? 200 : 403}`,
      );
    }
    expect(seen).toEqual(want);
  });
});

describe('console API requests and responses', () => {
  it('checks access before the body: a malformed change is 401 or 403 to those without the right, 400 with issues to an admin', async () => {
    const bad = { method: 'POST' as const, url: '/api/policy/rollback', body: { version: 'one' } };
    expect((await call(bad, 'nobody', 'none')).statusCode).toBe(401);
    expect((await call(bad, 'developer', 'right')).statusCode).toBe(403);
    expect((await call(bad, 'admin', 'none')).statusCode).toBe(403);
    const res = await call(bad, 'admin', 'right');
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: 'invalid request', issues: ['body/version: must be integer'] });
    const notAnId = await call({ method: 'GET', url: '/api/audit/sessions/not-a-uuid' }, 'auditor', 'none');
    expect(notAnId.statusCode).toBe(400);
  });

  it('answers with camelCase fields listed in the schema, and a session timeline with named statement runs', async () => {
    const ca = await readFile(gw.caPath, 'utf8');
    const { token } = await gw.issue('dana');
    const c = new pg.Client({
      host: gw.host,
      port: gw.port,
      user: 'dana',
      password: token,
      database: gw.database,
      ssl: { ca, servername: 'localhost' },
    });
    await c.connect();
    await c.query('select $1::int * 2 as n', [21]);
    await c.query('select nope from nowhere').catch(() => undefined);
    await c.end();
    await gw.gateway.settled();

    const found = await vi.waitFor(
      async () => {
        const list = (
          await call({ method: 'GET', url: '/api/audit/sessions?user=dana' }, 'auditor', 'none')
        ).json() as Array<Record<string, unknown>>;
        expect(list[0]?.['endReason']).toBe('client-terminate');
        return list;
      },
      { timeout: 20_000 },
    );
    expect(Object.keys(found[0]!).sort()).toEqual(
      [
        'anomalies',
        'authMethod',
        'clientAddr',
        'database',
        'endReason',
        'endedAt',
        'id',
        'policyRule',
        'policyVersion',
        'startedAt',
        'statements',
        'target',
        'upstreamRole',
        'username',
      ].sort(),
    );

    const res = await call({ method: 'GET', url: `/api/audit/sessions/${String(found[0]!['id'])}` }, 'auditor', 'none');
    expect(res.statusCode).toBe(200);
    const { session, events } = res.json() as {
      session: Record<string, unknown>;
      events: Array<{
        kind: string;
        payload: unknown;
        runs: Array<{ sql: string[]; rows: number; outcome: string; error: string | null; at: string }> | null;
      }>;
    };
    expect(session['username']).toBe('dana');
    expect(session['chainHead']).toMatch(/^[0-9a-f]{64}$/);
    expect(Object.keys(session).filter((k) => k.includes('_'))).toEqual([]);
    const runs = events.flatMap((e) => e.runs ?? []);
    expect(runs.map((r) => [r.sql.join('; '), r.rows, r.outcome])).toEqual([
      ['select $1::int * $2 as n', 1, 'ok'],
      ['select nope from nowhere', 0, 'error'],
    ]);
    // The SQLSTATE the client got, as the detector records it.
    expect(runs[1]!.error).toBe('42P01');
    expect(new Date(runs[0]!.at).getTime()).toBeGreaterThan(Date.now() - 3600_000);
    expect(events.filter((e) => e.kind === 'statements').every((e) => e.payload === null)).toBe(true);
  });

  it('ends a session that runs on another gateway: the kill goes out as a notice and its owner ends it', async () => {
    const other = await startTestGateway(inject('pgCluster'), {}, { share: gw });
    try {
      const ca = await readFile(gw.caPath, 'utf8');
      const { token } = await gw.issue('erin');
      const c = new pg.Client({
        host: other.host,
        port: other.port,
        user: 'erin',
        password: token,
        database: gw.database,
        ssl: { ca, servername: 'localhost' },
      });
      c.on('error', () => undefined);
      await c.connect();
      const running = c.query('select pg_sleep(30)').then(
        () => 'finished',
        (err: Error) => err.message,
      );
      const id = await vi.waitFor(
        () => {
          const s = other.gateway.sessions.list().find((x) => x.user === 'erin');
          if (!s) throw new Error('no session of erin yet');
          return s.id;
        },
        { timeout: 20_000 },
      );
      const res = await call({ method: 'POST', url: `/api/sessions/${id}/kill`, body: {} }, 'admin', 'right');
      expect(res.json()).toEqual({ killed: id, local: false });
      expect(await running).toBe('terminating connection: terminated by administrator bob');
      await c.end().catch(() => undefined);
    } finally {
      await other.close();
    }
  });

  it('describes each route with its request and response schemas in OpenAPI 3.1', async () => {
    const doc = (await call({ method: 'GET', url: '/api/openapi.json' }, 'developer', 'none')).json() as {
      openapi: string;
      paths: Record<
        string,
        Record<
          string,
          {
            parameters?: Array<{ name: string; in: string }>;
            requestBody?: { content: Record<string, { schema: { properties: Record<string, unknown> } }> };
            responses: Record<string, { content?: Record<string, { schema: unknown }> }>;
          }
        >
      >;
    };
    expect(doc.openapi).toBe('3.1.0');
    const rollback = doc.paths['/api/policy/rollback']!['post']!;
    expect(rollback.requestBody!.content['application/json']!.schema.properties['version']).toEqual({
      type: 'integer',
      exclusiveMinimum: 0,
      maximum: Number.MAX_SAFE_INTEGER,
    });
    expect(rollback.parameters).toEqual([expect.objectContaining({ name: 'x-csrf-token', in: 'header' })]);
    expect(doc.paths['/api/audit/sessions/{id}']!['get']!.parameters).toEqual([
      expect.objectContaining({ name: 'id', in: 'path' }),
    ]);
    const live = doc.paths['/api/sessions/live']!['get']!.responses['200']!.content!['application/json']!.schema as {
      items: { properties: Record<string, { format?: string }> };
    };
    expect(Object.keys(live.items.properties)).toContain('clientAddr');
    expect(live.items.properties['startedAt']!.format).toBe('date-time');
    // JSON Schema 2020-12, as OpenAPI 3.1 requires: a tuple is prefixItems, not draft 7's items array.
    const decision = JSON.stringify(
      doc.paths['/api/policy/dry-run']!['post']!.responses['200']!.content!['application/json']!.schema,
    );
    expect(decision).toContain('"prefixItems":[{"type":"string"},{"type":"string"}],"items":false');
    for (const [path, ops] of Object.entries(doc.paths))
      for (const [m, op] of Object.entries(ops))
        expect([path, m, op.responses['200']?.content]).not.toEqual([path, m, undefined]);
  });

  it('slows down a burst of sign-in attempts from one address with 429, and no other address', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 35; i++)
      statuses.push((await app.inject({ method: 'GET', url: '/auth/login', remoteAddress: '10.9.8.7' })).statusCode);
    expect(statuses.slice(0, 5).every((s) => s === 302)).toBe(true);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
    expect((await app.inject({ method: 'GET', url: '/auth/login', remoteAddress: '10.9.8.6' })).statusCode).toBe(302);
  });
});
