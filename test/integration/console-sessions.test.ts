import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { tokenRevoke } from '../../src/cli/admin-commands.js';
import { psql } from '../harness/clients.js';
import { eventually } from '../harness/eventually.js';
import { startTestGateway, type TestGateway } from '../harness/gateway.js';
import { signInAs } from './console-signin.js';

/*
 * Console sessions over real HTTP (the console listening on its port, the store a real
 * Postgres): what an old cookie can still do after sign-out, revocation, expiry, and what an
 * admin whose groups are stale can do. Two consoles share one store, as two gateways do.
 */

let gw: TestGateway;
let other: TestGateway;
let configPath: string;

beforeAll(async () => {
  gw = await startTestGateway(inject('pgCluster'), { auth: { linkTtl: '60s' } }, { web: true });
  other = await startTestGateway(inject('pgCluster'), {}, { web: true, share: gw });
  const dir = await mkdtemp(join(tmpdir(), 'pgward-console-'));
  configPath = join(dir, 'pgward.yaml');
  await writeFile(
    configPath,
    `store: { url: '${gw.storeUrl}', caFile: '${gw.caPath}' }\nvault: { keyFile: '${gw.vaultKeyFile}' }\n`,
  );
}, 60_000);
afterAll(async () => {
  await other?.close();
  await gw?.close();
});

interface Answer {
  status: number;
  location: string | null;
  body: string;
}

/** One request as a browser holding `cookie` would send it (redirects not followed). */
async function http(
  base: string,
  method: 'GET' | 'POST' | 'PUT',
  path: string,
  o: { cookie?: string; csrf?: string; form?: Record<string, string>; json?: unknown } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (o.cookie) headers['cookie'] = o.cookie;
  if (o.csrf) headers['x-csrf-token'] = o.csrf;
  let body: string | undefined;
  if (o.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(o.form).toString();
  } else if (o.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(o.json);
  }
  const res = await fetch(base + path, { method, headers, body, redirect: 'manual' });
  return { status: res.status, location: res.headers.get('location'), body: await res.text() };
}

const web = (g: TestGateway = gw): string => g.web!.url;

/** What an old cookie is refused, route by route: status (and where a redirect goes). */
async function whatTheCookieGets(cookie: string, csrf: string, base = web()): Promise<string[]> {
  const seen: string[] = [];
  const line = (what: string, a: Answer) =>
    seen.push(`${what}: ${a.status}${a.location ? ` ${a.location.replace(/\?.*/, '')}` : ''}`);
  line('GET /api/me', await http(base, 'GET', '/api/me', { cookie }));
  line('GET /api/policy', await http(base, 'GET', '/api/policy', { cookie }));
  line(
    'PUT /api/vault',
    await http(base, 'PUT', '/api/vault', {
      cookie,
      csrf,
      json: { target: 'app', role: 'stolen', secret: 'written-by-an-old-cookie' },
    }),
  );
  line('GET /cli/login', await http(base, 'GET', '/cli/login?port=50123&state=0123456789abcdef0123', { cookie }));
  line(
    'POST /cli/login',
    await http(base, 'POST', '/cli/login', {
      cookie,
      form: { csrf, port: '50123', state: '0123456789abcdef0123', decision: 'confirm' },
    }),
  );
  line('GET /admin/policy', await http(base, 'GET', '/admin/policy', { cookie }));
  return seen;
}

const REFUSED = [
  'GET /api/me: 401',
  'GET /api/policy: 401',
  'PUT /api/vault: 401',
  'GET /cli/login: 302 /auth/login',
  'POST /cli/login: 302 /auth/login',
  'GET /admin/policy: 302 /auth/login',
];

async function vaultEntries(role: string): Promise<number> {
  const { rows } = await gw.cp.store.sql.query('select 1 from vault_entries where role = $1', [role]);
  return rows.length;
}

async function cliGrants(): Promise<number> {
  const { rows } = await gw.cp.store.sql.query<{ n: number }>('select count(*)::int as n from cli_grants');
  return rows[0]!.n;
}

