import type { Store } from './store.js';

export type ApiTokenScope = 'admin' | 'auditor';

export interface ApiTokenRow {
  id: string;
  name: string;
  scopes: ApiTokenScope[];
  createdBy: string;
  createdAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
  revokedBy: string | null;
  lastUsedAt: Date | null;
  lastUsedFrom: string | null;
}

interface Row {
  id: string;
  name: string;
  scopes: ApiTokenScope[];
  created_by: string;
  created_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
  revoked_by: string | null;
  last_used_at: Date | null;
  last_used_from: string | null;
}

const COLUMNS =
  'id, name, scopes, created_by, created_at, expires_at, revoked_at, revoked_by, last_used_at, last_used_from';

const fromRow = (r: Row): ApiTokenRow => ({
  id: r.id,
  name: r.name,
  scopes: r.scopes,
  createdBy: r.created_by,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  revokedAt: r.revoked_at,
  revokedBy: r.revoked_by,
  lastUsedAt: r.last_used_at,
  lastUsedFrom: r.last_used_from,
});

/** API tokens (migration 014): only their hashes are stored. */
export class ApiTokenQueries {
  constructor(private readonly store: Store) {}

  /** False when the name is taken. */
  async create(t: {
    id: string;
    name: string;
    scopes: ApiTokenScope[];
    tokenHash: Buffer;
    createdBy: string;
    expiresAt: Date;
  }): Promise<boolean> {
    const { rowCount } = await this.store.sql.query(
      `insert into api_tokens (id, name, scopes, token_hash, created_by, expires_at)
       values ($1, $2, $3, $4, $5, $6) on conflict (name) do nothing`,
      [t.id, t.name, t.scopes, t.tokenHash, t.createdBy, t.expiresAt],
    );
    return rowCount === 1;
  }

  /** The token with this hash if it may be used now (not revoked, not expired). */
  async usable(tokenHash: Buffer): Promise<ApiTokenRow | null> {
    const { rows } = await this.store.sql.query<Row>(
      `select ${COLUMNS} from api_tokens
        where token_hash = $1 and revoked_at is null and expires_at > now()`,
      [tokenHash],
    );
    return rows[0] ? fromRow(rows[0]) : null;
  }

  /** Notes a use; at most once a minute per token, so a busy script does not write per call. */
  async touch(id: string, from: string): Promise<void> {
    await this.store.sql.query(
      `update api_tokens set last_used_at = now(), last_used_from = $2
        where id = $1 and (last_used_at is null or last_used_at < now() - interval '1 minute')`,
      [id, from],
    );
  }

  async list(): Promise<ApiTokenRow[]> {
    const { rows } = await this.store.sql.query<Row>(`select ${COLUMNS} from api_tokens order by created_at desc`);
    return rows.map(fromRow);
  }

  /** Revokes by id or name; null when there is no such token, else the row as it is now. */
  async revoke(idOrName: string, by: string): Promise<ApiTokenRow | null> {
    const { rows } = await this.store.sql.query<Row>(
      `update api_tokens set revoked_at = coalesce(revoked_at, now()), revoked_by = coalesce(revoked_by, $2)
        where name = $1 or id::text = $1
        returning ${COLUMNS}`,
      [idOrName, by],
    );
    return rows[0] ? fromRow(rows[0]) : null;
  }
}
