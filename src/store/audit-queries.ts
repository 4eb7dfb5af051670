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
}

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
};

const toEvent = (r: EventRow): StoredEvent => ({
  sessionId: r.session_id,
  seq: r.seq,
  at: r.at,
  kind: r.kind,
  username: r.username,
  payload: r.payload,
  prevHash: r.prev_hash,
  hash: r.hash,
});

/** Retention deletes this many events per statement, so no single delete holds locks for long. */
const RETENTION_DELETE_BATCH = 10_000;

/** Session events (the hash-chained audit) and the admin events that explain gaps in it. */
export class AuditQueries {
  constructor(private readonly store: Store) {}

  /**
   * Inserts a batch given as one JSON array of {i, s, a, k, u, p, h0, h} (session, seq, at,
   * kind, user, payload, previous hash and hash in hex): one parameter, one parse in
   * Postgres. "do nothing" on a repeat: a batch whose commit was lost in transit may be
   * sent twice, and so may one that answered late, after it had been spooled.
   */
  async insertEvents(document: string): Promise<void> {
    await this.store.sql.query(
      `insert into session_events (session_id, seq, at, kind, username, payload, prev_hash, hash)
       select x.i, x.s, x.a, x.k, x.u, x.p, decode(x.h0, 'hex'), decode(x.h, 'hex')
         from jsonb_to_recordset($1::jsonb) as x(i uuid, s int, a timestamptz, k text, u text, p jsonb, h0 text, h text)
       on conflict (session_id, seq) do nothing`,
      [document],
    );
  }

  /**
   * True when the store answered and refused the data itself (SQLSTATE class 22, data
   * exception, or 23, integrity violation): sending the same batch again can never succeed.
   * Anything else (no answer, a timeout, a server shutting down) may pass.
   */
  rejectedAsData(err: unknown): boolean {
    return (
      err instanceof pg.DatabaseError &&
      typeof err.code === 'string' &&
      (err.code.startsWith('22') || err.code.startsWith('23'))
    );
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
           select session_id, seq, at, kind, username, payload, prev_hash, hash
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
