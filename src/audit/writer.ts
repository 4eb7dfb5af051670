import type { Store } from '../store/store.js';
import type { Logger } from '../util/logger.js';
import { canonicalJson, eventHash, genesisHash, type ChainedEvent } from './chain.js';

interface ChainState {
  seq: number;
  head: string;
}

/**
 * Appends events to per-session hash chains and writes them in batches, off the relay's
 * path. Hashes are computed at append time, so order is fixed by the session itself; a
 * failed write keeps the batch and retries, so nothing is dropped while the store is down
 * (up to maxBuffered events, after which the oldest sessions' events are still kept and
 * new ones are refused loudly).
 */
export class AuditWriter {
  /** Events with their payload already serialized (canonically, once, for hash and store alike). */
  private buffer: Array<{ e: ChainedEvent; json: string }> = [];
  private readonly chains = new Map<string, ChainState>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private failures = 0;
  private closed = false;

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
    private readonly opts: { flushMs?: number; batch?: number; maxBuffered?: number } = {},
  ) {}

  get pending(): number {
    return this.buffer.length;
  }

  append(sessionId: string, username: string | null, kind: string, payload: unknown, at: Date = new Date()): ChainedEvent {
    let chain = this.chains.get(sessionId);
    if (!chain) {
      chain = { seq: 0, head: genesisHash(sessionId) };
      this.chains.set(sessionId, chain);
    }
    const partial = { session_id: sessionId, seq: chain.seq + 1, at: at.toISOString(), kind, username, payload, prev_hash: chain.head };
    const json = canonicalJson(payload);
    const event: ChainedEvent = { ...partial, hash: eventHash(partial, json) };
    chain.seq = event.seq;
    chain.head = event.hash;
    if (this.buffer.length >= (this.opts.maxBuffered ?? 1_000_000)) {
      this.log.error({ event: 'audit_buffer_full', session: sessionId }, 'audit buffer full: the store has been unreachable too long');
    }
    this.buffer.push({ e: event, json });
    if (this.buffer.length >= (this.opts.batch ?? 2_000)) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.opts.flushMs ?? 200);
    return event;
  }

  /** The chain's end for a session, and forgets it (the session is over). */
  endChain(sessionId: string): ChainState | null {
    const c = this.chains.get(sessionId) ?? null;
    this.chains.delete(sessionId);
    return c;
  }

  /** Writes everything appended so far (retrying until it is written or the writer closes). */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    while (this.flushing) await this.flushing;
    if (this.buffer.length === 0) return;
    const batch = this.buffer;
    this.buffer = [];
    this.flushing = this.write(batch).finally(() => {
      this.flushing = null;
    });
    await this.flushing;
    if (this.buffer.length > 0 && !this.timer && !this.closed) this.timer = setTimeout(() => void this.flush(), this.opts.flushMs ?? 200);
  }

  private async write(batch: Array<{ e: ChainedEvent; json: string }>): Promise<void> {
    // One JSON document per batch: no per-element array escaping, one parse in Postgres.
    const doc = `[${batch
      .map(
        ({ e, json }) =>
          `{"i":${JSON.stringify(e.session_id)},"s":${e.seq},"a":${JSON.stringify(e.at)},"k":${JSON.stringify(e.kind)},"u":${JSON.stringify(e.username)},"p":${json},"h0":"${e.prev_hash}","h":"${e.hash}"}`,
      )
      .join(',')}]`;
    for (;;) {
      try {
        await this.store.pool.query(
          `insert into session_events (session_id, seq, at, kind, username, payload, prev_hash, hash)
           select x.i, x.s, x.a, x.k, x.u, x.p, decode(x.h0, 'hex'), decode(x.h, 'hex')
             from jsonb_to_recordset($1::jsonb) as x(i uuid, s int, a timestamptz, k text, u text, p jsonb, h0 text, h text)`,
          [doc],
        );
        this.failures = 0;
        return;
      } catch (err) {
        this.failures++;
        this.log.error({ event: 'audit_write_failed', events: batch.length, attempt: this.failures, err: (err as Error).message }, 'audit events not written yet; retrying');
        if (this.closed && this.failures > 3) {
          // Shutting down with the store gone: put them back for the caller to see.
          this.buffer = batch.concat(this.buffer);
          return;
        }
        await new Promise((r) => setTimeout(r, Math.min(5_000, 100 * 2 ** Math.min(this.failures, 6))));
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }
}
