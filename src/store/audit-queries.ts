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
  /** Given, the range's logins and admin actions follow the chained events, from the same snapshot. */
  side?: SideEventSink | undefined;
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
        if (batch.rows.length === 0) break;
        await sink.batch(batch.rows.map(toEvent));
      }
      if (sink.side) await readSideEvents(client, range, batchSize, sink.side);
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

/** A refused or accepted login (auth_events) or an admin action (admin_events), as exports and the console read them. */
export interface AuthEventRow {
  id: number;
  at: Date;
  gatewayId: string;
  sessionId: string | null;
  username: string | null;
  clientAddr: string | null;
  method: string | null;
  outcome: string;
  reason: string | null;
}
export interface AdminEventRow {
  id: number;
  at: Date;
  actor: string;
  action: string;
  detail: Record<string, unknown>;
}

/** Where the logins and admin actions of an export's range go, after its chained events (same snapshot). */
export interface SideEventSink {
  auth?(rows: AuthEventRow[]): Promise<void>;
  admin?(rows: AdminEventRow[]): Promise<void>;
}

type AuthRow = {
  id: string;
  at: Date;
  gateway_id: string;
  session_id: string | null;
  username: string | null;
  client_addr: string | null;
  method: string | null;
  outcome: string;
  reason: string | null;
};
type AdminRow = { id: string; at: Date; actor: string; action: string; detail: Record<string, unknown> };

const toAuth = (r: AuthRow): AuthEventRow => ({
  id: Number(r.id),
  at: r.at,
  gatewayId: r.gateway_id,
  sessionId: r.session_id,
  username: r.username,
  clientAddr: r.client_addr,
  method: r.method,
  outcome: r.outcome,
  reason: r.reason,
});
const toAdmin = (r: AdminRow): AdminEventRow => ({
  id: Number(r.id),
  at: r.at,
  actor: r.actor,
  action: r.action,
  detail: r.detail,
});

/**
 * Streams the range's logins (by username) and admin actions (by actor) through cursors, in
 * id order, inside the transaction the chained events were read in, so an export is one snapshot.
 */
export async function readSideEvents(
  client: pg.PoolClient,
  range: EventRange,
  batchSize: number,
  sink: SideEventSink,
): Promise<void> {
  const user = range.user !== undefined;
  const params: unknown[] = user ? [range.from, range.to, range.user] : [range.from, range.to];
  const size = Math.max(1, Math.floor(batchSize));
  if (sink.auth) {
    await client.query(
      `declare auth_read no scroll cursor for
         select id, at, gateway_id, session_id, username, client_addr, method, outcome, reason from auth_events
          where at >= $1 and at < $2${user ? ' and username = $3' : ''} order by id`,
      params,
    );
    for (;;) {
      const { rows } = await client.query<AuthRow>(`fetch ${size} from auth_read`);
      if (rows.length === 0) break;
      await sink.auth(rows.map(toAuth));
    }
  }
  if (sink.admin) {
    await client.query(
      `declare admin_read no scroll cursor for
         select id, at, actor, action, detail from admin_events
          where at >= $1 and at < $2${user ? ' and actor = $3' : ''} order by id`,
      params,
    );
    for (;;) {
      const { rows } = await client.query<AdminRow>(`fetch ${size} from admin_read`);
      if (rows.length === 0) break;
      await sink.admin(rows.map(toAdmin));
    }
  }
}

// ---- the auditor's console reads: paged search, a session's timeline a page at a time ----

export interface AuditSearchFilter {
  user?: string | undefined;
  target?: string | undefined;
  from?: Date | undefined;
  to?: Date | undefined;
  /** An anomaly kind, or '*' for any. */
  anomaly?: string | undefined;
  endReason?: string | undefined;
  text?: string | undefined;
  table?: string | undefined;
  category?: string | undefined;
  outcome?: string | undefined;
}

export interface AuditSearchRow {
  id: string;
  username: string | null;
  target: string | null;
  database: string | null;
  upstreamRole: string | null;
  clientAddr: string;
  startedAt: Date;
  endedAt: Date | null;
  endReason: string | null;
  statements: number;
  anomalies: number;
  policyRule: string | null;
  matches: number | null;
  match: string | null;
}

/** One chained event's place in a timeline: how many items it shows (its runs, or 1) and what its runs add up to. */
export interface TimelineIndexRow {
  seq: number;
  kind: string;
  at: Date;
  items: number;
  errors: number;
  blocked: number;
  rows: number;
  bytes: number;
  ms: number;
}

