import { createHash, randomBytes } from 'node:crypto';
import * as W from '../../protocol/backend-writer.js';
import { PgError } from '../../protocol/errors.js';
import { SqlState } from '../../protocol/sqlstate.js';
import type { ClientLink } from '../client-link.js';
import type { LinkEvent } from '../link-watch.js';
import { controlPlaneDown, type Authenticated, type AuthenticatePorts, type LinkLoginPorts } from './auth-common.js';

/** Past the wait's own end, how long the connection deadline leaves for the FATAL to be written. */
const DEADLINE_SLACK_MS = 5_000;

/**
 * Link login, for a client that asked for it (PGOPTIONS='-c pgward.login=link'):
 * AuthenticationOk first (libpq shows notices only after it), then a NoticeResponse with a
 * one-time URL; nothing is relayed until the person approves it in the browser while
 * signed in as this user.
 *
 * The wait costs one row and one held connection: it is woken by the store's notices about
 * its link (LinkWatch), not by polling. It is bounded by the normal authentication timeout
 * (counted from accept) until the person opens the link's page in the console; from then on
 * by the link's own lifetime (auth.linkTtl). See docs/login.md.
 */
export async function linkLogin(
  link: ClientLink,
  user: string,
  database: string,
  ports: Pick<AuthenticatePorts, 'tokens' | 'gatewayId' | 'extendDeadline' | 'log'> & { linkLogin: LinkLoginPorts },
): Promise<Authenticated> {
  const { queries, baseUrl, ttlMs, pollMs, watch } = ports.linkLogin;
  const secret = randomBytes(24).toString('base64url');
  const idHash = createHash('sha256').update(secret).digest();
  const events = new EventQueue(link);
  // Listening before the row exists: no notice about this link can come before it.
  const unwatch = watch
    ? await watch
        .watch(idHash.toString('hex'), (e) => events.push(e))
        .catch((err: unknown) => {
          throw controlPlaneDown(err);
        })
    : null;
  try {
    const expiresAt = Date.now() + ttlMs;
    await queries
      .createLink({
        idHash,
        username: user,
        clientAddr: link.addr,
        database,
        gatewayId: ports.gatewayId,
        expiresAt: new Date(expiresAt),
      })
      .catch((err: unknown) => {
        throw controlPlaneDown(err);
      });
    const openBy = Math.min(expiresAt, link.startedAt.getTime() + (ports.linkLogin.openWithinMs ?? ttlMs));
    let until = openBy;
    let opened = false;
    const openedNow = (): void => {
      if (opened) return;
      opened = true;
      until = expiresAt;
      ports.extendDeadline(until - Date.now() + DEADLINE_SLACK_MS);
      ports.log.info({ event: 'link_login_opened', user }, 'sign-in link opened in the browser');
    };
    ports.extendDeadline(until - Date.now() + DEADLINE_SLACK_MS);
    const openS = Math.max(1, Math.round((openBy - Date.now()) / 1000));
    link.write(W.authenticationOk());
    link.write(
      W.noticeResponse({
        severity: 'NOTICE',
        code: SqlState.successfulCompletion,
        message: `pgward: sign in to continue: ${baseUrl}/link/${secret}`,
        detail:
          openBy < expiresAt
            ? `Open the link in a browser within ${openS} seconds and approve this session. It works once.`
            : `Open the link in a browser and approve this session. It works once and expires in ${openS} seconds.`,
      }),
    );
    ports.log.info({ event: 'link_login_started', user }, 'waiting for link login');
    for (;;) {
      const left = until - Date.now();
      if (left <= 0) break;
      // Notices cannot be counted on (no watch, or its LISTEN dropped): read the row at pollMs.
      const polling = !watch || watch.degraded;
      const e = await events.next(polling ? Math.min(pollMs, left) : left);
      if (e === 'closed')
        throw new PgError(SqlState.invalidAuthorizationSpecification, 'the client left before sign-in', {
          internalReason: 'link abandoned',
        });
      if (e === 'opened') {
        openedNow();
        continue;
      }
      if (e === 'timeout' && !polling) continue;
      const row = await queries.link(idHash).catch(() => null);
      if (row?.openedAt) openedNow();
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
    if (!opened && openBy < expiresAt)
      throw new PgError(SqlState.invalidAuthorizationSpecification, 'sign-in link was not opened in time', {
        internalReason: 'link not opened',
        hint: 'Connect again and open the link as soon as it is shown, or use a token.',
      });
    throw new PgError(SqlState.invalidAuthorizationSpecification, 'sign-in link expired before it was approved', {
      internalReason: 'link expired',
      hint: 'Connect again for a new link, or use a token.',
    });
  } finally {
    unwatch?.();
    events.dispose();
  }
}

/** Events for one waiting link, and the client leaving, as one awaitable queue. */
class EventQueue {
  private readonly queue: Array<LinkEvent | 'closed'> = [];
  private wake: (() => void) | null = null;
  private readonly onClose = (): void => this.push('closed');

  constructor(private readonly link: ClientLink) {
    link.socket.once('close', this.onClose);
    if (link.closed) this.queue.push('closed');
  }

  push(e: LinkEvent | 'closed'): void {
    this.queue.push(e);
    this.wake?.();
  }

  /** The next event, or 'timeout' after ms. */
  async next(ms: number): Promise<LinkEvent | 'closed' | 'timeout'> {
    const ready = this.queue.shift();
    if (ready) return ready;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
    this.wake = null;
    return this.queue.shift() ?? 'timeout';
  }

  dispose(): void {
    this.link.socket.off('close', this.onClose);
  }
}
