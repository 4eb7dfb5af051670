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
  groupTtl: Record<string, string>;
}

export class TokenLifetimeError extends Error {
  override name = 'TokenLifetimeError';
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

  /** The longest lifetime these groups allow, and where that cap comes from. */
  lifetimeCap(groups: string[]): { ms: number; source: string } {
    let cap = { ms: parseDuration(this.policy.maxTtl), source: `maxTtl ${this.policy.maxTtl}` };
    for (const g of groups) {
      const t = this.policy.groupTtl[g];
      if (t !== undefined && parseDuration(t) < cap.ms) cap = { ms: parseDuration(t), source: `group ${g} (${t})` };
    }
    return cap;
  }

  /** A requested lifetime, or the default, within the policy's caps. */
  lifetime(groups: string[], requested?: string): number {
    const cap = this.lifetimeCap(groups);
    if (requested === undefined) return Math.min(parseDuration(this.policy.defaultTtl), cap.ms);
    const ms = parseDuration(requested);
    if (ms <= 0 || ms > cap.ms) throw new TokenLifetimeError(`token lifetime ${requested} is over the limit of ${cap.source}`);
    return ms;
  }

  async issue(req: { user: string; groups: string[]; ttl?: string | undefined; issuedBy: string }): Promise<IssuedToken> {
    const ttlMs = this.lifetime(req.groups, req.ttl);
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

  /** Refused for new connections at once; with endSessions, every gateway also ends its sessions on it. */
  async revoke(jti: string, reason: string, opts: { endSessions?: boolean } = {}): Promise<boolean> {
    return this.store.revokeToken(jti, reason, opts.endSessions ?? false);
  }

  async revokeUser(user: string, reason: string, opts: { endSessions?: boolean } = {}): Promise<number> {
    return this.store.revokeUserTokens(user, reason, opts.endSessions ?? false);
  }
}
