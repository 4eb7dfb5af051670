import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../util/logger.js';
import {
  bodyHash,
  canonicalJson,
  eventBody,
  genesisHash,
  storable,
  storableJson,
  storableText,
  storableValue,
  type ChainedEvent,
} from './chain.js';
import { Checkpointer, CHECKPOINT_INTERVAL_MS, defaultCheckpointFile, type CheckpointOptions } from './checkpoint.js';
import { AUDIT_WRITE_TIMEOUT_MS, Delivery, type AuditSink, type Outcome } from './delivery.js';
import { batchDocument, batchElements, boundedRuns, eventElement } from './event-document.js';
import { eventMac, type AuditKeys } from './keys.js';

export type { AuditSink } from './delivery.js';

/**
 * The most events one insert carries. A burst (a COPY, a bulk load through the gateway)
 * appends tens of thousands of events at once; written as one insert they missed
 * AUDIT_WRITE_TIMEOUT_MS on a loaded store, went to the spool and were replayed whole
 * under the same deadline, again and again. A thousand take milliseconds.
 */
export const MAX_BATCH_EVENTS = 1_000;

/** The most characters of batch document one insert carries (events with large statements). */
export const MAX_BATCH_CHARS = 1 << 20;

/**
 * A spooled batch that gets no answer this many replays in a row, while the store answers the
 * probe, is taken apart and the events that never get an answer are set aside.
 */
const STUCK_REPLAYS = 3;

export interface AuditWriterOptions {
  flushMs?: number;
  batch?: number;
  maxBuffered?: number;
  replayMs?: number;
  /** How long one insert may go unanswered before the store counts as not answering (default AUDIT_WRITE_TIMEOUT_MS). */
  writeTimeoutMs?: number;
  /**
   * The audit keys (keys.ts, derived from the vault key): with them every event carries a MAC
   * and checkpoints are signed. Without them (tools, some tests) events are chained, unkeyed.
   */
  keys?: AuditKeys | undefined;
  /** Where checkpoints go (with keys): by default the spool directory's audit-checkpoints.jsonl, every 60 s. */
  checkpoint?: Partial<CheckpointOptions> | undefined;
}

interface ChainState {
  seq: number;
  head: string;
}

