import { z } from 'zod';
import type { SessionEventRow } from '../store/console-queries.js';

/** One run of one or more statements (a simple-query message or an extended-protocol cycle). */
export interface StatementRun {
  /** When the run finished. */
  at: Date;
  /** The statement texts as recorded (normalized unless the profile logs parameters). */
  sql: string[];
  rows: number;
  bytes: number;
  ms: number;
  outcome: string;
  error: string | null;
}

/** A chained event as the console shows it: a statements event comes as named runs. */
export interface TimelineEvent {
  seq: number;
  at: Date;
  kind: string;
  hash: string;
  /** The event's payload; null for a statements event, whose content is in runs. */
  payload: Record<string, unknown> | null;
  runs: StatementRun[] | null;
}

/**
 * A statements event is compact: a dictionary of statement texts, and runs as arrays whose
 * positions are named by the event's own `columns`. Decoding by those names keeps the
 * console independent of the order the detector writes them in.
 */
const statementsPayload = z.object({
  start: z.string(),
  statements: z.array(z.object({ sql: z.string() })),
  columns: z.array(z.string()),
  runs: z.array(z.array(z.unknown())),
});

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

export function decodeStatementRuns(payload: unknown): StatementRun[] | null {
  const p = statementsPayload.safeParse(payload);
  if (!p.success) return null;
  const { statements, columns, runs } = p.data;
  const start = new Date(p.data.start).getTime();
  if (Number.isNaN(start)) return null;
  const col = (name: string): number => columns.indexOf(name);
  const at = {
    statement: col('statement'),
    rows: col('rows'),
    bytes: col('bytes'),
    ms: col('ms'),
    offsetMs: col('offsetMs'),
    outcome: col('outcome'),
    error: col('error'),
  };
  if (at.statement < 0 || at.outcome < 0) return null;
  return runs.map((run) => {
    const field = (i: number): unknown => (i < 0 ? undefined : run[i]);
    const refs = field(at.statement);
    const indexes = Array.isArray(refs) ? refs : [refs];
    const error = field(at.error);
    return {
      at: new Date(start + num(field(at.offsetMs))),
      sql: indexes.map((i) => (typeof i === 'number' ? (statements[i]?.sql ?? '?') : '?')),
      rows: num(field(at.rows)),
      bytes: num(field(at.bytes)),
      ms: num(field(at.ms)),
      outcome: String(field(at.outcome) ?? 'unknown'),
      error: typeof error === 'string' ? error : null,
    };
  });
}

export function timelineEvent(e: SessionEventRow): TimelineEvent {
  const runs = e.kind === 'statements' ? decodeStatementRuns(e.payload) : null;
  return { seq: e.seq, at: e.at, kind: e.kind, hash: e.hash, payload: runs ? null : e.payload, runs };
}
