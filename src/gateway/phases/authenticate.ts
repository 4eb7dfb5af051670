import { PeerClosedError } from '../../net/socket-reader.js';
import { PgError } from '../../protocol/errors.js';
import { SqlState } from '../../protocol/sqlstate.js';
import { globMatch } from '../../util/glob.js';
import type { ClientLink } from '../client-link.js';
import { cleartextAuth } from './auth-cleartext.js';
import { linkLogin } from './auth-link.js';
import { scramAuth } from './auth-scram.js';
import { controlPlaneDown, type Authenticated, type AuthenticatePorts } from './auth-common.js';

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
export async function authenticate(
  link: ClientLink,
  user: string,
  database: string,
  linkAsked: boolean,
  ports: AuthenticatePorts,
): Promise<Authenticated> {
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
    const reason =
      err instanceof PgError ? (err.internalReason ?? err.message) : err instanceof Error ? err.message : String(err);
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

export { controlPlaneDown, type Authenticated, type AuthenticatePorts, type LinkLoginPorts } from './auth-common.js';
