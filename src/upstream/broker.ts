import type { Logger } from '../util/logger.js';
import type { UpstreamConnection } from './connector.js';
import { poolKeyId, type PoolKey } from './pool-key.js';
import { UpstreamPool, type PoolOptions } from './pool.js';

/**
 * Every warm pool of the gateway, by PoolKey: made on first use, closed when the
 * configuration of their target changes (sessions keep the connections they hold).
 */
export class UpstreamBroker {
  private readonly pools = new Map<string, { key: PoolKey; pool: UpstreamPool }>();

  constructor(private readonly log: Logger) {}

  /** The pool for `key`, made with `connect` and `opts` when there is none yet. */
  pool(key: PoolKey, connect: () => Promise<UpstreamConnection>, opts: PoolOptions): UpstreamPool {
    const id = poolKeyId(key);
    let entry = this.pools.get(id);
    if (!entry) {
      entry = { key, pool: new UpstreamPool(connect, opts, this.log) };
      this.pools.set(id, entry);
    }
    return entry.pool;
  }

  get(key: PoolKey): UpstreamPool | undefined {
    return this.pools.get(poolKeyId(key))?.pool;
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
    for (const { pool } of this.pools.values()) pool.close();
    this.pools.clear();
  }
}
