import * as oidc from 'openid-client';
import type { OidcConfig } from '../config/schema.js';
import { mapGroups } from './workload.js';

/** A person as the identity provider vouches for them. */
export interface SsoIdentity {
  user: string;
  email: string | null;
  groups: string[];
  issuer: string;
  subject: string;
}

/** What must survive the browser's round trip to the IdP (kept sealed in a cookie). */
export interface PendingLogin {
  state: string;
  nonce: string;
  verifier: string;
  next: string;
}

export class SsoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SsoError';
  }
}

function claimList(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  if (typeof value === 'string') return value.split(/[,\s]+/).filter(Boolean);
  return [];
}

// A user name ends up in logs and in libpq's startup packet: no control characters.
const hasControlCharacter = (s: string): boolean => [...s].some((c) => c.charCodeAt(0) < 0x20);

/** Maps ID-token claims onto a pgward identity with the configured claim names. */
export function mapClaims(
  claims: Record<string, unknown>,
  cfg: Pick<OidcConfig, 'usernameClaim' | 'emailClaim' | 'groupsClaim'> & Partial<Pick<OidcConfig, 'groupMap'>>,
): SsoIdentity {
  const user = claims[cfg.usernameClaim] ?? claims['sub'];
  if (typeof user !== 'string' || user.length === 0 || user.length > 63 || hasControlCharacter(user)) {
    throw new SsoError(`the identity provider sent no usable "${cfg.usernameClaim}" claim`);
  }
  const email = claims[cfg.emailClaim];
  return {
    user,
    email: typeof email === 'string' ? email : null,
    groups:
      cfg.groupMap && Object.keys(cfg.groupMap).length
        ? mapGroups(cfg.groupMap, claimList(claims[cfg.groupsClaim]))
        : claimList(claims[cfg.groupsClaim]),
    issuer: String(claims['iss'] ?? ''),
    subject: String(claims['sub'] ?? ''),
  };
}

/**
 * Reads a discovery document from another address than the issuer's own (oidc.discoveryUrl).
 * Its issuer must still be the configured one: tokens are checked against it, and a document
 * naming another issuer is a wrong URL, not something to trust.
 */
async function fetchDiscovery(url: string, issuer: string, allowInsecure: boolean): Promise<oidc.ServerMetadata> {
  const where = new URL(url);
  if (where.protocol !== 'https:' && !allowInsecure)
    throw new SsoError(
      `oidc.discoveryUrl ${where.origin} is not https (allowInsecureIssuer: true only for development)`,
    );
  let res: Response;
  try {
    res = await fetch(where, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    throw new SsoError(`cannot read the discovery document at ${where.href}: ${(err as Error).message}`);
  }
  if (!res.ok) throw new SsoError(`the discovery document at ${where.href} answered HTTP ${res.status}`);
  const doc = (await res.json().catch(() => null)) as Partial<oidc.ServerMetadata> | null;
  if (!doc || typeof doc.issuer !== 'string' || typeof doc.authorization_endpoint !== 'string')
    throw new SsoError(`${where.href} is not an OpenID discovery document`);
  if (doc.issuer !== issuer)
    throw new SsoError(
      `the discovery document at ${where.href} names issuer ${doc.issuer}, not oidc.issuer ${issuer}; set oidc.issuer to the issuer as browsers reach it`,
    );
  return doc as oidc.ServerMetadata;
}

/** Authorization code flow with PKCE against any OpenID Provider (openid-client). */
export class OidcSso {
  private constructor(
    private readonly config: oidc.Configuration,
    private readonly cfg: OidcConfig,
    readonly redirectUri: string,
  ) {}

  static async discover(cfg: OidcConfig, redirectUri: string): Promise<OidcSso> {
    const secret = cfg.clientSecretEnv ? process.env[cfg.clientSecretEnv] : cfg.clientSecret;
    const auth = secret ? oidc.ClientSecretBasic(secret) : oidc.None();
    if (!cfg.discoveryUrl) {
      const config = await oidc.discovery(
        new URL(cfg.issuer),
        cfg.clientId,
        secret ?? undefined,
        auth,
        cfg.allowInsecureIssuer ? { execute: [oidc.allowInsecureRequests] } : undefined,
      );
      return new OidcSso(config, cfg, redirectUri);
    }
    const server = await fetchDiscovery(cfg.discoveryUrl, cfg.issuer, cfg.allowInsecureIssuer);
    const config = new oidc.Configuration(server, cfg.clientId, secret ?? undefined, auth);
    if (cfg.allowInsecureIssuer) oidc.allowInsecureRequests(config);
    return new OidcSso(config, cfg, redirectUri);
  }

  async start(next: string): Promise<{ url: URL; pending: PendingLogin }> {
    const verifier = oidc.randomPKCECodeVerifier();
    const pending: PendingLogin = { state: oidc.randomState(), nonce: oidc.randomNonce(), verifier, next };
    const url = oidc.buildAuthorizationUrl(this.config, {
      redirect_uri: this.redirectUri,
      scope: this.cfg.scopes.join(' '),
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state: pending.state,
      nonce: pending.nonce,
    });
    return { url, pending };
  }

  /** Exchanges the code and verifies the ID token (signature, iss, aud, nonce, exp). */
  async finish(callbackUrl: URL, pending: PendingLogin): Promise<SsoIdentity> {
    const tokens = await oidc.authorizationCodeGrant(this.config, callbackUrl, {
      pkceCodeVerifier: pending.verifier,
      expectedState: pending.state,
      expectedNonce: pending.nonce,
      idTokenExpected: true,
    });
    const claims = tokens.claims();
    if (!claims) throw new SsoError('the identity provider returned no ID token');
    let all: Record<string, unknown> = { ...claims };
    // Some providers put groups or the username only in userinfo.
    if (all[this.cfg.groupsClaim] === undefined || all[this.cfg.usernameClaim] === undefined) {
      try {
        const info = await oidc.fetchUserInfo(this.config, tokens.access_token, claims.sub);
        all = { ...info, ...all };
      } catch {
        // userinfo is optional; the ID token alone must then do
      }
    }
    return mapClaims(all, this.cfg);
  }
}
