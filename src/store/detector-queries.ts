import type { Store } from './store.js';

/** Baselines and anomalies: the detector's memory in the control plane. */
export class DetectorQueries {
  constructor(private readonly store: Store) {}

  async baseline(user: string): Promise<unknown | null> {
    const { rows } = await this.store.sql.query<{ state: unknown }>('select state from baselines where username = $1', [
      user,
    ]);
    return rows[0]?.state ?? null;
  }

  async saveBaseline(user: string, state: unknown): Promise<void> {
    await this.store.sql.query(
      `insert into baselines (username, state) values ($1, $2)
       on conflict (username) do update set state = excluded.state, updated_at = now()`,
      [user, JSON.stringify(state)],
    );
  }

  async insertAnomaly(a: {
    sessionId: string;
    username: string | null;
    kind: string;
    severity: string;
    action: string;
    detail: unknown;
  }): Promise<void> {
    await this.store.sql.query(
      'insert into anomalies (session_id, username, kind, severity, action, detail) values ($1, $2, $3, $4, $5, $6)',
      [a.sessionId, a.username, a.kind, a.severity, a.action, JSON.stringify(a.detail)],
    );
  }
}
