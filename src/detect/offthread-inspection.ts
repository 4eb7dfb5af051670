/**
 * The parse budget (issue 13 item 5). libpg-query parses on the thread that calls it, and
 * its cost grows with the number of tokens: measured on 2 cores, classifying a statement and
 * checking it for the read-only guard takes about 0.6 ms per KiB of a VALUES list or an IN
 * list and up to 5 ms per KiB of dense text (`select 1,1,1,...`); an 8.9 MB VALUES list
 * took 4.5 s and 0.9 GB. On the event loop that stalls every other session. Statement texts
 * over the budget are therefore classified here, by a small pool of worker threads, while
 * the relay holds the statement (and what follows it from that client); the answer is
 * handed to the shared inspector and guard (`prime`), so the monitor then decides the
 * statement as usual without parsing it again.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { PreparedStatement } from '../relay/observer.js';
import { inTurn } from '../relay/statement-blocker.js';
import type { StatementInfo, StatementInspector } from './classify.js';
import { asStandardConforming } from './escape-strings.js';
import type { BlockReason, ReadOnlyGuard } from './read-only-guard.js';

/** One text for the worker. */
export interface ParseJob {
  id: number;
  sql: string;
  /** Whether the read-only verdict is wanted too (the session's grant is read-only). */
  readOnly: boolean;
  /** The upstream's Postgres major version, where the detector parses per version. */
  major?: number | undefined;
}

/** The worker's answer: the classification (normalized text cut when huge) or why it failed. */
export type ParseAnswer =
  | { id: number; info: StatementInfo; verdict: BlockReason | null; ms: number }
  | { id: number; error: string; ms: number };

export interface ParseBudgetOptions {
  /**
   * Statement texts longer than this (UTF-8 bytes) are classified off the event loop. 64 KiB
   * of a VALUES or IN list costs 20-40 ms on the loop (what large statements usually are),
   * inside the 50 ms another session may wait; the few hundred KB first proposed would stall
   * others 150 ms and more. Below it the inspector's caches stay in play: a batch INSERT sent
   * again with other values costs no parse at all, where a worker parses every text anew.
   */
  budgetBytes: number;
  /** Worker threads (started when first needed): half the cores, 1 on 2 cores, at most 4. */
  workers: number;
  /** A text not classified within this long (waiting included) is refused. */
  timeoutMs: number;
  /**
   * libpg-query's WASM memory grows to its largest parse and never shrinks: a worker that
   * parsed a text longer than this is replaced, so that memory goes back to the system.
   */
  recycleAboveBytes: number;
  /** The worker's JavaScript heap (the parse tree as objects): past it the worker dies and the statement is refused. */
  maxHeapMb: number;
  /** A worker with nothing to do this long is stopped (restarted at the next large text). */
  idleMs: number;
}

export const PARSE_BUDGET_DEFAULTS: Readonly<ParseBudgetOptions> = {
  budgetBytes: 64 * 1024,
  workers: Math.max(1, Math.min(4, Math.floor(availableParallelism() / 2))),
  timeoutMs: 30_000,
  recycleAboveBytes: 1024 * 1024,
  maxHeapMb: 2048,
  idleMs: 60_000,
};

/**
 * Under tsx or vitest this module is TypeScript and so is the worker, which Node 20 cannot
 * load by itself: the worker then starts from a small ESM bootstrap that registers loader
 * hooks transpiling .ts files with the project's own TypeScript (a development dependency,
 * never loaded by the built gateway, whose worker is the compiled parse-worker.js).
 */
const FROM_SOURCE = import.meta.url.endsWith('.ts');

const TS_HOOKS = `
import { readFile } from 'node:fs/promises';
let ts;
export async function initialize(data) { ts = (await import(data.typescript)).default; }
export async function resolve(specifier, context, next) {
  if (specifier.startsWith('.') && specifier.endsWith('.js') && context.parentURL?.endsWith('.ts')) {
    try { return await next(specifier.slice(0, -3) + '.ts', context); } catch {}
  }
  return next(specifier, context);
}
export async function load(url, context, next) {
  if (!url.endsWith('.ts')) return next(url, context);
  const source = await readFile(new URL(url), 'utf8');
  const options = { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, preserveConstEnums: true };
  const out = ts.transpileModule(source, { fileName: url, compilerOptions: options });
  return { format: 'module', source: out.outputText, shortCircuit: true };
}`;

function workerEntry(): { url: URL; workerData?: unknown } {
  const worker = new URL(FROM_SOURCE ? './parse-worker.ts' : './parse-worker.js', import.meta.url);
  if (!FROM_SOURCE) return { url: worker };
  const typescript = pathToFileURL(createRequire(import.meta.url).resolve('typescript')).href;
  const hooks = `data:text/javascript,${encodeURIComponent(TS_HOOKS)}`;
  const boot = [
    `import { register } from 'node:module';`,
    `import { workerData } from 'node:worker_threads';`,
    `register(${JSON.stringify(hooks)}, { data: { typescript: ${JSON.stringify(typescript)} } });`,
    `await import(workerData.entry);`,
  ].join('\n');
  return { url: new URL(`data:text/javascript,${encodeURIComponent(boot)}`), workerData: { entry: worker.href } };
}