describe('a console session lives on the server', () => {
  it('works on every console sharing the store while live', async () => {
    const bob = await signInAs(gw, 'bob', ['admins']);
    for (const base of [web(gw), web(other)]) {
      const me = await http(base, 'GET', '/api/me', { cookie: bob.cookie });
      expect(me.status).toBe(200);
      expect(JSON.parse(me.body)).toMatchObject({ user: 'bob', roles: ['developer', 'admin'] });
      expect((await http(base, 'GET', '/api/policy', { cookie: bob.cookie })).status).toBe(200);
    }
  });

  it('after sign-out, the saved cookie is refused everywhere: API, link approval, CLI sign-in', async () => {
    const bob = await signInAs(gw, 'bob', ['admins']);
    const grantsBefore = await cliGrants();
    // A psql session waiting on a sign-in link for bob, for the old cookie to try to approve.
    let link: string | null = null;
    const waiting = psql(gw, 'bob', gw.database, null, ['-c', 'select current_user'], {
      onStderr: (text) => (link ??= /sign in to continue: (http\S+)/.exec(text)?.[1] ?? null),
      timeoutMs: 60_000,
      env: { PGOPTIONS: '-c pgward.login=link' },
    });
    const url = await eventually(() => {
      expect(link, 'the link psql printed').not.toBeNull();
      return new URL(link!);
    });

    const out = await http(web(), 'POST', '/auth/logout', { cookie: bob.cookie, form: { csrf: bob.csrf } });
    expect([out.status, out.location]).toEqual([302, '/']);

    expect(await whatTheCookieGets(bob.cookie, bob.csrf)).toEqual(REFUSED);
    expect(await whatTheCookieGets(bob.cookie, bob.csrf, web(other))).toEqual(REFUSED);
    expect(await vaultEntries('stolen')).toBe(0);
    expect(await cliGrants()).toBe(grantsBefore);

    const approve = await http(web(), 'POST', url.pathname, {
      cookie: bob.cookie,
      form: { csrf: bob.csrf, decision: 'approve' },
    });
    expect([approve.status, approve.location?.replace(/\?.*/, '')]).toEqual([302, '/auth/login']);
    const { rows } = await gw.cp.store.sql.query<{ approved_at: Date | null }>(
      'select approved_at from login_links where username = $1',
      ['bob'],
    );
    expect(rows.map((r) => r.approved_at)).toEqual([null]);

    // The link itself was good: bob, signed in afresh, approves it and psql goes on.
    const again = await signInAs(gw, 'bob', ['admins']);
    const ok = await http(web(), 'POST', url.pathname, {
      cookie: again.cookie,
      form: { csrf: again.csrf, decision: 'approve' },
    });
    expect(ok.body).toContain('Approved. You can go back to your terminal.');
    const r = await waiting;
    expect([r.code, r.stdout.trim()]).toEqual([0, gw.upstreamRole]);

    const ended = await gw.cp.store.sql.query<{ ended_reason: string | null }>(
      `select c.ended_reason from console_sessions c where c.token_jti = $1`,
      [bob.jti],
    );
    expect(ended.rows.map((x) => x.ended_reason)).toEqual(['signed out']);
  }, 60_000);

  it('`pgward token revoke --user carol --end-sessions` ends her console sessions on every gateway at once', async () => {
    const a = await signInAs(gw, 'carol', ['admins']);
    const b = await signInAs(other, 'carol', ['auditors']);
    for (const [s, base] of [
      [a, web(gw)],
      [b, web(other)],
    ] as const)
      expect((await http(base, 'GET', '/api/me', { cookie: s.cookie })).status).toBe(200);
    const stderr: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => stderr.push(String(chunk)) > 0) as typeof process.stderr.write;
    try {
      await tokenRevoke(configPath, undefined, { user: 'carol', endSessions: true });
    } finally {
      process.stderr.write = write;
    }
    expect(stderr.join('')).toContain('revoked 2 token(s) of carol');
    // No waiting: the next request on either console reads the revocation from the store.
    for (const s of [a, b])
      for (const base of [web(gw), web(other)])
        expect((await http(base, 'GET', '/api/me', { cookie: s.cookie })).status).toBe(401);
    expect(await whatTheCookieGets(a.cookie, a.csrf, web(other))).toEqual(REFUSED);
  });

  it('revoking one token (by jti, from the console) ends the console session made with it, and no other', async () => {
    const admin = await signInAs(gw, 'erin', ['admins']);
    const dave1 = await signInAs(gw, 'dave', ['developers']);
    const dave2 = await signInAs(gw, 'dave', ['developers']);
    const res = await http(web(), 'POST', `/api/tokens/${dave1.jti}/revoke`, {
      cookie: admin.cookie,
      csrf: admin.csrf,
      json: {},
    });
    expect(JSON.parse(res.body)).toEqual({ revoked: true });
    expect((await http(web(other), 'GET', '/api/my/tokens', { cookie: dave1.cookie })).status).toBe(401);
    expect((await http(web(other), 'GET', '/api/my/tokens', { cookie: dave2.cookie })).status).toBe(200);
  });

  it('expires with its token', async () => {
    const issued = await gw.cp.tokens.issue({ user: 'frank', groups: [], ttl: '2s', issuedBy: 'test' });
    const { consoleSessions } = await import('./console-signin.js');
    const made = await consoleSessions(gw).create({ user: 'frank', email: null, groups: [] }, issued);
    const cookie = `pgward_session=${made.cookie}`;
    expect((await http(web(), 'GET', '/api/me', { cookie })).status).toBe(200);
    await eventually(async () => expect((await http(web(), 'GET', '/api/me', { cookie })).status).toBe(401), {
      timeoutMs: 10_000,
      intervalMs: 250,
    });
  });
});

