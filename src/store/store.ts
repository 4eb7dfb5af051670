import pg from 'pg';
import { within } from '../util/deadline.js';
import { migrate } from './migrate.js';
import { decodeNotice, encodeNotice, noticeChannel, type Notice, type NoticeKind, type NoticeOf } from './notices.js';

// bigint counters come back as strings by default; ours stay far below 2^53.
pg.types.setTypeParser(20, (v) => Number(v));

/**
 * How long a login waits for the lookups it cannot go on without. A store cut off by a
 * partition neither refuses nor answers: without a bound the client would hang until its
 * startup deadline and then be dropped without a word, instead of getting 57P03.
 */
export const LOGIN_LOOKUP_TIMEOUT_MS = 5_000;

/** The lookup, or a rejection after LOGIN_LOOKUP_TIMEOUT_MS. */
function answered<T>(query: Promise<T>, what: string): Promise<T> {
  return within(query, LOGIN_LOOKUP_TIMEOUT_MS, `control plane ${what} lookup`);
}

/**
 * Connections for everything but login lookups: audit batches, session records, the
 * console and the CLI. Audit batches are written one at a time per gateway, so this
 * bounds console and session-record concurrency.
 */
export const GENERAL_POOL_MAX = 10;

/**
 * Connections reserved for the lookups a waiting login cannot go on without (SCRAM
 * verifiers, token checks, vault reads, link login polling). Separate so that a burst of
 * audit writes queued on the general pool cannot hold a login past LOGIN_LOOKUP_TIMEOUT_MS;
 * small because each lookup is one indexed round trip of a few milliseconds (4 answer
 * hundreds of logins a second) and every gateway's connections count against the control
 * plane's max_connections (100 by default): 10 + 4 + one per subscription (3) per gateway.
 */
export const LOGIN_POOL_MAX = 4;

export interface StoreOptions {
  connectionString: string;
  /** CA for verify-full to the control-plane Postgres, when it uses TLS. */
  ca?: string | undefined;
  /** Size of the general pool (GENERAL_POOL_MAX when not given). */
  max?: number | undefined;
}

export interface UserScram {
  salt: Buffer;
  iterations: number;
}

/** What a subscriber is told: each notice of the kinds it asked for, and when its LISTEN connection drops. */
export interface NoticeHandlers<K extends NoticeKind> {
  notice(notice: NoticeOf<K>): void;
  /** The LISTEN connection failed; it is re-established, and notices sent meanwhile are missed. */
  down(err: Error): void;
  /** Where payloads that are not notices are reported (at debug: anyone may NOTIFY). */
  log: { debug(obj: object, msg: string): void };
}

export interface Subscription {
  /** Resolves once the first LISTEN is in place: notices sent from then on are received. */
  ready: Promise<void>;
  close(): Promise<void>;
}

export interface LiveToken {
  jti: string;
  groups: string[];
  expiresAt: Date;
  /** Set for a recently revoked token, kept so a failed login can name why it failed. */
  revokedAt: Date | null;
  storedKey: Buffer;
  serverKey: Buffer;
}

export interface NewToken {
  jti: string;
  username: string;
  groups: string[];
  expiresAt: Date;
  issuedBy: string;
  storedKey: Buffer;
  serverKey: Buffer;
}

export interface TokenRow {
  jti: string;
  username: string;
  groups: string[];
  issuedAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
  revokedReason: string | null;
  issuedBy: string;
}

export interface SigningKeyRow {
  kid: string;
  alg: string;
  publicJwk: Record<string, unknown>;
  privateJwkSealed: Buffer;
}

export interface SessionStart {
  id: string;
  gatewayId: string;
  clientAddr: string;
  clientPort: number | undefined;
  startedAt: Date;
}

export interface SessionReady {
  username: string;
  groups: string[];
  tokenJti: string | null;
  target: string;
  database: string;
  upstreamRole: string;
  applicationName: string | null;
  tlsVersion: string | null;
  tlsCipher: string | null;
  alpn: string | null;
  authMethod: string;
  channelBinding: boolean;
  policyRule: string | null;
  policyVersion: number | null;
  readOnly: boolean;
  readyAt: Date;
  stageMs: Record<string, number>;
}

