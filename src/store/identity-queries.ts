import { encodeNotice, noticeChannel, type Notice } from './notices.js';
import type { Store } from './store.js';

export interface LoginLinkRow {
  username: string;
  clientAddr: string | null;
  database: string | null;
  createdAt: Date;
  expiresAt: Date;
  approvedAt: Date | null;
  approvedGroups: string[] | null;
  refusedAt: Date | null;
  usedAt: Date | null;
  /** When a signed-in person first opened the link's page (null: not yet, or never told). */
  openedAt?: Date | null;
}

interface LoginLinkDbRow {
  username: string;
  client_addr: string | null;
  database: string | null;
  created_at: Date;
  expires_at: Date;
  approved_at: Date | null;
  approved_groups: string[] | null;
  refused_at: Date | null;
  used_at: Date | null;
  opened_at: Date | null;
}

function linkRow(r: LoginLinkDbRow): LoginLinkRow {
  return {
    username: r.username,
    clientAddr: r.client_addr,
    database: r.database,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    approvedAt: r.approved_at,
    approvedGroups: r.approved_groups,
    refusedAt: r.refused_at,
    usedAt: r.used_at,
    openedAt: r.opened_at,
  };
}

/** The notice a link's change sends, as pg_notify arguments (channel, payload). */
function linkNotice(idHash: Buffer, state: 'opened' | 'decided'): [string, string] {
  const notice: Notice = { kind: 'link-changed', link: idHash.toString('hex'), state };
  return [noticeChannel(notice.kind), encodeNotice(notice)];
}

export interface CliGrantRow {
  kind: 'loopback' | 'device';
  userCode: string | null;
  expiresAt: Date;
  approvedUser: string | null;
  approvedGroups: string[] | null;
  tokenSealed: Buffer | null;
  redeemedAt: Date | null;
}

/**
 * Queries behind link login and CLI sign-in; every secret arrives here already hashed or
 * sealed. What a waiting link login polls (createLink, link, useLink) goes through the
 * login pool, so audit writes cannot delay it.
 */
export class IdentityQueries {
  constructor(private readonly store: Store) {}

  async createLink(l: {
    idHash: Buffer;
    username: string;
    clientAddr: string;
    database: string;
    gatewayId: string;
    expiresAt: Date;
  }): Promise<void> {
    await this.store.loginSql.query(
      'insert into login_links (id_hash, username, client_addr, database, gateway_id, expires_at) values ($1, $2, $3, $4, $5, $6)',
      [l.idHash, l.username, l.clientAddr, l.database, l.gatewayId, l.expiresAt],
    );
  }

  async link(idHash: Buffer): Promise<LoginLinkRow | null> {
    const { rows } = await this.store.loginSql.query<LoginLinkDbRow>('select * from login_links where id_hash = $1', [
      idHash,
    ]);
    return rows[0] ? linkRow(rows[0]) : null;
  }

  /**
   * The console shows the link's page to a signed-in person: the first time, while the link
   * is live and undecided, it is marked opened and the waiting gateway told (in the same
   * statement), so that connection may wait the link's lifetime rather than the normal
   * authentication timeout. Returns the link as `link()` does.
   */
  async openLink(idHash: Buffer): Promise<LoginLinkRow | null> {
    const { rows } = await this.store.sql.query<LoginLinkDbRow>(
      `with o as (update login_links set opened_at = now()
                   where id_hash = $1 and opened_at is null and approved_at is null and refused_at is null
                     and expires_at > now()
                  returning *)
       select o.*, pg_notify($2, $3) from o`,
      [idHash, ...linkNotice(idHash, 'opened')],
    );
    return rows[0] ? linkRow(rows[0]) : this.link(idHash);
  }

  /**
   * Approve or refuse once, only while the link is live and undecided. The same statement
   * tells the waiting gateway (LISTEN pgward_links), so the notice exists only if the
   * decision commits.
   */
  async decideLink(
    idHash: Buffer,
    decision: { approve: true; groups: string[] } | { approve: false },
  ): Promise<boolean> {
    const [channel, payload] = linkNotice(idHash, 'decided');
    const res = decision.approve
      ? await this.store.sql.query(
          `with d as (update login_links set approved_at = now(), approved_groups = $2
                       where id_hash = $1 and approved_at is null and refused_at is null and expires_at > now()
                      returning 1)
           select pg_notify($3, $4) from d`,
          [idHash, decision.groups, channel, payload],
        )
      : await this.store.sql.query(
          `with d as (update login_links set refused_at = now()
                       where id_hash = $1 and approved_at is null and refused_at is null and expires_at > now()
                      returning 1)
           select pg_notify($2, $3) from d`,
          [idHash, channel, payload],
        );
    return res.rows.length > 0;
  }

  /** The waiting connection takes the approval exactly once. */
  async useLink(idHash: Buffer): Promise<boolean> {
    const res = await this.store.loginSql.query(
      'update login_links set used_at = now() where id_hash = $1 and approved_at is not null and used_at is null',
      [idHash],
    );
    return (res.rowCount ?? 0) > 0;
  }

