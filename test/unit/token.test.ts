import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JSONWebKeySet } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { mintToken, TokenError, verifyToken, type SigningKey } from '../../src/auth/token.js';

let key: SigningKey;
let jwks: JSONWebKeySet;
const opts = { issuer: 'pgward', audience: 'pgward' };

beforeAll(async () => {
  const pair = await generateKeyPair('ES256');
  key = { kid: 'k1', privateKey: pair.privateKey };
  jwks = { keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256' }] };
});

const mint = (over: Partial<Parameters<typeof mintToken>[1]> = {}) =>
  mintToken(key, {
    user: 'alice',
    groups: ['dev'],
    jti: randomUUID(),
    expiresAt: new Date(Date.now() + 60_000),
    ...opts,
    ...over,
  });

async function reason(token: string, o = opts): Promise<string> {
  try {
    await verifyToken(token, jwks, o);
  } catch (err) {
    if (err instanceof TokenError) return err.reason;
    throw err;
  }
  return 'accepted';
}

describe('gateway tokens', () => {
  it('verify and carry user, groups, jti and expiry', async () => {
    const jti = randomUUID();
    const id = await verifyToken(await mint({ jti }), jwks, opts);
    expect(id).toMatchObject({ user: 'alice', groups: ['dev'], jti });
  });

  it('refuse an expired token', async () => {
    expect(await reason(await mint({ expiresAt: new Date(Date.now() - 120_000) }))).toBe('expired');
  });

  it('refuse the wrong audience and the wrong issuer', async () => {
    expect(await reason(await mint({ audience: 'other' }))).toBe('wrong-audience');
    expect(await reason(await mint({ issuer: 'evil' }))).toBe('wrong-issuer');
  });

  it('refuse a tampered payload and a foreign signature', async () => {
    const t = await mint();
    const [h, p, s] = t.split('.');
    const forged = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), sub: 'admin' }),
    ).toString('base64url');
    expect(await reason(`${h}.${forged}.${s}`)).toBe('bad-signature');
    const other = await generateKeyPair('ES256');
    const foreign = await mintToken(
      { kid: 'k1', privateKey: other.privateKey as CryptoKey },
      { user: 'alice', groups: [], jti: randomUUID(), expiresAt: new Date(Date.now() + 60_000), ...opts },
    );
    expect(await reason(foreign)).toBe('bad-signature');
  });

  it('refuse alg=none and an HMAC token keyed with the public key', async () => {
    const payload = Buffer.from(
      JSON.stringify({ sub: 'alice', jti: randomUUID(), iat: 1, exp: 4e9, aud: 'pgward', iss: 'pgward' }),
    ).toString('base64url');
    const none = `${Buffer.from('{"alg":"none","kid":"k1"}').toString('base64url')}.${payload}.`;
    expect(await reason(none)).toBe('alg-not-allowed');
    const hs = await new SignJWT({ sub: 'alice', jti: randomUUID() })
      .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
      .setIssuedAt()
      .setExpirationTime('1h')
      .setAudience('pgward')
      .setIssuer('pgward')
      .sign(new TextEncoder().encode(JSON.stringify(jwks.keys[0])));
    expect(await reason(hs)).toBe('alg-not-allowed');
  });

  it('refuse garbage', async () => {
    expect(await reason('not.a.jwt')).toBe('malformed');
    expect(await reason('')).toBe('malformed');
  });
});
