import type { Store } from './store.js';

/*
 * What the web console reads and writes. Every query names its columns and every row is
 * mapped to a camelCase object here, so the browser only ever sees the fields listed below.
 */

export interface MyToken {
  jti: string;
  groups: string[];
  issuedAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
  revokedReason: string | null;
  issuedBy: string;
}

export interface MySession {
  id: string;
  target: string | null;
  database: string | null;
  clientAddr: string;
  startedAt: Date;
  endedAt: Date | null;
  endReason: string | null;
  statements: number;
  anomalies: number;
  policyRule: string | null;
}

export interface LiveSessionSummary {
  id: string;
  gatewayId: string;
  username: string | null;
  target: string | null;
  database: string | null;
  upstreamRole: string | null;
  applicationName: string | null;
  clientAddr: string;
  startedAt: Date;
  policyRule: string | null;
  readOnly: boolean;
  tokenJti: string | null;
  /** The access request whose grant admitted the session, where the session row records one. */
  accessRequest: string | null;
  /** Anomalies written so far (the anomalies table is written as they happen, from any gateway). */
  anomalies: number;
}

export interface LiveTokenSummary {
  jti: string;
  username: string;
  groups: string[];
  issuedAt: Date;
  expiresAt: Date;
  issuedBy: string;
}

export interface AuditSessionSummary {
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
  authMethod: string | null;
  policyRule: string | null;
  policyVersion: number | null;
}

export interface AuditSessionDetail extends AuditSessionSummary {
  gatewayId: string;
  groups: string[];
  tokenJti: string | null;
  clientPort: number | null;
  applicationName: string | null;
  tlsVersion: string | null;
  tlsCipher: string | null;
  alpn: string | null;
  channelBinding: boolean;
  readOnly: boolean;
  readyAt: Date | null;
  stageMs: Record<string, number>;
  bytesFromClient: number;
  bytesToClient: number;
  messagesFromClient: number;
  rowsToClient: number;
  /** The hash of the session's last chained event, hex. */
  chainHead: string | null;
  chainLength: number;
}

export interface SessionEventRow {
  seq: number;
  at: Date;
  kind: string;
  payload: Record<string, unknown>;
  /** This event's chain hash, hex. */
  hash: string;
}

export interface AnomalyBucket {
  bucket: Date;
  kind: string;
  n: number;
}

export interface RecentAnomaly {
  at: Date;
  sessionId: string | null;
  username: string | null;
  kind: string;
  severity: string;
  action: string;
  detail: Record<string, unknown>;
}

export interface AuditSessionSearch {
  user?: string | undefined;
  target?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  /** An anomaly kind, or '*' for any. */
  anomaly?: string | undefined;
  endReason?: string | undefined;
}

type SummaryRow = {
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
  auth_method: string | null;
  policy_rule: string | null;
  policy_version: number | null;
};

type DetailRow = SummaryRow & {
  gateway_id: string;
  groups: string[];
  token_jti: string | null;
  client_port: number | null;
  application_name: string | null;
  tls_version: string | null;
  tls_cipher: string | null;
  alpn: string | null;
  channel_binding: boolean;
  read_only: boolean;
  ready_at: Date | null;
  stage_ms: Record<string, number>;
  bytes_from_client: number;
  bytes_to_client: number;
  messages_from_client: number;
  rows_to_client: number;
  chain_head: Buffer | null;
  chain_length: number;
};

const SUMMARY_COLUMNS = `s.id, s.username, s.target, s.database, s.upstream_role, s.client_addr, s.started_at, s.ended_at, s.end_reason,
  s.statements, s.anomalies, s.auth_method, s.policy_rule, s.policy_version`;

const toSummary = (r: SummaryRow): AuditSessionSummary => ({
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
  authMethod: r.auth_method,
  policyRule: r.policy_rule,
  policyVersion: r.policy_version,
});

export class ConsoleQueries {
  constructor(private readonly store: Store) {}

  async myTokens(user: string): Promise<MyToken[]> {
    const { rows } = await this.store.sql.query<{
      jti: string;
      groups: string[];
      issued_at: Date;
      expires_at: Date;
      revoked_at: Date | null;
      revoked_reason: string | null;
      issued_by: string;
    }>(
      `select jti, groups, issued_at, expires_at, revoked_at, revoked_reason, issued_by from tokens
        where username = $1 order by issued_at desc limit 50`,
      [user],
    );
    return rows.map((r) => ({
      jti: r.jti,
      groups: r.groups,
      issuedAt: r.issued_at,
      expiresAt: r.expires_at,
      revokedAt: r.revoked_at,
      revokedReason: r.revoked_reason,
      issuedBy: r.issued_by,
    }));
  }

