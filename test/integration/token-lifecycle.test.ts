import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { TokenLifetimeError } from '../../src/identity/token-service.js';
import { psql } from '../harness/clients.js';
import { startTestGateway, superuserQuery, type TestGateway } from '../harness/gateway.js';

let gw: TestGateway;
let lenient: TestGateway;

beforeAll(async () => {
  const cluster = inject('pgCluster');
  [gw, lenient] = await Promise.all([
    startTestGateway(cluster, { auth: { groupTtl: { admins: '2s', contractors: '1h' }, maxTtl: '1d' } }),
    startTestGateway(cluster, { auth: { onTokenExpiry: 'allow' } }),
  ]);
});
afterAll(async () => {
  await Promise.all([gw?.close(), lenient?.close()]);
});

async function sessionEnd(g: TestGateway, user: string): Promise<string | null> {
  for (let i = 0; i < 50; i++) {
    const { rows } = await g.cp.store.pool.query<{ end_reason: string | null }>(
      `select end_reason from sessions where username = $1 order by started_at desc limit 1`,
      [user],
    );
    if (rows[0]?.end_reason) return rows[0].end_reason;
    await new Promise((r) => setTimeout(r, 50));
  }
  return null;
}

/** Resolves once the gateway has a live session for user (the client passed ReadyForQuery). */
async function live(g: TestGateway, user: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (g.gateway.sessions.list().some((s) => s.user === user)) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no live session for ${user}`);
}

describe('token lifetime per policy', () => {
  it('gives each group its cap, the shortest when a user is in several, and refuses longer requests', async () => {
    const t0 = Date.now();
    const dev = await gw.cp.tokens.issue({ user: 'ttl-dev', groups: ['developers'], issuedBy: 'test' });
    expect(dev.expiresAt.getTime() - t0).toBeGreaterThan(8 * 3600_000 - 5_000);
    const both = await gw.cp.tokens.issue({ user: 'ttl-both', groups: ['contractors', 'admins'], issuedBy: 'test' });
    expect(both.expiresAt.getTime() - t0).toBeLessThan(3_000);
    await expect(gw.cp.tokens.issue({ user: 'ttl-c', groups: ['contractors'], ttl: '2h', issuedBy: 'test' })).rejects.toThrow(
      new TokenLifetimeError('token lifetime 2h is over the limit of group contractors (1h)'),
    );
    await expect(gw.cp.tokens.issue({ user: 'ttl-x', groups: [], ttl: '2d', issuedBy: 'test' })).rejects.toThrow(/over the limit of maxTtl 1d/);
  });
});

describe('a live session whose token expires', () => {
  it('is ended with a FATAL the client can read when the policy says end', async () => {
    const t = await gw.issue('exp-end', { ttl: '2s' });
    const r = await psql(gw, 'exp-end', gw.database, t.token, [], { input: "select 'before';\nselect pg_sleep(10);\nselect 'after';\n" });
    expect(r.stdout.trim()).toBe('before');
    expect(r.stderr).toContain('FATAL:  terminating connection: the token of this session expired');
    expect(await sessionEnd(gw, 'exp-end')).toBe('token-expired');
    // The statement was cancelled upstream, not left running after the client was told.
    await new Promise((r) => setTimeout(r, 300));
    const { rows } = await superuserQuery(
      inject('pgCluster'),
      `select count(*)::int as n from pg_stat_activity where usename = $1 and state = 'active' and query like 'select pg_sleep(10)%'`,
      'postgres',
      [gw.upstreamRole],
    );
    expect(rows[0].n).toBe(0);
  });

  it('runs to its end when the policy says allow', async () => {
    const t = await lenient.issue('exp-allow', { ttl: '1s' });
    const r = await psql(lenient, 'exp-allow', lenient.database, t.token, [], { input: "select pg_sleep(2);\nselect 'after';\n" });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n').pop()).toBe('after');
  });
});

describe('revocation of a live token', () => {
  it('refuses new connections at once but leaves open sessions alone unless asked', async () => {
    const t = await gw.issue('rev-keep');
    const running = psql(gw, 'rev-keep', gw.database, t.token, [], { input: "select pg_sleep(1.5);\nselect 'still here';\n" });
    await live(gw, 'rev-keep');
    await gw.cp.tokens.revoke(t.jti, 'test');
    const fresh = await psql(gw, 'rev-keep', gw.database, t.token, ['-c', 'select 1']);
    expect(fresh.stderr).toContain('password authentication failed for user "rev-keep"');
    const r = await running;
    expect(r.stdout.trim().split('\n').pop()).toBe('still here');
  });

  it('ends the sessions on that token, on request, with a readable FATAL', async () => {
    const t = await gw.issue('rev-end');
    const other = await gw.issue('rev-end');
    const doomed = psql(gw, 'rev-end', gw.database, t.token, [], { input: "select pg_sleep(20);\nselect 'after';\n" });
    const spared = psql(gw, 'rev-end', gw.database, other.token, [], { input: "select pg_sleep(1.5);\nselect 'spared';\n" });
    await live(gw, 'rev-end');
    while (gw.gateway.sessions.list().filter((s) => s.user === 'rev-end').length < 2) await new Promise((r) => setTimeout(r, 25));
    const t0 = Date.now();
    expect(await gw.cp.tokens.revoke(t.jti, 'compromised', { endSessions: true })).toBe(true);
    const r = await doomed;
    expect(Date.now() - t0).toBeLessThan(3_000);
    expect(r.stderr).toContain('FATAL:  terminating connection: the token of this session was revoked');
    expect(r.stdout).not.toContain('after');
    expect((await spared).stdout.trim().split('\n').pop()).toBe('spared');
  });

  it('revoking every token of a user ends all of their sessions', async () => {
    const a = await gw.issue('rev-all');
    const b = await gw.issue('rev-all');
    const s1 = psql(gw, 'rev-all', gw.database, a.token, ['-c', 'select pg_sleep(20)']);
    const s2 = psql(gw, 'rev-all', gw.database, b.token, ['-c', 'select pg_sleep(20)']);
    while (gw.gateway.sessions.list().filter((s) => s.user === 'rev-all').length < 2) await new Promise((r) => setTimeout(r, 25));
    expect(await gw.cp.tokens.revokeUser('rev-all', 'left the company', { endSessions: true })).toBe(2);
    for (const r of await Promise.all([s1, s2])) expect(r.stderr).toContain('the token of this session was revoked');
    expect(await sessionEnd(gw, 'rev-all')).toBe('token-revoked');
  });
});
