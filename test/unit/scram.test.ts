import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ScramClientExchange, UpstreamAuthError } from '../../src/auth/scram-client.js';
import {
  clientKey,
  formatVerifier,
  hmac,
  makeVerifier,
  parseVerifier,
  saltedPassword,
  serverKey,
  sha256,
  xor,
} from '../../src/auth/scram-primitives.js';
import { ScramServerExchange, type ScramCredentialSet } from '../../src/auth/scram-server.js';
import { PgError } from '../../src/protocol/errors.js';

describe('SCRAM-SHA-256 primitives', () => {
  it('reproduce the RFC 7677 test vector', () => {
    const salt = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64');
    const salted = saltedPassword('pencil', salt, 4096);
    const auth =
      'n=user,r=rOprNGfwEbeRWgbNEkqO,' +
      'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,' +
      'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0';
    const ck = clientKey(salted);
    expect(xor(ck, hmac(sha256(ck), auth)).toString('base64')).toBe('dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=');
    expect(hmac(serverKey(salted), auth).toString('base64')).toBe('6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=');
  });

  it('round-trips the Postgres verifier text format', () => {
    const v = makeVerifier('pencil', randomBytes(16), 4096);
    expect(parseVerifier(formatVerifier(v))).toEqual(v);
  });
});

const salt = randomBytes(16);
const ITER = 64;
function credentials(...tokens: string[]): ScramCredentialSet {
  return {
    salt,
    iterations: ITER,
    verifiers: tokens.map((t, i) => ({ id: `t${i}`, ...makeVerifier(t, salt, ITER) })),
  };
}

function exchange(opts: {
  tokens: string[];
  password: string;
  serverBinding: Buffer | null;
  clientBinding: Buffer | null;
  user?: string;
}) {
  const server = new ScramServerExchange({
    user: opts.user ?? 'alice',
    credentials: opts.tokens.length ? credentials(...opts.tokens) : null,
    mockSecret: Buffer.alloc(32, 7),
    mockIterations: ITER,
    channelBinding: opts.serverBinding,
  });
  const mechanisms = opts.serverBinding ? ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256'] : ['SCRAM-SHA-256'];
  const client = new ScramClientExchange({ password: opts.password, mechanisms, channelBinding: opts.clientBinding });
  const started = server.start(client.mechanism, client.clientFirst());
  if (!('serverFirst' in started)) throw new Error('expected server-first');
  const final = server.clientFinal(client.serverFirst(started.serverFirst));
  client.serverFinal(final.serverFinal);
  return { client, final };
}

function pgError(fn: () => unknown): PgError {
  try {
    fn();
  } catch (err) {
    if (err instanceof PgError) return err;
    throw err;
  }
  throw new Error('expected a PgError');
}

describe('SCRAM server and client together', () => {
  const binding = randomBytes(32);

  it('authenticate with channel binding and report which token matched', () => {
    const { client, final } = exchange({
      tokens: ['tok-a'],
      password: 'tok-a',
      serverBinding: binding,
      clientBinding: binding,
    });
    expect(client.mechanism).toBe('SCRAM-SHA-256-PLUS');
    expect(client.channelBound).toBe(true);
    expect(final.verifierId).toBe('t0');
  });

  it('authenticate without TLS (plain SCRAM, gs2 flag n)', () => {
    const { client } = exchange({ tokens: ['tok-a'], password: 'tok-a', serverBinding: null, clientBinding: null });
    expect(client.mechanism).toBe('SCRAM-SHA-256');
    expect(client.channelBound).toBe(false);
  });

  it('accept any of several live tokens of one user', () => {
    expect(
      exchange({ tokens: ['a', 'b', 'c'], password: 'c', serverBinding: binding, clientBinding: binding }).final
        .verifierId,
    ).toBe('t2');
  });

  it('refuse a token with no live verifier, and an unknown user, with the same 28P01', () => {
    const wrong = pgError(() =>
      exchange({ tokens: ['a'], password: 'revoked', serverBinding: null, clientBinding: null }),
    );
    const unknown = pgError(() => exchange({ tokens: [], password: 'x', serverBinding: null, clientBinding: null }));
    for (const e of [wrong, unknown]) {
      expect(e.code).toBe('28P01');
      expect(e.message).toBe('password authentication failed for user "alice"');
    }
    expect(wrong.internalReason).not.toBe(unknown.internalReason);
  });

  it('refuse a client bound to another certificate (MITM) with 28000', () => {
    const e = pgError(() =>
      exchange({ tokens: ['a'], password: 'a', serverBinding: binding, clientBinding: randomBytes(32) }),
    );
    expect(e.code).toBe('28000');
    expect(e.message).toBe('SCRAM channel binding check failed');
  });

  it('give an unknown user a stable salt distinct from other names', () => {
    const first = (user: string): string => {
      const s = new ScramServerExchange({
        user,
        credentials: null,
        mockSecret: Buffer.alloc(32, 1),
        mockIterations: 4096,
        channelBinding: null,
      });
      const r = s.start('SCRAM-SHA-256', Buffer.from('n,,n=,r=abc'));
      return 'serverFirst' in r ? r.serverFirst.split(',s=')[1]! : '';
    };
    expect(first('ghost')).toBe(first('ghost'));
    expect(first('ghost')).not.toBe(first('ghost2'));
    expect(first('ghost')).toMatch(/,i=4096$/);
  });
});

