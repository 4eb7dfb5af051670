import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { makeVerifier } from '../../src/auth/scram-primitives.js';
import { ScramServerExchange } from '../../src/auth/scram-server.js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { psql } from '../harness/clients.js';
import { eventually } from '../harness/eventually.js';
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

const UPSTREAM_PASSWORD = 'upstream-password';

/**
 * A server that authenticates the gateway with real SCRAM (so the gateway reaches the
 * later steps), then misbehaves as `after` says; `tamper` may spoil the SASL messages.
 */
function scramThen(opts: {
  after?: (s: net.Socket) => void;
  tamperFirst?: (m: string) => string;
  tamperFinal?: (m: string) => string;
}): Script {
  return (socket, first) => {
    void first; // the startup packet
    const salt = randomBytes(16);
    const v = makeVerifier(UPSTREAM_PASSWORD, salt, 4096);
    const ex = new ScramServerExchange({
      user: 'app',
      credentials: { salt, iterations: 4096, verifiers: [{ id: 'x', storedKey: v.storedKey, serverKey: v.serverKey }] },
      mockSecret: Buffer.alloc(32),
      mockIterations: 4096,
      channelBinding: null,
    });
    socket.write(msg('R', Buffer.concat([int32(10), Buffer.from('SCRAM-SHA-256\0\0')])));
    let buf = Buffer.alloc(0);
    let step = 0;
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 5 && buf.length >= 1 + buf.readUInt32BE(1)) {
        const len = buf.readUInt32BE(1);
        const body = buf.subarray(5, 1 + len);
        buf = buf.subarray(1 + len);
        if (step === 0) {
          const mech = body.toString('latin1', 0, body.indexOf(0));
          const dataLen = body.readInt32BE(mech.length + 1);
          const started = ex.start(mech, body.subarray(mech.length + 5, mech.length + 5 + dataLen));
          const sf = 'serverFirst' in started ? started.serverFirst : '';
          socket.write(msg('R', Buffer.concat([int32(11), Buffer.from((opts.tamperFirst ?? ((x) => x))(sf))])));
          step = 1;
        } else if (step === 1) {
          const { serverFinal } = ex.clientFinal(body);
          socket.write(
            msg('R', Buffer.concat([int32(12), Buffer.from((opts.tamperFinal ?? ((x) => x))(serverFinal))])),
          );
          socket.write(msg('R', int32(0)));
          opts.after?.(socket);
          step = 2;
        }
      }
    });
  };
}

/** Answers the startup with NegotiateProtocolVersion first, then behaves as `then`. */
const negotiated =
  (version: number, then: Script): Script =>
  (socket, first) => {
    socket.write(msg('v', Buffer.concat([int32(version), int32(0)])));
    then(socket, first);
  };

const readyParts = (): Buffer =>
  Buffer.concat([msg('S', Buffer.from('server_version\x0017.0\0')), msg('Z', Buffer.from('I'))]);

/** After a good login, answers the first Query with this instead of a result. */
const answerQueryWith =
  (reply: Buffer) =>
  (s: net.Socket): void => {
    s.write(Buffer.concat([msg('K', Buffer.concat([int32(1234), int32(5678)])), readyParts()]));
    // SETs that apply session settings are answered properly; the first real query is not.
    const on = (d: Buffer): void => {
      if (d.toString('latin1', 5, 8).toUpperCase() === 'SET') {
        s.write(Buffer.concat([msg('C', Buffer.from('SET\0')), msg('Z', Buffer.from('I'))]));
        return;
      }
      s.off('data', on);
      s.write(reply);
    };
    s.on('data', on);
  };

const SCRIPTS: Record<string, { tls: 'require' | 'disable'; script: Script; midSession?: boolean }> = {
  // G14: a CommandComplete far over its cap (Postgres never sends one): lost sync, so the session ends.
  g14: {
    tls: 'disable',
    midSession: true,
    script: scramThen({ after: answerQueryWith(msg('C', Buffer.from('SELECT ' + '1'.repeat(40_000) + '\0'))) }),
  },
  // G6: BackendKeyData whose key is not 4 bytes in protocol 3.0.
  g6: {
    tls: 'disable',
    script: scramThen({
      after: (s) => s.write(Buffer.concat([msg('K', Buffer.concat([int32(1234), Buffer.from([1, 2])])), readyParts()])),
    }),
  },
  // G8: a server nonce far longer than any real one.
  g8: {
    tls: 'disable',
    script: scramThen({
      tamperFirst: (m) => m.replace(/r=([^,]+)/, (_all, r: string) => `r=${r}${'A'.repeat(20_000)}`),
    }),
  },
  // G9: a server signature that does not verify: the upstream is not who it claims.
  g9: { tls: 'disable', script: scramThen({ tamperFinal: () => `v=${Buffer.alloc(32, 7).toString('base64')}` }) },
  // G1: 'S' and more bytes in the same read: unencrypted data after the SSL answer.
  g1: {
    tls: 'require',
    script: (s) => s.write(Buffer.concat([Buffer.from('S'), msg('E', Buffer.from('SFATAL\0C28000\0Minjected\0\0'))])),
  },
  // G2: an ErrorResponse to SSLRequest; its text must not reach the client.
  g2: {
    tls: 'require',
    script: (s) => s.write(msg('E', Buffer.from('SFATAL\0C28000\0MHOSTILE-TEXT-FROM-UPSTREAM\0\0'))),
  },
  // G4: an authentication request with an impossible length.
  g4: { tls: 'disable', script: (s) => s.write(Buffer.concat([Buffer.from('R'), int32(3), int32(0)])) },
  // G6 in 3.0: the server negotiated the gateway's 3.2 down to 3.0, then sent a 5-byte key.
  'g6-3.0': {
    tls: 'disable',
    script: negotiated(
      0x00030000,
      scramThen({
        after: (s) =>
          s.write(Buffer.concat([msg('K', Buffer.concat([int32(1234), Buffer.from([1, 2, 3, 4, 5])])), readyParts()])),
      }),
    ),
  },
  // G5: NegotiateProtocolVersion to a version above the one asked for (the gateway asks 3.2).
  g5: { tls: 'disable', script: (s) => s.write(msg('v', Buffer.concat([int32(0x00030009), int32(0)]))) },
  // G5: to the reserved 3.1, below 3.0, with a negative count, with options never asked for.
  'g5-3.1': { tls: 'disable', script: (s) => s.write(msg('v', Buffer.concat([int32(0x00030001), int32(0)]))) },
  'g5-2.0': { tls: 'disable', script: (s) => s.write(msg('v', Buffer.concat([int32(0x00020000), int32(0)]))) },
  'g5-negative': { tls: 'disable', script: (s) => s.write(msg('v', Buffer.concat([int32(0x00030000), int32(-1)]))) },
  'g5-options': {
    tls: 'disable',
    script: (s) => s.write(msg('v', Buffer.concat([int32(0x00030000), int32(1), Buffer.from('_pq_.evil\0')]))),
  },
  // G10: AuthenticationOk with no SASL exchange, to a gateway that pins SCRAM.
  g10: { tls: 'disable', script: (s) => s.write(msg('R', int32(0))) },
  // G11: a cleartext password request where SCRAM is pinned.
  g11: { tls: 'disable', script: (s) => s.write(msg('R', int32(3))) },
  // G12: an ErrorResponse with no SQLSTATE field.
  g12: { tls: 'disable', script: (s) => s.write(msg('E', Buffer.from('SFATAL\0Mno code here\0\0'))) },
  // A server that accepts and then says nothing at all.
  silent: { tls: 'disable', script: () => undefined },
};

