import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * SCRAM-SHA-256 (RFC 5802 / 7677) math. Passwords are used as their UTF-8 bytes: our
 * secrets are ASCII tokens, for which SASLprep is the identity (Postgres likewise falls
 * back to the raw bytes when SASLprep does not apply).
 */
/** RFC 7677's minimum iteration count; strict clients (pgjdbc on ongres scram 2.x, Bun) refuse fewer. */
export const MIN_SCRAM_ITERATIONS = 4096;

export const sha256 = (data: Buffer | string): Buffer => createHash('sha256').update(data).digest();
export const hmac = (key: Buffer, data: Buffer | string): Buffer => createHmac('sha256', key).update(data).digest();

export function xor(a: Buffer, b: Buffer): Buffer {
  if (a.length !== b.length) throw new RangeError('xor of buffers of different lengths');
  const out = Buffer.allocUnsafe(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

export const saltedPassword = (password: string, salt: Buffer, iterations: number): Buffer =>
  pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, 32, 'sha256');

export const clientKey = (salted: Buffer): Buffer => hmac(salted, 'Client Key');
export const serverKey = (salted: Buffer): Buffer => hmac(salted, 'Server Key');
export const storedKey = (client: Buffer): Buffer => sha256(client);

export interface ScramVerifier {
  salt: Buffer;
  iterations: number;
  storedKey: Buffer;
  serverKey: Buffer;
}

export function makeVerifier(password: string, salt: Buffer, iterations: number): ScramVerifier {
  const salted = saltedPassword(password, salt, iterations);
  return { salt, iterations, storedKey: storedKey(clientKey(salted)), serverKey: serverKey(salted) };
}

/** Postgres's text form: SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>. */
export function formatVerifier(v: ScramVerifier): string {
  return `SCRAM-SHA-256$${v.iterations}:${v.salt.toString('base64')}$${v.storedKey.toString('base64')}:${v.serverKey.toString('base64')}`;
}

export function parseVerifier(text: string): ScramVerifier {
  const m = /^SCRAM-SHA-256\$(\d+):([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$/.exec(text);
  if (!m) throw new Error('not a SCRAM-SHA-256 verifier');
  const v = {
    iterations: Number(m[1]),
    salt: Buffer.from(m[2]!, 'base64'),
    storedKey: Buffer.from(m[3]!, 'base64'),
    serverKey: Buffer.from(m[4]!, 'base64'),
  };
  if (v.iterations < 1 || v.storedKey.length !== 32 || v.serverKey.length !== 32)
    throw new Error('malformed SCRAM verifier');
  return v;
}

/** SCRAM_RAW_NONCE_LEN is 18 bytes: 24 base64 characters. */
export const randomNonce = (): string => randomBytes(18).toString('base64');

export function constantTimeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Strict base64 (no whitespace, correct padding), as SCRAM attributes require. */
export function decodeBase64(text: string): Buffer | null {
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text)) return null;
  return Buffer.from(text, 'base64');
}
