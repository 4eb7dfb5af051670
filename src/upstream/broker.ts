import type { Logger } from '../util/logger.js';
import type { UpstreamConnection } from './connector.js';
import { poolKeyId, type PoolKey } from './pool-key.js';
import { UpstreamPool, type PoolOptions } from './pool.js';

export interface BrokerPoolOptions extends PoolOptions {
  /**
   * Most pools of one target (a pool per settings combination). Beyond it the pool longest
   * at rest (nothing handed out) is closed; pools serving sessions are never closed for it.
   */
  maxPools?: number | undefined;
}

/**
 * Every warm pool of the gateway, by PoolKey: made on first use, closed when the
 * configuration of their target changes (sessions keep the connections they hold), when
 * at rest (nothing handed out) for longer than idleMs, or when their target has more than
 * maxPools pools (the one longest at rest first).
 */
export class UpstreamBroker {
  private readonly pools = new Map<string, { key: PoolKey; pool: UpstreamPool; opts: BrokerPoolOptions }>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly log: Logger,
    sweepMs = 5_000,
  ) {
    this.sweeper = setInterval(() => this.sweep(), sweepMs);
    this.sweeper.unref();
  }

  /** The pool for `key`, made with `connect` and `opts` when there is none yet. */
  pool(key: PoolKey, connect: () => Promise<UpstreamConnection>, opts: BrokerPoolOptions): UpstreamPool {
    const id = poolKeyId(key);
    let entry = this.pools.get(id);
    if (!entry) {
      entry = { key, pool: new UpstreamPool(connect, opts, this.log), opts };
      this.pools.set(id, entry);
      this.capTarget(key.target, opts.maxPools ?? Infinity, entry.pool);
    }
    return entry.pool;
  }

  get(key: PoolKey): UpstreamPool | undefined {
    return this.pools.get(poolKeyId(key))?.pool;
  }

  /** Closes the target's pools longest at rest while it has more than `max` (never `keep`). */
  private capTarget(target: string, max: number, keep: UpstreamPool | null): void {
    const now = Date.now();
    const mine = [...this.pools].filter(([, e]) => e.key.target === target);
    let excess = mine.length - max;
    if (excess <= 0) return;
    const resting = mine
      .filter(([, e]) => e.pool !== keep && e.pool.restingFor(now) > 0)
      .sort(([, a], [, b]) => b.pool.restingFor(now) - a.pool.restingFor(now));
    for (const [id, e] of resting) {
      if (excess-- <= 0) break;
      e.pool.close();
      this.pools.delete(id);
    }
  }

  /** Pools at rest for longer than their idleMs close; targets over their cap shed pools at rest. */
  sweep(now = Date.now()): void {
    const targets = new Map<string, number>();
    for (const [id, e] of this.pools) {
      if (e.pool.restingFor(now) > e.opts.idleMs) {
        e.pool.close();
        this.pools.delete(id);
      } else targets.set(e.key.target, e.opts.maxPools ?? Infinity);
    }
    for (const [target, max] of targets) this.capTarget(target, max, null);
  }

  /** A target changed or went away (SIGHUP): its pools take no new sessions. Returns how many closed. */
  invalidateTarget(target: string): number {
    let n = 0;
    for (const [id, { key, pool }] of this.pools) {
      if (key.target !== target) continue;
      pool.close();
      this.pools.delete(id);
      n++;
    }
    return n;
  }

  *values(): IterableIterator<UpstreamPool> {
    for (const { pool } of this.pools.values()) yield pool;
  }

  /** By Map key (poolKeyId), as tests and diagnostics read them. */
  *entries(): IterableIterator<[string, UpstreamPool]> {
    for (const [id, { pool }] of this.pools) yield [id, pool];
  }

  get size(): number {
    return this.pools.size;
  }

  close(): void {
    clearInterval(this.sweeper);
    for (const { pool } of this.pools.values()) pool.close();
    this.pools.clear();
  }
}
