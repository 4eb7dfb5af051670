import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { StoreRefusal } from '../store/audit-queries.js';
import { within } from '../util/deadline.js';
import type { Logger } from '../util/logger.js';
import { batchDocument } from './event-document.js';

/** A store that takes longer than this to take a batch is treated as not answering. */
export const AUDIT_WRITE_TIMEOUT_MS = 5_000;

/**
 * How long a stuck batch's isolation waits for inserts that ran past their deadline to end
 * on the server: until then they may hold the rows a retry needs, and the retry would time
 * out for that alone (and healthy events be set aside).
 */
const LATE_SETTLE_MS = 30_000;

/** What the writer needs from the store (AuditQueries). */
export interface AuditSink {
  /** Inserts a batch document (see event-document.ts); a repeat of a stored event is ignored; `[]` inserts nothing. */
  insertEvents(document: string): Promise<void>;
  /** What the store answered when it refused a write, or null when it did not answer. */
  refusal(err: unknown): StoreRefusal | null;
}

/** Where a batch stands after delivery: all written (or the refused events set aside), or left to try again. */
export type Outcome =
  | { kind: 'delivered' }
  /** The store did not answer (down, partitioned, too slow): everything in rest waits. */
  | { kind: 'unanswered'; rest: string[]; reason: string }
  /** The store answered, and refuses any insert now (its state, not these events: the empty probe is refused too). */
  | { kind: 'refused'; rest: string[]; refusal: StoreRefusal };

/** Events set aside, where they went and why (for the checkpoint and the log). */
export interface Quarantined {
  events: Array<{ session: string; seq: number }>;
  code: string;
  message: string;
}

type Attempt = { ok: true } | { ok: false; refusal: StoreRefusal | null; err: Error };

const settled = (p: Promise<unknown>): Promise<void> =>
  p.then(
    () => undefined,
    () => undefined,
  );

/**
 * Delivers batch documents to the store and finds what it will not take. When the store
 * answers a batch with an error, an empty insert (the probe) tells whether it refuses the
 * statement itself (permissions, a read-only store: everything waits and is retried) or
 * these events; then the batch is halved until each refused event is alone, and those are
 * set aside in the dead-letter file, named in the log, while every other event is written.
 * One event can therefore never hold back the ones after it.
 */
export class Delivery {
  constructor(
    private readonly sink: AuditSink,
    private readonly log: Logger,
    /** The dead-letter file's directory; without one, refused events are only logged. */
    private readonly dir: string | null,
    private readonly onQuarantine: (q: Quarantined) => void = () => undefined,
    private readonly timeoutMs: number = AUDIT_WRITE_TIMEOUT_MS,
  ) {}

  /** Inserts that ran past their deadline and may still be running on the server. */
  private readonly late = new Set<Promise<void>>();

  get deadLetterFile(): string | null {
    return this.dir ? join(this.dir, 'audit-dead-letter.jsonl') : null;
  }

  async deliver(elements: string[]): Promise<Outcome> {
    const first = await this.attempt(elements);
    if (first.ok) return { kind: 'delivered' };
    if (!first.refusal) return { kind: 'unanswered', rest: elements, reason: first.err.message };
    return this.refused(elements, first.refusal);
  }

  /**
   * For a batch that never gets an answer in time while the store answers the probe (a value
   * so large or slow that the insert always runs past its deadline): once the inserts that
   * ran late have ended, tries it again, then finds the events that time out on their own,
   * sets them aside and writes the rest.
   */
  async deliverStuck(elements: string[]): Promise<Outcome> {
    await this.lateSettled();
    const again = await this.attempt(elements);
    if (again.ok) return { kind: 'delivered' };
    if (again.refusal) return this.refused(elements, again.refusal);
    const state = await this.storeState();
    if (state !== 'takes-inserts') return this.waiting(elements, state);
    return this.isolate(elements, this.stuckRefusal(), true);
  }

  /** A batch the store answered with an error: wait if it refuses every insert, else find the events it refuses. */
  private async refused(elements: string[], refusal: StoreRefusal): Promise<Outcome> {
    if (!refusal.data) {
      const state = await this.storeState();
      if (state !== 'takes-inserts') return this.waiting(elements, state);
    }
    return this.isolate(elements, refusal, false);
  }

  /** Whether the store takes this insert statement at all: the probe, an empty batch. */
  async storeState(): Promise<'takes-inserts' | 'unanswered' | StoreRefusal> {
    const probe = await this.attempt([]);
    if (probe.ok) return 'takes-inserts';
    return probe.refusal ?? 'unanswered';
  }

