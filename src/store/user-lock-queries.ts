import type { Store } from './store.js';

export interface UserLock {
  username: string;
  until: Date;
  reason: string;
  by: string;
  at: Date;
}

interface Row {
  username: string;
  locked_until: Date;
  reason: string;
  locked_by: string;
  locked_at: Date;
}

const fromRow = (r: Row): UserLock => ({
  username: r.username,
  until: r.locked_until,
  reason: r.reason,
  by: r.locked_by,
  at: r.locked_at,
});

/** User locks (migration 015). `active` is read at every login, on the login pool. */
export class UserLockQueries {
  constructor(private readonly store: Store) {}

  /** Locks (or re-locks: the new end and reason replace the old) until `until`. */
  async lock(username: string, until: Date, reason: string, by: string): Promise<UserLock> {
    const { rows } = await this.store.sql.query<Row>(
      `insert into user_locks (username, locked_until, reason, locked_by) values ($1, $2, $3, $4)
       on conflict (username) do update
         set locked_until = excluded.locked_until, reason = excluded.reason,
             locked_by = excluded.locked_by, locked_at = now()
       returning *`,
      [username, until, reason, by],
    );
    return fromRow(rows[0]!);
  }

  /** Ends a lock now; false when there was none in force. */
  async unlock(username: string): Promise<boolean> {
    const { rowCount } = await this.store.sql.query(
      'update user_locks set locked_until = now() where username = $1 and locked_until > now()',
      [username],
    );
    return rowCount === 1;
  }

  async active(username: string): Promise<UserLock | null> {
    const { rows } = await this.store.loginSql.query<Row>(
      'select * from user_locks where username = $1 and locked_until > now()',
      [username],
    );
    return rows[0] ? fromRow(rows[0]) : null;
  }

  async listActive(): Promise<UserLock[]> {
    const { rows } = await this.store.sql.query<Row>(
      'select * from user_locks where locked_until > now() order by locked_until',
    );
    return rows.map(fromRow);
  }
}
