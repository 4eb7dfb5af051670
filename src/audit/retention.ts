import type { Store } from '../store/store.js';

/**
 * Deletes session events older than the cutoff, in batches, and records the deletion
 * itself as an admin event (who, when, the cutoff, how many), so a gap is explained.
 */
export async function applyRetention(store: Store, cutoff: Date, actor: string): Promise<number> {
  let deleted = 0;
  for (;;) {
    const res = await store.pool.query(
      `delete from session_events where ctid in (select ctid from session_events where at < $1 limit 10000)`,
      [cutoff],
    );
    deleted += res.rowCount ?? 0;
    if ((res.rowCount ?? 0) < 10_000) break;
  }
  await store.pool.query(`insert into admin_events (actor, action, detail) values ($1, 'retention', $2)`, [
    actor,
    JSON.stringify({ before: cutoff.toISOString(), deletedEvents: deleted }),
  ]);
  return deleted;
}