describe('SCRAM server refuses malformed input exactly as Postgres does', () => {
  const server = (binding: Buffer | null = null) =>
    new ScramServerExchange({
      user: 'alice',
      credentials: credentials('t'),
      mockSecret: Buffer.alloc(32),
      mockIterations: ITER,
      channelBinding: binding,
    });

  it.each([
    [
      'PLUS without TLS',
      'SCRAM-SHA-256-PLUS',
      'n,,n=,r=abc',
      null,
      '08P01',
      'client selected an invalid SASL authentication mechanism',
    ],
    ['empty message', 'SCRAM-SHA-256', '', null, '08P01', 'malformed SCRAM message'],
    ['embedded NUL', 'SCRAM-SHA-256', 'n,,n=,r=a\0bc', null, '08P01', 'malformed SCRAM message'],
    ['flag x', 'SCRAM-SHA-256', 'x,,n=,r=abc', null, '08P01', 'malformed SCRAM message'],
    ['PLUS with flag n', 'SCRAM-SHA-256-PLUS', 'n,,n=,r=abc', Buffer.alloc(32), '08P01', 'malformed SCRAM message'],
    [
      'plain with flag p',
      'SCRAM-SHA-256',
      'p=tls-server-end-point,,n=,r=abc',
      Buffer.alloc(32),
      '08P01',
      'malformed SCRAM message',
    ],
    [
      'unknown binding type',
      'SCRAM-SHA-256-PLUS',
      'p=tls-unique,,n=,r=abc',
      Buffer.alloc(32),
      '08P01',
      'unsupported SCRAM channel-binding type "tls-unique"',
    ],
    [
      'downgrade y on TLS',
      'SCRAM-SHA-256',
      'y,,n=,r=abc',
      Buffer.alloc(32),
      '28000',
      'SCRAM channel binding negotiation error',
    ],
    [
      'authzid',
      'SCRAM-SHA-256',
      'n,a=admin,n=,r=abc',
      null,
      '0A000',
      'client uses authorization identity, but it is not supported',
    ],
    [
      'mandatory extension',
      'SCRAM-SHA-256',
      'n,,m=x,n=,r=abc',
      null,
      '0A000',
      'client requires an unsupported SCRAM extension',
    ],
    [
      'non-printable nonce',
      'SCRAM-SHA-256',
      'n,,n=,r=a\x7fbc',
      null,
      '08P01',
      'non-printable characters in SCRAM nonce',
    ],
  ])('%s', (_name, mech, first, binding, code, message) => {
    const e = pgError(() => server(binding).start(mech, Buffer.from(first, 'latin1')));
    expect(e.code).toBe(code);
    expect(e.message).toBe(message);
  });

  function atFinal(): { s: ScramServerExchange; nonce: string } {
    const s = server();
    const r = s.start('SCRAM-SHA-256', Buffer.from('n,,n=,r=clientnonce'));
    if (!('serverFirst' in r)) throw new Error('no server-first');
    return { s, nonce: /r=([^,]+)/.exec(r.serverFirst)![1]! };
  }
  const proof = Buffer.alloc(32).toString('base64');

  it.each([
    [
      'wrong c=',
      (n: string) => `c=eSws,r=${n},p=${proof}`,
      'unexpected SCRAM channel-binding attribute in client-final-message',
      undefined,
    ],
    ['replayed nonce', () => `c=biws,r=clientnonceOTHER,p=${proof}`, 'invalid SCRAM response', 'Nonce does not match.'],
    [
      'short proof',
      (n: string) => `c=biws,r=${n},p=AAAA`,
      'malformed SCRAM message',
      'Malformed proof in client-final-message.',
    ],
    [
      'garbage after proof',
      (n: string) => `c=biws,r=${n},p=${proof},x=1`,
      'malformed SCRAM message',
      'Garbage found at the end of client-final-message.',
    ],
  ])('client-final: %s', (_name, build, message, detail) => {
    const { s, nonce } = atFinal();
    const e = pgError(() => s.clientFinal(Buffer.from(build(nonce))));
    expect(e.code).toBe('08P01');
    expect(e.message).toBe(message);
    if (detail) expect(e.detail).toBe(detail);
  });
});

describe('SCRAM client toward a hostile upstream', () => {
  const client = () =>
    new ScramClientExchange({ password: 'pw', mechanisms: ['SCRAM-SHA-256'], channelBinding: null, nonce: 'abc' });

  it.each([
    ['a nonce not extending ours', 'r=xyz123,s=QUJD,i=4096', /nonce mismatch/],
    ['a nonce equal to ours', 'r=abc,s=QUJD,i=4096', /nonce mismatch/],
    ['an absurd iteration count', 'r=abcdef,s=QUJD,i=4000000000', /iteration/],
    ['zero iterations', 'r=abcdef,s=QUJD,i=0', /iteration/],
    ['a bad salt', 'r=abcdef,s=***,i=4096', /salt/],
    ['an overlong nonce (pgbouncer CVE-2026-6665)', `r=abc${'x'.repeat(5000)},s=QUJD,i=4096`, /too long/],
    ['a server error', 'e=other-error', /other-error/],
  ])('refuses %s', (_n, msg, re) => {
    const c = client();
    c.clientFirst();
    expect(() => c.serverFirst(msg)).toThrowError(re);
  });

  it('refuses a wrong server signature and a SASLFinal before server-first', () => {
    const early = client();
    early.clientFirst();
    expect(() => early.serverFinal('v=AAAA')).toThrowError(UpstreamAuthError);
    const c = client();
    c.clientFirst();
    c.serverFirst('r=abcdef,s=QUJD,i=16');
    expect(() => c.serverFinal(`v=${Buffer.alloc(32).toString('base64')}`)).toThrowError('incorrect server signature');
    expect(c.completed).toBe(false);
  });
});
