import { expect } from 'vitest';
import { eventually } from './eventually.js';
import { superuserQuery, type ClusterInfo } from './gateway.js';

/** How many backends of the shared cluster are running exactly this statement text now. */
export async function runningCount(cluster: ClusterInfo, sql: string): Promise<number> {
  const { rows } = await superuserQuery(
    cluster,
    `select count(*)::int as n from pg_stat_activity where query = $1 and state = 'active'`,
    'postgres',
    [sql],
  );
  return (rows[0] as { n: number }).n;
}

/** Waits until the upstream runs this statement, so that a cancel or a kill has something to hit. */
export async function untilRunning(cluster: ClusterInfo, sql: string): Promise<void> {
  await eventually(async () => expect(await runningCount(cluster, sql), `backends running ${JSON.stringify(sql)}`).toBeGreaterThan(0));
}
