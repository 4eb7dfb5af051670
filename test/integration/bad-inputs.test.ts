import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { ScramClientExchange } from '../../src/auth/scram-client.js';
import { runningCount, untilRunning } from '../harness/activity.js';
import { psql } from '../harness/clients.js';
import { eventually } from '../harness/eventually.js';
import { startTestGateway, superuserQuery, type TestGateway } from '../harness/gateway.js';
import {
  fields,
  GSSENC_REQUEST,
  int32,
  message,
  RawClient,
  SSL_REQUEST,
  startupPacket,
} from '../harness/raw-client.js';

/**
 * Hostile and broken inputs from docs/reference/bad-inputs.md, sent over raw sockets. Each
 * case checks the answer Postgres would give, and afterwards that the gateway still
 * serves a real psql session.
 */
let gw: TestGateway;
/** A second gateway using cleartext token auth, for PasswordMessage cases. */
let pwGw: TestGateway;
/** A third that also takes plaintext connections (tls.allowPlaintext), for D8. */
let ptGw: TestGateway;
let ca: string;
let token: string;
let pwToken: string;

beforeAll(async () => {
  const cluster = inject('pgCluster');
  const limits = { startupTimeoutMs: 3_000, maxMessageBytes: 1 << 20, maxConnections: 1000, messageStallMs: 1_000 };
  gw = await startTestGateway(cluster, { limits });
  pwGw = await startTestGateway(cluster, { limits, auth: { method: 'password' } });
  ptGw = await startTestGateway(cluster, {
    limits,
    tls: { certFile: cluster.certPath, keyFile: cluster.keyPath, allowPlaintext: true },
  });
  ca = await readFile(cluster.caPath, 'utf8');
  token = (await gw.issue('alice')).token;
  pwToken = (await pwGw.issue('alice')).token;
});
afterAll(async () => {
  await gw?.close();
  await pwGw?.close();
  await ptGw?.close();
});

async function stillServes(): Promise<void> {
  const r = await psql(gw, 'alice', gw.database, token, ['-c', 'select 1']);
  expect(r.stdout.trim()).toBe('1');
}

async function tlsClient(g: TestGateway = gw): Promise<RawClient> {
  const c = await RawClient.connect(g.port);
  await c.upgrade(ca);
  return c;
}

/** A cleartext-auth session that reached ReadyForQuery. */
async function session(version = 0x00030000): Promise<RawClient> {
  return (await sessionWithKey(version)).c;
}

/** A session and the BackendKeyData it was given. */
async function sessionWithKey(version = 0x00030000): Promise<{ c: RawClient; pid: number; key: Buffer }> {
  const c = await tlsClient(pwGw);
  c.write(startupPacket({ user: 'alice', database: pwGw.database }, version));
  const auth = await c.next();
  expect(auth?.type).toBe('R');
  c.write(message('p', pwToken + '\0'));
  const msgs = await c.until_('ZE');
  expect(msgs.at(-1)?.type).toBe('Z');
  const k = msgs.find((m) => m.type === 'K');
  expect(k, 'BackendKeyData').toBeDefined();
  return { c, pid: k!.body.readUInt32BE(0), key: k!.body.subarray(4) };
}

async function expectFatal(c: RawClient, code: string, text?: string | RegExp): Promise<Record<string, string>> {
  const e = await c.error();
  expect(e, 'an ErrorResponse').not.toBeNull();
  expect(e!['S']).toBe('FATAL');
  expect(e!['C']).toBe(code);
  if (typeof text === 'string') expect(e!['M']).toBe(text);
  else if (text) expect(e!['M']).toMatch(text);
  expect(await c.waitClosed()).toBe(true);
  return e!;
}

