import { join } from 'node:path';
import { PostgresCluster } from '../../src/store/postgres-launcher.js';
import type { DevCertificates } from '../../src/tls/dev-ca.js';
import type { RegressTree } from './tree.js';

/** The database pg_regress --use-existing expects to find (it creates none itself). */
export const REGRESS_DB = 'regression';

/**
 * A fresh cluster of the tree's own server, TLS + SCRAM only, configured as pg_regress
 * configures its temporary instance where that changes results (max_prepared_transactions = 2,
 * so prepared_xacts runs its real expected output). Durability is off: results do not depend on it.
 */
export async function startRegressServer(
  tree: RegressTree,
  dataDir: string,
  certs: DevCertificates,
  superuserPassword: string,
): Promise<PostgresCluster> {
  return PostgresCluster.start({
    dataDir,
    superuserPassword,
    binaries: { binDir: tree.binDir, version: 15, source: 'debian' },
    tls: { certPath: certs.certPath, keyPath: certs.keyPath, caPath: certs.caCertPath },
    settings: {
      max_prepared_transactions: '2',
      max_connections: '200',
      fsync: 'off',
      synchronous_commit: 'off',
      full_page_writes: 'off',
    },
  });
}

/** What pg_regress's create_database() would do without --use-existing (src/test/regress/pg_regress.c). */
export async function createRegressionDatabase(cluster: PostgresCluster): Promise<void> {
  await cluster.query(`CREATE DATABASE "${REGRESS_DB}" TEMPLATE=template0`);
  for (const [name, value] of [
    ['lc_messages', 'C'],
    ['lc_monetary', 'C'],
    ['lc_numeric', 'C'],
    ['lc_time', 'C'],
    ['bytea_output', 'hex'],
    ['timezone_abbreviations', 'Default'],
  ]) {
    await cluster.query(`ALTER DATABASE "${REGRESS_DB}" SET ${name} TO '${value}'`);
  }
}

/** Server-wide state a run left behind: a run through pgward should leave what a direct run leaves. */
export interface Leftovers {
  preparedTransactions: string[];
  roles: string[];
  databases: string[];
  tablespaces: string[];
}

export async function leftovers(cluster: PostgresCluster, known: { databases: string[] }): Promise<Leftovers> {
  const col = async (sql: string): Promise<string[]> =>
    (await cluster.query(sql)).rows.map((r: Record<string, unknown>) => String(Object.values(r)[0]));
  const skip = ['postgres', 'template0', 'template1', REGRESS_DB, ...known.databases]
    .map((d) => `'${d.replace(/'/g, "''")}'`)
    .join(',');
  return {
    preparedTransactions: await col(
      "select gid || ' (database ' || database || ', owner ' || owner || ')' from pg_prepared_xacts order by 1",
    ),
    roles: await col(
      "select rolname from pg_roles where rolname not like 'pg\\_%' and rolname <> current_user order by 1",
    ),
    databases: await col(`select datname from pg_database where datname not in (${skip}) order by 1`),
    tablespaces: await col(
      "select spcname from pg_tablespace where spcname not in ('pg_default', 'pg_global') order by 1",
    ),
  };
}

export function regressDataDir(workDir: string, run: string): string {
  return join(workDir, `pg-${run}`);
}
