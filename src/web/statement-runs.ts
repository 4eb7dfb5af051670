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
  /** Masked sessions: values masked per column (schema.table.column) or recogniser; absent when none. */
  masked?: Record<string, number>;
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
    masked: col('masked'),
  };
  if (at.statement < 0 || at.outcome < 0) return null;
  return runs.map((run) => {
    const field = (i: number): unknown => (i < 0 ? undefined : run[i]);
    const refs = field(at.statement);
    const indexes = Array.isArray(refs) ? refs : [refs];
    const error = field(at.error);
    const masked = field(at.masked);
    return {
      at: new Date(start + num(field(at.offsetMs))),
      sql: indexes.map((i) => (typeof i === 'number' ? (statements[i]?.sql ?? '?') : '?')),
      rows: num(field(at.rows)),
      bytes: num(field(at.bytes)),
      ms: num(field(at.ms)),
      outcome: String(field(at.outcome) ?? 'unknown'),
      error: typeof error === 'string' ? error : null,
      ...(masked && typeof masked === 'object' ? { masked: masked as Record<string, number> } : {}),
    };
  });
}

export function timelineEvent(e: SessionEventRow): TimelineEvent {
  const runs = e.kind === 'statements' ? decodeStatementRuns(e.payload) : null;
  return { seq: e.seq, at: e.at, kind: e.kind, hash: e.hash, payload: runs ? null : e.payload, runs };
}

// ---- the timeline a page at a time (GET /api/audit/sessions/:id/timeline) ----

/** What a SQLSTATE means, for a run whose record keeps the code only (Postgres's condition names, appendix A). */
const SQLSTATE_NAMES: Record<string, string> = {
  '22001': 'string data right truncation',
  '22003': 'numeric value out of range',
  '22007': 'invalid datetime format',
  '22008': 'datetime field overflow',
  '22012': 'division by zero',
  '22021': 'character not in repertoire',
  '22P02': 'invalid text representation',
  '23502': 'not null violation',
  '23503': 'foreign key violation',
  '23505': 'unique violation',
  '23514': 'check violation',
  '25001': 'active SQL transaction',
  '25006': 'read only SQL transaction',
  '25P02': 'in failed SQL transaction',
  '28000': 'invalid authorization specification',
  '2BP01': 'dependent objects still exist',
  '40001': 'serialization failure',
  '40P01': 'deadlock detected',
  '42501': 'insufficient privilege',
  '42601': 'syntax error',
  '42703': 'undefined column',
  '42704': 'undefined object',
  '42P01': 'undefined table',
  '42P07': 'duplicate table',
  '42883': 'undefined function',
  '42804': 'datatype mismatch',
  '42P18': 'indeterminate datatype',
  '53100': 'disk full',
  '53200': 'out of memory',
  '53300': 'too many connections',
  '54000': 'program limit exceeded',
  '55P03': 'lock not available',
  '57014': 'query canceled (statement timeout or cancel)',
  '57P01': 'admin shutdown',
  '58030': 'io error',
  XX000: 'internal error',
};
const SQLSTATE_CLASSES: Record<string, string> = {
  '08': 'connection exception',
  '0A': 'feature not supported',
  '22': 'data exception',
  '23': 'integrity constraint violation',
  '25': 'invalid transaction state',
  '28': 'invalid authorization',
  '40': 'transaction rollback',
  '42': 'syntax error or access rule violation',
  '53': 'insufficient resources',
  '54': 'program limit exceeded',
  '55': 'object not in prerequisite state',
  '57': 'operator intervention',
  '58': 'system error',
  P0: 'PL/pgSQL error (raise exception)',
  XX: 'internal error',
};

export function sqlstateMeaning(code: string): string {
  return SQLSTATE_NAMES[code] ?? SQLSTATE_CLASSES[code.slice(0, 2)] ?? 'error';
}

/** A statement run as a timeline item: its statements' classification, tables, risks and block, and what the error means. */
export interface StatementItem {
  type: 'statement';
  index: number;
  seq: number;
  at: Date;
  sql: string[];
  categories: string[];
  tables: string[];
  risks: string[];
  blocked: string | null;
  rows: number;
  bytes: number;
  ms: number;
  outcome: string;
  error: string | null;
  errorMessage: string | null;
  /** Bind values per statement, where the detector profile logs them (logParameters). */
  params: Array<Array<string | null>> | null;
  /** Values masked in its result, per column or recogniser (masked sessions only). */
  masked: Record<string, number> | null;
}
/** Any other chained event, told as one readable line and named fields. */
export interface EventItem {
  type: 'event';
  index: number;
  seq: number;
  at: Date;
  kind: string;
  summary: string;
  fields: Array<[string, string]>;
}
export type TimelineItem = StatementItem | EventItem;

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
const str = (v: unknown): string => (v === null || v === undefined ? '' : typeof v === 'string' ? v : plain(v));

/** A value as people read it: lists joined, objects as "key value" pairs, never JSON syntax. */
function plain(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (Array.isArray(v)) return v.map(plain).join(', ');
  if (typeof v === 'object')
    return Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => `${k} ${plain(x)}`)
      .join('; ');
  return String(v);
}