describe('A: pre-startup framing', () => {
  it('A1 connect and close with no bytes', async () => {
    const c = await RawClient.connect(gw.port);
    c.end();
    expect(await c.closedSilently()).toBe(true);
    await stillServes();
  });

  it('A2 three bytes then EOF: silent close', async () => {
    const c = await RawClient.connect(gw.port);
    c.write(Buffer.from([0, 0, 0]));
    c.end();
    expect(await c.closedSilently()).toBe(true);
  });

  it.each([
    ['A4 length 10005', 10005],
    ['A5 length 0x80000000', 0x80000000],
    ['A5 length 0xFFFFFFFF', 0xffffffff],
    ['length 7', 7],
  ])('%s: silent close, nothing allocated', async (_n, len) => {
    const c = await RawClient.connect(gw.port);
    const b = Buffer.alloc(8);
    b.writeUInt32BE(len, 0);
    c.write(b);
    expect(await c.closedSilently()).toBe(true);
  });

  it('A4 boundary: a 10004-byte startup packet is still read', async () => {
    const c = await tlsClient();
    const base = startupPacket({ user: 'alice', database: gw.database, application_name: '' });
    const pad = 10004 - base.length;
    c.write(startupPacket({ user: 'alice', database: gw.database, application_name: 'x'.repeat(pad) }));
    const m = await c.next();
    expect(m?.type).toBe('R');
  });

  it('A6 a truncated packet then EOF: silent close', async () => {
    const c = await RawClient.connect(gw.port);
    c.write(Buffer.concat([int32(100), Buffer.alloc(50)]));
    c.end();
    expect(await c.closedSilently()).toBe(true);
  });

  it('A8 idle after connect: closed silently at the startup deadline', async () => {
    const c = await RawClient.connect(gw.port);
    expect(await c.closedSilently()).toBe(true);
  });

  it('A9 an HTTP request: silent close', async () => {
    const c = await RawClient.connect(gw.port);
    c.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(await c.closedSilently()).toBe(true);
  });

  it.each([
    ['A10 unknown code 1234.5681', 0x04d21631, 'unsupported frontend protocol 1234.5681: server supports 3.0 to 3.2'],
    ['A11 protocol 2.0', 0x00020000, 'unsupported frontend protocol 2.0: server supports 3.0 to 3.2'],
    ['A12 protocol 4.0', 0x00040000, 'unsupported frontend protocol 4.0: server supports 3.0 to 3.2'],
  ])('%s: FATAL 0A000', async (_n, version, text) => {
    const c = await RawClient.connect(gw.port);
    c.write(startupPacket({ user: 'alice' }, version));
    await expectFatal(c, '0A000', text);
  });

  it('A14 protocol 3.1 (reserved) is negotiated down to 3.0, 3.9 down to 3.2', async () => {
    for (const [version, offered] of [
      [0x00030001, 0x00030000],
      [0x00030009, 0x00030002],
    ] as const) {
      const c = await tlsClient();
      c.write(startupPacket({ user: 'alice', database: gw.database }, version));
      const v = await c.next();
      expect(v?.type).toBe('v');
      expect(v!.body.readUInt32BE(0)).toBe(offered);
      expect(v!.body.readUInt32BE(4)).toBe(0);
      expect((await c.next())?.type).toBe('R');
    }
  });

  it('protocol 3.2 (Postgres 18) is accepted as is: no negotiation, a 32-byte cancel key', async () => {
    const c = await tlsClient();
    c.write(startupPacket({ user: 'alice', database: gw.database }, 0x00030002));
    expect((await c.next())?.type).toBe('R');
    const { key } = await sessionWithKey(0x00030002);
    expect(key.length).toBe(32);
    expect((await sessionWithKey(0x00030000)).key.length).toBe(4);
  });

  it('A15 _pq_ options are listed as unsupported and the connection goes on', async () => {
    const c = await tlsClient();
    c.write(startupPacket({ user: 'alice', database: gw.database, '_pq_.foo': 'bar' }));
    const v = await c.next();
    expect(v?.type).toBe('v');
    expect(v!.body.readUInt32BE(4)).toBe(1);
    expect(v!.body.subarray(8).toString()).toBe('_pq_.foo\0');
    expect((await c.next())?.type).toBe('R');
  });

  it('A18 direct TLS offering only ALPN http/1.1 fails the handshake', async () => {
    await expect(RawClient.directTls(gw.port, ca, ['http/1.1'])).rejects.toThrow(
      /alert|ALPN|no application protocol|socket/i,
    );
    await stillServes();
  });

  it('direct TLS without ALPN is closed, as Postgres does', async () => {
    const c = await RawClient.directTls(gw.port, ca, null);
    expect(await c.closedSilently()).toBe(true);
  });

  it('direct TLS with ALPN postgresql works (PG 17 sslnegotiation=direct)', async () => {
    const c = await RawClient.directTls(gw.port, ca, ['postgresql']);
    expect(c.tlsSocket?.alpnProtocol).toBe('postgresql');
    c.write(startupPacket({ user: 'alice', database: gw.database }));
    const r = await c.next();
    expect(r?.type).toBe('R');
    expect(r!.body.readUInt32BE(0)).toBe(10);
    expect(r!.body.subarray(4).toString()).toBe('SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0');
  });

  it('A19 TLS 1.1 is refused', async () => {
    await expect(
      RawClient.directTls(gw.port, ca, ['postgresql'], {
        maxVersion: 'TLSv1.1',
        minVersion: 'TLSv1',
        ciphers: 'DEFAULT:@SECLEVEL=0',
      }),
    ).rejects.toThrow();
  });

  it('A20 a client that aborts mid-handshake harms nobody', async () => {
    const c = await RawClient.connect(gw.port);
    c.write(SSL_REQUEST);
    expect(await c.byte()).toBe('S');
    c.write(Buffer.from('16030100', 'hex'));
    c.end();
    await c.waitClosed();
    await stillServes();
  });
});

