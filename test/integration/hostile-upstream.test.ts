import net from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { psql } from '../harness/clients.js';
import { startTestGateway, type TestGateway } from '../harness/gateway.js';

/**
 * BAD_INPUTS section G: the upstream misbehaves. Each case is a scripted fake server that
 * answers the gateway's connection with the hostile bytes; the client must get a clean
 * FATAL (nothing of the hostile text), and the gateway must keep serving everyone else.
 */
type Script = (socket: net.Socket, first: Buffer) => void;

const msg = (type: string, body: Buffer): Buffer => {
  const b = Buffer.alloc(5 + body.length);
  b.write(type, 0, 'latin1');
  b.writeUInt32BE(4 + body.length, 1);
  body.copy(b, 5);
  return b;
};
const int32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};

const SCRIPTS: Record<string, { tls: 'require' | 'disable'; script: Script }> = {
  // G1: 'S' and more bytes in the same read: unencrypted data after the SSL answer.
  g1: { tls: 'require', script: (s) => s.write(Buffer.concat([Buffer.from('S'), msg('E', Buffer.from('SFATAL\0C28000\0Minjected\0\0'))])) },
  // G2: an ErrorResponse to SSLRequest; its text must not reach the client.
  g2: { tls: 'require', script: (s) => s.write(msg('E', Buffer.from('SFATAL\0C28000\0MHOSTILE-TEXT-FROM-UPSTREAM\0\0'))) },
  // G4: an authentication request with an impossible length.
  g4: { tls: 'disable', script: (s) => s.write(Buffer.concat([Buffer.from('R'), int32(3), int32(0)])) },
  // G5: NegotiateProtocolVersion to a version above the one asked for.
  g5: { tls: 'disable', script: (s) => s.write(msg('v', Buffer.concat([int32(0x00030009), int32(0)]))) },
  // G10: AuthenticationOk with no SASL exchange, to a gateway that pins SCRAM.
  g10: { tls: 'disable', script: (s) => s.write(msg('R', int32(0))) },
  // G11: a cleartext password request where SCRAM is pinned.
  g11: { tls: 'disable', script: (s) => s.write(msg('R', int32(3))) },
  // G12: an ErrorResponse with no SQLSTATE field.
  g12: { tls: 'disable', script: (s) => s.write(msg('E', Buffer.from('SFATAL\0Mno code here\0\0'))) },
  // A server that accepts and then says nothing at all.
  silent: { tls: 'disable', script: () => undefined },
};

const servers: net.Server[] = [];
let gw: TestGateway;
let token: string;
/** Each hostile target runs on a gateway of its own that shares gw's control plane. */
let hostileTargets: Record<string, unknown> = {};

async function fake(script: Script): Promise<number> {
  const server = net.createServer((socket) => {
    socket.on('error', () => undefined);
    socket.once('data', (first) => script(socket, first));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  return (server.address() as net.AddressInfo).port;
}

beforeAll(async () => {
  const cluster = inject('pgCluster');
  const targets: Record<string, unknown> = {};
  for (const [name, { tls, script }] of Object.entries(SCRIPTS)) {
    targets[name] = { host: '127.0.0.1', port: await fake(script), database: 'x', role: 'app', tls: { mode: tls }, auth: ['scram-sha-256'], connectTimeoutMs: 1_500 };
  }
  gw = await startTestGateway(cluster);
  hostileTargets = targets;
  token = (await gw.issue('alice')).token;
});
afterAll(async () => {
  await gw?.close();
  for (const s of servers) s.close();
});

describe('hostile upstream (BAD_INPUTS G)', () => {
  it.each(Object.keys(SCRIPTS))('%s: the client gets a clean FATAL, nothing of the upstream leaks, others are served', async (name) => {
    const hostile = await startTestGateway(inject('pgCluster'), { targets: { [name]: hostileTargets[name] } as never }, { share: gw });
    try {
      await hostile.cp.vault.set(name, 'app', 'upstream-password');
      const t0 = Date.now();
      const r = await psql(hostile, 'alice', name, token, ['-c', 'select 1']);
      expect(r.code).not.toBe(0);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/FATAL: {2}/);
      expect(r.stderr).not.toMatch(/HOSTILE-TEXT|injected/);
      expect(Date.now() - t0).toBeLessThan(10_000);
    } finally {
      await hostile.close();
    }
    expect((await psql(gw, 'alice', gw.database, token, ['-c', 'select 7'])).stdout.trim()).toBe('7');
  });
});