  async mySessions(user: string): Promise<MySession[]> {
    const { rows } = await this.store.sql.query<{
      id: string;
      target: string | null;
      database: string | null;
      client_addr: string;
      started_at: Date;
      ended_at: Date | null;
      end_reason: string | null;
      statements: number;
      anomalies: number;
      policy_rule: string | null;
    }>(
      `select id, target, database, client_addr, started_at, ended_at, end_reason, statements, anomalies, policy_rule
         from sessions where username = $1 order by started_at desc limit 50`,
      [user],
    );
    return rows.map((r) => ({
      id: r.id,
      target: r.target,
      database: r.database,
      clientAddr: r.client_addr,
      startedAt: r.started_at,
      endedAt: r.ended_at,
      endReason: r.end_reason,
      statements: r.statements,
      anomalies: r.anomalies,
      policyRule: r.policy_rule,
    }));
  }

  /**
   * Sessions still open on any gateway (those older than two days are taken for lost records).
   * The access request is read from the row as JSON so this works whether or not the store's
   * sessions table has that column yet (it is added with access-request sessions).
   */
  async liveSessions(): Promise<LiveSessionSummary[]> {
    const { rows } = await this.store.sql.query<{
      id: string;
      gateway_id: string;
      username: string | null;
      target: string | null;
      database: string | null;
      upstream_role: string | null;
      application_name: string | null;
      client_addr: string;
      started_at: Date;
      policy_rule: string | null;
      read_only: boolean;
      token_jti: string | null;
      access_request: string | null;
      anomalies: number;
    }>(
      `select s.id, s.gateway_id, s.username, s.target, s.database, s.upstream_role, s.application_name, s.client_addr,
              s.started_at, s.policy_rule, s.read_only, s.token_jti,
              to_jsonb(s) ->> 'access_request' as access_request,
              coalesce(a.n, 0) as anomalies
         from sessions s
         -- anomalies has no session index; the time index bounds the scan to live sessions' window.
         left join (select session_id, count(*)::int as n from anomalies
                     where at > now() - interval '2 days' group by session_id) a on a.session_id = s.id
        where s.ended_at is null and s.started_at > now() - interval '2 days' order by s.started_at desc limit 500`,
    );
    return rows.map((r) => ({
      id: r.id,
      gatewayId: r.gateway_id,
      username: r.username,
      target: r.target,
      database: r.database,
      upstreamRole: r.upstream_role,
      applicationName: r.application_name,
      clientAddr: r.client_addr,
      startedAt: r.started_at,
      policyRule: r.policy_rule,
      readOnly: r.read_only,
      tokenJti: r.token_jti,
      accessRequest: r.access_request,
      anomalies: r.anomalies,
    }));
  }

  /**
   * The newest recorded statements event of each session (for sessions another gateway runs:
   * what the audit has of them so far). The primary key (session_id, seq) is read backwards.
   */
  async lastStatementEvents(ids: string[]): Promise<Array<{ sessionId: string; payload: unknown }>> {
    if (ids.length === 0) return [];
    const { rows } = await this.store.sql.query<{ session_id: string; payload: unknown }>(
      `select i.id as session_id, e.payload
         from unnest($1::uuid[]) as i(id)
         join lateral (select payload from session_events
                        where session_id = i.id and kind = 'statements' order by seq desc limit 1) e on true`,
      [ids],
    );
    return rows.map((r) => ({ sessionId: r.session_id, payload: r.payload }));
  }

  /** One session's owner and token, for checks before acting on it. */
  async sessionOwner(
    id: string,
  ): Promise<{ username: string | null; tokenJti: string | null; endedAt: Date | null } | null> {
    const { rows } = await this.store.sql.query<{
      username: string | null;
      token_jti: string | null;
      ended_at: Date | null;
    }>(`select username, token_jti, ended_at from sessions where id = $1`, [id]);
    const r = rows[0];
    return r ? { username: r.username, tokenJti: r.token_jti, endedAt: r.ended_at } : null;
  }