export interface TimelineSession {
  id: string;
  username: string | null;
  groups: string[];
  clientAddr: string;
  clientPort: number | null;
  applicationName: string | null;
  target: string | null;
  database: string | null;
  upstreamRole: string | null;
  authMethod: string | null;
  channelBinding: boolean;
  tlsVersion: string | null;
  policyRule: string | null;
  policyVersion: number | null;
  readOnly: boolean;
  accessRequest: string | null;
  gatewayId: string;
  startedAt: Date;
  endedAt: Date | null;
  endReason: string | null;
  chainHead: string | null;
  chainLength: number;
  anomalies: number;
}

export interface AuditEventFilter {
  user?: string | undefined;
  outcome?: string | undefined;
  text?: string | undefined;
  from?: Date | undefined;
  to?: Date | undefined;
}

/** A LIKE pattern that matches the text literally (backslash is LIKE's default escape). */
const contains = (t: string): string => `%${t.replace(/[\\%_]/g, '\\$&')}%`;
const orNull = <T>(v: T | undefined | ''): T | null => (v === undefined || v === '' ? null : v);

/** Position (0-based) of a named column of a statements event's runs, in SQL. */
const runColumn = (name: string): string =>
  `(select (c.i - 1)::int from jsonb_array_elements_text(e.payload -> 'columns') with ordinality c(name, i) where c.name = '${name}')`;

/**
 * For a statements event `e`: its payload read once (offset 0 keeps it from being re-read per
 * run), where its runs' statement and outcome columns are (col.sc, col.oc), and the indexes of
 * its dictionary's statements matching the text, table and classification given as placeholders
 * (dict.idx, null when none; dict.sql the first).
 */
const matchingStatements = (text: string, table: string, category: string): string => `
            cross join lateral (
              select y.p -> 'statements' as st, y.p -> 'runs' as runs, y.p -> 'columns' as cols
                from (select e.payload as p offset 0) y
            ) x
            cross join lateral (
              select (select (c.i - 1)::int from jsonb_array_elements_text(x.cols) with ordinality c(name, i)
                       where c.name = 'statement') as sc,
                     (select (c.i - 1)::int from jsonb_array_elements_text(x.cols) with ordinality c(name, i)
                       where c.name = 'outcome') as oc
            ) col
            cross join lateral (
              select array_agg((d.i - 1)::int) as idx, min(d.v ->> 'sql') as sql
                from jsonb_array_elements(x.st) with ordinality d(v, i)
               where (${text}::text is null or d.v ->> 'sql' ilike ${text})
                 and (${table}::text is null or exists (select 1 from jsonb_array_elements_text(d.v -> 'tables') t(name)
                                                   where t.name = ${table} or t.name like '%.' || ${table}))
                 and (${category}::text is null or d.v ->> 'category' = ${category})
            ) dict`;

/** A run (r.v) names one of dict.idx and has the outcome given as a placeholder. */
const runMatches = (outcome: string): string => `dict.idx is not null
                 and (case jsonb_typeof(r.v -> col.sc)
                        when 'array' then exists (select 1 from jsonb_array_elements_text(r.v -> col.sc) z(i)
                                                   where z.i::int = any(dict.idx))
                        else (r.v ->> col.sc)::int = any(dict.idx) end)
                 and (${outcome}::text is null or r.v ->> col.oc = ${outcome})`;

export class AuditReads {
  constructor(private readonly store: Store) {}