  private waiting(rest: string[], state: 'unanswered' | StoreRefusal): Outcome {
    return state === 'unanswered'
      ? { kind: 'unanswered', rest, reason: 'the store did not answer the probe' }
      : { kind: 'refused', rest, refusal: state };
  }

  private async attempt(elements: string[]): Promise<Attempt> {
    const insert = this.sink.insertEvents(batchDocument(elements));
    let answered = false;
    try {
      await within(
        insert.finally(() => (answered = true)),
        this.timeoutMs,
        'audit write',
      );
      return { ok: true };
    } catch (err) {
      if (!answered) {
        const running = settled(insert).then(() => void this.late.delete(running));
        this.late.add(running);
      }
      return { ok: false, refusal: this.sink.refusal(err), err: err as Error };
    }
  }

  /** Waits (at most LATE_SETTLE_MS) for inserts that ran past their deadline to end. */
  private async lateSettled(): Promise<void> {
    if (this.late.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all([...this.late]), new Promise((r) => (timer = setTimeout(r, LATE_SETTLE_MS)))]);
    clearTimeout(timer);
  }

  /**
   * Halves a batch the store refused (with refusal) while it takes inserts, until the refused
   * events are alone; sets those aside. timeoutsRefuse: a half without an answer counts as
   * refused (a stuck batch), not as the store being away.
   */
  private async isolate(elements: string[], refusal: StoreRefusal, timeoutsRefuse: boolean): Promise<Outcome> {
    if (elements.length === 1) {
      // Only the data is to blame if the store still takes inserts (it may have just turned read-only).
      if (!refusal.data) {
        const state = await this.storeState();
        if (state !== 'takes-inserts') return this.waiting(elements, state);
      }
      await this.quarantine(elements, refusal);
      return { kind: 'delivered' };
    }
    const mid = elements.length >> 1;
    const halves = [elements.slice(0, mid), elements.slice(mid)];
    for (let h = 0; h < halves.length; h++) {
      const half = halves[h]!;
      if (timeoutsRefuse) await this.lateSettled();
      const tried = await this.attempt(half);
      if (tried.ok) continue;
      const halfRefusal = tried.refusal ?? (timeoutsRefuse ? this.stuckRefusal() : null);
      const outcome = halfRefusal
        ? await this.isolate(half, halfRefusal, timeoutsRefuse)
        : ({ kind: 'unanswered', rest: half, reason: tried.err.message } as const);
      if (outcome.kind !== 'delivered') return { ...outcome, rest: outcome.rest.concat(...halves.slice(h + 1)) };
    }
    return { kind: 'delivered' };
  }

  /** How a batch that never gets an answer is named, once the store is seen answering everything else. */
  private stuckRefusal(): StoreRefusal {
    return {
      code: 'timeout',
      message: `no answer within ${this.timeoutMs} ms, replay after replay, while the store answered other inserts`,
      data: false,
    };
  }

  /** Keeps events the store will not take in the dead-letter file (one batch document per line), and says so. */
  private async quarantine(elements: string[], refusal: StoreRefusal): Promise<void> {
    const events = elements.map(whichEvent);
    const file = this.deadLetterFile;
    if (file) {
      await mkdir(this.dir!, { recursive: true, mode: 0o700 });
      await appendFile(file, batchDocument(elements) + '\n', { mode: 0o600 });
    }
    this.onQuarantine({ events, code: refusal.code, message: refusal.message });
    this.log.error(
      {
        event: 'audit_quarantined',
        events: events.length,
        sessions: events.slice(0, 10),
        code: refusal.code,
        storeMessage: refusal.message,
        file,
      },
      file
        ? `the store refused ${events.length} audit event(s) (${refusal.code}: ${refusal.message}) while taking others; they are kept in ${file} and their sessions' chains show the gap`
        : `the store refused ${events.length} audit event(s) (${refusal.code}: ${refusal.message}) while taking others; with no spool directory they are lost`,
    );
  }

  /** A spool line that is not a whole batch document (cut short by a crash mid-write): kept as it is, aside. */
  async setAsideLine(line: string): Promise<void> {
    const file = this.deadLetterFile!;
    await appendFile(file, line + '\n', { mode: 0o600 });
    this.log.error(
      { event: 'audit_dead_letter', damaged: true, chars: line.length, file },
      'a damaged spool line (cut short by a crash mid-write) was set aside in the dead-letter file',
    );
  }
}

/** Session and seq of a batch element (for the log and the checkpoint); unknown for a damaged one. */
function whichEvent(element: string): { session: string; seq: number } {
  try {
    const e = JSON.parse(element) as { i?: unknown; s?: unknown };
    return { session: String(e.i), seq: Number(e.s) };
  } catch {
    return { session: 'unknown', seq: 0 };
  }
}
