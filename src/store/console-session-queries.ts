import type { Store } from './store.js';

export interface NewConsoleSession {
  idHash: Buffer;
  username: string;
  email: string | null;
  groups: string[];
  tokenJti: string;
  csrf: string;
  expiresAt: Date;
}

/** A console session that is live now (not ended, not expired, its token neither revoked nor expired). */
export interface LiveConsoleSession {
  username: string;
  email: string | null;
  groups: string[];
  groupsReadAt: Date;
  tokenJti: string;
  csrf: string;
  expiresAt: Date;
}

/**
 * Console sessions held on the server (migration 007). The id arrives already hashed; the
 * token is never here. `live` is the one question every console request asks, so it is one
 * indexed lookup that also reads the token's revocation: revoking the token (sign-out,
 * `pgward token revoke`, the console, the detector) ends the console session with it.
 */
export class ConsoleSessionQueries {
  constructor(private readonly store: Store) {}

  async create(s: NewConsoleSession): Promise<void> {
    await this.store.sql.query(
      `insert into console_sessions (id_hash, username, email, groups, token_jti, csrf, expires_at)
       values ($1, $2, $3, $4, $5, $6, $7)`,
      [s.idHash, s.username, s.email, s.groups, s.tokenJti, s.csrf, s.expiresAt],
    );
  }

  async live(idHash: Buffer): Promise<LiveConsoleSession | null> {
    const { rows } = await this.store.sql.query<{
      username: string;
      email: string | null;
      groups: string[];
      groups_read_at: Date;
      token_jti: string;
      csrf: string;
      expires_at: Date;
    }>(
      `select c.username, c.email, c.groups, c.groups_read_at, c.token_jti, c.csrf, least(c.expires_at, t.expires_at) as expires_at
         from console_sessions c join tokens t on t.jti = c.token_jti
        where c.id_hash = $1 and c.ended_at is null and c.expires_at > now()
          and t.revoked_at is null and t.expires_at > now()`,
      [idHash],
    );
    const r = rows[0];
    if (!r) return null;
    return {
      username: r.username,
      email: r.email,
      groups: r.groups,
      groupsReadAt: r.groups_read_at,
      tokenJti: r.token_jti,
      csrf: r.csrf,
      expiresAt: r.expires_at,
    };
  }

  /** Ends a session once; false when it had already ended. */
  async end(idHash: Buffer, reason: string): Promise<boolean> {
    const res = await this.store.sql.query(
      'update console_sessions set ended_at = now(), ended_reason = $2 where id_hash = $1 and ended_at is null',
      [idHash, reason],
    );
    return (res.rowCount ?? 0) > 0;
  }

  /**
   * A new sign-in that read the same groups from the identity provider: the session's roles
   * are confirmed again from now. False when the groups differ or the session is not live.
   */
  async confirmGroups(idHash: Buffer, groups: string[]): Promise<boolean> {
    const res = await this.store.sql.query(
      `update console_sessions set groups_read_at = now()
        where id_hash = $1 and ended_at is null and expires_at > now() and groups = $2::text[]`,
      [idHash, groups],
    );
    return (res.rowCount ?? 0) > 0;
  }

  /** Forgets sessions that ended or expired more than a week ago; returns how many. */
  async purge(): Promise<number> {
    const res = await this.store.sql.query(
      `delete from console_sessions
        where expires_at < now() - interval '7 days' or ended_at < now() - interval '7 days'`,
    );
    return res.rowCount ?? 0;
  }
}
