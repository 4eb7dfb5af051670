import type { NoticeOf } from '../store/notices.js';
import type { Store, Subscription } from '../store/store.js';
import type { Logger } from '../util/logger.js';

/** What a waiting link login is told: its link was opened or decided, or notices may have been missed. */
export type LinkEvent = 'opened' | 'decided' | 'missed';

/** The LISTEN connection was not in place in time: a link would wait for a notice that could not arrive. */
export class LinkWatchUnavailableError extends Error {
  override name = 'LinkWatchUnavailableError';
}

/**
 * The gateway's one LISTEN on pgward_links, shared by every connection waiting on a sign-in
 * link: each is woken by the notice naming its link (opened, decided) instead of polling the
 * store. Subscribes at the first wait, so a gateway that never hands out a link holds no
 * connection for it. When the LISTEN connection drops, notices sent meanwhile are lost: each
 * waiter is told `missed` and reads its row itself until it is done.
 */
export class LinkWatch {
  private sub: Subscription | null = null;
  private readonly waiters = new Map<string, Set<(e: LinkEvent) => void>>();
  /** Set while notices may have been missed (from a drop until the LISTEN is back and one read has happened). */
  private degradedSince: number | null = null;

  constructor(
    private readonly store: Pick<Store, 'subscribe'>,
    private readonly log: Logger,
    private readonly readyWithinMs = 5_000,
  ) {}

  /** True when a waiter cannot count on notices (it should read its row at its poll interval). */
  get degraded(): boolean {
    return this.degradedSince !== null;
  }

  /**
   * Starts delivering events for one link (hex SHA-256 of its secret) and resolves once the
   * LISTEN is in place, so no notice about a link created afterwards is missed. The returned
   * function stops the delivery.
   */
  async watch(link: string, on: (e: LinkEvent) => void): Promise<() => void> {
    let set = this.waiters.get(link);
    if (!set) this.waiters.set(link, (set = new Set()));
    set.add(on);
    const stop = (): void => {
      const s = this.waiters.get(link);
      s?.delete(on);
      if (s?.size === 0) this.waiters.delete(link);
    };
    try {
      await this.ready();
    } catch (err) {
      stop();
      throw err;
    }
    return stop;
  }

  async close(): Promise<void> {
    const sub = this.sub;
    this.sub = null;
    await sub?.close();
  }

  get waiting(): number {
    return this.waiters.size;
  }

  private ready(): Promise<void> {
    if (!this.sub) {
      this.sub = this.store.subscribe(['link-changed'], {
        notice: (n) => this.deliver(n),
        down: (err) => this.down(err),
        log: this.log,
      });
    }
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new LinkWatchUnavailableError('link notices are not being received (LISTEN not in place)')),
        this.readyWithinMs,
      );
    });
    return Promise.race([this.sub.ready, late]).finally(() => clearTimeout(timer));
  }

  private deliver(n: NoticeOf<'link-changed'>): void {
    // Any notice proves the LISTEN is back; waiters read their rows once more to catch up.
    if (this.degradedSince !== null) {
      this.degradedSince = null;
      this.broadcast('missed');
    }
    for (const on of this.waiters.get(n.link) ?? []) on(n.state);
  }

  private down(err: Error): void {
    this.degradedSince ??= Date.now();
    this.log.warn(
      { event: 'link_listener_down', err: err.message, waiting: this.waiters.size },
      'link notice listener reconnecting; waiting sign-ins read their links meanwhile',
    );
    this.broadcast('missed');
  }

  private broadcast(e: LinkEvent): void {
    for (const set of this.waiters.values()) for (const on of set) on(e);
  }
}