describe('B: SSLRequest and GSSENCRequest sequencing', () => {
  it('B1/B2 bytes buffered behind SSLRequest (CVE-2021-23214): answered N, then FATAL 08P01', async () => {
    const c = await RawClient.connect(gw.port);
    c.write(Buffer.concat([SSL_REQUEST, startupPacket({ user: 'alice', database: gw.database })]));
    expect(await c.byte()).toBe('N');
    const e = await expectFatal(c, '08P01', 'received unencrypted data after SSL request');
    expect(e['D']).toContain('man-in-the-middle');
  });

  it('B5 SSLRequest inside TLS: closed', async () => {
    const c = await tlsClient();
    c.write(SSL_REQUEST);
    expect(await c.closedSilently()).toBe(true);
  });

  it('B6 GSSENCRequest is answered N and SSL can follow', async () => {
    const c = await RawClient.connect(gw.port);
    c.write(GSSENC_REQUEST);
    expect(await c.byte()).toBe('N');
    await c.upgrade(ca);
    c.write(startupPacket({ user: 'alice', database: gw.database }));
    expect((await c.next())?.type).toBe('R');
  });

  it('B6 a second GSSENCRequest is an unsupported protocol', async () => {
    const c = await RawClient.connect(gw.port);
    c.write(GSSENC_REQUEST);
    expect(await c.byte()).toBe('N');
    c.write(GSSENC_REQUEST);
    await expectFatal(c, '0A000', 'unsupported frontend protocol 1234.5680: server supports 3.0 to 3.2');
  });

  it('B8 SSLRequest with extra body bytes: closed (stricter than Postgres)', async () => {
    const c = await RawClient.connect(gw.port);
    c.write(Buffer.from('0000000c04d2162f00000000', 'hex'));
    expect(await c.closedSilently()).toBe(true);
  });

  it('B9 plaintext startup when TLS is required: FATAL 28000, and no password is asked', async () => {
    const c = await RawClient.connect(gw.port);
    c.write(startupPacket({ user: 'alice', database: gw.database }));
    const msgs = await c.until_('E');
    expect(msgs.map((m) => m.type)).toEqual(['E']);
    const e = fields(msgs[0]!.body);
    expect(e['C']).toBe('28000');
    expect(e['M']).toContain('no encryption');
  });
});

describe('C: startup parameters', () => {
  it.each([
    ['C1 no user', { database: 'app' }, '28000', 'no PostgreSQL user name specified in startup packet'],
    ['C2 empty user', { user: '', database: 'app' }, '28000', 'no PostgreSQL user name specified in startup packet'],
    ['C9 options role switch', { user: 'alice', database: 'app', options: '-c role=postgres' }, '42501', /"role"/],
    ['C14 options server switch', { user: 'alice', database: 'app', options: '-P' }, '42501', /"options"/],
    [
      'C15 options escaped space',
      { user: 'alice', database: 'app', options: '-c search_path=a\\ b' },
      '42501',
      /"search_path"/,
    ],
    ['C9 top-level role', { user: 'alice', database: 'app', role: 'postgres' }, '42501', /role/],
    [
      'C10 session_authorization',
      { user: 'alice', database: 'app', session_authorization: 'postgres' },
      '42501',
      /session_authorization/,
    ],
    ['C11 replication', { user: 'alice', database: 'app', replication: 'database' }, '42501', /replication/],
    [
      'C12 replication=maybe',
      { user: 'alice', database: 'app', replication: 'maybe' },
      '22023',
      'invalid value for parameter "replication": "maybe"',
    ],
    ['C16 namespaced GUC', { user: 'alice', database: 'app', 'app.tenant_id': '42' }, '42501', /app\.tenant_id/],
    ['C18 search_path', { user: 'alice', database: 'app', search_path: 'evil,public' }, '42501', /search_path/],
    [
      'C22 client_encoding SJIS',
      { user: 'alice', database: 'app', client_encoding: 'SJIS' },
      '0A000',
      /client_encoding/,
    ],
    // Postgres resolves aliases and ignores case and punctuation: refused by what they resolve to.
    ...['WIN932', 'mskanji', 'windows936', 'WIN950', 'win949', 'Shift-JIS', 'shift_jis_2004', 'gb-18030'].map(
      (alias) => [
        `C22 client_encoding ${alias}`,
        { user: 'alice', database: 'app', client_encoding: alias },
        '0A000',
        /client_encoding/,
      ],
    ),
  ] as Array<[string, Record<string, string>, string, string | RegExp]>)('%s', async (_n, params, code, text) => {
    const c = await tlsClient();
    c.write(startupPacket(params));
    await expectFatal(c, code, text);
  });

  it.each([
    ['C4 bytes after the terminator', Buffer.from('user\0alice\0\0junk')],
    ['C5 a name with no value', Buffer.from('user\0alice\0database\0\0')],
    ['C6 duplicate user', Buffer.from('user\0alice\0user\0admin\0\0')],
  ])('%s: FATAL 08P01', async (_n, body) => {
    const c = await tlsClient();
    const payload = Buffer.concat([int32(0x00030000), body]);
    c.write(Buffer.concat([int32(payload.length + 4), payload]));
    await expectFatal(c, '08P01');
  });

  it('C21 invalid UTF-8 in the user name: FATAL 22021', async () => {
    const c = await tlsClient();
    const payload = Buffer.concat([
      int32(0x00030000),
      Buffer.from('user\0'),
      Buffer.from([0xff, 0xfe, 0]),
      Buffer.from([0]),
    ]);
    c.write(Buffer.concat([int32(payload.length + 4), payload]));
    await expectFatal(c, '22021');
  });

  it('C8 a user name over 63 bytes is cut to 63 before authentication, as Postgres does', async () => {
    const long = 'x'.repeat(63);
    const t = await gw.issue(long);
    const r = await psql(gw, long + 'yyyyyyyy', gw.database, t.token, ['-c', 'select 1']);
    expect(r.stdout.trim()).toBe('1');
  });
});