export interface SessionEnd {
  endedAt: Date;
  endReason: string;
  bytesFromClient: number;
  bytesToClient: number;
  messagesFromClient: number;
  rowsToClient: number;
  statements: number;
  anomalies: number;
  chainHead: string | null;
  chainLength: number;
}

export interface AuthEvent {
  gatewayId: string;
  sessionId: string | null;
  username: string | null;
  clientAddr: string | null;
  method: string | null;
  outcome: 'success' | 'failure';
  reason: string;
}

function openPool(config: pg.ClientConfig, max: number): pg.Pool {
  const pool = new pg.Pool({ ...config, max });
  // A broken idle connection must not take the gateway down; the pool replaces it.
  pool.on('error', () => undefined);
  return pool;
}

/**
 * The control plane: every query pgward runs against its own Postgres is in this class or
 * in a query module next to it (src/store/*-queries.ts); everything else calls methods that
 * return camelCase objects. test/unit/store-boundary.test.ts holds src/ to that.
 */
export class Store {
  private constructor(
    /**
     * Store-internal: the general pool, for this class and the query modules in src/store
     * (and tests' direct assertions). Nothing else in src/ may use it.
     */
    readonly sql: pg.Pool,
    /** Store-internal: the small pool for login lookups (LOGIN_POOL_MAX); see `sql`. */
    readonly loginSql: pg.Pool,
    /** For connections that live outside the pools (LISTEN). */
    private readonly clientConfig: pg.ClientConfig,
  ) {}

  static async open(opts: StoreOptions): Promise<Store> {
    const clientConfig: pg.ClientConfig = {
      connectionString: opts.connectionString,
      ...(opts.ca ? { ssl: { ca: opts.ca, rejectUnauthorized: true } } : {}),
    };
    const store = new Store(
      openPool(clientConfig, opts.max ?? GENERAL_POOL_MAX),
      openPool(clientConfig, LOGIN_POOL_MAX),
      clientConfig,
    );
    try {
      await migrate(store.sql);
    } catch (err) {
      await store.close();
      throw err;
    }
    return store;
  }

  async close(): Promise<void> {
    await Promise.all([this.sql.end(), this.loginSql.end()]);
  }

  /** Returns the user's SCRAM salt, creating the user with `fresh` if new. */
  async ensureUser(name: string, fresh: UserScram): Promise<UserScram> {
    const { rows } = await this.sql.query<{ scram_salt: Buffer; scram_iterations: number }>(
      `insert into users (name, scram_salt, scram_iterations) values ($1, $2, $3)
       on conflict (name) do update set name = excluded.name
       returning scram_salt, scram_iterations`,
      [name, fresh.salt, fresh.iterations],
    );
    const row = rows[0]!;
    return { salt: row.scram_salt, iterations: row.scram_iterations };
  }

  /**
   * One round trip per connect: the salt, every live verifier of the user, and those of
   * tokens revoked or expired in the last week (so the audit can say "revoked" rather than
   * "wrong password"; they never authenticate).
   */
  async scramCredentials(name: string): Promise<{ user: UserScram; tokens: LiveToken[] } | null> {
    const { rows } = await answered(
      this.loginSql.query<{
        scram_salt: Buffer;
        scram_iterations: number;
        jti: string | null;
        groups: string[] | null;
        expires_at: Date | null;
        revoked_at: Date | null;
        stored_key: Buffer | null;
        server_key: Buffer | null;
      }>(
        `select u.scram_salt, u.scram_iterations, t.jti, t.groups, t.expires_at, t.revoked_at, t.stored_key, t.server_key
         from users u
         left join lateral (
           select jti, groups, expires_at, revoked_at, stored_key, server_key
             from tokens
            where username = u.name and expires_at > now() - interval '7 days'
              and (revoked_at is null or revoked_at > now() - interval '7 days')
            order by (revoked_at is null and expires_at > now()) desc, issued_at desc
            limit 64
         ) t on true
        where u.name = $1`,
        [name],
      ),
      'credential',
    );
    const first = rows[0];
    if (!first) return null;
    const tokens: LiveToken[] = [];
    for (const r of rows) {
      if (r.jti && r.stored_key && r.server_key && r.expires_at) {
        tokens.push({
          jti: r.jti,
          groups: r.groups ?? [],
          expiresAt: r.expires_at,
          revokedAt: r.revoked_at,
          storedKey: r.stored_key,
          serverKey: r.server_key,
        });
      }
    }
    return { user: { salt: first.scram_salt, iterations: first.scram_iterations }, tokens };
  }

