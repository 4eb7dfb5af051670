import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../harness/gateway.js';
import { buildCli, cliConfig, pgward } from './audit-cli.js';
import { signInAs } from './console-signin.js';

/*
 * API tokens for the console API (docs/api-tokens.md): automation and remote admins call it
 * with `Authorization: Bearer pgw_...`, scoped, revocable, audited, without the store or the
 * vault key. In process with app.inject against a real store.
 */

let gw: TestGateway;
let app: FastifyInstance;
let person: { cookie: string; csrf: string };

const asPerson = (o: InjectOptions) =>
  app.inject({ ...o, headers: { cookie: person.cookie, 'x-csrf-token': person.csrf, ...(o.headers ?? {}) } });
const asToken = (token: string, o: InjectOptions) =>
  app.inject({ ...o, headers: { authorization: `Bearer ${token}`, ...(o.headers ?? {}) } });

async function makeToken(name: string, scopes: string[], ttl = '1d'): Promise<string> {
  const res = await asPerson({ method: 'POST', url: '/api/api-tokens', payload: { name, scopes, ttl } });
  expect(res.statusCode, res.body).toBe(200);
  const body = res.json<{ token: string; scopes: string[] }>();
  expect(body.token).toMatch(/^pgw_[A-Za-z0-9_-]{43}$/);
  return body.token;
}

async function adminEvents(action: string): Promise<Array<{ actor: string; detail: Record<string, unknown> }>> {
  const { rows } = await gw.cp.store.sql.query<{ actor: string; detail: Record<string, unknown> }>(
    'select actor, detail from admin_events where action = $1 order by id',
    [action],
  );
  return rows;
}

beforeAll(async () => {
  gw = await startTestGateway(inject('pgCluster'), {}, { web: true });
  app = gw.web!.app;
  // An admin who is also an auditor: may give either scope.
  person = await signInAs(gw, 'dana', ['admins', 'auditors']);
});
afterAll(async () => {
  await gw?.close();
});

describe('API tokens', () => {
  it('an auditor-scoped token reads the audit API and nothing else, without a cookie', async () => {
    const token = await makeToken('nightly-export', ['auditor']);
    const me = await asToken(token, { method: 'GET', url: '/api/me' });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toMatchObject({ user: 'api-token:nightly-export', roles: ['auditor'] });
    expect((await asToken(token, { method: 'GET', url: '/api/audit/anomalies' })).statusCode).toBe(200);
    const policy = await asToken(token, { method: 'GET', url: '/api/policy' });
    expect(policy.statusCode).toBe(403);
    expect(policy.json()).toEqual({ error: 'this needs the admin role' });
    // Not a person: none of a developer's own pages.
    expect((await asToken(token, { method: 'GET', url: '/api/my/sessions' })).statusCode).toBe(403);
  });

  it('an admin-scoped token changes state without a CSRF token, and the audit names the token', async () => {
    const token = await makeToken('vault-rotation', ['admin']);
    const res = await asToken(token, {
      method: 'PUT',
      url: '/api/vault',
      payload: { target: 'app', role: 'rotated_role', secret: 'not-shown-anywhere' },
    });
    expect(res.statusCode, res.body).toBe(200);
    const events = await adminEvents('vault.set');
    expect(events.at(-1)).toMatchObject({ actor: 'api-token:vault-rotation', detail: { role: 'rotated_role' } });
    expect((await adminEvents('api-token.create')).map((e) => e.detail['name'])).toContain('vault-rotation');
  });

  it('a token cannot make tokens, and a person cannot give a scope they do not hold', async () => {
    const token = await makeToken('automation', ['admin']);
    const mint = await asToken(token, {
      method: 'POST',
      url: '/api/api-tokens',
      payload: { name: 'child', scopes: ['admin'] },
    });
    expect(mint.statusCode).toBe(403);
    expect(mint.json<{ error: string }>().error).toMatch(/managed by a person/);

    const adminOnly = await signInAs(gw, 'erin', ['admins']);
    const res = await app.inject({
      method: 'POST',
      url: '/api/api-tokens',
      headers: { cookie: adminOnly.cookie, 'x-csrf-token': adminOnly.csrf },
      payload: { name: 'sneaky', scopes: ['auditor'] },
    });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toEqual({ error: 'you cannot give a scope you do not hold: auditor' });
  });

  it('names, lifetimes and duplicates are refused with the reason', async () => {
    const post = (payload: object) => asPerson({ method: 'POST', url: '/api/api-tokens', payload });
    expect((await post({ name: 'x y', scopes: ['admin'] })).json<{ error: string }>().error).toMatch(/token name/);
    expect((await post({ name: 'long', scopes: ['admin'], ttl: '400d' })).json<{ error: string }>().error).toBe(
      'an API token lives at most 365d',
    );
    await makeToken('twice', ['auditor']);
    const again = await post({ name: 'twice', scopes: ['auditor'] });
    expect(again.statusCode).toBe(400);
    expect(again.json<{ error: string }>().error).toMatch(/exists; revoke it or pick another name/);
  });

  it('a revoked or expired token gets 401 saying so; a malformed Bearer never falls back to the cookie', async () => {
    const token = await makeToken('short-lived', ['auditor']);
    expect((await asToken(token, { method: 'GET', url: '/api/me' })).statusCode).toBe(200);
    const revoke = await asPerson({ method: 'POST', url: '/api/api-tokens/short-lived/revoke' });
    expect(revoke.statusCode).toBe(200);
    const after = await asToken(token, { method: 'GET', url: '/api/me' });
    expect(after.statusCode).toBe(401);
    expect(after.json()).toEqual({ error: 'the API token is unknown, revoked or expired' });
    expect((await adminEvents('api-token.revoke')).at(-1)).toMatchObject({ actor: 'dana' });

    const expired = await makeToken('expired', ['auditor'], '1ms');
    expect((await asToken(expired, { method: 'GET', url: '/api/me' })).statusCode).toBe(401);

    const mixed = await app.inject({
      method: 'GET',
      url: '/api/me',
      headers: { cookie: person.cookie, authorization: 'Bearer pgw_not-a-real-token' },
    });
    expect(mixed.statusCode).toBe(401);
  });

  it('the list shows when and from where a token was used, never a value; no log line carries one', async () => {
    const token = await makeToken('listed', ['auditor']);
    await asToken(token, { method: 'GET', url: '/api/me', remoteAddress: '10.1.2.3' });
    const list = await asPerson({ method: 'GET', url: '/api/api-tokens' });
    expect(list.statusCode).toBe(200);
    expect(list.body).not.toContain('pgw_');
    const row = list
      .json<Array<{ name: string; lastUsedFrom: string | null; lastUsedAt: string | null }>>()
      .find((t) => t.name === 'listed');
    expect(row).toMatchObject({ lastUsedFrom: '10.1.2.3' });
    expect(row?.lastUsedAt).not.toBeNull();
    expect(gw.logs.join('\n')).not.toContain(token);
    expect(gw.logs.some((l) => l.includes('"event":"api_token_call"') && l.includes('"tokenName":"listed"'))).toBe(
      true,
    );
  });
});

