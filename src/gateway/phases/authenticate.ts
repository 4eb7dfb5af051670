import type { TokenService } from '../../identity/token-service.js';
import type { WorkloadIdentity } from '../../identity/workload.js';
import type { IdentityQueries } from '../../store/identity-queries.js';
import type { Logger } from '../../util/logger.js';
import { PeerClosedError } from '../../net/socket-reader.js';
import { PgError } from '../../protocol/errors.js';
import { SqlState } from '../../protocol/sqlstate.js';
import { globMatch } from '../../util/glob.js';
import type { AuthThrottle } from '../auth-throttle.js';
import type { ClientLink } from '../client-link.js';
import type { ServerTls } from '../server-tls.js';
import { cleartextAuth } from './auth-cleartext.js';
import { linkLogin } from './auth-link.js';
import { scramAuth } from './auth-scram.js';
import type { LoginFailures } from './failures.js';

/** Who the client proved to be, and how. */
export interface Authenticated {
  user: string;
  groups: string[];
  /** null for link login and workload JWTs (no gateway token backs the session). */
  tokenJti: string | null;
  expiresAt: Date | null;
  method: 'scram-sha-256' | 'scram-sha-256-plus' | 'password' | 'workload-jwt' | 'link';
  claims: Record<string, string>;
}

export interface LinkLoginPorts {
  queries: IdentityQueries;
  baseUrl: string;
  ttlMs: number;
  pollMs: number;
}

export interface AuthenticatePorts {
  auth: { method: 'scram-sha-256' | 'password'; passwordUsers: readonly string[]; scramIterations: number };
  tokens: TokenService;
  workload: WorkloadIdentity | null;
  /** Null: sign-in links are off. */
  linkLogin: LinkLoginPorts | null;
  /** The served certificate (channel binding); null without TLS. */
  tls: ServerTls | null;
  scramMockSecret: Buffer;
  throttle: AuthThrottle;
  failures: LoginFailures;
  gatewayId: string;
  /** Link login waits for a person: it replaces the startup deadline with its own. */
  extendDeadline(ms: number): void;
  log: Logger;
}

/** The method configured for this user name (cleartext for the configured globs). */
export function configuredMethod(auth: AuthenticatePorts['auth'], user: string): 'scram-sha-256' | 'password' {
  return auth.passwordUsers.some((p) => globMatch(p, user)) ? 'password' : auth.method;
}

/**
 * Proves the person: a sign-in link when asked for (or when the user has no live token and
 * links are on), else SCRAM or cleartext (a gateway token or a workload JWT) as configured.
 * Failures are audited; a wrong secret counts against the login brake and, past the user's
 * budget, is answered later.
 */
export async function authenticate(link: ClientLink, user: string, database: string, linkAsked: boolean, ports: AuthenticatePorts): Promise<Authenticated> {
  const method = linkAsked ? 'link' : configuredMethod(ports.auth, user);
  try {
    if (linkAsked) {
      if (!ports.linkLogin) {
        throw new PgError(SqlState.invalidAuthorizationSpecification, 'sign-in links are not enabled on this gateway', {
          hint: 'Remove pgward.login=link from the connection options and use a token.',
        });
      }
      return await linkLogin(link, user, database, { ...ports, linkLogin: ports.linkLogin });
    }
    // Success is recorded in the session row (auth_method); failures get their own event.
    if (method === 'password') return await cleartextAuth(link, user, ports);
    const lookup = await ports.tokens.scramLookup(user).catch((err: unknown) => {
      throw controlPlaneDown(err);
    });
    // No live token at all: a password prompt could only fail, so offer a sign-in link.
    if (ports.linkLogin && lookup.liveCount === 0) {
      return await linkLogin(link, user, database, { ...ports, linkLogin: ports.linkLogin });
    }
    return await scramAuth(link, user, lookup, ports);
  } catch (err) {
    const reason = err instanceof PgError ? (err.internalReason ?? err.message) : err instanceof Error ? err.message : String(err);
    if (!(err instanceof PeerClosedError)) ports.failures.record(user, method, reason);
    if (err instanceof PgError && err.code === SqlState.invalidPassword) {
      // A wrong secret: count it, and past the user's budget answer it later (no lockout).
      ports.throttle.failed(link.addr, user);
      const delay = ports.throttle.failureDelayMs(user);
      if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    }
    throw err;
  }
}

/** The control plane is unreachable: fail closed with a message that says so. */
export function controlPlaneDown(err: unknown): PgError {
  if (err instanceof PgError) return err;
  return new PgError(SqlState.cannotConnectNow, 'pgward cannot verify credentials right now', {
    internalReason: `control plane error: ${err instanceof Error ? err.message : String(err)}`,
  });
}
