import pg from 'pg';
import type { Store } from './store.js';

/** One stored audit event, as the store holds it. */
export interface StoredEvent {
  sessionId: string;
  seq: number;
  at: Date;
  kind: string;
  username: string | null;
  payload: unknown;
  prevHash: Buffer;
  hash: Buffer;
  /** HMAC of the hash under the audit key, or null (written before keyed chains, or by something without the key). */
  mac: Buffer | null;
}

/** What the store answered when it refused a write. */
export interface StoreRefusal {
  code: string;
  message: string;
  /**
   * The SQLSTATE class says the data itself is wrong (22 data exception, 23 integrity
   * violation, 54 program limit exceeded: a value too large), so the same events can never
   * be written; other refusals (permissions, a read-only store, a missing table) may be the
   * store's state, which a probe tells apart.
   */
  data: boolean;
}

/**
 * SQLSTATE classes that mean the statement was not judged at all: connection exception,
 * transaction rollback (deadlock, serialization), insufficient resources, object not in
 * prerequisite state (lock not available), operator intervention (shutdown, cancel,
 * statement timeout), system error. Trying again later is right for these.
 */
const NOT_AN_ANSWER = new Set(['08', '40', '53', '55', '57', '58']);
const DATA_CLASSES = new Set(['22', '23', '54']);

/** Events with `from <= at < to`, of one user when given. */
export interface EventRange {
  from: Date;
  to: Date;
  user?: string | undefined;
}

/** Where a range of events goes, batch by batch. */
export interface EventSink {
  /** How many events the range holds, told once before the first batch. */
  total(events: number): void;
  batch(events: StoredEvent[]): Promise<void>;
}

type EventRow = {
  session_id: string;
  seq: number;
  at: Date;
  kind: string;
  username: string | null;
  payload: unknown;
  prev_hash: Buffer;
  hash: Buffer;
  mac: Buffer | null;
  exact_body: string | null;
};

/** The username and payload of an exact body; null when it is not one (then the columns are used, and the hash shows it). */
function exactParts(body: string | null): { username: string | null; payload: unknown } | null {
  if (body === null) return null;
  try {
    const parsed = JSON.parse(body) as { username?: unknown; payload?: unknown } | null;
    if (!parsed || typeof parsed !== 'object' || !('payload' in parsed)) return null;
    return { username: typeof parsed.username === 'string' ? parsed.username : null, payload: parsed.payload };
  } catch {
    return null;
  }
}

/** The event as written: from its exact body when the columns hold a searchable copy (U+0000, unpaired surrogates). */
function toEvent(r: EventRow): StoredEvent {
  const exact = exactParts(r.exact_body);
  return {
    sessionId: r.session_id,
    seq: r.seq,
    at: r.at,
    kind: r.kind,
    username: exact ? exact.username : r.username,
    payload: exact ? exact.payload : r.payload,
    prevHash: r.prev_hash,
    hash: r.hash,
    mac: r.mac,
  };
}

/** The migration that began keyed chains: its applied_at is when events started to carry a MAC. */
const KEYED_MIGRATION = '008_audit_keyed.sql';

/** Retention deletes this many events per statement, so no single delete holds locks for long. */
const RETENTION_DELETE_BATCH = 10_000;

/** Session events (the hash-chained audit) and the admin events that explain gaps in it. */
export class AuditQueries {
  constructor(private readonly store: Store) {}

  /**
   * Inserts a batch given as one JSON array of {i, s, a, k, u, p, h0, h, m, x} (session,
   * seq, at, kind, user, payload, previous hash and hash in hex, MAC in hex, exact body; see
   * audit/event-document.ts): one parameter, one parse in Postgres. "do nothing" on a
   * repeat: a batch whose commit was lost in transit may be sent twice, and so may one that
   * answered late, after it had been spooled. An empty array inserts nothing but still
   * checks that this statement may run (privileges, a writable store): the writer's probe.
   */
  async insertEvents(document: string): Promise<void> {
    await this.store.sql.query(
      `insert into session_events (session_id, seq, at, kind, username, payload, prev_hash, hash, mac, exact_body)
       select x.i, x.s, x.a, x.k, x.u, x.p, decode(x.h0, 'hex'), decode(x.h, 'hex'), decode(x.m, 'hex'), x.x
         from jsonb_to_recordset($1::jsonb)
           as x(i uuid, s int, a timestamptz, k text, u text, p jsonb, h0 text, h text, m text, x text)
       on conflict (session_id, seq) do nothing`,
      [document],
    );
  }

  /** What the store answered when it refused a write, or null when it did not answer (no connection, a timeout, a shutdown). */
  refusal(err: unknown): StoreRefusal | null {
    if (!(err instanceof pg.DatabaseError) || typeof err.code !== 'string') return null;
    const cls = err.code.slice(0, 2);
    if (NOT_AN_ANSWER.has(cls)) return null;
    return { code: err.code, message: err.message, data: DATA_CLASSES.has(cls) };
  }

  /** When keyed chains began in this store (the keyed migration's applied_at), or null before it. */
  async keyedSince(): Promise<Date | null> {
    const { rows } = await this.store.sql.query<{ applied_at: Date }>(
      'select applied_at from pgward_migrations where name = $1',
      [KEYED_MIGRATION],
    );
    return rows[0]?.applied_at ?? null;
  }

  /**
   * Reads a range in chain order (session, then seq) in one repeatable-read snapshot through
   * a server-side cursor, so memory stays flat at any volume.
   */
  async readEvents(range: EventRange, batchSize: number, sink: EventSink): Promise<void> {
    const where = `at >= $1 and at < $2${range.user !== undefined ? ' and username = $3' : ''}`;
    const params: unknown[] = range.user !== undefined ? [range.from, range.to, range.user] : [range.from, range.to];
    await this.store.transaction(async (client) => {
      const { rows } = await client.query<{ n: number }>(
        `select count(*) as n from session_events where ${where}`,
        params,
      );
      sink.total(Number(rows[0]!.n));
      await client.query(
        `declare audit_read no scroll cursor for
           select session_id, seq, at, kind, username, payload, prev_hash, hash, mac, exact_body
             from session_events where ${where} order by session_id, seq`,
        params,
      );
      for (;;) {
        const batch = await client.query<EventRow>(`fetch ${Math.max(1, Math.floor(batchSize))} from audit_read`);
        if (batch.rows.length === 0) return;
        await sink.batch(batch.rows.map(toEvent));
      }
    }, 'begin isolation level repeatable read read only');
  }

  /** Deletes every event older than the cutoff, a bounded batch per statement; returns how many. */
  async deleteEventsBefore(cutoff: Date): Promise<number> {
    let deleted = 0;
    for (;;) {
      const res = await this.store.sql.query(
        'delete from session_events where ctid in (select ctid from session_events where at < $1 limit $2)',
        [cutoff, RETENTION_DELETE_BATCH],
      );
      deleted += res.rowCount ?? 0;
      if ((res.rowCount ?? 0) < RETENTION_DELETE_BATCH) return deleted;
    }
  }

  /** Records an administrative action (who, what, details) where auditors look. */
  async recordAdminEvent(actor: string, action: string, detail: Record<string, unknown>): Promise<void> {
    await this.store.sql.query('insert into admin_events (actor, action, detail) values ($1, $2, $3)', [
      actor,
      action,
      JSON.stringify(detail),
    ]);
  }
}
