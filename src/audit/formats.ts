import { storable, type ChainedEvent } from './chain.js';
import type { AdminEventRow, AuthEventRow } from '../store/audit-queries.js';

export const EXPORT_FORMATS = ['jsonl', 'csv', 'ocsf'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

const CSV_COLUMNS = ['session_id', 'seq', 'at', 'kind', 'username', 'payload', 'prev_hash', 'hash'] as const;

function csvField(v: string): string {
  return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/**
 * The username column of a CSV export: the name as it is, or, when a UTF-8 file cannot carry
 * it exactly (an unpaired surrogate; U+0000, which tools reading CSV trip over) or it begins
 * with a double quote, the name as a JSON string, so a leading quote always means JSON.
 */
function csvUsername(u: string | null): string {
  if (u === null) return '';
  return storable(u) && !u.startsWith('"') ? u : JSON.stringify(u);
}

function parseCsvUsername(v: string): string | null {
  if (v === '') return null;
  return v.startsWith('"') ? (JSON.parse(v) as string) : v;
}

/** OCSF 1.x Datastore Activity (class 6005) with the chained event kept whole under unmapped. */
function ocsf(e: ChainedEvent): Record<string, unknown> {
  const p = (e.payload ?? {}) as Record<string, unknown>;
  const statements = Array.isArray(p['statements']) ? (p['statements'] as Array<{ sql?: string }>) : [];
  return {
    class_uid: 6005,
    category_uid: 6,
    activity_name: e.kind,
    time: Date.parse(e.at),
    severity_id: e.kind === 'anomaly' ? 4 : 1,
    actor: { user: { name: e.username } },
    ...(statements.length ? { query_info: { query_string: statements.map((s) => s.sql).join('; ') } } : {}),
    metadata: { product: { name: 'pgward', vendor_name: 'pgward' }, version: '1.5.0', uid: `${e.session_id}/${e.seq}` },
    unmapped: { pgward: e },
  };
}

export function header(format: ExportFormat): string {
  return format === 'csv' ? CSV_COLUMNS.join(',') + '\n' : '';
}

export function formatEvent(format: ExportFormat, e: ChainedEvent): string {
  switch (format) {
    case 'jsonl':
      return JSON.stringify(e) + '\n';
    case 'ocsf':
      return JSON.stringify(ocsf(e)) + '\n';
    case 'csv':
      return (
        [
          e.session_id,
          String(e.seq),
          e.at,
          e.kind,
          csvUsername(e.username),
          JSON.stringify(e.payload),
          e.prev_hash,
          e.hash,
        ]
          .map(csvField)
          .join(',') + '\n'
      );
  }
}

/** Splits one CSV record (RFC 4180 quoting); the caller joins physical lines while quotes are open. */
function parseCsv(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

/** True while a CSV record has an open quote (it continues on the next line). */
export function csvOpen(text: string): boolean {
  let n = 0;
  for (const c of text) if (c === '"') n++;
  return n % 2 === 1;
}

export class ExportParseError extends Error {
  override name = 'ExportParseError';
}

/** One exported record back to the event it came from. */
export function parseEvent(format: ExportFormat, record: string): ChainedEvent {
  try {
    if (format === 'csv') {
      const f = parseCsv(record);
      if (f.length !== CSV_COLUMNS.length)
        throw new ExportParseError(`expected ${CSV_COLUMNS.length} columns, found ${f.length}`);
      return {
        session_id: f[0]!,
        seq: Number(f[1]),
        at: f[2]!,
        kind: f[3]!,
        username: parseCsvUsername(f[4]!),
        payload: JSON.parse(f[5]!),
        prev_hash: f[6]!,
        hash: f[7]!,
      };
    }
    const obj = JSON.parse(record) as Record<string, unknown>;
    const e = (format === 'ocsf' ? (obj['unmapped'] as { pgward?: unknown } | undefined)?.pgward : obj) as
      ChainedEvent | undefined;
    if (
      !e ||
      typeof e.session_id !== 'string' ||
      typeof e.seq !== 'number' ||
      typeof e.hash !== 'string' ||
      typeof e.prev_hash !== 'string'
    ) {
      throw new ExportParseError('not an exported pgward event');
    }
    return e;
  } catch (err) {
    if (err instanceof ExportParseError) throw err;
    throw new ExportParseError((err as Error).message);
  }
}

/*
 * Logins (auth_events) and admin actions (admin_events) ride in the same export after the
 * chained events, when asked for. They are not hash-chained in the store: the manifest counts
 * them and signs the file's digest, so what was exported cannot be changed, removed or added
 * to afterwards; see docs/audit.md for what this does not cover.
 */

/** A login or an admin action as exported (JSONL line; the CSV payload column and OCSF's unmapped.pgward hold the same). */
export type SideRecord =
  | {
      record: 'auth_event';
      id: number;
      at: string;
      gateway_id: string;
      session_id: string | null;
      username: string | null;
      client_addr: string | null;
      method: string | null;
      outcome: string;
      reason: string | null;
    }
  | { record: 'admin_event'; id: number; at: string; actor: string; action: string; detail: Record<string, unknown> };

export const SIDE_KINDS = ['auth_event', 'admin_event'] as const;

export function authRecord(r: AuthEventRow): SideRecord {
  return {
    record: 'auth_event',
    id: r.id,
    at: r.at.toISOString(),
    gateway_id: r.gatewayId,
    session_id: r.sessionId,
    username: r.username,
    client_addr: r.clientAddr,
    method: r.method,
    outcome: r.outcome,
    reason: r.reason,
  };
}

export function adminRecord(r: AdminEventRow): SideRecord {
  return {
    record: 'admin_event',
    id: r.id,
    at: r.at.toISOString(),
    actor: r.actor,
    action: r.action,
    detail: r.detail,
  };
}

/** OCSF: a login is Authentication (3002, logon, success or failure); an admin action is API Activity (6003). */
function ocsfSide(r: SideRecord): Record<string, unknown> {
  const metadata = { product: { name: 'pgward', vendor_name: 'pgward' }, version: '1.5.0', uid: `${r.record}/${r.id}` };
  if (r.record === 'auth_event') {
    const ok = r.outcome === 'success';
    return {
      class_uid: 3002,
      category_uid: 3,
      activity_id: 1,
      activity_name: 'Logon',
      time: Date.parse(r.at),
      severity_id: ok ? 1 : 3,
      status_id: ok ? 1 : 2,
      status: ok ? 'Success' : 'Failure',
      ...(r.reason ? { status_detail: r.reason } : {}),
      user: { name: r.username },
      ...(r.client_addr ? { src_endpoint: { ip: r.client_addr } } : {}),
      ...(r.method ? { auth_protocol: r.method } : {}),
      metadata,
      unmapped: { pgward: r },
    };
  }
  return {
    class_uid: 6003,
    category_uid: 6,
    activity_id: 99,
    activity_name: r.action,
    time: Date.parse(r.at),
    severity_id: 1,
    actor: { user: { name: r.actor } },
    api: { operation: r.action },
    metadata,
    unmapped: { pgward: r },
  };
}

export function formatSide(format: ExportFormat, r: SideRecord): string {
  switch (format) {
    case 'jsonl':
      return JSON.stringify(r) + '\n';
    case 'ocsf':
      return JSON.stringify(ocsfSide(r)) + '\n';
    case 'csv': {
      // The chained columns, as far as they apply: no session chain, so no hashes; the id in seq.
      const { record, id, at, ...rest } = r;
      const user = r.record === 'auth_event' ? r.username : r.actor;
      return (
        [record, String(id), at, record, csvUsername(user), JSON.stringify(rest), '', ''].map(csvField).join(',') + '\n'
      );
    }
  }
}

/** One exported record: a chained event, or a login or admin action. */
export function parseRecord(format: ExportFormat, record: string): { chained: ChainedEvent } | { side: SideRecord } {
  let obj: Record<string, unknown> | undefined;
  try {
    if (format === 'csv') {
      const f = parseCsv(record);
      if (f.length === CSV_COLUMNS.length && (SIDE_KINDS as readonly string[]).includes(f[0]!) && f[7] === '') {
        const rest = JSON.parse(f[5]!) as Record<string, unknown>;
        obj = { record: f[0], id: Number(f[1]), at: f[2], ...rest };
      }
    } else {
      const parsed = JSON.parse(record) as Record<string, unknown>;
      const inner = format === 'ocsf' ? (parsed['unmapped'] as { pgward?: unknown } | undefined)?.pgward : parsed;
      if (inner && typeof inner === 'object' && 'record' in inner) obj = inner as Record<string, unknown>;
    }
  } catch (err) {
    throw new ExportParseError((err as Error).message);
  }
  if (!obj) return { chained: parseEvent(format, record) };
  if (
    !(SIDE_KINDS as readonly string[]).includes(String(obj['record'])) ||
    typeof obj['id'] !== 'number' ||
    !Number.isInteger(obj['id']) ||
    typeof obj['at'] !== 'string'
  )
    throw new ExportParseError('not an exported pgward login or admin action');
  return { side: obj as SideRecord };
}