describe('D: authentication', () => {
  const sasl = (mech: string, data: Buffer | null): Buffer =>
    message('p', Buffer.concat([Buffer.from(mech + '\0'), int32(data ? data.length : -1), data ?? Buffer.alloc(0)]));

  async function scramStart(): Promise<RawClient> {
    const c = await tlsClient();
    c.write(startupPacket({ user: 'alice', database: gw.database }));
    expect((await c.next())?.type).toBe('R');
    return c;
  }

  it('D1 wrong cleartext token: FATAL 28P01, same text as an unknown user', async () => {
    for (const user of ['alice', 'nobody']) {
      const c = await tlsClient(pwGw);
      c.write(startupPacket({ user, database: pwGw.database }));
      await c.next();
      c.write(message('p', 'not-a-token\0'));
      await expectFatal(c, '28P01', `password authentication failed for user "${user}"`);
    }
  });

  it('D2 empty password: FATAL 28P01 "empty password returned by client"', async () => {
    const c = await tlsClient(pwGw);
    c.write(startupPacket({ user: 'alice', database: pwGw.database }));
    await c.next();
    c.write(message('p', '\0'));
    await expectFatal(c, '28P01', 'empty password returned by client');
  });

  it('D4 a PasswordMessage over 65535 bytes: silent close', async () => {
    const c = await tlsClient(pwGw);
    c.write(startupPacket({ user: 'alice', database: pwGw.database }));
    await c.next();
    c.write(Buffer.concat([Buffer.from('p'), int32(70_000)]));
    expect(await c.closedSilently()).toBe(true);
  });

  it('D5 a Query while a password is expected: FATAL 08P01', async () => {
    const c = await tlsClient(pwGw);
    c.write(startupPacket({ user: 'alice', database: pwGw.database }));
    await c.next();
    c.write(message('Q', 'select 1\0'));
    await expectFatal(c, '08P01', 'expected password response, got message type 81');
  });

  it('D6 never answering the SASL request: closed at the deadline, nothing sent', async () => {
    const c = await scramStart();
    expect(await c.closedSilently()).toBe(true);
  });

  it('D9 no initial response: an empty SASLContinue, then the client-first', async () => {
    const c = await scramStart();
    c.write(sasl('SCRAM-SHA-256', null));
    const m = await c.next();
    expect(m?.type).toBe('R');
    expect(m!.body.readUInt32BE(0)).toBe(11);
    expect(m!.body.length).toBe(4);
    c.write(message('p', 'y,,n=,r=abcdefghijkl'));
    await expectFatal(c, '28000', 'SCRAM channel binding negotiation error');
  });

  it('D10 inner length -2: FATAL 08P01 insufficient data', async () => {
    const c = await scramStart();
    c.write(message('p', Buffer.concat([Buffer.from('SCRAM-SHA-256\0'), int32(-2)])));
    await expectFatal(c, '08P01', 'insufficient data left in message');
  });

  it('D11 trailing bytes after the initial response: FATAL 08P01', async () => {
    const c = await scramStart();
    const first = Buffer.from('n,,n=,r=abc');
    c.write(
      message('p', Buffer.concat([Buffer.from('SCRAM-SHA-256\0'), int32(first.length), first, Buffer.from('zz')])),
    );
    await expectFatal(c, '08P01', 'invalid message format');
  });

  it('D12 a SASL message over 1024 bytes: FATAL 28P01', async () => {
    const c = await scramStart();
    c.write(sasl('SCRAM-SHA-256', Buffer.from('n,,n=,r=' + 'a'.repeat(1100))));
    await expectFatal(c, '28P01');
  });

  it.each([
    ['D14 flag x', 'SCRAM-SHA-256', 'x,,n=,r=abc', '08P01'],
    ['D15 PLUS without binding data', 'SCRAM-SHA-256-PLUS', 'n,,n=,r=abc', '08P01'],
    ['D16 plain SCRAM with binding data', 'SCRAM-SHA-256', 'p=tls-server-end-point,,n=,r=abc', '08P01'],
    ['D18 downgrade y over TLS', 'SCRAM-SHA-256', 'y,,n=,r=abc', '28000'],
    ['D19 authzid', 'SCRAM-SHA-256', 'n,a=admin,n=,r=abc', '0A000'],
    ['D20 mandatory extension', 'SCRAM-SHA-256', 'n,,m=x,n=,r=abc', '0A000'],
    ['D22 nonce with a comma-free control byte', 'SCRAM-SHA-256', 'n,,n=,r=ab\x01c', '08P01'],
    ['an unknown mechanism', 'SCRAM-SHA-1', 'n,,n=,r=abc', '08P01'],
  ])('%s: FATAL %s', async (_n, mech, first, code) => {
    const c = await scramStart();
    c.write(sasl(mech, Buffer.from(first)));
    await expectFatal(c, code);
  });

  it('D25/D26/D28 a bad client-final: wrong nonce, short proof, garbage', async () => {
    for (const [final, detailPart] of [
      ['c=biws,r=WRONGNONCE,p=' + Buffer.alloc(32).toString('base64'), null],
      ['c=biws,r=NONCE,p=AAAA', null],
      ['c=biws,r=NONCE,p=' + Buffer.alloc(32).toString('base64') + ',x=1', null],
    ] as Array<[string, string | null]>) {
      const c = await scramStart();
      c.write(sasl('SCRAM-SHA-256', Buffer.from('n,,n=,r=clientnonce123')));
      const cont = await c.next();
      expect(cont?.type).toBe('R');
      const serverFirst = cont!.body.subarray(4).toString();
      const nonce = /r=([^,]+)/.exec(serverFirst)![1]!;
      c.write(message('p', final.replace('r=NONCE', `r=${nonce}`)));
      const e = await expectFatal(c, '08P01');
      void detailPart;
      expect(e['M']).toMatch(/SCRAM/);
    }
  });

  it('D30 an unknown user gets a full exchange with a stable salt and the usual iteration count', async () => {
    const salts: string[] = [];
    for (const user of ['ghost', 'ghost', 'alice']) {
      const c = await tlsClient();
      c.write(startupPacket({ user, database: gw.database }));
      await c.next();
      c.write(sasl('SCRAM-SHA-256', Buffer.from('n,,n=,r=clientnonce123')));
      const cont = await c.next();
      const serverFirst = cont!.body.subarray(4).toString();
      expect(serverFirst).toMatch(new RegExp(`^r=clientnonce123[^,]+,s=[^,]+,i=${gw.config.auth.scramIterations}$`));
      salts.push(/s=([^,]+)/.exec(serverFirst)![1]!);
      c.end();
    }
    expect(salts[0]).toBe(salts[1]);
    expect(salts[0]).not.toBe(salts[2]);
  });
});

