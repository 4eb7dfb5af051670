import type pg from 'pg';
import type { Store } from './store.js';

/** The states of an access request; only `approved` grants, and only until expires_at. */
export type AccessRequestState = 'pending' | 'approved' | 'denied' | 'cancelled' | 'expired' | 'revoked';

export interface ApprovalRow {
  by: string;
  at: string;
  reason: string | null;
  breakGlass: boolean;
}

export interface AccessRequestRow {
  id: string;
  createdAt: Date;
  requester: string;
  requesterGroups: string[];
  target: string;
  database: string;
  rule: string;
  role: string;
  durationMs: number;
  reason: string | null;
  state: AccessRequestState;
  approvals: ApprovalRow[];
  needed: number;
  decidedAt: Date | null;
  decidedBy: string | null;
  decisionReason: string | null;
  expiresAt: Date | null;
}

/** Where a request's audit chain stands: the caller appends its next event from here. */
export interface ChainPoint {
  seq: number;
  /** Hex, or null before the first event (the writer starts from the genesis hash). */
  head: string | null;
}

/** Appends the step's audit event at `from` and returns where the chain then stands. */
export type ChainStep = (row: AccessRequestRow, from: ChainPoint) => ChainPoint;

type Row = {
  id: string;
  created_at: Date;
  requester: string;
  requester_groups: string[];
  target: string;
  database: string;
  rule: string;
  role: string;
  duration_ms: string;
  reason: string | null;
  state: AccessRequestState;
  approvals: ApprovalRow[];
  needed: number;
  decided_at: Date | null;
  decided_by: string | null;
  decision_reason: string | null;
  expires_at: Date | null;
  chain_head: Buffer | null;
  chain_length: number;
};

const toRow = (r: Row): AccessRequestRow => ({
  id: r.id,
  createdAt: r.created_at,
  requester: r.requester,
  requesterGroups: r.requester_groups,
  target: r.target,
  database: r.database,
  rule: r.rule,
  role: r.role,
  durationMs: Number(r.duration_ms),
  reason: r.reason,
  state: r.state,
  approvals: r.approvals,
  needed: r.needed,
  decidedAt: r.decided_at,
  decidedBy: r.decided_by,
  decisionReason: r.decision_reason,
  expiresAt: r.expires_at,
});

/** One event of a request's own chain (session_events with the request's id as chain id). */
export interface RequestChainEvent {
  seq: number;
  at: Date;
  kind: string;
  user: string | null;
  payload: Record<string, unknown>;
}

/** A session an approved request admitted (sessions.access_request). */
export interface GrantedSession {
  id: string;
  gatewayId: string;
  user: string;
  database: string;
  role: string;
  startedAt: Date;
  endedAt: Date | null;
  endReason: string | null;
}

export interface AccessRequestDetail {
  request: AccessRequestRow;
  events: RequestChainEvent[];
  sessions: GrantedSession[];
}

export interface NewAccessRequest {
  id: string;
  requester: string;
  requesterGroups: string[];
  target: string;
  database: string;
  rule: string;
  role: string;
  durationMs: number;
  reason: string | null;
  needed: number;
}

/** What a step changes on the row; the row's chain columns are set from the step's event. */
export interface RequestChange {
  state?: AccessRequestState;
  approvals?: ApprovalRow[];
  decidedBy?: string | null;
  decisionReason?: string | null;
  /** Sets decided_at = now() and expires_at = now() + duration_ms (an approval that completes). */
  startGrant?: boolean;
}

export class AccessRequestQueries {
  constructor(private readonly store: Store) {}

  /** Inserts a request and the first event of its chain, in one transaction. */
  async create(r: NewAccessRequest, step: ChainStep): Promise<AccessRequestRow> {
    return this.store.transaction(async (c) => {
      const { rows } = await c.query<Row>(
        `insert into access_requests (id, requester, requester_groups, target, database, rule, role, duration_ms, reason, needed)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) returning *`,
        [r.id, r.requester, r.requesterGroups, r.target, r.database, r.rule, r.role, r.durationMs, r.reason, r.needed],
      );
      const row = toRow(rows[0]!);
      await this.setChain(c, row.id, step(row, { seq: 0, head: null }));
      return row;
    });
  }

