import type { TemporaryGrant } from '../policy/evaluate.js';
import type { AccessRequestRow } from '../store/access-request-queries.js';
import type { Subscription } from '../store/store.js';
import type { Logger } from '../util/logger.js';
import type { AccessRequests } from './access-requests.js';

/** What a gateway needs to end the sessions a grant opened. */
export interface GrantSessions {
  list(): Array<{ request?: string | null | undefined; kill(reason: string): void }>;
}

/** The temporary grants evaluation reads (policy/evaluate.ts stays pure: they are passed in). */
export interface TemporaryGrantSource {
  current(): readonly TemporaryGrant[];
}

/** At most this long between reloads, in case a notice was missed while the listener was down. */
const RESYNC_MS = 30_000;

/**
 * The approved access requests in force, on one gateway: loaded at start, reloaded on each
 * `access-request` notice (so an approval applies to new connections within a second on
 * every gateway), and ended at expiry by a timer here, whichever gateway marks it expired
 * first. A grant that ends (expiry, cancel, revocation) ends its live sessions with a FATAL
 * unless its rule says `onExpiry: finish`.
 */
export class TemporaryGrants implements TemporaryGrantSource {
  private grants: TemporaryGrant[] = [];
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private subscription: Subscription | null = null;
  private resync: NodeJS.Timeout | null = null;
  private reloading: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(
    private readonly requests: AccessRequests,
    private readonly sessions: GrantSessions,
    private readonly log: Logger,
    /** The rule's onExpiry, looked up in the policy in force. */
    private readonly finishes: (rule: string) => boolean,
  ) {}

  static async start(o: {
    requests: AccessRequests;
    sessions: GrantSessions;
    log: Logger;
    finishes: (rule: string) => boolean;
  }): Promise<TemporaryGrants> {
    const t = new TemporaryGrants(o.requests, o.sessions, o.log, o.finishes);
    t.subscription = t.listen(o.requests);
    await t.reload();
    t.resync = setInterval(() => t.schedule(), RESYNC_MS);
    t.resync.unref();
    return t;
  }

  current(): readonly TemporaryGrant[] {
    return this.grants;
  }

  private listen(requests: AccessRequests): Subscription {
    return requests.subscribe({
      notice: (n) => {
        if (n.state === 'expired' || n.state === 'revoked' || n.state === 'cancelled') this.ended(n.id, n.state);
        this.schedule();
      },
      down: (err) =>
        this.log.warn({ event: 'access_listener_down', err: err.message }, 'access-request listener reconnecting'),
      log: this.log,
    });
  }

  private schedule(): void {
    this.reloading = this.reloading
      .then(() => this.reload())
      .catch((err: unknown) =>
        this.log.error({ event: 'access_reload_failed', err: (err as Error).message }, 'temporary grants not reloaded'),
      );
  }

  private async reload(): Promise<void> {
    if (this.closed) return;
    const rows = await this.requests.queries.active();
    this.grants = rows.map(toGrant);
    for (const row of rows) this.arm(row);
  }

  /** One timer per grant, at its expiry: end its sessions here and mark it expired in the store. */
  private arm(row: AccessRequestRow): void {
    if (this.timers.has(row.id) || !row.expiresAt) return;
    const timer = setTimeout(
      () => {
        this.timers.delete(row.id);
        this.grants = this.grants.filter((g) => g.request !== row.id);
        this.ended(row.id, 'expired', row.rule);
        this.requests
          .expireDue()
          .catch((err: unknown) =>
            this.log.error({ event: 'access_expire_failed', err: (err as Error).message }, 'expiry not recorded'),
          );
      },
      Math.max(0, row.expiresAt.getTime() - Date.now()),
    );
    timer.unref();
    this.timers.set(row.id, timer);
  }

  private ended(id: string, state: string, ruleName?: string): void {
    const rule = ruleName ?? this.grants.find((g) => g.request === id)?.rule;
    this.grants = this.grants.filter((g) => g.request !== id);
    const timer = this.timers.get(id);
    if (timer) clearTimeout(timer);
    this.timers.delete(id);
    if (rule !== undefined && this.finishes(rule)) return;
    let n = 0;
    for (const s of this.sessions.list()) {
      if (s.request !== id) continue;
      s.kill(`the access request ${id} that granted this session was ${state}`);
      n++;
    }
    if (n) this.log.info({ event: 'access_sessions_ended', request: id, state, ended: n }, 'temporary grant ended');
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    if (this.resync) clearInterval(this.resync);
    await this.subscription?.close();
    await this.reloading;
  }
}

function toGrant(r: AccessRequestRow): TemporaryGrant {
  return {
    request: r.id,
    user: r.requester,
    rule: r.rule,
    target: r.target,
    database: r.database,
    expiresAt: r.expiresAt!,
  };
}