describe('E: cancel requests', () => {
  it.each([
    ['E1 random pid and key', Buffer.concat([int32(16), int32(80877102), int32(12345), int32(999)])],
    ['E2 no key', Buffer.concat([int32(12), int32(80877102), int32(12345)])],
    ['E4 a 257-byte key', Buffer.concat([int32(12 + 257), int32(80877102), int32(12345), Buffer.alloc(257)])],
    ['E6 pid 0', Buffer.concat([int32(16), int32(80877102), int32(0), int32(1)])],
  ])('%s: no answer, closed', async (_n, packet) => {
    const c = await RawClient.connect(gw.port);
    c.write(packet);
    expect(await c.closedSilently()).toBe(true);
  });

  it('E8 a cancel over TLS is accepted like a plain one (no answer)', async () => {
    const c = await tlsClient();
    c.write(Buffer.concat([int32(16), int32(80877102), int32(1), int32(2)]));
    expect(await c.closedSilently()).toBe(true);
  });

  it('3.2 long keys: the right 32-byte key cancels; its first 4 bytes (E5, wrong length) do not', async () => {
    const { c, pid, key } = await sessionWithKey(0x00030002);
    const cancel = async (k: Buffer): Promise<void> => {
      const x = await RawClient.connect(pwGw.port);
      x.write(Buffer.concat([int32(12 + k.length), int32(80877102), int32(pid), k]));
      expect(await x.closedSilently()).toBe(true);
    };
    // One long statement: still running after the short key, cancelled by the whole one.
    const sql = "select pg_sleep(30), 'long keys'";
    c.write(message('Q', `${sql}\0`));
    await untilRunning(inject('pgCluster'), sql, pwGw.upstreamRole);
    await cancel(key.subarray(0, 4));
    expect(await runningCount(inject('pgCluster'), sql, pwGw.upstreamRole)).toBe(1);
    await cancel(key);
    const msgs = await c.until_('Z');
    const err = msgs.find((m) => m.type === 'E');
    expect(err && fields(err.body)['C']).toBe('57014');
    c.end();
  });

  it('E9 cancel bytes inside a session: FATAL 08P01 invalid frontend message type 0', async () => {
    const c = await session();
    c.write(Buffer.concat([int32(16), int32(80877102), int32(1), int32(2)]));
    await expectFatal(c, '08P01', 'invalid frontend message type 0');
    await stillServes();
  });
});

