import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { pastInstant, untilRunning } from '../harness/activity.js';
import { psql } from '../harness/clients.js';
import { eventually } from '../harness/eventually.js';
import { startTestGateway, superuserQuery, type TestGateway } from '../harness/gateway.js';

let gw: TestGateway;
let token: string;

beforeAll(async () => {
  gw = await startTestGateway(inject('pgCluster'));
  token = (await gw.issue('alice', { groups: ['developers'] })).token;
});
afterAll(async () => {
  await gw?.close();
});

describe('psql through pgward', () => {
  // channel_binding=require makes libpq insist on a completed SCRAM-SHA-256-PLUS exchange,
  // which implies require_auth=scram-sha-256 (an option Debian's libpq 15 does not have).
  it('runs a query over verify-full TLS with SCRAM-SHA-256-PLUS, as the vaulted upstream role', async () => {
    const r = await psql(gw, 'alice', gw.database, token, ['-c', 'select current_user, 40 + 2'], {
      extra: { channel_binding: 'require' },
    });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe(`${gw.upstreamRole}|42`);
  });

  it('reports the TLS session to Postgres-aware tools like a server would (psql \\conninfo)', async () => {
    const r = await psql(gw, 'alice', gw.database, token, ['-c', '\\conninfo']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/SSL connection \(protocol: TLSv1\.3/);
  });

  it('runs a multi-statement transaction and recovers from an error mid-transaction', async () => {
    const script = `
      create table if not exists t_tx (id int primary key, v text);
      begin;
      insert into t_tx values (1, 'one');
      insert into t_tx values (1, 'dup');
      rollback;
      begin;
      insert into t_tx values (2, 'two');
      commit;
      select count(*) from t_tx;
    `;
    const r = await psql(gw, 'alice', gw.database, token, ['-v', 'ON_ERROR_STOP=0'], { input: script });
    expect(r.stderr).toContain('duplicate key value violates unique constraint');
    expect(r.stdout.trim().split('\n').pop()).toBe('1');
  });

  it('copies data in and out with \\copy', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pgward-copy-'));
    const src = join(dir, 'in.csv');
    const rows = Array.from({ length: 5000 }, (_, i) => `${i},row ${i}`).join('\n') + '\n';
    await writeFile(src, rows);
    const out = join(dir, 'out.csv');
    const r = await psql(gw, 'alice', gw.database, token, [], {
      input: `create table copy_t (id int, v text);\n\\copy copy_t from '${src}' with (format csv)\n\\copy (select * from copy_t order by id) to '${out}' with (format csv)\nselect count(*), sum(id) from copy_t;\n`,
    });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n').pop()).toBe(`5000|${(4999 * 5000) / 2}`);
    expect(await readFile(out, 'utf8')).toBe(rows);
  });

  it('cancels a running statement (Ctrl-C) through the cancel router', async () => {
    let pid = 0;
    const pending = psql(gw, 'alice', gw.database, token, ['-c', 'select pg_sleep(30)'], { onSpawn: (p) => (pid = p) });
    // Wait until the statement is running upstream, then send psql the SIGINT a Ctrl-C would.
    await untilRunning(inject('pgCluster'), 'select pg_sleep(30)', gw.upstreamRole);
    process.kill(pid, 'SIGINT');
    // Cancelled, not finished: pg_sleep(30) would end without this error.
    const r = await pending;
    expect(r.stderr).toContain('canceling statement due to user request');
  });

  it('refuses a wrong token with 28P01 and the same text as an unknown user', async () => {
    const wrong = await psql(gw, 'alice', gw.database, token.slice(0, -4) + 'AAAA', ['-c', 'select 1']);
    const stranger = await psql(gw, 'mallory', gw.database, token, ['-c', 'select 1']);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain('password authentication failed for user "alice"');
    expect(stranger.stderr).toContain('password authentication failed for user "mallory"');
  });

  it('refuses an expired token and a revoked token', async () => {
    const short = await gw.cp.tokens.issue({ user: 'bob', groups: [], ttl: '1s', issuedBy: 'test' });
    await pastInstant(short.expiresAt);
    const expired = await psql(gw, 'bob', gw.database, short.token, ['-c', 'select 1']);
    expect(expired.stderr).toContain('password authentication failed for user "bob"');
    const live = await gw.issue('bob');
    expect((await psql(gw, 'bob', gw.database, live.token, ['-c', 'select 1'])).stdout.trim()).toBe('1');
    await gw.cp.tokens.revoke(live.jti, 'test');
    const revoked = await psql(gw, 'bob', gw.database, live.token, ['-c', 'select 1']);
    expect(revoked.stderr).toContain('password authentication failed for user "bob"');
    await gw.gateway.settled();
    const events = await gw.cp.store.sql.query(
      `select reason from auth_events where username = 'bob' and outcome = 'failure' order by id`,
    );
    expect(events.rows.length).toBeGreaterThanOrEqual(2);
  });

  it('lets several live tokens of one user connect (one salt, one verifier each)', async () => {
    const a = await gw.issue('carol');
    const b = await gw.issue('carol');
    for (const t of [a.token, b.token]) {
      expect((await psql(gw, 'carol', gw.database, t, ['-c', 'select 7'])).stdout.trim()).toBe('7');
    }
  });

  it('refuses plaintext when TLS is required, before asking for any secret', async () => {
    const r = await psql(gw, 'alice', gw.database, token, ['-c', 'select 1'], { extra: { sslmode: 'disable' } });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('no encryption');
  });

  it('names an unknown database like Postgres does, after authentication', async () => {
    const r = await psql(gw, 'alice', 'nosuchdb', token, ['-c', 'select 1']);
    expect(r.stderr).toContain('database "nosuchdb" does not exist');
  });

  it('records the session with who, where, target, role and end reason', async () => {
    await psql(gw, 'alice', gw.database, token, ['-c', 'select 1'], { extra: { application_name: 'audit-check' } });
    await eventually(async () => {
      await gw.gateway.settled();
      const s = await gw.cp.store.sql.query(
        `select username, target, upstream_role, auth_method, channel_binding, end_reason, tls_version
           from sessions where application_name = 'audit-check'`,
      );
      expect(s.rows).toEqual([
        {
          username: 'alice',
          target: 'app',
          upstream_role: gw.upstreamRole,
          auth_method: 'scram-sha-256-plus',
          channel_binding: true,
          end_reason: 'client-terminate',
          tls_version: 'TLSv1.3',
        },
      ]);
    });
  });

  it('never writes a token or the upstream password to its logs', async () => {
    const vaulted = await gw.cp.vault.get('app', gw.upstreamRole);
    const all = gw.logs.join('\n');
    expect(all.length).toBeGreaterThan(0);
    expect(all).not.toContain(token);
    expect(all).not.toContain(vaulted!);
  });
});

