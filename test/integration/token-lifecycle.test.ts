import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { TokenLifetimeError } from '../../src/identity/token-service.js';
import { psql } from '../harness/clients.js';
import { eventually } from '../harness/eventually.js';
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

/** The end reason of the user's newest session, once the gateway has recorded its end. */
async function sessionEnd(g: TestGateway, user: string): Promise<string> {
  return eventually(async () => {
    const { rows } = await g.cp.store.sql.query<{ end_reason: string | null }>(
      `select end_reason from sessions where username = $1 order by started_at desc limit 1`,
      [user],
    );
    expect(rows[0]?.end_reason, `end_reason of ${user}'s newest session`).toBeTruthy();
    return rows[0]!.end_reason!;
  });
}

/** Resolves once the gateway has this many live sessions for user (clients past ReadyForQuery). */
async function live(g: TestGateway, user: string, count = 1): Promise<void> {
  await eventually(() => expect(g.gateway.sessions.list().filter((s) => s.user === user)).toHaveLength(count));
}

/** A node-postgres session: its statements show whether the gateway left it open. */
async function connectPg(g: TestGateway, user: string, token: string): Promise<pg.Client> {
  const c = new pg.Client({
    host: g.host,
    port: g.port,
    user,
    password: token,
    database: g.database,
    ssl: { ca: await readFile(g.caPath, 'utf8'), servername: 'localhost' },
  });
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

describe('token lifetime per policy', () => {
  it('gives each group its cap, the shortest when a user is in several, and refuses longer requests', async () => {
    // The lifetime starts while issue() runs: between the clock readings before and after it.
    const expectLifetime = async (user: string, groups: string[], ms: number): Promise<void> => {
      const before = Date.now();
      const t = await gw.cp.tokens.issue({ user, groups, issuedBy: 'test' });
      const after = Date.now();
      expect(t.expiresAt.getTime()).toBeGreaterThanOrEqual(before + ms);
      expect(t.expiresAt.getTime()).toBeLessThanOrEqual(after + ms);
    };
    await expectLifetime('ttl-dev', ['developers'], 8 * 3600_000);
    await expectLifetime('ttl-both', ['contractors', 'admins'], 2_000);
    await expect(
      gw.cp.tokens.issue({ user: 'ttl-c', groups: ['contractors'], ttl: '2h', issuedBy: 'test' }),
    ).rejects.toThrow(new TokenLifetimeError('token lifetime 2h is over the limit of group contractors (1h)'));
    await expect(gw.cp.tokens.issue({ user: 'ttl-x', groups: [], ttl: '2d', issuedBy: 'test' })).rejects.toThrow(
      /over the limit of maxTtl 1d/,
    );
  });
});

describe('a live session whose token expires', () => {
  it('is ended with a FATAL the client can read when the policy says end', async () => {
    // Three seconds: time for psql to sign in on a busy machine before the token expires.
    const t = await gw.issue('exp-end', { ttl: '3s' });
    // Far longer than the eventually() below, so only a cancel can end it in time.
    const r = await psql(gw, 'exp-end', gw.database, t.token, [], {
      input: "select 'before';\nselect pg_sleep(60);\nselect 'after';\n",
    });
    expect(r.stdout.trim()).toBe('before');
    expect(r.stderr).toContain('FATAL:  terminating connection: the token of this session expired');
    expect(await sessionEnd(gw, 'exp-end')).toBe('token-expired');
    // The statement was cancelled upstream, not left running after the client was told.
    await eventually(async () => {
      const { rows } = await superuserQuery(
        inject('pgCluster'),
        `select count(*)::int as n from pg_stat_activity where usename = $1 and state = 'active' and query like 'select pg_sleep(60)%'`,
        'postgres',
        [gw.upstreamRole],
      );
      expect(rows[0].n).toBe(0);
    });
  });

  it('runs to its end when the policy says allow', async () => {
    const t = await lenient.cp.tokens.issue({ user: 'exp-allow', groups: [], ttl: '3s', issuedBy: 'test' });
    const c = await connectPg(lenient, 'exp-allow', t.token);
    try {
      // One statement that runs across the expiry, then one after it.
      const untilPast = Math.max(0, t.expiresAt.getTime() - Date.now()) / 1000 + 0.5;
      await c.query('select pg_sleep($1)', [untilPast]);
      expect(Date.now()).toBeGreaterThan(t.expiresAt.getTime());
      expect((await c.query("select 'after' as s")).rows).toEqual([{ s: 'after' }]);
    } finally {
      await c.end();
    }
  });
});

describe('revocation of a live token', () => {
  it('refuses new connections at once but leaves open sessions alone unless asked', async () => {
    const t = await gw.issue('rev-keep');
    const open = await connectPg(gw, 'rev-keep', t.token);
    try {
      await gw.cp.tokens.revoke(t.jti, 'test');
      const fresh = await psql(gw, 'rev-keep', gw.database, t.token, ['-c', 'select 1']);
      expect(fresh.stderr).toContain('password authentication failed for user "rev-keep"');
      expect((await open.query("select 'still here' as s")).rows).toEqual([{ s: 'still here' }]);
    } finally {
      await open.end();
    }
  });

  it('ends the sessions on that token, on request, with a readable FATAL', async () => {
    const t = await gw.issue('rev-end');
    const other = await gw.issue('rev-end');
    const spared = await connectPg(gw, 'rev-end', other.token);
    try {
      const doomed = psql(gw, 'rev-end', gw.database, t.token, [], {
        input: "select pg_sleep(20);\nselect 'after';\n",
      });
      await live(gw, 'rev-end', 2);
      expect(await gw.cp.tokens.revoke(t.jti, 'compromised', { endSessions: true })).toBe(true);
      // Ended by the revocation: the 20 s statement never finished, so 'after' never ran.
      const r = await doomed;
      expect(r.stderr).toContain('FATAL:  terminating connection: the token of this session was revoked');
      expect(r.stdout).not.toContain('after');
      expect((await spared.query("select 'spared' as s")).rows).toEqual([{ s: 'spared' }]);
    } finally {
      await spared.end();
    }
  });

  it('revoking every token of a user ends all of their sessions', async () => {
    const a = await gw.issue('rev-all');
    const b = await gw.issue('rev-all');
    const s1 = psql(gw, 'rev-all', gw.database, a.token, ['-c', 'select pg_sleep(20)']);
    const s2 = psql(gw, 'rev-all', gw.database, b.token, ['-c', 'select pg_sleep(20)']);
    await live(gw, 'rev-all', 2);
    expect(await gw.cp.tokens.revokeUser('rev-all', 'left the company', { endSessions: true })).toBe(2);
    for (const r of await Promise.all([s1, s2])) expect(r.stderr).toContain('the token of this session was revoked');
    expect(await sessionEnd(gw, 'rev-all')).toBe('token-revoked');
  });
});
