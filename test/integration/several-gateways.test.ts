import { readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { untilRunning } from '../harness/activity.js';
import { psql } from '../harness/clients.js';
import { eventually } from '../harness/eventually.js';
import { EVERYONE_POLICY, startTestGateway, type TestGateway } from '../harness/gateway.js';
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

async function connectPg(gw: TestGateway, user: string, token: string): Promise<pg.Client> {
  const c = new pg.Client({
    host: gw.host,
    port: gw.port,
    user,
    password: token,
    database: gw.database,
    ssl: { ca: await readFile(gw.caPath, 'utf8'), servername: 'localhost' },
  });
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

const sessionsOf = (gw: TestGateway, user: string): number =>
  gw.gateway.sessions.list().filter((s) => s.user === user).length;

describe('several gateways on one control plane', () => {
  it('a token minted through one is accepted by the other', async () => {
    const t = await a.issue('alice');
    expect((await psql(b, 'alice', b.database, t.token, ['-c', 'select 1'])).stdout.trim()).toBe('1');
  });

  it('a CancelRequest that lands on the wrong gateway is forwarded to the owner', async () => {
    const t = await a.issue('alice');
    // psql's Ctrl-C sends the cancel to the address it connected to; a load balancer may
    // send that new connection to another gateway. Here the cancel goes to b on purpose:
    // a session on a, and the BackendKeyData the client got from a, replayed against b.
    const client = await connectPg(a, 'alice', t.token);
    try {
      const sql = "select pg_sleep(20), 'forwarded cancel'";
      const running = client.query(sql).then(
        () => null,
        (e: unknown) => e,
      );
      await untilRunning(inject('pgCluster'), sql);
      const keys = client as unknown as { processID: number; secretKey: number };
      const s = net.connect(b.port, '127.0.0.1');
      await new Promise((r) => s.once('connect', r));
      const msg = Buffer.alloc(16);
      msg.writeUInt32BE(16, 0);
      msg.writeUInt32BE(80877102, 4);
      msg.writeInt32BE(keys.processID, 8);
      msg.writeInt32BE(keys.secretKey, 12);
      s.end(msg);
      expect(await running).toMatchObject({ code: '57014', message: 'canceling statement due to user request' });
      expect((await client.query("select 'still usable' as s")).rows).toEqual([{ s: 'still usable' }]);
    } finally {
      await client.end();
    }
  });

  it('a revocation made on one gateway ends the session on the other', async () => {
    const t = await a.issue('bob');
    const running = psql(b, 'bob', b.database, t.token, ['-c', 'select pg_sleep(20)']);
    await eventually(() => expect(sessionsOf(b, 'bob')).toBe(1));
    await a.cp.tokens.revoke(t.jti, 'test', { endSessions: true });
    // Ended by the revocation, not by the statement finishing 20 s later.
    const r = await running;
    expect(r.stderr).toContain('the token of this session was revoked');
    expect(r.stdout).toBe('');
  });

  it('a policy change saved on one gateway applies on the other', async () => {
    const t = await a.issue('dora');
    const onB = async (): Promise<{ code: number | null; stderr: string }> =>
      psql(b, 'dora', b.database, t.token, ['-c', 'select 1']);
    expect((await onB()).code).toBe(0);
    const before = b.policy.current().version;
    const file = join(a.policyDir, 'everyone.yaml');
    try {
      await writeFile(file, `${EVERYONE_POLICY}  - name: no-dora\n    effect: deny\n    subjects: { users: [dora] }\n`);
      // b learns of the new version by NOTIFY; new connections there are decided by it.
      await eventually(() => expect(b.policy.current().version).not.toBe(before));
      expect(b.policy.current().rules.map((r) => r.rule.name)).toContain('no-dora');
      const refused = await onB();
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain('FATAL:  pgward: access to database "app" is denied for user "dora"');
    } finally {
      await writeFile(file, EVERYONE_POLICY);
      await eventually(() => expect(b.policy.current().rules.map((r) => r.rule.name)).not.toContain('no-dora'));
    }
    expect((await onB()).code).toBe(0);
  });

  it('stopping one gateway does not touch sessions on the other', async () => {
    const t = await a.issue('carol');
    const client = await connectPg(b, 'carol', t.token);
    try {
      const sql = "select pg_sleep(1), 'survived' as s";
      const c = await startTestGateway(inject('pgCluster'), {}, { share: a });
      const inFlight = client.query(sql);
      await untilRunning(inject('pgCluster'), sql);
      await c.close();
      expect((await inFlight).rows).toEqual([{ pg_sleep: '', s: 'survived' }]);
      expect((await client.query("select 'still here' as s")).rows).toEqual([{ s: 'still here' }]);
      expect(sessionsOf(b, 'carol')).toBe(1);
    } finally {
      await client.end();
    }
  });
});

describe('behind HAProxy (Debian, TCP round robin)', () => {
  it('spreads sessions over both gateways, and psql Ctrl-C cancels wherever the cancel lands', async () => {
    const lb = await startHaproxy([a.port, b.port]);
    try {
      const via = { host: '127.0.0.1', port: lb.port, caPath: a.caPath };
      const t = await a.issue('dave');
      for (let i = 0; i < 4; i++)
        expect((await psql(via, 'dave', a.database, t.token, ['-c', 'select 1'])).stdout.trim()).toBe('1');
      await Promise.all([a.gateway.settled(), b.gateway.settled()]);
      const { rows } = await a.cp.store.sql.query<{ gateway_id: string }>(
        `select distinct gateway_id from sessions where username = 'dave'`,
      );
      expect(rows.map((r) => r.gateway_id).sort()).toEqual([a.config.gatewayId, b.config.gatewayId].sort());

      // Two cancels: with round robin, at least one lands on the other gateway.
      for (let round = 0; round < 2; round++) {
        let pid = 0;
        const sql = `select pg_sleep(30), ${round}`;
        const pending = psql(via, 'dave', a.database, t.token, ['-c', sql], { onSpawn: (p) => (pid = p) });
        await untilRunning(inject('pgCluster'), sql);
        process.kill(pid, 'SIGINT');
        const r = await pending;
        expect(r.stderr).toContain('canceling statement due to user request');
      }
    } finally {
      await lb.stop();
    }
  });
});
