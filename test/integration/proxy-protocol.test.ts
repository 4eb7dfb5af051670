import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { psql } from '../harness/clients.js';
import { EVERYONE_POLICY, startTestGateway, type TestGateway } from '../harness/gateway.js';
import { startHaproxy } from '../harness/haproxy.js';
import { fields, message, RawClient, startupPacket } from '../harness/raw-client.js';

/**
 * Behind a TCP load balancer every connection comes from the balancer. With PROXY protocol
 * v2 from a configured balancer, policy CIDR rules, the login brake, audit and logs see the
 * real client; from anyone else the same header is just bad bytes.
 */
let gw: TestGateway;
let ca: string;
const tokens: Record<string, string> = {};

const POLICY = `rules:
  - name: far-from-lab
    effect: allow
    subjects: { users: [far] }
    sources: ['203.0.113.0/24']
    tls: { required: false }
  - name: others
    effect: allow
    subjects: { users: ['local-*'] }
    tls: { required: false }
`;

function proxyHeader(source: string, port: number): Buffer {
  const body = Buffer.alloc(12);
  source.split('.').forEach((o, i) => (body[i] = Number(o)));
  body.set([127, 0, 0, 1], 4);
  body.writeUInt16BE(port, 8);
  body.writeUInt16BE(6432, 10);
  return Buffer.concat([Buffer.from('0d0a0d0a000d0a515549540a', 'hex'), Buffer.from([0x21, 0x11, 0, 12]), body]);
}

/** A cleartext-token login through a PROXY header naming `source`; the first answer after the password. */
async function loginVia(
  g: TestGateway,
  source: string,
  port: number,
  user: string,
): Promise<{ c: RawClient; reply: Array<{ type: string; body: Buffer }> }> {
  const c = await RawClient.connect(g.port);
  c.write(proxyHeader(source, port));
  // The header on its own, as a balancer sends it at connect, before the client's first bytes.
  await new Promise((r) => setTimeout(r, 30));
  await c.upgrade(ca);
  c.write(startupPacket({ user, database: g.database }));
  const auth = await c.next();
  expect(auth?.type).toBe('R');
  c.write(message('p', `${tokens[user]}\0`));
  return { c, reply: await c.until_('ZE') };
}

beforeAll(async () => {
  const cluster = inject('pgCluster');
  ca = await readFile(cluster.caPath, 'utf8');
  gw = await startTestGateway(
    cluster,
    {
      listen: { host: '127.0.0.1', port: 0, proxyProtocolFrom: ['127.0.0.1/32', '::1'] },
      auth: { method: 'password' },
    },
    { policies: { 'p.yaml': POLICY } },
  );
  for (const u of ['far', 'local-1']) tokens[u] = (await gw.issue(u)).token;
});
afterAll(async () => {
  await gw?.close();
});

describe('PROXY protocol v2 from a configured balancer', () => {
  it('the client address in the header is the one policy, audit and the session record see', async () => {
    const { c, reply } = await loginVia(gw, '203.0.113.7', 50_000, 'far');
    expect(reply.at(-1)?.type).toBe('Z');
    c.write(message('Q', 'select 1\0'));
    expect((await c.until_('Z')).map((m) => m.type)).toEqual(['T', 'D', 'C', 'Z']);
    c.end();
    await gw.gateway.settled();
    const { rows } = await gw.cp.store.sql.query(
      `select client_addr as addr, client_port from sessions where username = 'far' order by started_at desc limit 1`,
    );
    expect(rows[0]).toEqual({ addr: '203.0.113.7', client_port: 50_000 });
  });

  it('a CIDR rule refuses a client outside it, though the balancer itself is local', async () => {
    const { reply } = await loginVia(gw, '198.51.100.9', 40_000, 'far');
    const e = fields(reply.find((m) => m.type === 'E')!.body);
    expect(e['S']).toBe('FATAL');
    expect(e['M']).toContain('not allowed from this address');
  });

  it('a connection from the balancer without a header is closed without an answer', async () => {
    const c = await RawClient.connect(gw.port);
    c.write(Buffer.from('0000000804d2162f', 'hex'));
    expect(await c.closedSilently()).toBe(true);
  });

  it('through HAProxy with send-proxy-v2, psql sessions work and are recorded with the client side of the balancer', async () => {
    const lb = await startHaproxy([gw.port], { sendProxyV2: true });
    try {
      const t = await gw.issue('local-1');
      tokens['local-1'] = t.token;
      const r = await psql({ host: '127.0.0.1', port: lb.port, caPath: gw.caPath }, 'local-1', gw.database, t.token, [
        '-c',
        'select inet_client_port() > 0',
      ]);
      expect(r.stderr).toBe('');
      expect(r.stdout.trim()).toBe('t');
      await gw.gateway.settled();
      const { rows } = await gw.cp.store.sql.query(
        `select client_addr as addr, client_port from sessions where username = 'local-1' order by started_at desc limit 1`,
      );
      expect(rows[0]?.addr).toBe('127.0.0.1');
      // psql's own port (the balancer's outbound port would be another), reported by HAProxy.
      expect(rows[0]?.client_port).toBeGreaterThan(0);
    } finally {
      await lb.stop();
    }
  });
});

describe('without a configured balancer', () => {
  it('a PROXY header is only bad bytes: closed without an answer, the address it names is not believed', async () => {
    const plain = await startTestGateway(
      inject('pgCluster'),
      { auth: { method: 'password' } },
      { policies: { 'p.yaml': EVERYONE_POLICY } },
    );
    try {
      const c = await RawClient.connect(plain.port);
      c.write(proxyHeader('203.0.113.7', 50_000));
      expect(await c.closedSilently()).toBe(true);
    } finally {
      await plain.close();
    }
  });
});
