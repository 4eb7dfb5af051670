import type { TokenService } from '../../identity/token-service.js';
import type { WorkloadIdentity } from '../../identity/workload.js';
import { passwordFailed, PgError } from '../../protocol/errors.js';
import { SqlState } from '../../protocol/sqlstate.js';
import type { IdentityQueries } from '../../store/identity-queries.js';
import type { Logger } from '../../util/logger.js';
import type { AuthThrottle } from '../auth-throttle.js';
import type { LinkWatch } from '../link-watch.js';
import type { ServerTls } from '../server-tls.js';
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
  /** How long a link may be approved (auth.linkTtl), once the person has opened it. */
  ttlMs: number;
  /** How often a waiting link reads its row when notices cannot be counted on (no watch, or its LISTEN dropped). */
  pollMs: number;
  /** The gateway's LISTEN on link notices; without it the wait reads its row every pollMs. */
  watch?: LinkWatch | undefined;
  /**
   * How long from accept until the person must have opened the link (the normal
   * authentication timeout, limits.startupTimeoutMs); the link's own lifetime applies only
   * once it is opened. Without it, the whole lifetime.
   */
  openWithinMs?: number | undefined;
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
  /** Where people get a new token (the console), for the hint of a failed login. */
  consoleUrl: string | null;
  throttle: AuthThrottle;
  failures: LoginFailures;
  gatewayId: string;
  /** Link login waits for a person: it replaces the startup deadline with its own. */
  extendDeadline(ms: number): void;
  log: Logger;
}

/** The way back after a failed token login: a new token from `pgward login` or the console. */
export function newTokenHint(consoleUrl: string | null): string {
  return `Get a new token ${wayToNewToken(consoleUrl)}.`;
}

const wayToNewToken = (consoleUrl: string | null): string =>
  `with "pgward login"${consoleUrl ? ` or at ${consoleUrl}` : ''}`;

/** The hint of a proof no token matched: the way back, in case the token was one that died. */
export function unknownProofHint(consoleUrl: string | null): string {
  return `If your token expired or was revoked, get a new one ${wayToNewToken(consoleUrl)}.`;
}

/**
 * A gateway token the client proved it holds (its SCRAM proof matched, or it sent the token
 * itself) but that is dead: the holder may learn why, since only the holder gets this far.
 */
export function deadToken(
  user: string,
  why: { revokedAt: Date | null; expiresAt: Date },
  consoleUrl: string | null,
): PgError {
  const revoked = why.revokedAt !== null;
  return passwordFailed(user, revoked ? 'token revoked' : 'token expired', {
    detail: revoked
      ? 'The token was revoked.'
      : `The token expired at ${why.expiresAt.toISOString().replace('T', ' ').slice(0, 19)} UTC.`,
    hint: newTokenHint(consoleUrl),
  });
}

/** The control plane is unreachable: fail closed with a message that says so. */
export function controlPlaneDown(err: unknown): PgError {
  if (err instanceof PgError) return err;
  return new PgError(SqlState.cannotConnectNow, 'pgward cannot verify credentials right now', {
    internalReason: `control plane error: ${err instanceof Error ? err.message : String(err)}`,
  });
}