  /**
   * Sessions matching the filters, newest first, a page at a time with the total. The
   * statement filters (text, table, classification, outcome) look inside the sessions'
   * statements events: a run matches when one of its statements does and its outcome does.
   */
  async searchSessions(
    f: AuditSearchFilter,
    offset: number,
    limit: number,
  ): Promise<{ rows: AuditSearchRow[]; total: number }> {
    const statementFilter = Boolean(f.text || f.table || f.category || f.outcome);
    const params = [
      orNull(f.user),
      orNull(f.target),
      f.from ?? null,
      f.to ?? null,
      orNull(f.anomaly),
      orNull(f.endReason),
      f.text ? contains(f.text) : null,
      orNull(f.table),
      orNull(f.category),
      orNull(f.outcome),
      statementFilter,
      limit,
      offset,
    ];
    const sql = `
      select s.id, s.username, s.target, s.database, s.upstream_role, s.client_addr, s.started_at, s.ended_at,
             s.end_reason, s.statements, s.anomalies, s.policy_rule, m.matches, m.match, count(*) over () as total
        from sessions s
        left join lateral (
          -- Each payload is read once per event (offset 0 keeps it from being re-read per run):
          -- first the statements of its dictionary that match, then the runs that name one of them.
          select sum(hit.n)::int as matches, (array_agg(dict.sql order by e.seq) filter (where hit.n > 0))[1] as match
            from session_events e
${matchingStatements('$7', '$8', '$9')}
            cross join lateral (
              select count(*)::int as n from jsonb_array_elements(x.runs) r(v) where ${runMatches('$10')}
            ) hit
           where $11 and e.session_id = s.id and e.kind = 'statements'
        ) m on $11
       where ($1::text is null or s.username = $1) and ($2::text is null or s.target = $2)
         and ($3::timestamptz is null or s.started_at >= $3) and ($4::timestamptz is null or s.started_at < $4)
         and ($5::text is null or exists (select 1 from anomalies a where a.session_id = s.id and ($5 = '*' or a.kind = $5)))
         and ($6::text is null or s.end_reason = $6)
         and (not $11 or m.matches > 0)
       order by s.started_at desc, s.id
       limit $12 offset $13`;
    type Row = {
      id: string;
      username: string | null;
      target: string | null;
      database: string | null;
      upstream_role: string | null;
      client_addr: string;
      started_at: Date;
      ended_at: Date | null;
      end_reason: string | null;
      statements: number;
      anomalies: number;
      policy_rule: string | null;
      matches: number | null;
      match: string | null;
      total: string;
    };
    let { rows } = await this.store.sql.query<Row>(sql, params);
    let total = rows[0] ? Number(rows[0].total) : 0;
    // Past the end: the window count came with no row, so ask for the total alone.
    if (rows.length === 0 && offset > 0) {
      const first = await this.store.sql.query<Row>(sql, [...params.slice(0, 11), 1, 0]);
      total = first.rows[0] ? Number(first.rows[0].total) : 0;
      rows = [];
    }
    return {
      total,
      rows: rows.map((r) => ({
        id: r.id,
        username: r.username,
        target: r.target,
        database: r.database,
        upstreamRole: r.upstream_role,
        clientAddr: r.client_addr,
        startedAt: r.started_at,
        endedAt: r.ended_at,
        endReason: r.end_reason,
        statements: r.statements,
        anomalies: r.anomalies,
        policyRule: r.policy_rule,
        matches: statementFilter ? r.matches : null,
        match: r.match,
      })),
    };
  }

  /** The session row as the timeline's start and end show it; the access request read from the row as JSON (a column added later). */
  async timelineSession(id: string): Promise<TimelineSession | null> {
    const { rows } = await this.store.sql.query<{
      id: string;
      username: string | null;
      groups: string[];
      client_addr: string;
      client_port: number | null;
      application_name: string | null;
      target: string | null;
      database: string | null;
      upstream_role: string | null;
      auth_method: string | null;
      channel_binding: boolean;
      tls_version: string | null;
      policy_rule: string | null;
      policy_version: number | null;
      read_only: boolean;
      access_request: string | null;
      gateway_id: string;
      started_at: Date;
      ended_at: Date | null;
      end_reason: string | null;
      chain_head: string | null;
      chain_length: number;
      anomalies: number;
    }>(
      `select s.id, s.username, s.groups, s.client_addr, s.client_port, s.application_name, s.target, s.database,
              s.upstream_role, s.auth_method, s.channel_binding, s.tls_version, s.policy_rule, s.policy_version,
              s.read_only, to_jsonb(s) ->> 'access_request' as access_request, s.gateway_id, s.started_at, s.ended_at,
              s.end_reason, encode(s.chain_head, 'hex') as chain_head, s.chain_length, s.anomalies
         from sessions s where s.id = $1`,
      [id],
    );
    const r = rows[0];
    if (!r) return null;
    return {
      id: r.id,
      username: r.username,
      groups: r.groups,
      clientAddr: r.client_addr,
      clientPort: r.client_port,
      applicationName: r.application_name,
      target: r.target,
      database: r.database,
      upstreamRole: r.upstream_role,
      authMethod: r.auth_method,
      channelBinding: r.channel_binding,
      tlsVersion: r.tls_version,
      policyRule: r.policy_rule,
      policyVersion: r.policy_version,
      readOnly: r.read_only,
      accessRequest: r.access_request,
      gatewayId: r.gateway_id,
      startedAt: r.started_at,
      endedAt: r.ended_at,
      endReason: r.end_reason,
      chainHead: r.chain_head,
      chainLength: r.chain_length,
      anomalies: r.anomalies,
    };
  }