  async get(id: string): Promise<AccessRequestRow | null> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) return null;
    const { rows } = await this.store.sql.query<Row>('select * from access_requests where id = $1', [id]);
    return rows[0] ? toRow(rows[0]) : null;
  }

  async list(o: { requester?: string; states?: AccessRequestState[]; limit?: number }): Promise<AccessRequestRow[]> {
    const { rows } = await this.store.sql.query<Row>(
      `select * from access_requests
        where ($1::text is null or requester = $1) and ($2::text[] is null or state = any($2))
        order by created_at desc limit $3`,
      [o.requester ?? null, o.states ?? null, o.limit ?? 100],
    );
    return rows.map(toRow);
  }

  /** Approved requests not yet expired: the temporary grants in force. */
  async active(): Promise<AccessRequestRow[]> {
    const { rows } = await this.store.sql.query<Row>(
      `select * from access_requests where state = 'approved' and expires_at > now()`,
    );
    return rows.map(toRow);
  }

  /**
   * One step of a request under its row lock: `decide` sees the row as it is now and returns
   * the change (or throws to refuse, leaving everything as it was); the step's audit event
   * continues the chain from the stored head. Returns the row after the change, or null if
   * there is no such request.
   */
  async step(
    id: string,
    decide: (row: AccessRequestRow) => RequestChange,
    step: ChainStep,
  ): Promise<AccessRequestRow | null> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) return null;
    return this.store.transaction(async (c) => {
      const { rows } = await c.query<Row>('select * from access_requests where id = $1 for update', [id]);
      const before = rows[0];
      if (!before) return null;
      const ch = decide(toRow(before));
      const { rows: after } = await c.query<Row>(
        `update access_requests set
           state = coalesce($2, state),
           approvals = coalesce($3::jsonb, approvals),
           decided_by = case when $4 then $5 else decided_by end,
           decision_reason = case when $4 then $6 else decision_reason end,
           decided_at = case when $7 or ($2 is not null and $2 <> state and decided_at is null) then now() else decided_at end,
           expires_at = case when $7 then now() + duration_ms * interval '1 millisecond' else expires_at end
         where id = $1 returning *`,
        [
          id,
          ch.state ?? null,
          ch.approvals ? JSON.stringify(ch.approvals) : null,
          ch.decidedBy !== undefined,
          ch.decidedBy ?? null,
          ch.decisionReason ?? null,
          ch.startGrant ?? false,
        ],
      );
      const row = toRow(after[0]!);
      await this.setChain(
        c,
        id,
        step(row, { seq: before.chain_length, head: before.chain_head?.toString('hex') ?? null }),
      );
      return row;
    });
  }

  /** Approved requests whose time is up, marked expired one by one (each step is the caller's). */
  async due(): Promise<string[]> {
    const { rows } = await this.store.sql.query<{ id: string }>(
      `select id from access_requests where state = 'approved' and expires_at <= now() order by expires_at limit 100`,
    );
    return rows.map((r) => r.id);
  }

  /** Requests this person approved, denied or revoked (newest first): an approver's decisions history. */
  async decidedBy(user: string, limit = 50): Promise<AccessRequestRow[]> {
    const { rows } = await this.store.sql.query<Row>(
      `select * from access_requests
        where decided_by = $1 or approvals @> jsonb_build_array(jsonb_build_object('by', $1::text))
        order by coalesce(decided_at, created_at) desc limit $2`,
      [user, limit],
    );
    return rows.map(toRow);
  }

  /** Names the request on the row of a session it admitted (migration 011). */
  async sessionGranted(sessionId: string, requestId: string): Promise<void> {
    await this.store.sql.query('update sessions set access_request = $2 where id = $1', [sessionId, requestId]);
  }

  /**
   * One request with what an auditor asks of it: the row (reason, approvals, decision), its
   * own audit chain in order, and the sessions it admitted. Null if there is no such request.
   */
  async detail(id: string): Promise<AccessRequestDetail | null> {
    const request = await this.get(id);
    if (!request) return null;
    const [events, sessions] = await Promise.all([
      this.store.sql.query<{ seq: number; at: Date; kind: string; username: string | null; payload: unknown }>(
        'select seq, at, kind, username, payload from session_events where session_id = $1 order by seq',
        [id],
      ),
      this.store.sql.query<{
        id: string;
        gateway_id: string;
        username: string;
        database: string;
        upstream_role: string;
        started_at: Date;
        ended_at: Date | null;
        end_reason: string | null;
      }>(
        `select id, gateway_id, username, database, upstream_role, started_at, ended_at, end_reason
           from sessions where access_request = $1 order by started_at`,
        [id],
      ),
    ]);
    return {
      request,
      events: events.rows.map((e) => ({
        seq: e.seq,
        at: e.at,
        kind: e.kind,
        user: e.username,
        payload: (e.payload ?? {}) as Record<string, unknown>,
      })),
      sessions: sessions.rows.map((x) => ({
        id: x.id,
        gatewayId: x.gateway_id,
        user: x.username,
        database: x.database,
        role: x.upstream_role,
        startedAt: x.started_at,
        endedAt: x.ended_at,
        endReason: x.end_reason,
      })),
    };
  }

  private async setChain(c: pg.PoolClient, id: string, p: ChainPoint): Promise<void> {
    await c.query('update access_requests set chain_head = $2, chain_length = $3 where id = $1', [
      id,
      p.head === null ? null : Buffer.from(p.head, 'hex'),
      p.seq,
    ]);
  }
}
