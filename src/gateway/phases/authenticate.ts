import { PeerClosedError } from '../../net/socket-reader.js';
import { PgError } from '../../protocol/errors.js';
import { SqlState } from '../../protocol/sqlstate.js';
import { lockMessage } from '../../identity/user-locks.js';
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
 * Proves the person: a sign-in link when the client asks for one (pgward.login=link), else
 * SCRAM or cleartext (a gateway token or a workload JWT) as configured. Whether the user
 * holds a live token changes nothing the client can see before the proof is checked: an
 * unknown user gets the same exchange with a salt derived from a server secret, and the same
 * failure (docs/login.md). Failures are audited; a wrong secret counts against the login
 * brake and, past the user's budget, is answered later.
 */
export async function authenticate(
  link: ClientLink,
  user: string,
  database: string,
  linkAsked: boolean,
  ports: AuthenticatePorts,
): Promise<Authenticated> {
  const method = linkAsked ? 'link' : configuredMethod(ports.auth, user);
  /** A proven person who is locked out gets the lock's end and reason (docs/login.md: locks). */
  const unlocked = async (who: Authenticated): Promise<Authenticated> => {
    const lock = await ports.tokens.lockOf(who.user).catch((err: unknown) => {
      throw controlPlaneDown(err);
    });
    if (lock)
      throw new PgError(SqlState.invalidAuthorizationSpecification, lockMessage(lock), {
        hint: 'An admin can lift the lock earlier (pgward user unlock, or Live sessions in the console).',
        internalReason: 'user locked',
      });
    return who;
  };
  try {
    if (linkAsked) {
      if (!ports.linkLogin) {
        throw new PgError(SqlState.invalidAuthorizationSpecification, 'sign-in links are not enabled on this gateway', {
          hint: 'Remove pgward.login=link from the connection options and use a token.',
        });
      }
      // Before any store work: a link is a row and a held connection.
      const refused = ports.throttle.linkRefused(link.addr);
      if (refused) throw new LinkRateLimited(refused.scope, refused.retryAfterS);
      // No link for a locked name: the approval would be refused anyway, and a link is a held
      // connection. Not why: the asker has proved nothing yet (the person sees the reason
      // where they sign in).
      const locked = await ports.tokens.lockOf(user).catch((err: unknown) => {
        throw controlPlaneDown(err);
      });
      if (locked)
        throw new PgError(SqlState.invalidAuthorizationSpecification, 'sign-in links are not available for this user', {
          hint: 'Use a token, or ask an admin.',
          internalReason: 'user locked (link refused)',
        });
      return await unlocked(await linkLogin(link, user, database, { ...ports, linkLogin: ports.linkLogin }));
    }
    // Success is recorded in the session row (auth_method); failures get their own event.
    if (method === 'password') return await unlocked(await cleartextAuth(link, user, ports));
    const lookup = await ports.tokens.scramLookup(user).catch((err: unknown) => {
      throw controlPlaneDown(err);
    });
    return await unlocked(await scramAuth(link, user, lookup, ports));
  } catch (err) {
    if (err instanceof LinkRateLimited) {
      // Counted in memory only: writing an audit row per refusal would be the store work the limit saves.
      ports.log.info({ event: 'link_login_limited', scope: err.scope }, 'sign-in link refused: over the rate limit');
      throw err;
    }
    const reason =
      err instanceof PgError ? (err.internalReason ?? err.message) : err instanceof Error ? err.message : String(err);
    if (!(err instanceof PeerClosedError)) ports.failures.record(user, method, reason);
    if (err instanceof PgError && err.code === SqlState.invalidPassword) {
      // A wrong secret: count it, and past the user's budget answer it later (no lockout).
      ports.throttle.failed(link.addr, user);
      const delay = ports.throttle.failureDelayMs(user);
      if (delay > 0) await new Promise((r) => setTimeout(r, delay));
      // The same words for every user, with or without a token: where links are on, say how to
      // get one. Not to the holder of a revoked token: an admin took it away, a link would hand
      // the session straight back (they sign in again through the console, or are locked out).
      if (ports.linkLogin && err.internalReason !== 'token revoked') throw withLinkHint(err);
    }
    throw err;
  }
}

/** Over the sign-in link budget of the address or of the gateway: refused before any store work. */
export class LinkRateLimited extends PgError {
  constructor(
    readonly scope: 'address' | 'gateway',
    retryAfterS: number,
  ) {
    super(
      SqlState.tooManyConnections,
      scope === 'address'
        ? 'too many sign-in links requested from this address'
        : 'too many sign-in links requested on this gateway',
      {
        hint: `Try again in ${retryAfterS} seconds, or use a token.`,
        internalReason: `link rate limited (${scope})`,
      },
    );
  }
}

function withLinkHint(err: PgError): PgError {
  const link = "To sign in through the browser instead, connect with PGOPTIONS='-c pgward.login=link'.";
  return new PgError(err.code, err.message, {
    detail: err.detail,
    hint: err.hint ? `${err.hint} ${link}` : link,
    internalReason: err.internalReason,
  });
}

export { controlPlaneDown, type Authenticated, type AuthenticatePorts, type LinkLoginPorts } from './auth-common.js';
