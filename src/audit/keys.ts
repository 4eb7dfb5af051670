import {
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  sign,
  timingSafeEqual,
  type KeyObject,
} from 'node:crypto';

/**
 * What vault.derive is asked for: the one secret every audit key comes from. The vault key
 * lives outside the store (PGWARD_VAULT_KEY or vault.keyFile) and every gateway sharing a
 * store already holds the same one (it opens the signing keys sealed in the store), so every
 * gateway, and `pgward audit export` run where the vault key is, derive the same audit keys,
 * while someone who can only write to the store has none of them.
 */
export const AUDIT_KEY_LABEL = 'audit-keys';

/** The public half of the checkpoint key, as a JWK (OKP, Ed25519). */
export interface AuditPublicJwk {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  kid: string;
  alg: 'EdDSA';
  use: 'sig';
}

/**
 * The keys of the audit trail:
 * - macKey: HMAC-SHA-256 over each event's hash, stored with the event (session_events.mac);
 *   a writer without it cannot make a rewritten or made-up event look like the gateway's.
 * - the checkpoint key (Ed25519): signs checkpoints of every chain's head, kept outside the
 *   store, which auditors verify with the public half only.
 */
export interface AuditKeys {
  macKey: Buffer;
  /** RFC 7638 thumbprint of the checkpoint key's public JWK (what auditors pin). */
  kid: string;
  signingKey: KeyObject;
  publicJwk: AuditPublicJwk;
}

/** PKCS #8 DER prefix of an Ed25519 private key (RFC 8410), before its 32-byte seed. */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** The audit keys from the secret vault.derive(AUDIT_KEY_LABEL) gives. */
export function deriveAuditKeys(secret: Buffer): AuditKeys {
  const part = (label: string): Buffer => createHmac('sha256', secret).update(label).digest();
  const signingKey = createPrivateKey({
    key: Buffer.concat([ED25519_PKCS8_PREFIX, part('pgward audit checkpoint ed25519 seed')]),
    format: 'der',
    type: 'pkcs8',
  });
  const x = (createPublicKey(signingKey).export({ format: 'jwk' }) as { x: string }).x;
  const kid = jwkThumbprint(x);
  return {
    macKey: part('pgward audit chain hmac-sha256'),
    kid,
    signingKey,
    publicJwk: { kty: 'OKP', crv: 'Ed25519', x, kid, alg: 'EdDSA', use: 'sig' },
  };
}

/** RFC 7638: SHA-256 over the required members in lexicographic order, base64url. */
export function jwkThumbprint(x: string): string {
  return createHash('sha256').update(`{"crv":"Ed25519","kty":"OKP","x":"${x}"}`).digest('base64url');
}

/** The MAC of an event: HMAC-SHA-256 over its hash (which covers its content and everything before it). */
export function eventMac(macKey: Buffer, hashHex: string): string {
  return createHmac('sha256', macKey).update(Buffer.from(hashHex, 'hex')).digest('hex');
}

/** True when mac is the event's MAC under this key (constant time). */
export function macMatches(macKey: Buffer, hashHex: string, mac: Buffer): boolean {
  const expected = Buffer.from(eventMac(macKey, hashHex), 'hex');
  return mac.length === expected.length && timingSafeEqual(mac, expected);
}

/**
 * A compact JWS (EdDSA) over a JSON payload, signed with the checkpoint key. The public key
 * rides in the header (as in export manifests), so a verifier can name its thumbprint; it
 * is trusted only when pinned (audit verify --jwks / --pin).
 */
export function signJws(keys: AuditKeys, typ: string, payload: unknown): string {
  const jwk = { kty: 'OKP', crv: 'Ed25519', x: keys.publicJwk.x };
  const header = Buffer.from(JSON.stringify({ alg: 'EdDSA', kid: keys.kid, typ, jwk })).toString('base64url');
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  const signature = sign(null, Buffer.from(`${header}.${body}`), keys.signingKey).toString('base64url');
  return `${header}.${body}.${signature}`;
}
