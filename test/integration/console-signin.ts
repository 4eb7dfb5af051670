import { ConsoleSessionQueries } from '../../src/store/console-session-queries.js';
import { ConsoleSessions, SealedCookies, SESSION_COOKIE } from '../../src/web/session.js';
import type { TestGateway } from '../harness/gateway.js';

/** The console's session service over a test gateway's store and vault (what the SSO callback uses). */
export function consoleSessions(gw: TestGateway): ConsoleSessions {
  return new ConsoleSessions(new ConsoleSessionQueries(gw.cp.store), new SealedCookies(gw.cp.vault, false));
}

/**
 * Signs a person in as the SSO callback would (a token, a server-side session, the sealed
 * cookie) and returns the Cookie header a browser would send, and the session's CSRF token.
 */
export async function signInAs(
  gw: TestGateway,
  user: string,
  groups: string[],
): Promise<{ cookie: string; csrf: string; jti: string; token: string }> {
  const issued = await gw.cp.tokens.issue({ user, groups, issuedBy: 'test' });
  const made = await consoleSessions(gw).create({ user, email: null, groups }, issued);
  return { cookie: `${SESSION_COOKIE}=${made.cookie}`, csrf: made.session.csrf, jti: issued.jti, token: issued.token };
}
