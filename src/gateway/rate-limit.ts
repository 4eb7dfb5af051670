/**
 * Token buckets in this gateway's memory, for what unauthenticated clients may ask for
 * (sign-in links, cancel requests): checked before any store work, so a flood costs the
 * gateway a map lookup, not a round trip.
 */

/** `per` requests each `periodMs`, with up to `per` at once (the bucket starts full). */
export interface Rate {
  per: number;
  periodMs: number;
}

/** One bucket: `take()` is true while tokens remain; they refill continuously. */
export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly rate: Rate,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = rate.per;
    this.at = now();
  }

  take(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Whole seconds until one token is back (at least 1 when empty). */
  retryAfterS(): number {
    this.refill();
    if (this.tokens >= 1) return 0;
    return Math.max(1, Math.ceil(((1 - this.tokens) * this.rate.periodMs) / this.rate.per / 1000));
  }

  /** True when the bucket is full again, so a keyed map may forget it. */
  full(): boolean {
    this.refill();
    return this.tokens >= this.rate.per;
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.rate.per, this.tokens + ((t - this.at) * this.rate.per) / this.rate.periodMs);
    this.at = t;
  }
}

/** Keys kept: a spray of source addresses must not grow memory without end. */
const MAX_KEYS = 50_000;

/** One bucket per key (a client address), forgotten when full again or when the map is over its cap. */
export class KeyedBuckets {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly rate: Rate,
    private readonly now: () => number = Date.now,
  ) {}

  take(key: string): boolean {
    let b = this.buckets.get(key);
    if (!b) {
      b = new TokenBucket(this.rate, this.now);
      if (this.buckets.size >= MAX_KEYS) this.sweep();
      this.buckets.set(key, b);
    }
    return b.take();
  }

  retryAfterS(key: string): number {
    return this.buckets.get(key)?.retryAfterS() ?? 0;
  }

  get size(): number {
    return this.buckets.size;
  }

  /**
   * Drops full buckets (they hold no history); if every bucket is busy, the oldest half goes
   * (insertion order), which at worst lets those addresses start over with a full bucket.
   */
  private sweep(): void {
    for (const [k, b] of this.buckets) if (b.full()) this.buckets.delete(k);
    if (this.buckets.size < MAX_KEYS) return;
    let drop = this.buckets.size / 2;
    for (const k of this.buckets.keys()) {
      if (drop-- <= 0) break;
      this.buckets.delete(k);
    }
  }
}

/** A per-source and a whole-gateway limit checked together; the gateway's budget is spent only when the source's allows. */
export class SourceLimit {
  private readonly bySource: KeyedBuckets;
  private readonly overall: TokenBucket;

  constructor(perSource: Rate, perGateway: Rate, now: () => number = Date.now) {
    this.bySource = new KeyedBuckets(perSource, now);
    this.overall = new TokenBucket(perGateway, now);
  }

  /** null when admitted; otherwise which limit refused and when to try again. */
  admit(source: string | null): { scope: 'address' | 'gateway'; retryAfterS: number } | null {
    if (source !== null && !this.bySource.take(source))
      return { scope: 'address', retryAfterS: this.bySource.retryAfterS(source) };
    if (!this.overall.take()) return { scope: 'gateway', retryAfterS: this.overall.retryAfterS() };
    return null;
  }
}