interface Job {
  job: ParseJob;
  bytes: number;
  resolve(answer: ParseAnswer): void;
  timer: NodeJS.Timeout;
  settled: boolean;
}

interface Slot {
  worker: Worker;
  job: Job | null;
  idle: NodeJS.Timeout | null;
}

/** How long after its last answer a worker that parsed a large text is stopped. */
const RETIRE_AFTER_MS = 1_000;

/** Why a text could not be classified, as the client reads it (statement refused, 0A000). */
function failure(id: number, error: string): ParseAnswer {
  return { id, error, ms: 0 };
}

/**
 * Worker threads that classify statement texts, one text per worker at a time, first come
 * first served. A worker that crashes, runs out of heap or overruns the timeout is replaced;
 * the statement it had is answered with the reason, never with a crash of the gateway.
 */
export class ParsePool {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private dispatchSoon = false;
  /** Texts classified, workers started and replaced (for tests and the bench). */
  readonly counts = { parsed: 0, started: 0, recycled: 0, failed: 0 };

  constructor(readonly options: ParseBudgetOptions) {}

  /** Whether a text is over the budget (bytes in UTF-8, counted only when the length leaves it open). */
  overBudget(sql: string): boolean {
    const budget = this.options.budgetBytes;
    if (sql.length > budget) return true;
    if (sql.length * 3 <= budget) return false;
    return Buffer.byteLength(sql, 'utf8') > budget;
  }

  /** Classifies one text in a worker; always resolves (an `error` answer when it could not). */
  classify(sql: string, readOnly: boolean, major?: number): Promise<ParseAnswer> {
    return new Promise((resolve) => {
      const id = this.nextId++;
      const entry: Job = {
        job: { id, sql, readOnly, major },
        bytes: sql.length,
        resolve,
        settled: false,
        timer: setTimeout(() => this.timedOut(entry), this.options.timeoutMs),
      };
      entry.timer.unref();
      this.queue.push(entry);
      // Handing over copies the text (7 ms for 10 MB): in a turn of its own, not in the one
      // that has just assembled and decoded the message, so other sessions get a turn between.
      if (!this.dispatchSoon) {
        this.dispatchSoon = true;
        inTurn(() => {
          this.dispatchSoon = false;
          this.dispatch();
        });
      }
    });
  }

  /** Stops every worker; waiting texts are answered as not classified. */
  async close(): Promise<void> {
    for (const job of this.queue.splice(0)) this.settle(job, failure(job.job.id, 'pgward is shutting down'));
    await Promise.all(this.slots.splice(0).map((slot) => this.stop(slot)));
  }

  /** Live workers (for tests and the bench). */
  get workers(): number {
    return this.slots.length;
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let slot = this.slots.find((s) => s.job === null);
      if (!slot && this.slots.length < this.options.workers) slot = this.start();
      if (!slot) return;
      const job = this.queue.shift()!;
      slot.job = job;
      if (slot.idle) clearTimeout(slot.idle);
      slot.idle = null;
      slot.worker.postMessage(job.job);
    }
  }

  private start(): Slot {
    const entry = workerEntry();
    const worker = new Worker(entry.url, {
      workerData: entry.workerData,
      resourceLimits: { maxOldGenerationSizeMb: this.options.maxHeapMb },
      // libpg-query prints memory-context dumps when a parse runs out: not for the gateway's log.
      stdout: true,
      stderr: true,
    });
    worker.stdout.resume();
    worker.stderr.resume();
    // A worker never keeps the gateway's process alive on its own.
    worker.unref();
    const slot: Slot = { worker, job: null, idle: null };
    this.slots.push(slot);
    this.counts.started++;
    worker.on('message', (answer: ParseAnswer) => this.answered(slot, answer));
    worker.on('error', (err: Error & { code?: string }) => {
      const why =
        err.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? 'pgward ran out of memory classifying this statement'
          : 'pgward could not classify this statement (its parser stopped)';
      this.lost(slot, why);
    });
    worker.on('exit', () => this.lost(slot, 'pgward could not classify this statement (its parser stopped)'));
    return slot;
  }

  private answered(slot: Slot, answer: ParseAnswer): void {
    const job = slot.job;
    if (!job || job.job.id !== answer.id) return;
    slot.job = null;
    this.counts.parsed++;
    this.settle(job, answer);
    if (job.bytes > this.options.recycleAboveBytes) {
      // Its WASM memory now holds the largest parse: a fresh worker starts small. Stopped a
      // moment later: freeing a gigabyte competes with the event loop, which is busy just now
      // passing the statement on.
      this.counts.recycled++;
      this.remove(slot);
      setTimeout(() => void this.stop(slot), RETIRE_AFTER_MS).unref();
    } else {
      slot.idle = setTimeout(() => {
        this.remove(slot);
        void this.stop(slot);
      }, this.options.idleMs);
      slot.idle.unref();
    }
    this.dispatch();
  }

  /** The worker died (crash, heap limit) or was stopped: its text is answered with why. */
  private lost(slot: Slot, why: string): void {
    const removed = this.remove(slot);
    const job = slot.job;
    slot.job = null;
    if (job && !job.settled) {
      this.counts.failed++;
      this.settle(job, failure(job.job.id, why));
    }
    if (removed) this.dispatch();
  }

  private timedOut(job: Job): void {
    if (job.settled) return;
    const why = `pgward could not classify this statement within ${this.options.timeoutMs / 1000} s`;
    const queued = this.queue.indexOf(job);
    if (queued >= 0) this.queue.splice(queued, 1);
    this.counts.failed++;
    this.settle(job, failure(job.job.id, why));
    const slot = this.slots.find((s) => s.job === job);
    if (slot) {
      // It may be deep in a parse: a new worker takes the queue.
      slot.job = null;
      this.remove(slot);
      void this.stop(slot);
      this.dispatch();
    }
  }

  private settle(job: Job, answer: ParseAnswer): void {
    if (job.settled) return;
    job.settled = true;
    clearTimeout(job.timer);
    job.resolve(answer);
  }

  private remove(slot: Slot): boolean {
    const i = this.slots.indexOf(slot);
    if (i < 0) return false;
    this.slots.splice(i, 1);
    if (slot.idle) clearTimeout(slot.idle);
    slot.idle = null;
    return true;
  }

  private async stop(slot: Slot): Promise<void> {
    await slot.worker.terminate();
  }
}