const REASONS: Record<string, RegExp> = {
  g1: /unencrypted data after SSL response/,
  g2: /after SSL response/,
  g4: /invalid message length/,
  g5: /server requested downgrade to a higher-numbered version/,
  'g5-3.1': /3\.1, which is reserved/,
  'g5-2.0': /only supports protocol version 2\.0, below 3\.0/,
  'g5-negative': /received invalid protocol negotiation message/,
  'g5-options': /unsupported parameter\(s\) that were not requested/,
  'g6-3.0': /invalid BackendKeyData message: key length 5 in protocol 3\.0/,
  g6: /invalid BackendKeyData/,
  g8: /invalid message length/,
  g9: /incorrect server signature/,
  g10: /did not complete authentication/,
  g11: /password authentication, which this target does not allow/,
  g12: /XX000/,
  silent: /did not finish startup in time/,
};

describe('hostile upstream mid-session (BAD_INPUTS G14)', () => {
  it('an oversized CommandComplete ends the session with a clean FATAL; the gateway goes on', async () => {
    const hostile = await startTestGateway(
      inject('pgCluster'),
      { targets: { g14: hostileTargets['g14'] } as never },
      { share: gw },
    );
    try {
      await hostile.cp.vault.set('g14', 'app', UPSTREAM_PASSWORD);
      const r = await psql(hostile, 'alice', 'g14', token, ['-c', 'select 1']);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/FATAL: {2}/);
      expect(r.stderr).not.toContain('1111111111');
      await hostile.gateway.settled();
      const { rows } = await gw.cp.store.sql.query<{ end_reason: string }>(
        `select end_reason from sessions where target = 'g14' order by started_at desc limit 1`,
      );
      expect(rows[0]?.end_reason).toBe('upstream-protocol-violation');
    } finally {
      await hostile.close();
    }
    expect((await psql(gw, 'alice', gw.database, token, ['-c', 'select 8'])).stdout.trim()).toBe('8');
  });
});

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
  for (const [name, { tls, script, midSession }] of Object.entries(SCRIPTS)) {
    targets[name] = {
      host: '127.0.0.1',
      port: await fake(script),
      database: 'x',
      role: 'app',
      tls: { mode: tls },
      auth: ['scram-sha-256'],
      connectTimeoutMs: 1_500,
    };
    // A pooled connection answers the pool's state query before any session: the hostile
    // answer must meet the session's own statement, so these targets open one per session.
    if (midSession) targets[name] = { ...targets[name]!, pool: { enabled: false } };
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
  it.each(Object.keys(SCRIPTS).filter((n) => !SCRIPTS[n]!.midSession))(
    '%s: the client gets a clean FATAL, nothing of the upstream leaks, others are served',
    async (name) => {
      const hostile = await startTestGateway(
        inject('pgCluster'),
        { targets: { [name]: hostileTargets[name] } as never },
        { share: gw },
      );
      try {
        await hostile.cp.vault.set(name, 'app', UPSTREAM_PASSWORD);
        const r = await psql(hostile, 'alice', name, token, ['-c', 'select 1']);
        expect(r.code).not.toBe(0);
        expect(r.stdout).toBe('');
        expect(r.stderr).toMatch(/FATAL: {2}/);
        expect(r.stderr).not.toMatch(/HOSTILE-TEXT|injected/);
        // The audit-side reason names what the upstream did wrong.
        await eventually(() => {
          const refused = hostile.logs
            .map((l) => JSON.parse(l) as { event?: string; reason?: string })
            .find((l) => l.event === 'connection_refused');
          expect(refused?.reason).toMatch(REASONS[name]!);
        });
      } finally {
        await hostile.close();
      }
      expect((await psql(gw, 'alice', gw.database, token, ['-c', 'select 7'])).stdout.trim()).toBe('7');
    },
  );
});
