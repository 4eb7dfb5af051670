import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { psql } from '../harness/clients.js';
import { EVERYONE_POLICY, startTestGateway, superuserQuery, type TestGateway } from '../harness/gateway.js';
import { startHaproxy } from '../harness/haproxy.js';

let a: TestGateway;
let b: TestGateway;

beforeAll(async () => {
  a = await startTestGateway(inject('pgCluster'));
  b = await startTestGateway(inject('pgCluster'), {}, { share: a });
});
afterAll(async () => {
  await b?.close();
  await a?.close();
});

describe('several gateways on one control plane', () => {
  it('a token minted through one is accepted by the other', async () => {
    const t = await a.issue('alice');
    expect((await psql(b, 'alice', b.database, t.token, ['-c', 'select 1'])).stdout.trim()).toBe('1');
  });

  it('a CancelRequest that lands on the wrong gateway is forwarded to the owner', async () => {
    const t = await a.issue('alice');
    // psql's Ctrl-C sends the cancel to the address it connected to; a load balancer may
    // send that new connection to another gateway. Here the cancel goes to b on purpose:
    // a session on a, and the BackendKeyData psql got from a, replayed against b.
    const running = psql(a, 'alice', a.database, t.token, ['-c', 'select pg_sleep(20)']);
    for (let i = 0; i < 100 && a.gateway.sessions.size === 0; i++) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 200));
    const keys = (a.gateway as unknown as { ctx: { cancels: { byPid: Map<number, { key: Buffer }> } } }).ctx.cancels.byPid;
    const [cpid, entry] = [...keys.entries()][0]!;
    const net = await import('node:net');
    const s = net.connect(b.port, '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    const msg = Buffer.alloc(16);
    msg.writeUInt32BE(16, 0);
    msg.writeUInt32BE(80877102, 4);
    msg.writeUInt32BE(cpid, 8);
    entry.key.copy(msg, 12);
    s.end(msg);
    const t0 = Date.now();
    const r = await running;
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(r.stderr).toContain('canceling statement due to user request');
  });

  it('a revocation made on one gateway ends the session on the other within a second', async () => {
    const t = await a.issue('bob');
    const running = psql(b, 'bob', b.database, t.token, ['-c', 'select pg_sleep(20)']);
    for (let i = 0; i < 100 && b.gateway.sessions.size === 0; i++) await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    await a.cp.tokens.revoke(t.jti, 'test', { endSessions: true });
    const r = await running;
    expect(Date.now() - t0).toBeLessThan(1_500);
    expect(r.stderr).toContain('the token of this session was revoked');
  });

  it('a policy change saved on one gateway applies on the other within a second', async () => {
    const t = await a.issue('dora');
    const onB = async (): Promise<{ code: number | null; stderr: string }> => psql(b, 'dora', b.database, t.token, ['-c', 'select 1']);
    expect((await onB()).code).toBe(0);
    const { writeFile } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const before = a.policy.current().version;
    const t0 = Date.now();
    await writeFile(join(a.policyDir, 'everyone.yaml'), `${EVERYONE_POLICY}  - name: no-dora\n    effect: deny\n    subjects: { users: [dora] }\n`);
    // b learns of the new version by NOTIFY; new connections there are decided by it.
    for (let i = 0; i < 100 && b.policy.current().version === before; i++) await new Promise((r) => setTimeout(r, 10));
    const applied = Date.now() - t0;
    expect(applied).toBeLessThan(1_000);
    const refused = await onB();
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/FATAL: {2}(no pgward access rule|permission denied|.*dora)/);
    await writeFile(join(a.policyDir, 'everyone.yaml'), EVERYONE_POLICY);
    for (let i = 0; i < 100 && (await onB()).code !== 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect((await onB()).code).toBe(0);
  });

  it('killing one gateway does not touch sessions on the other', async () => {
    const t = await a.issue('carol');
    const onB = psql(b, 'carol', b.database, t.token, ['-c', "select pg_sleep(1.5), 'survived'"]);
    for (let i = 0; i < 100 && b.gateway.sessions.size === 0; i++) await new Promise((r) => setTimeout(r, 50));
    const c = await startTestGateway(inject('pgCluster'), {}, { share: a });
    await c.close();
    expect((await onB).stdout.trim()).toBe('|survived');
  });
});

describe('behind HAProxy (Debian, TCP round robin)', () => {
  it('spreads sessions over both gateways, and psql Ctrl-C cancels wherever the cancel lands', async () => {
    const lb = await startHaproxy([a.port, b.port]);
    try {
      const via = { host: '127.0.0.1', port: lb.port, caPath: a.caPath };
      const t = await a.issue('dave');
      for (let i = 0; i < 4; i++) expect((await psql(via, 'dave', a.database, t.token, ['-c', 'select 1'])).stdout.trim()).toBe('1');
      await Promise.all([a.gateway.settled(), b.gateway.settled()]);
      const { rows } = await a.cp.store.pool.query<{ gateway_id: string }>(`select distinct gateway_id from sessions where username = 'dave'`);
      expect(rows.map((r) => r.gateway_id).sort()).toEqual([a.config.gatewayId, b.config.gatewayId].sort());

      // Two cancels: with round robin, at least one lands on the other gateway.
      for (let round = 0; round < 2; round++) {
        let pid = 0;
        const sql = `select pg_sleep(30), ${round}`;
        const pending = psql(via, 'dave', a.database, t.token, ['-c', sql], { onSpawn: (p) => (pid = p) });
        for (let i = 0; i < 100; i++) {
          const busy = await superuserQuery(inject('pgCluster'), `select count(*)::int as n from pg_stat_activity where query = $1 and state = 'active'`, 'postgres', [sql]);
          if (busy.rows[0].n > 0) break;
          await new Promise((r) => setTimeout(r, 100));
        }
        const t0 = Date.now();
        process.kill(pid, 'SIGINT');
        const r = await pending;
        expect(r.stderr).toContain('canceling statement due to user request');
        expect(Date.now() - t0).toBeLessThan(5_000);
      }
    } finally {
      await lb.stop();
    }
  });
});
