import { randomBytes, randomUUID } from 'node:crypto';
import { makeVerifier } from '../auth/scram-primitives.js';
import type { ScramCredentialSet } from '../auth/scram-server.js';
import { mintToken, TokenError, verifyToken, type TokenIdentity } from '../auth/token.js';
import type { Store } from '../store/store.js';
import { parseDuration } from '../util/duration.js';
import type { SigningKeys } from './signing-keys.js';

export interface TokenPolicy {
  issuer: string;
  audience: string;
  scramIterations: number;
  defaultTtl: string;
  maxTtl: string;
}

export interface IssuedToken {
  token: string;
  jti: string;
  user: string;
  groups: string[];
  expiresAt: Date;
}

export interface ScramLookup {
  credentials: ScramCredentialSet | null;
  /** Groups, expiry and revocation per verifier id (the token's jti). */
  tokens: Map<string, { groups: string[]; expiresAt: Date; revokedAt: Date | null }>;
  /** How many of the verifiers belong to tokens that can still log in. */
  liveCount: number;
}

/**
 * Gateway tokens: minted as JWTs, remembered only as SCRAM verifiers (the token itself
 * is never stored), refused once revoked or expired.
 */
export class TokenService {
  constructor(
    private readonly store: Store,
    private readonly keys: SigningKeys,
    private readonly policy: TokenPolicy,
  ) {}

  async issue(req: { user: string; groups: string[]; ttl?: string | undefined; issuedBy: string }): Promise<IssuedToken> {
    const ttlMs = parseDuration(req.ttl ?? this.policy.defaultTtl);
    const maxMs = parseDuration(this.policy.maxTtl);
    if (ttlMs <= 0 || ttlMs > maxMs) throw new Error(`token lifetime must be between 1s and ${this.policy.maxTtl}`);
    const jti = randomUUID();
    const expiresAt = new Date(Date.now() + ttlMs);
    const token = await mintToken(this.keys.signingKey(), {
      user: req.user,
      groups: req.groups,
      jti,
      expiresAt,
      issuer: this.policy.issuer,
      audience: this.policy.audience,
    });
    const scram = await this.store.ensureUser(req.user, {
      salt: randomBytes(16),
      iterations: this.policy.scramIterations,
    });
    const verifier = makeVerifier(token, scram.salt, scram.iterations);
    await this.store.insertToken({
      jti,
      username: req.user,
      groups: req.groups,
      expiresAt,
      issuedBy: req.issuedBy,
      storedKey: verifier.storedKey,
      serverKey: verifier.serverKey,
    });
    return { token, jti, user: req.user, groups: req.groups, expiresAt };
  }

  /** Cleartext path: the password is the JWT itself. */
  async verifyPassword(user: string, token: string): Promise<TokenIdentity> {
    const identity = await verifyToken(token, this.keys.publicJwks(), this.policy);
    if (identity.user !== user) throw new TokenError('wrong-user');
    const row = await this.store.token(identity.jti);
    if (!row) throw new TokenError('unknown-token');
    if (row.revokedAt) throw new TokenError('revoked');
    if (row.username !== user) throw new TokenError('wrong-user');
    return identity;
  }

  /** SCRAM path: the salt and every live verifier of the user, or null for a stranger. */
  async scramLookup(user: string): Promise<ScramLookup> {
    const found = await this.store.scramCredentials(user);
    if (!found) return { credentials: null, tokens: new Map(), liveCount: 0 };
    const now = Date.now();
    return {
      liveCount: found.tokens.filter((t) => !t.revokedAt && t.expiresAt.getTime() > now).length,
      credentials: {
        salt: found.user.salt,
        iterations: found.user.iterations,
        verifiers: found.tokens.map((t) => ({ id: t.jti, storedKey: t.storedKey, serverKey: t.serverKey })),
      },
      tokens: new Map(found.tokens.map((t) => [t.jti, { groups: t.groups, expiresAt: t.expiresAt, revokedAt: t.revokedAt }])),
    };
  }

  async revoke(jti: string, reason: string): Promise<boolean> {
    return this.store.revokeToken(jti, reason);
  }

  async revokeUser(user: string, reason: string): Promise<number> {
    return this.store.revokeUserTokens(user, reason);
  }
}
