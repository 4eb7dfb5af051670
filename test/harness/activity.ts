import { expect } from 'vitest';
import { eventually } from './eventually.js';
import { superuserQuery, type ClusterInfo } from './gateway.js';

/**
 * How many backends of the shared cluster are running exactly this statement text now; with
 * a role, only that role's (other test files run the same statements on the same cluster).
 */
export async function runningCount(cluster: ClusterInfo, sql: string, role?: string): Promise<number> {
  const { rows } = await superuserQuery(
    cluster,
    `select count(*)::int as n from pg_stat_activity where query = $1 and state = 'active' and ($2::text is null or usename = $2)`,
    'postgres',
    [sql, role ?? null],
  );
  return (rows[0] as { n: number }).n;
}

/** Waits until the upstream runs this statement, so that a cancel or a kill has something to hit. */
export async function untilRunning(cluster: ClusterInfo, sql: string, role?: string): Promise<void> {
  await eventually(async () =>
    expect(await runningCount(cluster, sql, role), `backends running ${JSON.stringify(sql)}`).toBeGreaterThan(0),
  );
}

/** Resolves once the wall clock has passed this instant (a token's expiry, say). */
export async function pastInstant(at: Date, marginMs = 50): Promise<void> {
  const wait = at.getTime() + marginMs - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}