  async liveTokens(user: string | null): Promise<LiveTokenSummary[]> {
    const { rows } = await this.store.sql.query<{
      jti: string;
      username: string;
      groups: string[];
      issued_at: Date;
      expires_at: Date;
      issued_by: string;
    }>(
      `select jti, username, groups, issued_at, expires_at, issued_by from tokens
        where ($1::text is null or username = $1) and revoked_at is null and expires_at > now() order by issued_at desc limit 200`,
      [user],
    );
    return rows.map((r) => ({
      jti: r.jti,
      username: r.username,
      groups: r.groups,
      issuedAt: r.issued_at,
      expiresAt: r.expires_at,
      issuedBy: r.issued_by,
    }));
  }

  async searchSessions(q: AuditSessionSearch): Promise<AuditSessionSummary[]> {
    const { rows } = await this.store.sql.query<SummaryRow>(
      `select ${SUMMARY_COLUMNS}
         from sessions s
        where ($1::text is null or s.username = $1) and ($2::text is null or s.target = $2)
          and ($3::timestamptz is null or s.started_at >= $3) and ($4::timestamptz is null or s.started_at < $4)
          and ($5::text is null or exists (select 1 from anomalies a where a.session_id = s.id and ($5 = '*' or a.kind = $5)))
          and ($6::text is null or s.end_reason = $6)
        order by s.started_at desc limit 200`,
      [q.user || null, q.target || null, q.from || null, q.to || null, q.anomaly || null, q.endReason || null],
    );
    return rows.map(toSummary);
  }

  async auditSession(id: string): Promise<AuditSessionDetail | null> {
    const { rows } = await this.store.sql.query<DetailRow>(
      `select ${SUMMARY_COLUMNS}, s.gateway_id, s.groups, s.token_jti, s.client_port, s.application_name, s.tls_version,
              s.tls_cipher, s.alpn, s.channel_binding, s.read_only, s.ready_at, s.stage_ms, s.bytes_from_client,
              s.bytes_to_client, s.messages_from_client, s.rows_to_client, s.chain_head, s.chain_length
         from sessions s where s.id = $1`,
      [id],
    );
    const r = rows[0];
    if (!r) return null;
    return {
      ...toSummary(r),
      gatewayId: r.gateway_id,
      groups: r.groups,
      tokenJti: r.token_jti,
      clientPort: r.client_port,
      applicationName: r.application_name,
      tlsVersion: r.tls_version,
      tlsCipher: r.tls_cipher,
      alpn: r.alpn,
      channelBinding: r.channel_binding,
      readOnly: r.read_only,
      readyAt: r.ready_at,
      stageMs: r.stage_ms,
      bytesFromClient: r.bytes_from_client,
      bytesToClient: r.bytes_to_client,
      messagesFromClient: r.messages_from_client,
      rowsToClient: r.rows_to_client,
      chainHead: r.chain_head ? r.chain_head.toString('hex') : null,
      chainLength: r.chain_length,
    };
  }

  async sessionEvents(id: string, limit = 5000): Promise<SessionEventRow[]> {
    const { rows } = await this.store.sql.query<SessionEventRow>(
      `select seq, at, kind, payload, encode(hash, 'hex') as hash from session_events where session_id = $1 order by seq limit $2`,
      [id, limit],
    );
    return rows.map((r) => ({ seq: r.seq, at: r.at, kind: r.kind, payload: r.payload, hash: r.hash }));
  }

  /** Anomalies per hour and kind over the last week. */
  async anomalySeries(): Promise<AnomalyBucket[]> {
    const { rows } = await this.store.sql.query<AnomalyBucket>(
      `select date_trunc('hour', at) as bucket, kind, count(*)::int as n from anomalies
        where at > now() - interval '7 days' group by 1, 2 order by 1`,
    );
    return rows.map((r) => ({ bucket: r.bucket, kind: r.kind, n: r.n }));
  }

  async recentAnomalies(limit = 50): Promise<RecentAnomaly[]> {
    const { rows } = await this.store.sql.query<{
      at: Date;
      session_id: string | null;
      username: string | null;
      kind: string;
      severity: string;
      action: string;
      detail: Record<string, unknown>;
    }>(`select at, session_id, username, kind, severity, action, detail from anomalies order by id desc limit $1`, [
      limit,
    ]);
    return rows.map((r) => ({
      at: r.at,
      sessionId: r.session_id,
      username: r.username,
      kind: r.kind,
      severity: r.severity,
      action: r.action,
      detail: r.detail,
    }));
  }
}