describe('F: the relayed session', () => {
  it('F1 an unknown message type: FATAL 08P01', async () => {
    const c = await session();
    c.write(message('z', Buffer.alloc(0)));
    await expectFatal(c, '08P01', 'invalid frontend message type 122');
  });

  it('F1 a PasswordMessage after authentication: FATAL 08P01 (D29)', async () => {
    const c = await session();
    c.write(message('p', 'again\0'));
    await expectFatal(c, '08P01', 'invalid frontend message type 112');
  });

  it('F2 a Query with length 3: closed without an answer', async () => {
    const c = await session();
    c.write(Buffer.concat([Buffer.from('Q'), int32(3)]));
    expect(await c.closedSilently()).toBe(true);
  });

  it('F4 a Query over the configured cap gets FATAL 54000; one over what Postgres takes closes without an answer', async () => {
    const c = await session();
    c.write(Buffer.concat([Buffer.from('Q'), int32((1 << 20) + 100)]));
    await expectFatal(c, '54000', "pgward: message of 1048672 bytes is over the gateway's limit of 1048572 bytes");
    const d = await session();
    d.write(Buffer.concat([Buffer.from('Q'), int32(0x40000000)]));
    expect(await d.closedSilently()).toBe(true);
  });

  it('F6 a Query with no NUL gets the server error and the session goes on', async () => {
    const c = await session();
    c.write(message('Q', 'select 1'));
    const msgs = await c.until_('Z');
    const e = fields(msgs.find((m) => m.type === 'E')!.body);
    expect(e['C']).toBe('08P01');
    c.write(message('Q', 'select 2\0'));
    const ok = await c.until_('Z');
    expect(ok.map((m) => m.type)).toEqual(['T', 'D', 'C', 'Z']);
  });

  it('F10/F15 Parse with two statements errors; messages up to Sync are skipped; one ReadyForQuery', async () => {
    const c = await session();
    c.write(
      Buffer.concat([
        message('P', Buffer.from('\0select 1; select 2\0\0\0')),
        message('Q', 'select 3\0'),
        message('S', Buffer.alloc(0)),
      ]),
    );
    const msgs = await c.until_('Z');
    expect(msgs.map((m) => m.type)).toEqual(['E', 'Z']);
    expect(fields(msgs[0]!.body)['C']).toBe('42601');
  });

  it('F21 bytes after Terminate are ignored and the session closes', async () => {
    const c = await session();
    c.write(Buffer.concat([message('X', Buffer.alloc(0)), message('Q', 'select 1\0')]));
    expect(await c.closedSilently()).toBe(true);
  });

  it('F22 many messages in one write, then one byte per write', async () => {
    const c = await session();
    const batch = Buffer.concat(Array.from({ length: 50 }, (_, i) => message('Q', `select ${i}\0`)));
    c.write(batch);
    let ready = 0;
    while (ready < 50) {
      const m = await c.next();
      expect(m).not.toBeNull();
      if (m!.type === 'Z') ready++;
    }
    const one = message('Q', 'select 4242\0');
    for (const byte of one) c.write(Buffer.from([byte]));
    const msgs = await c.until_('Z');
    expect(
      msgs
        .find((m) => m.type === 'D')!
        .body.subarray(6)
        .toString(),
    ).toBe('4242');
  });

  it('EOF in the middle of a transaction rolls it back upstream', async () => {
    const c = await session();
    c.write(message('Q', 'create table if not exists eof_t (v int)\0'));
    await c.until_('Z');
    c.write(message('Q', 'begin; insert into eof_t values (1);\0'));
    const inTx = await c.until_('Z');
    expect(inTx.at(-1)!.body.toString()).toBe('T');
    c.end();
    await c.waitClosed();
    // No upstream connection is left inside that transaction, pooled or not.
    await eventually(async () => {
      const { rows } = await superuserQuery(
        inject('pgCluster'),
        `select count(*)::int as n from pg_stat_activity where usename = $1 and state like 'idle in transaction%'`,
        'postgres',
        [pwGw.upstreamRole],
      );
      expect(rows[0].n).toBe(0);
    });
    const r = await psql(pwGw, 'alice', pwGw.database, pwToken, ['-c', 'select count(*) from eof_t']);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('0');
  });
});

