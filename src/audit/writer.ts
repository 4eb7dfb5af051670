import { appendFile, mkdir, open, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../util/logger.js';
import { canonicalJson, eventHash, genesisHash, type ChainedEvent } from './chain.js';
import { batchDocument, batchElements, boundedRuns, eventElement } from './event-document.js';
import { within } from '../util/deadline.js';

/** A store that takes longer than this to take a batch is treated as down: the batch goes to the spool. */
const AUDIT_WRITE_TIMEOUT_MS = 5_000;

/**
 * The most events one insert carries. A burst (a COPY, a bulk load through the gateway)
 * appends tens of thousands of events at once; written as one insert they missed
 * AUDIT_WRITE_TIMEOUT_MS on a loaded store, went to the spool and were replayed whole
 * under the same deadline, again and again. A thousand take milliseconds.
 */
export const MAX_BATCH_EVENTS = 1_000;

/** The most characters of batch document one insert carries (events with large statements). */
export const MAX_BATCH_CHARS = 1 << 20;

/** What the writer needs from the store (AuditQueries). */
export interface AuditSink {
  /** Inserts a batch document (see event-document.ts); a repeat of a stored event is ignored. */
  insertEvents(document: string): Promise<void>;
  /** True when the store refused the data itself, so the same batch can never be written. */
  rejectedAsData(err: unknown): boolean;
}

interface ChainState {
  seq: number;
  head: string;
}

/** Elements the store did not take because it did not answer, in order, and why. */
interface Undelivered {
  rest: string[];
  err: Error;
}

/**
 * Appends events to per-session hash chains and writes them in bounded batches, off the
 * relay's path. Hashes are computed at append time, so order is fixed by the session
 * itself; batches are written in append order. A failed write keeps the batch and retries
 * (or spools it to disk), so nothing is dropped while the store is down (up to maxBuffered
 * events, after which the oldest sessions' events are still kept and new ones are refused
 * loudly). An event the store refuses as data is set aside in a dead-letter file rather
 * than blocking every later batch.
 */
export class AuditWriter {
  /** Events as batch-document elements, serialized once at append time. */
  private buffer: string[] = [];
  private bufferedChars = 0;
  private readonly chains = new Map<string, ChainState>();
  private timer: NodeJS.Timeout | null = null;
  /** The one loop writing the buffer out, batch by batch; resolves false if it gave up (closing, store down, no spool). */
  private draining: Promise<boolean> | null = null;
  private failures = 0;
  private closed = false;
  private readonly maxEvents: number;

  constructor(
    private readonly sink: AuditSink,
    private readonly log: Logger,
    private readonly opts: { flushMs?: number; batch?: number; maxBuffered?: number; replayMs?: number } = {},
    /** Where batches wait, on disk, while the store is unreachable (and across restarts). */
    private readonly spoolDir: string | null = null,
  ) {
    this.maxEvents = Math.max(1, Math.min(opts.batch ?? MAX_BATCH_EVENTS, MAX_BATCH_EVENTS));
    // Batches left by an earlier run (the store was down when it stopped) go first.
    if (spoolDir) void this.replay().then(() => undefined);
  }

  get pending(): number {
    return this.buffer.length;
  }

  append(
    sessionId: string,
    username: string | null,
    kind: string,
    payload: unknown,
    at: Date = new Date(),
  ): ChainedEvent {
    let chain = this.chains.get(sessionId);
    if (!chain) {
      chain = { seq: 0, head: genesisHash(sessionId) };
      this.chains.set(sessionId, chain);
    }
    const partial = {
      session_id: sessionId,
      seq: chain.seq + 1,
      at: at.toISOString(),
      kind,
      username,
      payload,
      prev_hash: chain.head,
    };
    const json = canonicalJson(payload);
    const event: ChainedEvent = { ...partial, hash: eventHash(partial, json) };
    chain.seq = event.seq;
    chain.head = event.hash;
    if (this.buffer.length >= (this.opts.maxBuffered ?? 1_000_000)) {
      this.log.error(
        { event: 'audit_buffer_full', session: sessionId },
        'audit buffer full: the store has been unreachable too long',
      );
    }
    const element = eventElement(event, json);
    this.buffer.push(element);
    this.bufferedChars += element.length + 1;
    if (this.buffer.length >= this.maxEvents || this.bufferedChars >= MAX_BATCH_CHARS) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.opts.flushMs ?? 200);
    return event;
  }

  /** The chain's end for a session, and forgets it (the session is over). */
  endChain(sessionId: string): ChainState | null {
    const c = this.chains.get(sessionId) ?? null;
    this.chains.delete(sessionId);
    return c;
  }

  /** Writes everything appended so far, in bounded batches (retrying until written, spooled, or the writer closes). */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    for (;;) {
      this.draining ??= this.drain().finally(() => {
        this.draining = null;
      });
      const complete = await this.draining;
      if (!complete || this.buffer.length === 0) return;
    }
  }

  private async drain(): Promise<boolean> {
    while (this.buffer.length > 0) {
      if (!(await this.write(this.takeBatch()))) return false;
    }
    return true;
  }

  /** The oldest buffered events, at most maxEvents and MAX_BATCH_CHARS (at least one). */
  private takeBatch(): string[] {
    let n = 0;
    let chars = 0;
    while (n < this.buffer.length && n < this.maxEvents) {
      const size = this.buffer[n]!.length + 1;
      if (n > 0 && chars + size > MAX_BATCH_CHARS) break;
      chars += size;
      n++;
    }
    this.bufferedChars -= chars;
    return this.buffer.splice(0, n);
  }

  /** Writes or spools one batch; false only when it gave up and put the batch back (closing, no spool, store down). */
  private async write(batch: string[]): Promise<boolean> {
    // Once anything is spooled, later batches queue behind it so order on disk is kept.
    if (this.spoolDir && this.spooledBatches > 0) {
      await this.spool(batch);
      return true;
    }
    for (;;) {
      const undelivered = await this.deliver(batch);
      if (!undelivered) {
        this.failures = 0;
        return true;
      }
      this.failures++;
      this.log.error(
        {
          event: 'audit_write_failed',
          events: undelivered.rest.length,
          attempt: this.failures,
          err: undelivered.err.message,
        },
        'audit events not written yet',
      );
      // With a spool, the batch goes to disk at once: memory stays flat and a crash loses nothing.
      if (this.spoolDir) {
        await this.spool(undelivered.rest);
        return true;
      }
      if (this.closed && this.failures > 3) {
        this.buffer = undelivered.rest.concat(this.buffer);
        this.bufferedChars += undelivered.rest.reduce((n, el) => n + el.length + 1, 0);
        return false;
      }
      batch = undelivered.rest;
      await new Promise((r) => setTimeout(r, Math.min(5_000, 100 * 2 ** Math.min(this.failures, 6))));
    }
  }

  /**
   * Inserts the elements in order. When the store refuses a batch as data, halves are tried
   * until the refused events are alone, and those are set aside; the others are written.
   * Returns what is left, in order, when the store did not answer; null when all is done.
   */
  private async deliver(elements: string[]): Promise<Undelivered | null> {
    try {
      await within(this.sink.insertEvents(batchDocument(elements)), AUDIT_WRITE_TIMEOUT_MS, 'audit write');
      return null;
    } catch (err) {
      if (!this.sink.rejectedAsData(err)) return { rest: elements, err: err as Error };
      if (elements.length === 1) {
        await this.setAside(elements, err as Error);
        return null;
      }
      const mid = elements.length >> 1;
      const first = await this.deliver(elements.slice(0, mid));
      if (first) return { rest: first.rest.concat(elements.slice(mid)), err: first.err };
      return this.deliver(elements.slice(mid));
    }
  }

  private get deadLetterFile(): string {
    return join(this.spoolDir!, 'audit-dead-letter.jsonl');
  }

  /**
   * Keeps events the store will never take in a dead-letter file next to the spool (one
   * batch document per line, as spooled), and says so: their sessions' chains show the gap.
   */
  private async setAside(elements: string[], err: Error): Promise<void> {
    const code = (err as { code?: unknown }).code;
    if (!this.spoolDir) {
      this.log.error(
        { event: 'audit_events_refused', events: elements.length, code },
        'the store refused audit events as data; they are lost',
      );
      return;
    }
    await mkdir(this.spoolDir, { recursive: true, mode: 0o700 });
    await appendFile(this.deadLetterFile, batchDocument(elements) + '\n', { mode: 0o600 });
    this.log.error(
      { event: 'audit_dead_letter', events: elements.length, code, file: this.deadLetterFile },
      'the store refused audit events as data; they are kept in the dead-letter file',
    );
  }

  /**
   * Batches in the spool file. Changed only under the file lock, together with the file,
   * so a batch spooled while a replay runs is never forgotten when the replay empties it
   * (the next batch would then overtake it).
   */
  private spooledBatches = 0;
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
  private async spool(batch: string[]): Promise<void> {
    const spooled = await this.locked(async () => {
      await mkdir(this.spoolDir!, { recursive: true, mode: 0o700 });
      const fh = await open(this.spoolFile, 'a', 0o600);
      try {
        await fh.write(batchDocument(batch) + '\n');
        await fh.sync();
      } finally {
        await fh.close();
      }
      return ++this.spooledBatches;
    });
    this.log.warn(
      { event: 'audit_spooled', events: batch.length, spooledBatches: spooled },
      'audit events kept in the local spool until the store is back',
    );
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

  /**
   * Delivers spooled batches in order, each line in bounded batches (lines written by
   * earlier versions may hold a whole burst); stops at the first batch the store does not
   * answer and tries again later. Lines the store refuses as data, or cut short by a crash,
   * go to the dead-letter file.
   */
  replay(): Promise<void> {
    this.replaying ??= this.locked(async () => {
      if (!this.spoolDir) return;
      let text: string;
      try {
        text = await readFile(this.spoolFile, 'utf8');
      } catch {
        this.spooledBatches = 0;
        return;
      }
      const left: string[] = [];
      let delivered = 0;
      let stopped: Error | null = null;
      for (const line of text.split('\n').filter(Boolean)) {
        if (stopped) {
          left.push(line);
          continue;
        }
        const elements = batchElements(line);
        if (!elements) {
          await this.setAsideLine(line);
          continue;
        }
        for (const run of boundedRuns(elements, this.maxEvents, MAX_BATCH_CHARS)) {
          if (stopped) {
            left.push(batchDocument(run));
            continue;
          }
          const undelivered = await this.deliver(run);
          if (undelivered) {
            stopped = undelivered.err;
            left.push(batchDocument(undelivered.rest));
          } else delivered += run.length;
        }
      }
      if (stopped) {
        this.log.warn(
          { event: 'audit_replay_failed', delivered, leftBatches: left.length, err: stopped.message },
          'store still unreachable',
        );
      }
      // Rewrite what is left (nothing, normally) atomically.
      const tmp = `${this.spoolFile}.tmp`;
      await writeFile(tmp, left.length ? left.join('\n') + '\n' : '', { mode: 0o600 });
      await rename(tmp, this.spoolFile);
      this.spooledBatches = left.length;
      if (left.length === 0) {
        if (delivered > 0)
          this.log.info({ event: 'audit_spool_delivered', events: delivered }, 'spooled audit events delivered');
      } else this.scheduleReplay();
    }).finally(() => {
      this.replaying = null;
    });
    return this.replaying;
  }

  /** A spool line that is not a whole batch document (cut short by a crash mid-write): kept as it is, aside. */
  private async setAsideLine(line: string): Promise<void> {
    await appendFile(this.deadLetterFile, line + '\n', { mode: 0o600 });
    this.log.error(
      { event: 'audit_dead_letter', damaged: true, chars: line.length, file: this.deadLetterFile },
      'a damaged spool line was set aside in the dead-letter file',
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
    if (this.replayTimer) clearTimeout(this.replayTimer);
    await this.replaying;
  }
}