/**
 * Appends events to per-session hash chains and writes them in bounded batches, off the
 * relay's path. Hashes are computed at append time, so order is fixed by the session
 * itself; batches are written in append order. A failed write keeps the batch and retries
 * (or spools it to disk), so nothing is dropped while the store is down (up to maxBuffered
 * events, after which the oldest sessions' events are still kept and new ones are refused
 * loudly). Events the store refuses while taking others are set aside in a dead-letter file
 * (delivery.ts) rather than blocking every later batch. With the audit keys, every event
 * carries a MAC and a checkpoint of the chains is signed and kept outside the store.
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
  private readonly delivery: Delivery;
  private readonly checkpoints: Checkpointer | null;
  /** Replays in a row in which a spooled run got no answer while the store answered the probe, by the run's digest. */
  private readonly stuck = new Map<string, number>();

  constructor(
    sink: AuditSink,
    private readonly log: Logger,
    private readonly opts: AuditWriterOptions = {},
    /** Where batches wait, on disk, while the store is unreachable (and across restarts). */
    private readonly spoolDir: string | null = null,
  ) {
    this.maxEvents = Math.max(1, Math.min(opts.batch ?? MAX_BATCH_EVENTS, MAX_BATCH_EVENTS));
    const c = opts.checkpoint ?? {};
    this.checkpoints = opts.keys
      ? new Checkpointer(
          opts.keys,
          {
            gatewayId: c.gatewayId ?? 'gateway',
            file: c.file !== undefined ? c.file : spoolDir ? defaultCheckpointFile(spoolDir) : null,
            webhook: c.webhook ?? null,
            intervalMs: c.intervalMs ?? CHECKPOINT_INTERVAL_MS,
          },
          log,
        )
      : null;
    this.delivery = new Delivery(
      sink,
      log,
      spoolDir,
      (q) => this.checkpoints?.noteQuarantined(q),
      opts.writeTimeoutMs ?? AUDIT_WRITE_TIMEOUT_MS,
    );
    // Batches left by an earlier run (the store was down when it stopped) go first.
    if (spoolDir) void this.replay().then(() => undefined);
  }

  get pending(): number {
    return this.buffer.length;
  }

  /** True when events carry a MAC (the writer holds the audit keys). */
  get keyed(): boolean {
    return this.opts.keys !== undefined;
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
    };
    const json = canonicalJson(payload);
    const body = eventBody(partial, json);
    const event: ChainedEvent = { ...partial, prev_hash: chain.head, hash: bodyHash(chain.head, body) };
    chain.seq = event.seq;
    chain.head = event.hash;
    if (this.buffer.length >= (this.opts.maxBuffered ?? 1_000_000)) {
      this.log.error(
        { event: 'audit_buffer_full', session: sessionId },
        'audit buffer full: the store has been unreachable too long',
      );
    }
    // What jsonb and text cannot hold (U+0000, an unpaired surrogate) is stored as a
    // searchable copy, with the event exactly as hashed beside it.
    const asIs = storableValue(payload) && (username === null || storable(username));
    const element = eventElement(event, {
      payloadJson: asIs ? json : storableJson(payload),
      username: username === null ? null : storableText(username),
      mac: this.opts.keys ? eventMac(this.opts.keys.macKey, event.hash) : null,
      exactBody: asIs ? null : body,
    });
    this.checkpoints?.seen(event);
    this.buffer.push(element);
    this.bufferedChars += element.length + 1;
    if (this.buffer.length >= this.maxEvents || this.bufferedChars >= MAX_BATCH_CHARS) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.opts.flushMs ?? 200);
    return event;
  }

  /**
   * Continues a chain that another process started (an access request's chain, whose head
   * the store keeps under the request's row lock): the next append follows `head` at `seq`.
   */
  continueChain(chainId: string, seq: number, head: string | null): void {
    this.chains.set(chainId, { seq, head: head ?? genesisHash(chainId) });
  }

  /** The chain's end for a session, and forgets it (the session is over). */
  endChain(sessionId: string): ChainState | null {
    const c = this.chains.get(sessionId) ?? null;
    this.chains.delete(sessionId);
    this.checkpoints?.ended(sessionId);
    return c;
  }

  /** Writes what is buffered, then signs a checkpoint now (the writer does so every interval and at close). */
  async checkpoint(): Promise<void> {
    await this.flush();
    await this.checkpoints?.take();
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
      const outcome = await this.delivery.deliver(batch);
      if (outcome.kind === 'delivered') {
        this.failures = 0;
        return true;
      }
      this.failures++;
      this.log.error(
        { event: 'audit_write_failed', events: outcome.rest.length, attempt: this.failures, ...why(outcome) },
        `audit events not written yet: ${describe(outcome)}`,
      );
      // With a spool, the batch goes to disk at once: memory stays flat and a crash loses nothing.
      if (this.spoolDir) {
        await this.spool(outcome.rest);
        return true;
      }
      if (this.closed && this.failures > 3) {
        this.buffer = outcome.rest.concat(this.buffer);
        this.bufferedChars += outcome.rest.reduce((n, el) => n + el.length + 1, 0);
        return false;
      }
      batch = outcome.rest;
      await new Promise((r) => setTimeout(r, Math.min(5_000, 100 * 2 ** Math.min(this.failures, 6))));
    }
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
      'audit events kept in the local spool until the store takes them',
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
   * Delivers spooled batches in order, each line in bounded runs (lines written by earlier
   * versions may hold a whole burst). Stops only while the store answers nothing (not even
   * the probe) or refuses every insert, and tries again later. Events the store refuses
   * while taking others, and runs that keep getting no answer while the store answers
   * everything else, are set aside (dead-letter file), so no line holds back the lines
   * after it. Lines cut short by a crash go to the dead-letter file as they are.
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
      let kept = 0;
      let stopped: Exclude<Outcome, { kind: 'delivered' }> | null = null;
      for (const line of text.split('\n').filter(Boolean)) {
        if (stopped) {
          left.push(line);
          continue;
        }
        const elements = batchElements(line);
        if (!elements) {
          await this.delivery.setAsideLine(line);
          continue;
        }
        for (const run of boundedRuns(elements, this.maxEvents, MAX_BATCH_CHARS)) {
          if (stopped) {
            left.push(batchDocument(run));
            continue;
          }
          const outcome = await this.replayRun(run);
          if (outcome === 'kept') {
            left.push(batchDocument(run));
            kept++;
          } else if (outcome.kind === 'delivered') delivered += run.length;
          else {
            stopped = outcome;
            left.push(batchDocument(outcome.rest));
          }
        }
      }
      if (stopped) {
        this.log.warn(
          { event: 'audit_replay_failed', delivered, leftBatches: left.length, ...why(stopped) },
          `spooled audit events wait: ${describe(stopped)}`,
        );
      } else if (kept > 0) {
        this.log.warn(
          { event: 'audit_replay_partial', delivered, keptBatches: kept },
          `${kept} spooled batch(es) got no answer while the store answered everything else; the batches after them were delivered, and these are tried again (then taken apart, and what never gets an answer set aside)`,
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

  /**
   * One bounded run of a spool line. A run that gets no answer while the store answers the
   * probe is kept for the next replay (the runs after it go on); after STUCK_REPLAYS such
   * replays it is taken apart and what never gets an answer is set aside.
   */
  private async replayRun(run: string[]): Promise<Outcome | 'kept'> {
    const outcome = await this.delivery.deliver(run);
    if (outcome.kind !== 'unanswered') return outcome;
    if ((await this.delivery.storeState()) !== 'takes-inserts') return outcome;
    const key = createHash('sha256').update(batchDocument(run)).digest('hex');
    const times = (this.stuck.get(key) ?? 0) + 1;
    if (times < STUCK_REPLAYS) {
      this.stuck.set(key, times);
      return 'kept';
    }
    this.stuck.delete(key);
    const last = await this.delivery.deliverStuck(run);
    return last.kind === 'unanswered' ? 'kept' : last;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
    if (this.replayTimer) clearTimeout(this.replayTimer);
    await this.replaying;
    await this.checkpoints?.close();
  }
}

/** The log fields of an outcome that is not delivered: what the store answered, or that it did not answer. */
function why(o: Exclude<Outcome, { kind: 'delivered' }>): Record<string, unknown> {
  return o.kind === 'refused'
    ? { storeAnswered: true, code: o.refusal.code, err: o.refusal.message }
    : { storeAnswered: false, err: o.reason };
}

/** An outcome that is not delivered, as a person reads it in the log. */
function describe(o: Exclude<Outcome, { kind: 'delivered' }>): string {
  return o.kind === 'refused'
    ? `the store refuses every audit insert, an empty one too (${o.refusal.code}: ${o.refusal.message}): its state, not these events; kept and tried again`
    : `the store did not answer (${o.reason}); kept and tried again`;
}
