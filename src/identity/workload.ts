import { createRemoteJWKSet, decodeJwt, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { classifyTokenError, TokenError, type TokenIdentity } from '../auth/token.js';
import type { ExternalIssuerConfig } from '../config/schema.js';

/**
 * Workload identity: JWTs from configured external issuers (CI systems, cloud workload
 * identity, the company IdP) accepted as cleartext passwords over TLS. Issuer, audience,
 * algorithms and required claims are pinned per issuer; keys come from the issuer's JWKS,
 * cached and refreshed by jose.
 */
export class WorkloadIdentity {
  private readonly keySets = new Map<string, Promise<JWTVerifyGetKey>>();
  private readonly byIssuer: Map<string, ExternalIssuerConfig>;

  constructor(issuers: ExternalIssuerConfig[]) {
    this.byIssuer = new Map(issuers.map((i) => [i.issuer, i]));
  }

  /** Whether the (still unverified) token names one of our external issuers. */
  handles(token: string): boolean {
    try {
      const iss = decodeJwt(token).iss;
      return iss !== undefined && this.byIssuer.has(iss);
    } catch {
      return false;
    }
  }

  async verify(user: string, token: string): Promise<TokenIdentity> {
    let iss: string | undefined;
    try {
      iss = decodeJwt(token).iss;
    } catch {
      throw new TokenError('malformed');
    }
    const cfg = iss ? this.byIssuer.get(iss) : undefined;
    if (!cfg) throw new TokenError('wrong-issuer');
    try {
      const { payload } = await jwtVerify(token, await this.keys(cfg), {
        issuer: cfg.issuer,
        audience: cfg.audience,
        algorithms: cfg.algorithms,
        requiredClaims: ['exp', ...Object.keys(cfg.requiredClaims)],
      });
      for (const [claim, value] of Object.entries(cfg.requiredClaims)) {
        if (value !== '' && String(payload[claim]) !== value) throw new TokenError('missing-claims');
      }
      const name = payload[cfg.usernameClaim];
      if (typeof name !== 'string' || name !== user) throw new TokenError('wrong-user');
      const groupsClaim = payload[cfg.groupsClaim];
      const groups = Array.isArray(groupsClaim) ? groupsClaim.filter((g): g is string => typeof g === 'string') : [];
      const claims: Record<string, string> = {};
      for (const [k, v] of Object.entries(payload)) if (typeof v === 'string') claims[k] = v;
      return { user, groups, jti: payload.jti ?? '', expiresAt: new Date((payload.exp ?? 0) * 1000), claims };
    } catch (err) {
      throw new TokenError(classifyTokenError(err));
    }
  }

  private keys(cfg: ExternalIssuerConfig): Promise<JWTVerifyGetKey> {
    let set = this.keySets.get(cfg.issuer);
    if (!set) {
      set = (async () => {
        let uri = cfg.jwksUri;
        if (!uri) {
          const res = await fetch(`${cfg.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`);
          if (!res.ok) throw new Error(`discovery failed for ${cfg.issuer}`);
          uri = String(((await res.json()) as { jwks_uri?: string }).jwks_uri ?? '');
        }
        return createRemoteJWKSet(new URL(uri), { cooldownDuration: 30_000, cacheMaxAge: 600_000 });
      })();
      // A failed discovery is retried on the next connection, not cached forever.
      set.catch(() => this.keySets.delete(cfg.issuer));
      this.keySets.set(cfg.issuer, set);
    }
    return set;
  }
}