let pool: ParsePool | null = null;

/** The process's pool (one per gateway process, as the inspector and the guard are shared). */
export function parsePool(): ParsePool {
  return (pool ??= new ParsePool({ ...PARSE_BUDGET_DEFAULTS }));
}

/** Sets the budget from the configuration (workers already running finish their texts). */
export function configureParseBudget(options: Partial<ParseBudgetOptions>): void {
  const old = pool;
  pool = new ParsePool({ ...PARSE_BUDGET_DEFAULTS, ...(old?.options ?? {}), ...options });
  if (old) void old.close();
}

/** At shutdown: stops the workers. */
export async function closeParseWorkers(): Promise<void> {
  const old = pool;
  pool = null;
  await old?.close();
}

/** What inspectOffThread needs: the session's shared inspector and guard, and the text as they will see it. */
export interface OffThreadInspection {
  inspector: Pick<StatementInspector, 'prime'>;
  /** The session's read-only guard; null when its grant is not read-only. */
  guard: Pick<ReadOnlyGuard, 'prime'> | null;
  /** The text exactly as the monitor will inspect it (after asStandardConforming when escapes are on). */
  sql: string;
  major?: number | undefined;
}

/** Whether a statement text is over the parse budget (then inspectOffThread it). */
export function overParseBudget(sql: string): boolean {
  return parsePool().overBudget(sql);
}

/**
 * Classifies a text in a worker. The promise resolves to what the relay calls right before
 * showing the statement to the monitor: it primes the inspector and guard with the answer
 * and returns null, or returns why the text could not be classified (the monitor then
 * refuses it as uninspectable). Priming only then means nothing is left primed when the
 * session ends while it waits.
 */
export async function inspectOffThread(p: OffThreadInspection): Promise<PreparedStatement> {
  const answer = await parsePool().classify(p.sql, p.guard !== null, p.major);
  if ('error' in answer) {
    const why = answer.error;
    return () => why;
  }
  return () => {
    p.inspector.prime(p.sql, answer.info);
    p.guard?.prime(p.sql, answer.verdict);
    return null;
  };
}

/** What a session monitor knows that prepareStatement needs. */
export interface MonitorView {
  inspector: Pick<StatementInspector, 'prime'>;
  /** The session's read-only guard; null when its grant is not read-only. */
  guard: Pick<ReadOnlyGuard, 'prime'> | null;
  /** standard_conforming_strings as the server last reported it. */
  standardStrings: boolean;
  major?: number | undefined;
}

/**
 * RelayObserver.prepare for a session monitor: null for a text within the budget (parsed on
 * the event loop as before), else its classification by a worker, for the text exactly as
 * the monitor will inspect it.
 */
export function prepareStatement(sql: string, m: MonitorView): Promise<PreparedStatement> | null {
  if (!overParseBudget(sql)) return null;
  const lexed = m.standardStrings ? sql : asStandardConforming(sql);
  return inspectOffThread({ inspector: m.inspector, guard: m.guard, sql: lexed, major: m.major });
}