describe('the rest of BAD_INPUTS, over raw sockets', () => {
  /** A SCRAM login by hand on gw; tamper lets a case change the client-first-bare. */
  async function scramLogin(
    opts: { channelBinding?: Buffer | null; bare?: (b: string) => string } = {},
  ): Promise<RawClient> {
    const c = await tlsClient();
    c.write(startupPacket({ user: 'alice', database: gw.database }));
    const req = await c.next();
    const mechanisms = req!.body.subarray(4).toString().split('\0').filter(Boolean);
    const ex = new ScramClientExchange({ password: token, mechanisms, channelBinding: opts.channelBinding ?? null });
    const first = ex.clientFirst().toString();
    let sent = first;
    if (opts.bare) {
      // The exchange signs what it believes it sent: give it the tampered bare too.
      const state = ex as unknown as { clientFirstBare: string };
      state.clientFirstBare = opts.bare(state.clientFirstBare);
      sent = first.slice(0, first.length - (first.length - first.indexOf('n=', 2))) + state.clientFirstBare;
    }
    c.write(
      message(
        'p',
        Buffer.concat([Buffer.from(ex.mechanism + '\0'), int32(Buffer.byteLength(sent)), Buffer.from(sent)]),
      ),
    );
    const cont = await c.next();
    expect(cont?.body.readUInt32BE(0)).toBe(11);
    c.write(message('p', ex.serverFirst(cont!.body.subarray(4).toString())));
    return c;
  }

  it('C20 database "-r/tmp/x" is only a name: FATAL 3D000 after authentication', async () => {
    const c = await tlsClient(pwGw);
    c.write(startupPacket({ user: 'alice', database: '-r/tmp/x' }));
    expect((await c.next())?.type).toBe('R');
    c.write(message('p', pwToken + '\0'));
    await expectFatal(c, '3D000', 'database "-r/tmp/x" does not exist');
    await stillServes();
  });

  it('C24 a 10004-byte startup packet of many small parameters: refused by policy (nothing grants them), no crash', async () => {
    const params: Record<string, string> = { user: 'alice', database: gw.database };
    for (
      let i = 0;
      Buffer.byteLength(
        Object.entries(params)
          .map(([k, v]) => `${k}\0${v}\0`)
          .join(''),
      ) < 9_960;
      i++
    )
      params[`x${i}`] = 'y';
    const packet = startupPacket(params);
    expect(packet.length).toBeLessThanOrEqual(10_004);
    const c = await tlsClient();
    c.write(packet);
    await expectFatal(c, '42501', /startup parameter "x0" is not allowed/);
    await stillServes();
  });

  it('D8 over plaintext only SCRAM-SHA-256 is offered, and choosing -PLUS is refused (08P01)', async () => {
    const c = await RawClient.connect(ptGw.port);
    c.write(startupPacket({ user: 'alice', database: ptGw.database }));
    const req = await c.next();
    expect(req?.type).toBe('R');
    expect(req!.body.subarray(4).toString()).toBe('SCRAM-SHA-256\0\0');
    c.write(message('p', Buffer.concat([Buffer.from('SCRAM-SHA-256-PLUS\0'), int32(8), Buffer.from('p=x,,n=,')])));
    await expectFatal(c, '08P01', 'client selected an invalid SASL authentication mechanism');
  });

  it('D21 a SCRAM user name (n=admin) is ignored: the startup user is authenticated', async () => {
    const c = await scramLogin({ bare: (b) => b.replace(/^n=[^,]*/, 'n=admin') });
    const msgs = await c.until_('ZE');
    expect(msgs.at(-1)?.type).toBe('Z');
    c.write(message('Q', 'select session_user = current_user\0'));
    expect((await c.until_('Z')).map((m) => m.type)).toEqual(['T', 'D', 'C', 'Z']);
    c.end();
  });

  it('D24 -PLUS with channel binding data from another certificate: FATAL 28000', async () => {
    const c = await scramLogin({ channelBinding: randomBytes(32) });
    await expectFatal(c, '28000', 'SCRAM channel binding check failed');
  });

  it('E10 the key of a session that has ended cancels nothing', async () => {
    const old = await sessionWithKey();
    old.c.write(message('X', Buffer.alloc(0)));
    expect(await old.c.waitClosed()).toBe(true);
    const next = await sessionWithKey();
    const sql = "select pg_sleep(30), 'E10'";
    next.c.write(message('Q', `${sql}\0`));
    await untilRunning(inject('pgCluster'), sql, pwGw.upstreamRole);
    const cancelWith = async (pid: number, key: Buffer): Promise<void> => {
      const x = await RawClient.connect(pwGw.port);
      x.write(Buffer.concat([int32(16), int32(80877102), int32(pid), key]));
      expect(await x.closedSilently()).toBe(true);
    };
    await cancelWith(old.pid, old.key);
    expect(await runningCount(inject('pgCluster'), sql, pwGw.upstreamRole)).toBe(1);
    // The live session's own key still works.
    await cancelWith(next.pid, next.key);
    const reply = await next.c.until_('Z');
    expect(reply.find((m) => m.type === 'E') && fields(reply.find((m) => m.type === 'E')!.body)['C']).toBe('57014');
    next.c.end();
  });

  it('E11 the client never sees the upstream backend key: its BackendKeyData pid is not the backend pid', async () => {
    const { c, pid } = await sessionWithKey();
    c.write(message('Q', 'select pg_backend_pid()\0'));
    const d = (await c.until_('Z')).find((m) => m.type === 'D')!;
    const backend = Number(d.body.subarray(6).toString());
    expect(backend).toBeGreaterThan(0);
    expect(pid).not.toBe(backend);
    c.end();
  });

  it('F5 a Query that claims 500 kB and then stalls: cut off at limits.messageStallMs with FATAL 08P01', async () => {
    const c = await session();
    c.write(Buffer.concat([Buffer.from('Q'), int32(500_000), Buffer.from('select ')]));
    await expectFatal(c, '08P01', 'terminating connection: incomplete message from client');
    await stillServes();
  });

  it('F8 invalid UTF-8 in a Query: the server refuses it (22021), the session goes on', async () => {
    const c = await session();
    c.write(message('Q', Buffer.concat([Buffer.from("select '"), Buffer.from([0xc3, 0x28]), Buffer.from("'\0")])));
    const e = (await c.until_('Z')).find((m) => m.type === 'E');
    expect(fields(e!.body)['C']).toBe('22021');
    c.write(message('Q', 'select 1\0'));
    expect((await c.until_('Z')).map((m) => m.type)).toEqual(['T', 'D', 'C', 'Z']);
  });

  const extended = (...parts: Buffer[]): Buffer => Buffer.concat([...parts, message('S', Buffer.alloc(0))]);
  const parse = (sql: string): Buffer => message('P', Buffer.from(`\0${sql}\0\0\0`));

  it.each([
    [
      'F11 Bind with the wrong parameter count',
      extended(parse('select $1::int'), message('B', Buffer.from([0, 0, 0, 0, 0, 0, 0, 0]))),
      '08P01',
      /bind message supplies 0 parameters, but prepared statement "" requires 1/,
    ],
    [
      'F12 Bind with a parameter length of -2',
      extended(
        parse('select $1::int'),
        message('B', Buffer.concat([Buffer.from([0, 0, 0, 0, 0, 1]), int32(-2), Buffer.from([0, 0])])),
      ),
      '08P01',
      /insufficient data left in message/,
    ],
    [
      'F14 Describe with subtype X',
      extended(message('D', Buffer.from('X\0'))),
      '08P01',
      /invalid DESCRIBE message subtype 88/,
    ],
    [
      'F14 Close with subtype X',
      extended(message('C', Buffer.from('X\0'))),
      '08P01',
      /invalid CLOSE message subtype 88/,
    ],
  ])('%s: the server error, one ReadyForQuery, the session goes on', async (_n, bytes, code, text) => {
    const c = await session();
    c.write(bytes);
    const msgs = await c.until_('Z');
    const e = fields(msgs.find((m) => m.type === 'E')!.body);
    expect(e['C']).toBe(code);
    expect(e['M']).toMatch(text);
    c.write(message('Q', 'select 1\0'));
    expect((await c.until_('Z')).map((m) => m.type)).toEqual(['T', 'D', 'C', 'Z']);
  });

  /** A session in COPY IN on an empty temp table cp. */
  async function copyingIn(): Promise<RawClient> {
    const c = await session();
    c.write(message('Q', 'create temp table cp (i int)\0'));
    await c.until_('Z');
    c.write(message('Q', 'copy cp from stdin\0'));
    expect((await c.next())?.type).toBe('G');
    return c;
  }

  it('F18 a Query during COPY IN aborts the COPY (08P01); Postgres then ends the session, lost sync, and the gateway says so', async () => {
    const c = await copyingIn();
    c.write(Buffer.concat([message('d', '1\n'), message('Q', 'select 1\0')]));
    const errors: Array<Record<string, string>> = [];
    for (let m = await c.next(); m; m = await c.next()) if (m.type === 'E') errors.push(fields(m.body));
    expect(errors[0]).toMatchObject({
      S: 'ERROR',
      C: '08P01',
      M: 'unexpected message type 0x51 during COPY from stdin',
    });
    expect(errors.at(-1)).toMatchObject({ S: 'FATAL', C: '08P01' });
    await stillServes();
  });

  it('F19 CopyFail aborts the COPY with 57014, nothing is copied, the session goes on', async () => {
    const c = await copyingIn();
    c.write(Buffer.concat([message('d', '1\n'), message('f', 'x\0')]));
    const e = fields((await c.until_('Z')).find((m) => m.type === 'E')!.body);
    expect([e['C'], e['M']]).toEqual(['57014', 'COPY from stdin failed: x']);
    c.write(message('Q', 'select count(*) from cp\0'));
    const d = (await c.until_('Z')).find((m) => m.type === 'D')!;
    expect(d.body.subarray(6).toString()).toBe('0');
  });
});

