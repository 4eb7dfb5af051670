import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JSONWebKeySet, type JWK } from 'jose';
import { TOKEN_ALG, type SigningKey } from '../auth/token.js';
import type { Store } from '../store/store.js';
import type { Vault } from '../vault/vault.js';

/**
 * The gateway's ES256 signing key lives in the control-plane store, private half sealed
 * with the vault key, so every gateway sharing the store signs and verifies alike.
 */
export class SigningKeys {
  private active: SigningKey | null = null;
  private activePublic: JWK | null = null;
  private jwks: JSONWebKeySet = { keys: [] };

  constructor(
    private readonly store: Store,
    private readonly vault: Vault,
  ) {}

  async load(): Promise<void> {
    let row = await this.store.activeSigningKey();
    if (!row) {
      const { privateKey, publicKey } = await generateKeyPair(TOKEN_ALG, { extractable: true });
      const kid = randomUUID();
      const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: TOKEN_ALG, use: 'sig' };
      const privateJwk = await exportJWK(privateKey);
      const sealed = this.vault.sealInternal(`signing-key/${kid}`, Buffer.from(JSON.stringify(privateJwk)));
      row = await this.store.insertSigningKey({ kid, alg: TOKEN_ALG, publicJwk, privateJwkSealed: sealed });
    }
    const privateJwk = JSON.parse(
      this.vault.openInternal(`signing-key/${row.kid}`, row.privateJwkSealed).toString('utf8'),
    ) as JWK;
    this.active = { kid: row.kid, privateKey: (await importJWK(privateJwk, TOKEN_ALG)) as CryptoKey };
    this.activePublic = {
      kty: privateJwk.kty!,
      crv: privateJwk.crv!,
      x: privateJwk.x!,
      y: privateJwk.y!,
      kid: row.kid,
      alg: TOKEN_ALG,
      use: 'sig',
    };
    await this.refreshJwks();
  }

  async refreshJwks(): Promise<void> {
    this.jwks = { keys: (await this.store.publicSigningKeys()) as JWK[] };
  }

  signingKey(): SigningKey {
    if (!this.active) throw new Error('signing keys not loaded');
    return this.active;
  }

  publicJwks(): JSONWebKeySet {
    return this.jwks;
  }

  /**
   * The active key's public half as taken from its private half (opened with the vault key),
   * not from the store's public column: what auditors pin, which someone able only to write
   * to the store cannot replace with a key of their own.
   */
  activePublicJwk(): JWK {
    if (!this.activePublic) throw new Error('signing keys not loaded');
    return this.activePublic;
  }
}
