import { mkdir, open, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Store } from '../store/store.js';
import type { Logger } from '../util/logger.js';
import { within } from '../util/deadline.js';

/** A store that takes longer than this to take a batch is treated as down: the batch goes to the spool. */
const AUDIT_WRITE_TIMEOUT_MS = 5_000;
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
    private readonly opts: { flushMs?: number; batch?: number; maxBuffered?: number; replayMs?: number } = {},
    /** Where batches wait, on disk, while the store is unreachable (and across restarts). */
    private readonly spoolDir: string | null = null,
  ) {
    // Batches left by an earlier run (the store was down when it stopped) go first.
    if (spoolDir) void this.replay().then(() => undefined);
  }

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

  /** The batch as one JSON document: no per-element array escaping, one parse in Postgres. */
  private static document(batch: Array<{ e: ChainedEvent; json: string }>): string {
    return `[${batch
      .map(
        ({ e, json }) =>
          `{"i":${JSON.stringify(e.session_id)},"s":${e.seq},"a":${JSON.stringify(e.at)},"k":${JSON.stringify(e.kind)},"u":${JSON.stringify(e.username)},"p":${json},"h0":"${e.prev_hash}","h":"${e.hash}"}`,
      )
      .join(',')}]`;
  }

  private async insert(doc: string): Promise<void> {
    // "do nothing" on replay: a batch whose commit was lost in transit may be sent twice;
    // so may one that answered late, after it had been spooled (a partitioned store).
    await within(this.store.pool.query(
      `insert into session_events (session_id, seq, at, kind, username, payload, prev_hash, hash)
       select x.i, x.s, x.a, x.k, x.u, x.p, decode(x.h0, 'hex'), decode(x.h, 'hex')
         from jsonb_to_recordset($1::jsonb) as x(i uuid, s int, a timestamptz, k text, u text, p jsonb, h0 text, h text)
       on conflict (session_id, seq) do nothing`,
      [doc],
    ), AUDIT_WRITE_TIMEOUT_MS, 'audit write');
  }

  private async write(batch: Array<{ e: ChainedEvent; json: string }>): Promise<void> {
    const doc = AuditWriter.document(batch);
    // Once anything is spooled, later batches queue behind it so order on disk is kept.
    if (this.spoolDir && this.spooled > 0) return this.spool(doc, batch.length);
    for (;;) {
      try {
        await this.insert(doc);
        this.failures = 0;
        return;
      } catch (err) {
        this.failures++;
        this.log.error({ event: 'audit_write_failed', events: batch.length, attempt: this.failures, err: (err as Error).message }, 'audit events not written yet');
        // With a spool, the batch goes to disk at once: memory stays flat and a crash loses nothing.
        if (this.spoolDir) return this.spool(doc, batch.length);
        if (this.closed && this.failures > 3) {
          this.buffer = batch.concat(this.buffer);
          return;
        }
        await new Promise((r) => setTimeout(r, Math.min(5_000, 100 * 2 ** Math.min(this.failures, 6))));
      }
    }
  }

  private spooled = 0;
  /** Spool appends and the replay's rewrite never interleave. */
  private fileLock: Promise<unknown> = Promise.resolve();
  private locked<T>(op: () => Promise<T>): Promise<T> {
    const next = this.fileLock.then(op, op);
    this.fileLock = next.catch(() => undefined);
    return next;
  }
  private replaying: Promise<void> | null = null;
  private replayTimer: NodeJS.Timeout | null = null;

  private get spoolFile(): string {
    return join(this.spoolDir!, 'audit-spool.jsonl');
  }

  /** Appends a batch to the local spool (fsynced) and schedules delivery. */
  private async spool(doc: string, events: number): Promise<void> {
    this.spooled += events;
    await this.locked(async () => {
      await mkdir(this.spoolDir!, { recursive: true, mode: 0o700 });
      const fh = await open(this.spoolFile, 'a', 0o600);
      try {
        await fh.write(doc + '\n');
        await fh.sync();
      } finally {
        await fh.close();
      }
    });
    this.log.warn({ event: 'audit_spooled', events, spooled: this.spooled }, 'audit events kept in the local spool until the store is back');
    this.scheduleReplay();
  }

  private scheduleReplay(): void {
    if (this.replayTimer || this.closed) return;
    this.replayTimer = setTimeout(() => {
      this.replayTimer = null;
      void this.replay();
    }, this.opts.replayMs ?? 1_000);
    this.replayTimer.unref();
  }

  /** Delivers spooled batches in order; stops at the first failure and tries again later. */
  replay(): Promise<void> {
    this.replaying ??= this.locked(async () => {
      if (!this.spoolDir) return;
      let text: string;
      try {
        text = await readFile(this.spoolFile, 'utf8');
      } catch {
        this.spooled = 0;
        return;
      }
      const docs = text.split('\n').filter(Boolean);
      let done = 0;
      try {
        for (const doc of docs) {
          await this.insert(doc);
          done++;
        }
      } catch (err) {
        this.log.warn({ event: 'audit_replay_failed', delivered: done, left: docs.length - done, err: (err as Error).message }, 'store still unreachable');
      }
      // Rewrite what is left (nothing, normally) atomically.
      const left = docs.slice(done);
      const tmp = `${this.spoolFile}.tmp`;
      await writeFile(tmp, left.length ? left.join('\n') + '\n' : '', { mode: 0o600 });
      await rename(tmp, this.spoolFile);
      if (left.length === 0) {
        this.spooled = 0;
        if (done > 0) this.log.info({ event: 'audit_spool_delivered', batches: done }, 'spooled audit events delivered');
      } else this.scheduleReplay();
    }).finally(() => {
      this.replaying = null;
    });
    return this.replaying;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
    if (this.replayTimer) clearTimeout(this.replayTimer);
    await this.replaying;
  }
}
