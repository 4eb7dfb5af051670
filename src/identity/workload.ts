import { isIP } from 'node:net';
import { createRemoteJWKSet, decodeJwt, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { classifyTokenError, TokenError, type TokenIdentity } from '../auth/token.js';
import type { ExternalIssuerConfig } from '../config/schema.js';

/** What workload logins need from the rest of identity (TokenService and the store). */
export interface WorkloadPorts {
  /** The longest a session of these (mapped) groups may live: the gateway tokens' caps (auth.maxTtl, auth.groupTtl). */
  lifetimeCap(groups: string[]): { ms: number; source: string };
  /** When the user was last revoked as a whole (`pgward token revoke --user`); null: never. */
  revokedAt(user: string): Promise<Date | null>;
  /** Discovery and JWKS fetches give up after this long (default 5 s). */
  fetchTimeoutMs?: number | undefined;
}

/** An issuer's discovery document or keys could not be had: the login fails closed (57P03), not as a bad token. */
export class IssuerUnavailableError extends Error {
  override name = 'IssuerUnavailableError';
}

const DEFAULT_FETCH_TIMEOUT_MS = 5_000;

/**
 * Workload identity: JWTs from configured external issuers (CI systems, cloud workload
 * identity, the company IdP) accepted as cleartext passwords over TLS. Issuer, audience,
 * algorithms and required claims are pinned per issuer; keys come from the issuer's JWKS,
 * cached and refreshed by jose. A workload session is held to what a gateway token would
 * be: its groups are the issuer's mapped through `groupMap` (never taken raw, so an issuer
 * cannot name pgward's own groups), it ends at the lifetime cap of those groups counted from
 * the JWT's `iat`, and a revocation of the user refuses every JWT issued until then.
 */
export class WorkloadIdentity {
  private readonly keySets = new Map<string, Promise<JWTVerifyGetKey>>();
  private readonly byIssuer: Map<string, ExternalIssuerConfig>;
  private readonly fetchTimeoutMs: number;

  constructor(
    issuers: ExternalIssuerConfig[],
    private readonly ports: WorkloadPorts,
  ) {
    this.byIssuer = new Map(issuers.map((i) => [i.issuer, i]));
    this.fetchTimeoutMs = ports.fetchTimeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;
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
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, await this.keys(cfg), {
        issuer: cfg.issuer,
        audience: cfg.audience,
        algorithms: cfg.algorithms,
        requiredClaims: ['exp', ...Object.keys(cfg.requiredClaims)],
      }));
    } catch (err) {
      if (err instanceof IssuerUnavailableError) throw err;
      if (err instanceof errors.JWKSTimeout || !(err instanceof errors.JOSEError || err instanceof TokenError))
        throw new IssuerUnavailableError(`keys of ${cfg.issuer} unavailable: ${(err as Error).message}`);
      throw new TokenError(classifyTokenError(err));
    }
    for (const [claim, value] of Object.entries(cfg.requiredClaims)) {
      if (value !== '' && String(payload[claim]) !== value) throw new TokenError('missing-claims');
    }
    const name = payload[cfg.usernameClaim];
    if (typeof name !== 'string' || name !== user) throw new TokenError('wrong-user');
    const groups = mapGroups(cfg.groupMap, payload[cfg.groupsClaim]);
    const now = Date.now();
    const issuedAt = typeof payload.iat === 'number' ? payload.iat * 1000 : null;
    // Read only once the signature holds: made-up tokens cost no store round trip.
    const revoked = await this.ports.revokedAt(user);
    // Without iat the token cannot show it came after the revocation.
    if (revoked && (issuedAt === null || issuedAt <= revoked.getTime())) throw new TokenError('revoked');
    const cap = this.ports.lifetimeCap(groups);
    const expiresAt = Math.min((payload.exp ?? 0) * 1000, (issuedAt ?? now) + cap.ms);
    if (expiresAt <= now) throw new TokenError('expired');
    const claims: Record<string, string> = {};
    for (const [k, v] of Object.entries(payload)) if (typeof v === 'string') claims[k] = v;
    return { user, groups, jti: payload.jti ?? '', expiresAt: new Date(expiresAt), claims };
  }

  private keys(cfg: ExternalIssuerConfig): Promise<JWTVerifyGetKey> {
    let set = this.keySets.get(cfg.issuer);
    if (!set) {
      set = (async () => {
        const uri = new URL(cfg.jwksUri ?? (await this.discoverJwksUri(cfg)));
        return createRemoteJWKSet(uri, {
          timeoutDuration: this.fetchTimeoutMs,
          cooldownDuration: 30_000,
          cacheMaxAge: 600_000,
        });
      })();
      // A failed discovery is retried on the next connection, not cached forever.
      set.catch(() => this.keySets.delete(cfg.issuer));
      this.keySets.set(cfg.issuer, set);
    }
    return set;
  }

  /** The issuer's jwks_uri from its discovery document, fetched within the timeout and checked. */
  private async discoverJwksUri(cfg: ExternalIssuerConfig): Promise<string> {
    const url = `${cfg.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
    let doc: { issuer?: unknown; jwks_uri?: unknown };
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(this.fetchTimeoutMs), redirect: 'error' });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      doc = (await res.json()) as typeof doc;
    } catch (err) {
      throw new IssuerUnavailableError(`discovery failed for ${cfg.issuer}: ${(err as Error).message}`);
    }
    if (typeof doc.issuer !== 'string' || doc.issuer.replace(/\/$/, '') !== cfg.issuer.replace(/\/$/, ''))
      throw new IssuerUnavailableError(`discovery document of ${cfg.issuer} names another issuer`);
    if (typeof doc.jwks_uri !== 'string') throw new IssuerUnavailableError(`no jwks_uri in discovery of ${cfg.issuer}`);
    let jwks: URL;
    try {
      jwks = new URL(doc.jwks_uri);
    } catch {
      throw new IssuerUnavailableError(`jwks_uri of ${cfg.issuer} is not a URL`);
    }
    if (!jwksUriAllowed(jwks, cfg))
      throw new IssuerUnavailableError(
        `jwks_uri of ${cfg.issuer} must use https (${jwks.protocol.replace(':', '')} allowed only with allowInsecure, on loopback or the issuer's own origin)`,
      );
    return jwks.href;
  }
}

/**
 * The keys' address as discovered: https always; plain http only for an issuer configured
 * with allowInsecure (development), and then only on a loopback host or the issuer's own
 * origin, so a discovery document cannot send key fetches anywhere over plain http.
 */
export function jwksUriAllowed(uri: URL, cfg: Pick<ExternalIssuerConfig, 'issuer' | 'allowInsecure'>): boolean {
  if (uri.protocol === 'https:') return true;
  if (uri.protocol !== 'http:' || !cfg.allowInsecure) return false;
  return isLoopback(uri.hostname) || uri.origin === new URL(cfg.issuer).origin;
}

function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

/**
 * The issuer's groups claim through the configured map: each listed external group gives
 * the pgward groups it maps to; a group not in the map gives none.
 */
export function mapGroups(map: Record<string, string | string[]>, claim: unknown): string[] {
  const external = Array.isArray(claim) ? claim : typeof claim === 'string' ? [claim] : [];
  const out = new Set<string>();
  for (const g of external) {
    if (typeof g !== 'string' || !Object.hasOwn(map, g)) continue;
    const to = map[g]!;
    for (const name of typeof to === 'string' ? [to] : to) out.add(name);
  }
  return [...out];
}
