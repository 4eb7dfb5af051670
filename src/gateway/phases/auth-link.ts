import { createHash, randomBytes } from 'node:crypto';
import * as W from '../../protocol/backend-writer.js';
import { PgError } from '../../protocol/errors.js';
import { SqlState } from '../../protocol/sqlstate.js';
import type { ClientLink } from '../client-link.js';
import { controlPlaneDown, type Authenticated, type AuthenticatePorts, type LinkLoginPorts } from './auth-common.js';

/**
 * Link login: AuthenticationOk first (libpq shows notices only after it), then a
 * NoticeResponse with a one-time URL; nothing is relayed until the person approves it
 * in the browser while signed in as this user.
 */
export async function linkLogin(
  link: ClientLink,
  user: string,
  database: string,
  ports: Pick<AuthenticatePorts, 'tokens' | 'gatewayId' | 'extendDeadline' | 'log'> & { linkLogin: LinkLoginPorts },
): Promise<Authenticated> {
  const { queries, baseUrl, ttlMs, pollMs } = ports.linkLogin;
  const secret = randomBytes(24).toString('base64url');
  const idHash = createHash('sha256').update(secret).digest();
  await queries
    .createLink({
      idHash,
      username: user,
      clientAddr: link.addr,
      database,
      gatewayId: ports.gatewayId,
      expiresAt: new Date(Date.now() + ttlMs),
    })
    .catch((err: unknown) => {
      throw controlPlaneDown(err);
    });
  // The wait is bounded by the link's lifetime, not the usual startup deadline.
  ports.extendDeadline(ttlMs + 5_000);
  link.write(W.authenticationOk());
  link.write(
    W.noticeResponse({
      severity: 'NOTICE',
      code: SqlState.successfulCompletion,
      message: `pgward: sign in to continue: ${baseUrl}/link/${secret}`,
      detail: `Open the link in a browser and approve this session. It works once and expires in ${Math.round(ttlMs / 1000)} seconds.`,
    }),
  );
  ports.log.info({ event: 'link_login_started', user }, 'waiting for link login');
  const until = Date.now() + ttlMs;
  while (Date.now() < until && !link.closed) {
    await new Promise((r) => setTimeout(r, pollMs));
    const row = await queries.link(idHash).catch(() => null);
    if (row?.refusedAt)
      throw new PgError(SqlState.invalidAuthorizationSpecification, 'sign-in was refused in the browser', {
        internalReason: 'link refused',
      });
    if (row?.approvedAt) {
      if (!(await queries.useLink(idHash)))
        throw new PgError(SqlState.invalidAuthorizationSpecification, 'this sign-in link was already used', {
          internalReason: 'link reused',
        });
      const groups = row.approvedGroups ?? [];
      // No token backs a link session, so it gets the lifetime a token for these groups would.
      return {
        user,
        groups,
        tokenJti: null,
        expiresAt: new Date(Date.now() + ports.tokens.lifetime(groups)),
        method: 'link',
        claims: {},
      };
    }
  }
  throw new PgError(SqlState.invalidAuthorizationSpecification, 'sign-in link expired before it was approved', {
    internalReason: 'link expired',
    hint: 'Connect again for a new link, or use a token.',
  });
}