/**
 * The runs of one statements event, items numbered from `first`; `from`/`to` (relative to the
 * event) pick the page's part. The record keeps a SQLSTATE per run (and a message where a
 * `message` column is written); the meaning of the code stands in for a missing message.
 */
export function statementItems(
  seq: number,
  payload: unknown,
  first: number,
  from: number,
  to: number,
): StatementItem[] {
  const p = statementsPayload.safeParse(payload);
  const runs = decodeStatementRuns(payload);
  if (!p.success || !runs) return [];
  const { columns } = p.data;
  // The dictionary as written (the schema above keeps only sql): category, tables, risks, blocked.
  const statements = (payload as { statements: Array<Record<string, unknown>> }).statements;
  const refCol = columns.indexOf('statement');
  const msgCol = columns.indexOf('message');
  const paramsCol = columns.indexOf('params');
  const items: StatementItem[] = [];
  for (let i = Math.max(0, from); i < Math.min(runs.length, to); i++) {
    const run = runs[i]!;
    const raw = p.data.runs[i] ?? [];
    const refs = raw[refCol];
    const dict = (Array.isArray(refs) ? refs : [refs])
      .map((r) => (typeof r === 'number' ? statements[r] : undefined))
      .filter((d): d is Record<string, unknown> => d !== undefined && d !== null);
    const message = msgCol >= 0 && typeof raw[msgCol] === 'string' ? (raw[msgCol] as string) : null;
    const blocked = dict.map((d) => d['blocked']).find((b) => b !== undefined);
    const rawParams = paramsCol >= 0 ? raw[paramsCol] : undefined;
    const params = Array.isArray(rawParams)
      ? rawParams.map((list) =>
          Array.isArray(list) ? list.map((v) => (v === null ? null : typeof v === 'string' ? v : String(v))) : [],
        )
      : null;
    items.push({
      type: 'statement',
      index: first + i,
      seq,
      at: run.at,
      sql: run.sql,
      categories: [...new Set(dict.map((d) => str(d['category'])).filter(Boolean))],
      tables: [...new Set(dict.flatMap((d) => strings(d['tables'])))],
      risks: [...new Set(dict.flatMap((d) => strings(d['risks'])))],
      blocked: blocked === undefined ? null : str(blocked),
      rows: run.rows,
      bytes: run.bytes,
      ms: run.ms,
      outcome: run.outcome,
      error: run.error,
      errorMessage: message ?? (run.error ? sqlstateMeaning(run.error) : null),
      params,
      masked: run.masked ?? null,
    });
  }
  return items;
}

/** Fields of a payload, minus those the summary already says. */
function fieldsOf(p: Record<string, unknown>, skip: string[] = []): Array<[string, string]> {
  return Object.entries(p)
    .filter(([k, v]) => !skip.includes(k) && v !== null && v !== undefined && v !== '')
    .map(([k, v]) => [k, plain(v)]);
}

/** Any non-statements event as one readable line: the start, the policy decision, an anomaly, the end. */
export function eventItem(index: number, seq: number, at: Date, kind: string, payload: unknown): EventItem {
  const p =
    payload && typeof payload === 'object' && !Array.isArray(payload) ? (payload as Record<string, unknown>) : {};
  const base = { type: 'event' as const, index, seq, at, kind };
  switch (kind) {
    case 'session_start':
      return {
        ...base,
        summary: `connected from ${str(p['client'])} with ${str(p['method']) || 'unknown method'}${p['tls'] ? ` over ${str(p['tls'])}` : ' without TLS'} to ${str(p['target'])}/${str(p['database'])} as role ${str(p['role'])}${p['application'] ? ` (application ${str(p['application'])})` : ''}`,
        fields: fieldsOf(p, ['client', 'method', 'tls', 'target', 'database', 'role', 'application']),
      };
    case 'policy':
      return {
        ...base,
        summary: `granted by rule ${str(p['rule'])} (policy version ${str(p['version'])}${p['file'] ? `, ${str(p['file'])}` : ''})${p['readOnly'] ? ', read-only' : ''}${p['detector'] ? `, detector profile ${str(p['detector'])}` : ''}${p['request'] ? `, through access request ${str(p['request'])}` : ''}`,
        fields: fieldsOf(p, ['rule', 'version', 'file', 'readOnly', 'detector', 'request']),
      };
    case 'access_used':
      return {
        ...base,
        summary: `used access request ${str(p['request'])} (rule ${str(p['rule'])}, role ${str(p['role'])})`,
        fields: [],
      };
    case 'anomaly':
      return {
        ...base,
        summary: `anomaly ${str(p['kind'])} (${str(p['severity'])}), action ${str(p['action'])}`,
        fields: fieldsOf(p, ['kind', 'severity', 'action']),
      };
    case 'session_end':
      return {
        ...base,
        summary: `ended: ${str(p['reason'])}${p['detail'] ? ` (${str(p['detail'])})` : ''}`,
        fields: fieldsOf(p, ['reason', 'detail']),
      };
    default:
      return { ...base, summary: kind.replace(/_/g, ' '), fields: fieldsOf(p) };
  }
}