  async insertToken(t: NewToken): Promise<void> {
    await this.sql.query(
      `insert into tokens (jti, username, groups, expires_at, issued_by, stored_key, server_key)
       values ($1, $2, $3, $4, $5, $6, $7)`,
      [t.jti, t.username, t.groups, t.expiresAt, t.issuedBy, t.storedKey, t.serverKey],
    );
  }

  async token(jti: string): Promise<TokenRow | null> {
    const { rows } = await answered(
      this.loginSql.query<{
        jti: string;
        username: string;
        groups: string[];
        issued_at: Date;
        expires_at: Date;
        revoked_at: Date | null;
        revoked_reason: string | null;
        issued_by: string;
      }>(
        'select jti, username, groups, issued_at, expires_at, revoked_at, revoked_reason, issued_by from tokens where jti = $1',
        [jti],
      ),
      'token',
    );
    const r = rows[0];
    if (!r) return null;
    return {
      jti: r.jti,
      username: r.username,
      groups: r.groups,
      issuedAt: r.issued_at,
      expiresAt: r.expires_at,
      revokedAt: r.revoked_at,
      revokedReason: r.revoked_reason,
      issuedBy: r.issued_by,
    };
  }

  /**
   * Revokes one token. With endSessions the same statement sends a token-revoked notice, so
   * the notice is sent only if the revocation commits.
   */
  async revokeToken(jti: string, reason: string, endSessions = false): Promise<boolean> {
    const notice: Notice = { kind: 'token-revoked', jti };
    const res = await this.sql.query<{ jti: string }>(
      `with r as (update tokens set revoked_at = now(), revoked_reason = $2 where jti = $1 and revoked_at is null returning jti)
       select r.jti, case when $3 then pg_notify($4, $5) end from r`,
      [jti, reason, endSessions, noticeChannel(notice.kind), encodeNotice(notice)],
    );
    return res.rows.length > 0;
  }

  /** Revokes every live token of a user; with endSessions a user-revoked notice is sent if it commits. */
  async revokeUserTokens(username: string, reason: string, endSessions = false): Promise<number> {
    const notice: Notice = { kind: 'user-revoked', user: username };
    const res = await this.sql.query<{ n: string }>(
      `with r as (update tokens set revoked_at = now(), revoked_reason = $2 where username = $1 and revoked_at is null returning jti)
       select count(*) as n, case when $3 then pg_notify($4, $5) end from r`,
      [username, reason, endSessions, noticeChannel(notice.kind), encodeNotice(notice)],
    );
    return Number(res.rows[0]?.n ?? 0);
  }

  /** Sends a notice to every gateway (including this one) that subscribes to its kind. */
  async publish(notice: Notice): Promise<void> {
    await this.sql.query('select pg_notify($1, $2)', [noticeChannel(notice.kind), encodeNotice(notice)]);
  }

