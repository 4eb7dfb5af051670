import { SourceLimit } from './rate-limit.js';

/** How failed logins slow the next ones (BAD_INPUTS D32: Postgres itself has no such brake). */
export interface ThrottleOptions {
  windowMs: number;
  /** Failures from one address in the window after which its logins are refused until it passes. */
  perAddress: number;
  /** Failures for one user in the window after which each further failure is answered later. */
  perUser: number;
  /** The longest a failure answer is held back. */
  maxDelayMs: number;
  /** Sign-in links per minute from one address, and for the whole gateway (default 10 and 300). */
  linksPerAddress?: number | undefined;
  linksPerGateway?: number | undefined;
}

/** Keys kept per map: a spray of addresses or user names must not grow memory without end. */
const MAX_KEYS = 50_000;

/**
 * Failed logins per client address and per user name, over a sliding window, in this
 * gateway's memory. An address over its budget is refused before authentication; a user
 * over theirs gets every further failure answered later and later (doubling, capped), which
 * slows guessing without locking the real user out: a right answer is never delayed.
 */
export class AuthThrottle {
  private readonly byAddress = new Map<string, number[]>();
  private readonly byUser = new Map<string, number[]>();
  private readonly links: SourceLimit;

  constructor(
    private readonly opts: ThrottleOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.links = new SourceLimit(
      { per: opts.linksPerAddress ?? 10, periodMs: 60_000 },
      { per: opts.linksPerGateway ?? 300, periodMs: 60_000 },
      now,
    );
  }

  /**
   * Whether this address may have a sign-in link now (each is a store row and a held
   * connection): null when it may, else which budget is spent and when to try again.
   */
  linkRefused(address: string): { scope: 'address' | 'gateway'; retryAfterS: number } | null {
    return this.links.admit(address);
  }

  /** Records a failed login. */
  failed(address: string, user: string): void {
    this.add(this.byAddress, address);
    this.add(this.byUser, user);
  }

  /** Seconds until the address may try again, or null when it may now. */
  addressBlocked(address: string): number | null {
    const recent = this.recent(this.byAddress, address);
    if (recent.length < this.opts.perAddress) return null;
    const oldest = recent[recent.length - this.opts.perAddress]!;
    return Math.max(1, Math.ceil((oldest + this.opts.windowMs - this.now()) / 1000));
  }

  /** How long to hold back the answer to this user's latest failure. */
  failureDelayMs(user: string): number {
    const over = this.recent(this.byUser, user).length - this.opts.perUser;
    if (over <= 0) return 0;
    return Math.min(this.opts.maxDelayMs, 100 * 2 ** Math.min(over - 1, 16));
  }

  private add(map: Map<string, number[]>, key: string): void {
    const list = this.recent(map, key);
    list.push(this.now());
    map.delete(key);
    map.set(key, list);
    // Insertion order is recency order: the stalest key goes first.
    if (map.size > MAX_KEYS) map.delete(map.keys().next().value as string);
  }

  private recent(map: Map<string, number[]>, key: string): number[] {
    const list = map.get(key);
    if (!list) return [];
    const since = this.now() - this.opts.windowMs;
    while (list.length && list[0]! <= since) list.shift();
    if (list.length === 0) map.delete(key);
    return list;
  }
}
