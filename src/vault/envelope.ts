import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

const VERSION = 1;
const IV = 12;
const TAG = 16;
const KEY = 32;

export class VaultKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VaultKeyError';
  }
}

/** Names a key without revealing it, so a sealed blob can say which key it needs. */
export function keyId(kek: Buffer): string {
  return createHash('sha256').update('pgward-kek').update(kek).digest('hex').slice(0, 16);
}

function gcmSeal(key: Buffer, plaintext: Buffer, aad: Buffer): Buffer {
  const iv = randomBytes(IV);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]);
}

function gcmOpen(key: Buffer, sealed: Buffer, aad: Buffer): Buffer {
  if (sealed.length < IV + TAG) throw new VaultKeyError('sealed value is truncated');
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV));
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG));
  try {
    return Buffer.concat([decipher.update(sealed.subarray(IV, sealed.length - TAG)), decipher.final()]);
  } catch {
    throw new VaultKeyError('sealed value failed authentication (wrong key or tampered)');
  }
}

/**
 * Envelope encryption: every value gets its own data key, sealed with the key-encryption
 * key; the AAD binds a value to its slot so a blob copied to another (target, role) fails.
 * Layout: version(1) | wrappedKeyLength(1) | wrappedKey | sealedValue.
 */
export function seal(kek: Buffer, plaintext: Buffer, slot: string): Buffer {
  const dek = randomBytes(KEY);
  const aad = Buffer.from(`pgward:${slot}`, 'utf8');
  const wrapped = gcmSeal(kek, dek, aad);
  const body = gcmSeal(dek, plaintext, aad);
  dek.fill(0);
  return Buffer.concat([Buffer.from([VERSION, wrapped.length]), wrapped, body]);
}

export function open(kek: Buffer, blob: Buffer, slot: string): Buffer {
  if (blob.length < 2 || blob[0] !== VERSION) throw new VaultKeyError('unknown sealed value format');
  const wrappedLength = blob[1]!;
  const aad = Buffer.from(`pgward:${slot}`, 'utf8');
  const dek = gcmOpen(kek, blob.subarray(2, 2 + wrappedLength), aad);
  try {
    return gcmOpen(dek, blob.subarray(2 + wrappedLength), aad);
  } finally {
    dek.fill(0);
  }
}

export function parseKey(text: string): Buffer {
  const trimmed = text.trim();
  const key = /^[0-9a-f]{64}$/i.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
  if (key.length !== KEY) throw new VaultKeyError('vault key must be 32 bytes, as base64 or hex');
  return key;
}