  /**
   * Calls handlers.notice for each notice of the given kinds, on a LISTEN connection of its
   * own that is re-established after failures (handlers.down is told, since notices sent
   * while it is down are missed).
   */
  subscribe<K extends NoticeKind>(kinds: readonly K[], handlers: NoticeHandlers<K>): Subscription {
    const channels = new Set(kinds.map(noticeChannel));
    const wanted = new Set<NoticeKind>(kinds);
    const isWanted = (n: Notice): n is NoticeOf<K> => wanted.has(n.kind);
    let client: pg.Client | null = null;
    let closed = false;
    let retry: NodeJS.Timeout | null = null;
    let listening: () => void = () => undefined;
    const ready = new Promise<void>((resolve) => {
      listening = resolve;
    });
    const again = (err: Error): void => {
      handlers.down(err);
      client = null;
      if (!closed && !retry) {
        retry = setTimeout(() => {
          retry = null;
          void connect();
        }, 1_000);
        retry.unref();
      }
    };
    const connect = async (): Promise<void> => {
      const c = new pg.Client(this.clientConfig);
      c.on('error', (err) => {
        void c.end().catch(() => undefined);
        if (client === c) again(err);
      });
      c.on('end', () => {
        if (client === c) again(new Error('LISTEN connection closed'));
      });
      c.on('notification', (n) => {
        if (!channels.has(n.channel) || n.payload === undefined) return;
        const notice = decodeNotice(n.payload);
        if (!notice || noticeChannel(notice.kind) !== n.channel) {
          handlers.log.debug(
            { event: 'notice_dropped', channel: n.channel, bytes: Buffer.byteLength(n.payload) },
            'NOTIFY payload is not a notice',
          );
          return;
        }
        if (isWanted(notice)) handlers.notice(notice);
      });
      try {
        await c.connect();
        for (const channel of channels) await c.query(`listen ${pg.escapeIdentifier(channel)}`);
        if (closed) return void (await c.end());
        client = c;
        listening();
      } catch (err) {
        await c.end().catch(() => undefined);
        again(err as Error);
      }
    };
    void connect();
    return {
      ready,
      close: async () => {
        closed = true;
        if (retry) clearTimeout(retry);
        const c = client;
        client = null;
        await c?.end().catch(() => undefined);
      },
    };
  }

  async activeSigningKey(): Promise<SigningKeyRow | null> {
    const { rows } = await this.sql.query<{
      kid: string;
      alg: string;
      public_jwk: Record<string, unknown>;
      private_jwk_sealed: Buffer;
    }>(
      'select kid, alg, public_jwk, private_jwk_sealed from signing_keys where retired_at is null order by created_at desc limit 1',
    );
    const r = rows[0];
    return r ? { kid: r.kid, alg: r.alg, publicJwk: r.public_jwk, privateJwkSealed: r.private_jwk_sealed } : null;
  }

  /** All keys whose tokens may still be live, for the JWKS. */
  async publicSigningKeys(): Promise<Array<Record<string, unknown>>> {
    const { rows } = await this.sql.query<{ public_jwk: Record<string, unknown> }>(
      `select public_jwk from signing_keys where retired_at is null or retired_at > now() - interval '7 days'`,
    );
    return rows.map((r) => r.public_jwk);
  }