  /**
   * Revokes every live token of a user and records the instant, so that JWTs of external
   * issuers (which no token row backs) issued until then are refused too; with endSessions a
   * user-revoked notice goes out, in the same statement, only if it all commits. Returns how
   * many gateway tokens were revoked.
   */
  async revokeUser(username: string, reason: string, endSessions: boolean): Promise<number> {
    const notice: Notice = { kind: 'user-revoked', user: username };
    const { rows } = await this.store.sql.query<{ n: string }>(
      `with rv as (insert into user_revocations (username, revoked_at, reason) values ($1, now(), $2)
                   on conflict (username) do update set revoked_at = excluded.revoked_at, reason = excluded.reason
                   returning 1),
            r as (update tokens set revoked_at = now(), revoked_reason = $2
                   where username = $1 and revoked_at is null returning jti)
       select (select count(*) from r) as n, case when $3 then pg_notify($4, $5) end from rv`,
      [username, reason, endSessions, noticeChannel(notice.kind), encodeNotice(notice)],
    );
    return Number(rows[0]?.n ?? 0);
  }

  /** When the user was last revoked as a whole (null: never); read at each workload-JWT login. */
  async userRevokedAt(username: string): Promise<Date | null> {
    const { rows } = await this.store.loginSql.query<{ revoked_at: Date }>(
      'select revoked_at from user_revocations where username = $1',
      [username],
    );
    return rows[0]?.revoked_at ?? null;
  }

  async createCliGrant(g: {
    codeHash: Buffer;
    kind: 'loopback' | 'device';
    userCode: string | null;
    expiresAt: Date;
    approvedUser?: string;
    approvedGroups?: string[];
    tokenSealed?: Buffer;
  }): Promise<void> {
    await this.store.sql.query(
      `insert into cli_grants (code_hash, kind, user_code, expires_at, approved_user, approved_groups, token_sealed)
       values ($1, $2, $3, $4, $5, $6, $7)`,
      [
        g.codeHash,
        g.kind,
        g.userCode,
        g.expiresAt,
        g.approvedUser ?? null,
        g.approvedGroups ?? null,
        g.tokenSealed ?? null,
      ],
    );
  }

  async cliGrantByUserCode(userCode: string): Promise<(CliGrantRow & { codeHash: Buffer }) | null> {
    const { rows } = await this.store.sql.query<{ code_hash: Buffer }>(
      'select code_hash from cli_grants where user_code = $1',
      [userCode],
    );
    const row = rows[0];
    if (!row) return null;
    const g = await this.cliGrant(row.code_hash);
    return g ? { ...g, codeHash: row.code_hash } : null;
  }

  async cliGrant(codeHash: Buffer): Promise<CliGrantRow | null> {
    const { rows } = await this.store.sql.query<{
      kind: 'loopback' | 'device';
      user_code: string | null;
      expires_at: Date;
      approved_user: string | null;
      approved_groups: string[] | null;
      token_sealed: Buffer | null;
      redeemed_at: Date | null;
    }>(
      'select kind, user_code, expires_at, approved_user, approved_groups, token_sealed, redeemed_at from cli_grants where code_hash = $1',
      [codeHash],
    );
    const r = rows[0];
    if (!r) return null;
    return {
      kind: r.kind,
      userCode: r.user_code,
      expiresAt: r.expires_at,
      approvedUser: r.approved_user,
      approvedGroups: r.approved_groups,
      tokenSealed: r.token_sealed,
      redeemedAt: r.redeemed_at,
    };
  }

  async approveDeviceGrant(codeHash: Buffer, user: string, groups: string[], tokenSealed: Buffer): Promise<boolean> {
    const res = await this.store.sql.query(
      `update cli_grants set approved_user = $2, approved_groups = $3, token_sealed = $4
        where code_hash = $1 and kind = 'device' and approved_user is null and expires_at > now()`,
      [codeHash, user, groups, tokenSealed],
    );
    return (res.rowCount ?? 0) > 0;
  }

  /** Hands the sealed token out once and forgets it; a second redemption gets nothing. */
  async redeemCliGrant(codeHash: Buffer): Promise<{ tokenSealed: Buffer; user: string } | null> {
    const { rows } = await this.store.sql.query<{ token_sealed: Buffer; approved_user: string }>(
      `with g as (
         select code_hash, token_sealed, approved_user from cli_grants
          where code_hash = $1 and redeemed_at is null and token_sealed is not null and expires_at > now()
          for update)
       update cli_grants c set redeemed_at = now(), token_sealed = null
         from g where c.code_hash = g.code_hash
       returning g.token_sealed, g.approved_user`,
      [codeHash],
    );
    const r = rows[0];
    return r ? { tokenSealed: r.token_sealed, user: r.approved_user } : null;
  }
}