describe('pgward api-token (the operator CLI, built and run as a user runs it)', () => {
  let main: string;
  let dir: string;
  let config: string;
  beforeAll(async () => {
    main = await buildCli();
    dir = await mkdtemp(join(tmpdir(), 'api-token-cli-'));
    config = await cliConfig(gw, dir);
  }, 180_000);

  it('create prints the token once on stdout; it works; list never shows it; revoke ends it', async () => {
    const made = await pgward(
      main,
      ['-c', config, 'api-token', 'create', 'ops-cli', '--scope', 'auditor', '--ttl', '2h'],
      dir,
    );
    expect(made.code, made.stderr).toBe(0);
    const token = made.stdout.trim();
    expect(token).toMatch(/^pgw_[A-Za-z0-9_-]{43}$/);
    expect(made.stderr).toMatch(/API token ops-cli \(auditor\) expires .* it is not shown again/);
    expect((await asToken(token, { method: 'GET', url: '/api/audit/anomalies' })).statusCode).toBe(200);

    const list = await pgward(main, ['-c', config, 'api-token', 'list', '--json'], dir);
    expect(list.code).toBe(0);
    expect(list.stdout).not.toContain(token);
    expect(JSON.parse(list.stdout)).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'ops-cli', scopes: ['auditor'] })]),
    );

    const revoked = await pgward(main, ['-c', config, 'api-token', 'revoke', 'ops-cli'], dir);
    expect(revoked.code).toBe(0);
    expect((await asToken(token, { method: 'GET', url: '/api/me' })).statusCode).toBe(401);
    expect((await adminEvents('api-token.create')).at(-1)?.actor).toMatch(/ \(cli\)$/);
  });

  it('a wrong scope is a usage error (exit 2) naming the scopes; an unknown token to revoke says how to list them', async () => {
    const bad = await pgward(main, ['-c', config, 'api-token', 'create', 'x', '--scope', 'root'], dir);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown scope root/);
    expect(bad.stderr).toMatch(/scopes are admin and auditor/);
    const none = await pgward(main, ['-c', config, 'api-token', 'revoke', 'no-such-token'], dir);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no API token "no-such-token"/);
    expect(none.stderr).toMatch(/pgward api-token list/);
  });
});