  /**
   * Store-internal: runs fn in one transaction on one connection of the general pool,
   * committed when fn returns (early returns included), rolled back when it throws.
   */
  async transaction<T>(
    fn: (client: pg.PoolClient) => Promise<T>,
    begin: 'begin' | 'begin isolation level repeatable read read only' = 'begin',
  ): Promise<T> {
    const client = await this.sql.connect();
    try {
      await client.query(begin);
      const result = await fn(client);
      await client.query('commit');
      return result;
    } catch (err) {
      await client.query('rollback').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  /** Inserts unless another gateway won the race; returns the key in force either way. */
  async insertSigningKey(key: SigningKeyRow): Promise<SigningKeyRow> {
    await this.transaction(async (client) => {
      await client.query("select pg_advisory_xact_lock(hashtext('pgward.signing_key'))");
      const existing = await client.query<{ kid: string }>(
        'select kid from signing_keys where retired_at is null limit 1',
      );
      if (existing.rowCount === 0) {
        await client.query(
          'insert into signing_keys (kid, alg, public_jwk, private_jwk_sealed) values ($1, $2, $3, $4)',
          [key.kid, key.alg, key.publicJwk, key.privateJwkSealed],
        );
      }
    });
    const active = await this.activeSigningKey();
    if (!active) throw new Error('no signing key after insert');
    return active;
  }

  async putVaultEntry(target: string, role: string, sealed: Buffer, kekId: string): Promise<void> {
    await this.sql.query(
      `insert into vault_entries (target, role, sealed, kek_id) values ($1, $2, $3, $4)
       on conflict (target, role) do update set sealed = excluded.sealed, kek_id = excluded.kek_id, rotated_at = now()`,
      [target, role, sealed, kekId],
    );
  }

  /**
   * Stores the entry unless (target, role) has one already: the first of several gateways
   * to write wins, the others read its entry back. True when this call stored it.
   */
  async putVaultEntryIfAbsent(target: string, role: string, sealed: Buffer, kekId: string): Promise<boolean> {
    const { rowCount } = await this.sql.query(
      `insert into vault_entries (target, role, sealed, kek_id) values ($1, $2, $3, $4)
       on conflict (target, role) do nothing`,
      [target, role, sealed, kekId],
    );
    return rowCount === 1;
  }

  async deleteVaultEntry(target: string, role: string): Promise<boolean> {
    const { rowCount } = await this.sql.query('delete from vault_entries where target = $1 and role = $2', [
      target,
      role,
    ]);
    return rowCount === 1;
  }

  async vaultEntry(target: string, role: string): Promise<{ sealed: Buffer; kekId: string; rotatedAt: Date } | null> {
    const { rows } = await answered(
      this.loginSql.query<{ sealed: Buffer; kek_id: string; rotated_at: Date }>(
        'select sealed, kek_id, rotated_at from vault_entries where target = $1 and role = $2',
        [target, role],
      ),
      'vault',
    );
    const r = rows[0];
    return r ? { sealed: r.sealed, kekId: r.kek_id, rotatedAt: r.rotated_at } : null;
  }

  async listVaultEntries(): Promise<Array<{ target: string; role: string; rotatedAt: Date }>> {
    const { rows } = await this.sql.query<{ target: string; role: string; rotated_at: Date }>(
      'select target, role, rotated_at from vault_entries order by target, role',
    );
    return rows.map((r) => ({ target: r.target, role: r.role, rotatedAt: r.rotated_at }));
  }

  /** One insert per session, once it is ready: the connect path pays no other write. */
  async sessionOpened(s: SessionStart & SessionReady): Promise<void> {
    await this.sql.query(
      `insert into sessions (id, gateway_id, client_addr, client_port, started_at, username, groups, token_jti,
              target, database, upstream_role, application_name, tls_version, tls_cipher, alpn,
              auth_method, channel_binding, ready_at, stage_ms, policy_rule, policy_version, read_only)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)`,
      [
        s.id,
        s.gatewayId,
        s.clientAddr,
        s.clientPort ?? null,
        s.startedAt,
        s.username,
        s.groups,
        s.tokenJti,
        s.target,
        s.database,
        s.upstreamRole,
        s.applicationName,
        s.tlsVersion,
        s.tlsCipher,
        s.alpn,
        s.authMethod,
        s.channelBinding,
        s.readyAt,
        JSON.stringify(s.stageMs),
        s.policyRule,
        s.policyVersion,
        s.readOnly,
      ],
    );
  }

  async sessionEnded(id: string, e: SessionEnd): Promise<void> {
    await this.sql.query(
      `update sessions set ended_at = $2, end_reason = $3, bytes_from_client = $4, bytes_to_client = $5,
              messages_from_client = $6, rows_to_client = $7, statements = $8, anomalies = $9,
              chain_head = $10, chain_length = $11
        where id = $1`,
      [
        id,
        e.endedAt,
        e.endReason,
        e.bytesFromClient,
        e.bytesToClient,
        e.messagesFromClient,
        e.rowsToClient,
        e.statements,
        e.anomalies,
        e.chainHead ? Buffer.from(e.chainHead, 'hex') : null,
        e.chainLength,
      ],
    );
  }

  async recordAuthEvent(e: AuthEvent): Promise<void> {
    await this.sql.query(
      `insert into auth_events (gateway_id, session_id, username, client_addr, method, outcome, reason)
       values ($1, $2, $3, $4, $5, $6, $7)`,
      [e.gatewayId, e.sessionId, e.username, e.clientAddr, e.method, e.outcome, e.reason],
    );
  }
}