describe('D32 brute force', () => {
  it('failures for one user are answered later and later, the right token is not delayed; an address over its budget is refused', async () => {
    const cluster = inject('pgCluster');
    const g = await startTestGateway(cluster, {
      auth: { method: 'password', throttle: { window: '60s', perAddress: 9, perUser: 3, maxDelayMs: 1_500 } },
    });
    try {
      const good = (await g.issue('bob')).token;
      const attempt = async (
        user: string,
        secret: string,
      ): Promise<{ ms: number; err: Record<string, string> | null }> => {
        const c = await RawClient.connect(g.port);
        await c.upgrade(ca);
        c.write(startupPacket({ user, database: g.database }));
        const t0 = Date.now();
        const first = await c.next();
        if (first?.type === 'E') return { ms: Date.now() - t0, err: fields(first.body) };
        c.write(message('p', `${secret}\0`));
        const msgs = await c.until_('ZE');
        c.end();
        const e = msgs.find((m) => m.type === 'E');
        return { ms: Date.now() - t0, err: e ? fields(e.body) : null };
      };
      const wrong: number[] = [];
      for (let i = 0; i < 8; i++) {
        const r = await attempt('bob', 'not-the-token');
        expect(r.err?.['C']).toBe('28P01');
        wrong.push(r.ms);
      }
      // Three free, then 100, 200, 400, 800 ms and the 1.5 s cap: each further guess costs more.
      expect(wrong[3]).toBeGreaterThanOrEqual(95);
      expect(wrong[4]).toBeGreaterThanOrEqual(195);
      expect(wrong[7]).toBeGreaterThanOrEqual(1_495);
      const right = await attempt('bob', good);
      expect(right.err).toBeNull();
      // Not held back: quicker than the capped failure (a margin of the whole 1.5 s delay).
      expect(right.ms).toBeLessThan(wrong[7]!);
      // A ninth failure from this address: now even the right token is refused, before any secret is asked.
      expect((await attempt('carol', 'nope')).err?.['C']).toBe('28P01');
      const refused = await attempt('bob', good);
      expect(refused.err).toMatchObject({
        S: 'FATAL',
        C: '28000',
        M: 'too many failed login attempts from this address',
      });
      expect(refused.err?.['H']).toMatch(/^Try again in \d+ seconds\.$/);
    } finally {
      await g.close();
    }
  });
});