  /**
   * Every chained event of a session with how many timeline items it shows and its runs'
   * sums, without sending any payload to the gateway: the timeline pages over this.
   */
  async timelineIndex(id: string): Promise<TimelineIndexRow[]> {
    const { rows } = await this.store.sql.query<{
      seq: number;
      kind: string;
      at: Date;
      items: number;
      errors: number;
      blocked: number;
      rows: string;
      bytes: string;
      ms: string;
    }>(
      `select e.seq, e.kind, e.at, coalesce(st.items, 1) as items, coalesce(st.errors, 0) as errors,
              coalesce(st.blocked, 0) as blocked, coalesce(st.rows, 0) as rows, coalesce(st.bytes, 0) as bytes,
              coalesce(st.ms, 0) as ms
         from session_events e
         left join lateral (
           select count(*)::int as items,
                  count(*) filter (where r.v ->> col.oc = 'error')::int as errors,
                  count(*) filter (where r.v ->> col.oc = 'blocked')::int as blocked,
                  sum(case when jsonb_typeof(r.v -> col.rc) = 'number' then (r.v ->> col.rc)::numeric else 0 end) as rows,
                  sum(case when jsonb_typeof(r.v -> col.bc) = 'number' then (r.v ->> col.bc)::numeric else 0 end) as bytes,
                  sum(case when jsonb_typeof(r.v -> col.mc) = 'number' then (r.v ->> col.mc)::numeric else 0 end) as ms
             from (select ${runColumn('outcome')} as oc, ${runColumn('rows')} as rc, ${runColumn('bytes')} as bc,
                          ${runColumn('ms')} as mc) col,
                  jsonb_array_elements(e.payload -> 'runs') r(v)
         ) st on e.kind = 'statements'
        where e.session_id = $1 order by e.seq`,
      [id],
    );
    return rows.map((r) => ({
      seq: r.seq,
      kind: r.kind,
      at: r.at,
      items: r.items,
      errors: r.errors,
      blocked: r.blocked,
      rows: Number(r.rows),
      bytes: Number(r.bytes),
      ms: Number(r.ms),
    }));
  }

  /**
   * The first run of a session matching the statement filters: its event's seq and its place
   * among that event's runs (the timeline opens on its page), or null.
   */
  async firstMatch(id: string, f: AuditSearchFilter): Promise<{ seq: number; run: number } | null> {
    const { rows } = await this.store.sql.query<{ seq: number; run: number }>(
      `select e.seq, (min(r.n) - 1)::int as run
         from session_events e
         ${matchingStatements('$2', '$3', '$4')}
         cross join lateral jsonb_array_elements(x.runs) with ordinality r(v, n)
        where e.session_id = $1 and e.kind = 'statements' and ${runMatches('$5')}
        group by e.seq order by e.seq limit 1`,
      [id, f.text ? contains(f.text) : null, orNull(f.table), orNull(f.category), orNull(f.outcome)],
    );
    return rows[0] ?? null;
  }

  /** The payloads of some of a session's events (a timeline page's), in chain order. */
  async eventPayloads(
    id: string,
    seqs: number[],
  ): Promise<Array<{ seq: number; at: Date; kind: string; payload: unknown }>> {
    if (seqs.length === 0) return [];
    const { rows } = await this.store.sql.query<{ seq: number; at: Date; kind: string; payload: unknown }>(
      `select seq, at, kind, payload from session_events where session_id = $1 and seq = any($2::int[]) order by seq`,
      [id, seqs],
    );
    return rows;
  }

  /** Logins (accepted and refused), newest first, a page at a time with the total. */
  async authEvents(
    f: AuditEventFilter,
    offset: number,
    limit: number,
  ): Promise<{ rows: AuthEventRow[]; total: number }> {
    const { rows } = await this.store.sql.query<AuthRow & { total: string }>(
      `select id, at, gateway_id, session_id, username, client_addr, method, outcome, reason, count(*) over () as total
         from auth_events
        where ($1::text is null or username = $1) and ($2::text is null or outcome = $2)
          and ($3::text is null or reason ilike $3) and ($4::timestamptz is null or at >= $4)
          and ($5::timestamptz is null or at < $5)
        order by id desc limit $6 offset $7`,
      [
        orNull(f.user),
        orNull(f.outcome),
        f.text ? contains(f.text) : null,
        f.from ?? null,
        f.to ?? null,
        limit,
        offset,
      ],
    );
    const total = rows[0] ? Number(rows[0].total) : offset > 0 ? await this.countAuth(f) : 0;
    return { rows: rows.map(toAuth), total };
  }

  private async countAuth(f: AuditEventFilter): Promise<number> {
    return (await this.authEvents(f, 0, 1)).total;
  }

  /** Admin actions (console and CLI), newest first, a page at a time with the total. */
  async adminEvents(
    f: AuditEventFilter,
    offset: number,
    limit: number,
  ): Promise<{ rows: AdminEventRow[]; total: number }> {
    const { rows } = await this.store.sql.query<AdminRow & { total: string }>(
      `select id, at, actor, action, detail, count(*) over () as total
         from admin_events
        where ($1::text is null or actor = $1) and ($2::text is null or action ilike $2 or detail::text ilike $2)
          and ($3::timestamptz is null or at >= $3) and ($4::timestamptz is null or at < $4)
        order by id desc limit $5 offset $6`,
      [orNull(f.user), f.text ? contains(f.text) : null, f.from ?? null, f.to ?? null, limit, offset],
    );
    const total = rows[0] ? Number(rows[0].total) : offset > 0 ? (await this.adminEvents(f, 0, 1)).total : 0;
    return { rows: rows.map(toAdmin), total };
  }
}