describe('roles come from the live session', () => {
  it('admin and auditor need groups read within web.rolesMaxAge (15m); past it, a new sign-in, not the old groups', async () => {
    const admin = await signInAs(gw, 'grace', ['admins']);
    expect((await http(web(), 'GET', '/api/policy', { cookie: admin.cookie })).status).toBe(200);
    // Sixteen minutes later, as the store sees it.
    await gw.cp.store.sql.query(
      `update console_sessions set groups_read_at = now() - interval '16 minutes' where token_jti = $1`,
      [admin.jti],
    );
    const api = await http(web(), 'GET', '/api/policy', { cookie: admin.cookie });
    expect([api.status, JSON.parse(api.body)]).toEqual([401, { error: 'sign in again to confirm your admin role' }]);
    const write = await http(web(other), 'PUT', '/api/vault', {
      cookie: admin.cookie,
      csrf: admin.csrf,
      json: { target: 'app', role: 'stale_admin', secret: 'x' },
    });
    expect(write.status).toBe(401);
    expect(await vaultEntries('stale_admin')).toBe(0);
    const page = await http(web(), 'GET', '/admin/policy', { cookie: admin.cookie });
    expect([page.status, page.location]).toEqual([302, `/auth/login?next=${encodeURIComponent('/admin/policy')}`]);
    // What needs no privileged role goes on.
    expect((await http(web(), 'GET', '/api/my/tokens', { cookie: admin.cookie })).status).toBe(200);
  });
});

describe('/cli/login asks before it mints', () => {
  const query = 'port=50124&state=abcdefgh-0123456789';

  it('GET shows who and where, and mints nothing', async () => {
    const dave = await signInAs(gw, 'dave', ['developers']);
    const before = await cliGrants();
    const page = await http(web(), 'GET', `/cli/login?${query}`, { cookie: dave.cookie });
    expect(page.status).toBe(200);
    expect(page.body).toContain('A terminal asks to be signed in as <strong>dave</strong>');
    expect(page.body).toContain('<dd id="cli-port">50124</dd>');
    expect(page.body).toContain('port=50124&amp;state=abcdefgh…');
    expect(await cliGrants()).toBe(before);
  });

  it('POST needs the CSRF token; cancel mints nothing; confirm sends a one-time code to the loopback port only', async () => {
    const dave = await signInAs(gw, 'dave', ['developers']);
    const before = await cliGrants();
    const form = { port: '50124', state: 'abcdefgh-0123456789' };
    const forged = await http(web(), 'POST', '/cli/login', {
      cookie: dave.cookie,
      form: { ...form, decision: 'confirm' },
    });
    expect(forged.status).toBe(403);
    const cancel = await http(web(), 'POST', '/cli/login', {
      cookie: dave.cookie,
      form: { ...form, csrf: dave.csrf, decision: 'cancel' },
    });
    expect(cancel.body).toContain('Cancelled. No token was issued to the terminal.');
    expect(await cliGrants()).toBe(before);
    const bad = await http(web(), 'POST', '/cli/login', {
      cookie: dave.cookie,
      form: { port: '80', state: form.state, csrf: dave.csrf, decision: 'confirm' },
    });
    expect(bad.status).toBe(400);
    const ok = await http(web(), 'POST', '/cli/login', {
      cookie: dave.cookie,
      form: { ...form, csrf: dave.csrf, decision: 'confirm' },
    });
    expect(ok.status).toBe(303);
    const to = new URL(ok.location!);
    expect([to.origin, to.pathname, to.searchParams.get('state')]).toEqual([
      'http://127.0.0.1:50124',
      '/callback',
      form.state,
    ]);
    const redeemed = await fetch(`${web()}/cli/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code: to.searchParams.get('code') }),
    });
    expect(redeemed.status).toBe(200);
    expect(((await redeemed.json()) as { user: string }).user).toBe('dave');
  });
});