describe('when things break', () => {
  it('tells the client when the upstream backend dies, and keeps serving others', async () => {
    const cluster = inject('pgCluster');
    const pending = psql(gw, 'alice', gw.database, token, ['-c', 'select pg_sleep(20)']);
    await eventually(async () => {
      const r = await superuserQuery(
        cluster,
        `select count(pg_terminate_backend(pid))::int as n from pg_stat_activity where query = 'select pg_sleep(20)' and usename = $1`,
        'postgres',
        [gw.upstreamRole],
      );
      expect(r.rows[0].n).toBe(1);
    });
    const r = await pending;
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('terminating connection due to administrator command');
    expect((await psql(gw, 'alice', gw.database, token, ['-c', 'select 5'])).stdout.trim()).toBe('5');
    await eventually(async () => {
      await gw.gateway.settled();
      const s = await gw.cp.store.sql.query(`select end_reason from sessions where end_reason = 'upstream-closed'`);
      expect(s.rows).toHaveLength(1);
    });
  });

  it('fails closed with a clear FATAL when the control plane is unreachable', async () => {
    const other = await startTestGateway(inject('pgCluster'));
    const t = (await other.issue('erin')).token;
    expect((await psql(other, 'erin', other.database, t, ['-c', 'select 1'])).stdout.trim()).toBe('1');
    await other.cp.store.close();
    const r = await psql(other, 'erin', other.database, t, ['-c', 'select 1']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('pgward cannot verify credentials right now');
    await other.gateway.close(500);
  });

  it('ends live sessions with a readable FATAL when the gateway shuts down', async () => {
    const other = await startTestGateway(inject('pgCluster'));
    const t = (await other.issue('frank')).token;
    const pending = psql(other, 'frank', other.database, t, ['-c', 'select pg_sleep(20)']);
    await untilRunning(inject('pgCluster'), 'select pg_sleep(20)', other.upstreamRole);
    await other.close();
    const r = await pending;
    expect(r.stderr).toContain('pgward is shutting down');
  });
});
