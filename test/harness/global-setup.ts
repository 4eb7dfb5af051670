import { execFile } from 'node:child_process';
import { access, constants, mkdtemp, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { PostgresCluster } from '../../src/store/postgres-launcher.js';
import { ensureDevCertificates } from '../../src/tls/dev-ca.js';
import type { ClusterInfo } from './gateway.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pgCluster: ClusterInfo;
  }
}

/** Debian's JDBC driver, as the client matrix runs it. */
export const JDBC_JAR = '/usr/share/java/postgresql.jar';
/** Debian's Python (pyenv or venv pythons on PATH lack the Debian client modules). */
export const SYSTEM_PYTHON = '/usr/bin/python3';

/** One thing the tests run, and the Debian packages that provide it. */
interface Prerequisite {
  packages: string[];
  present(): Promise<boolean>;
}

const runs = (cmd: string, args: string[]): Promise<boolean> =>
  new Promise((resolve) => {
    execFile(cmd, args, { timeout: 15_000 }, (err) => resolve(err === null));
  });
const executable = (path: string): Promise<boolean> =>
  access(path, constants.X_OK).then(
    () => true,
    () => false,
  );
const readable = (path: string): Promise<boolean> =>
  access(path, constants.R_OK).then(
    () => true,
    () => false,
  );

const PREREQUISITES: Prerequisite[] = [
  // Debian 12 ships pgbench in the server package.
  {
    packages: ['postgresql-15'],
    present: async () =>
      (await executable('/usr/lib/postgresql/15/bin/postgres')) &&
      (await executable('/usr/lib/postgresql/15/bin/pgbench')),
  },
  // Debian's wrappers in /usr/bin exist with postgresql-client-common alone; --version proves a real client behind them.
  {
    packages: ['postgresql-client-15'],
    present: async () =>
      (await runs('psql', ['--version'])) &&
      (await runs('pg_dump', ['--version'])) &&
      (await runs('pg_restore', ['--version'])),
  },
  {
    packages: ['chromium', 'fonts-liberation'],
    present: () => executable(process.env['PGWARD_CHROMIUM'] ?? '/usr/bin/chromium'),
  },
  { packages: ['haproxy'], present: () => executable('/usr/sbin/haproxy') },
  { packages: ['docker-compose'], present: () => runs('docker-compose', ['--version']) },
  // Single-file source launch (java Foo.java) needs the compiler module of a JDK, not just a JRE.
  { packages: ['default-jdk-headless'], present: () => runs('javac', ['-version']) },
  { packages: ['libpostgresql-jdbc-java'], present: () => readable(JDBC_JAR) },
  { packages: ['python3-asyncpg'], present: () => runs(SYSTEM_PYTHON, ['-c', 'import asyncpg']) },
  { packages: ['python3-psycopg'], present: () => runs(SYSTEM_PYTHON, ['-c', 'import psycopg']) },
];

/** Throws one line naming every missing Debian package, before anything starts. */
export async function checkPrerequisites(): Promise<void> {
  const present = await Promise.all(PREREQUISITES.map((p) => p.present()));
  const missing = [...new Set(PREREQUISITES.filter((_, i) => !present[i]).flatMap((p) => p.packages))];
  if (missing.length > 0) {
    const err = new Error(
      `the tests need system packages that are missing; as root run: apt-get install -y ${missing.join(' ')}`,
    );
    err.stack = `Error: ${err.message}`; // the line to act on, not a code frame
    throw err;
  }
}

/** One real PostgreSQL (TLS on, SCRAM only) for the whole run; each test file makes its own databases in it. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  await checkPrerequisites();
  const dir = await mkdtemp(join(tmpdir(), 'pgward-test-'));
  const certs = await ensureDevCertificates(join(dir, 'certs'));
  const cluster = await PostgresCluster.start({
    dataDir: join(dir, 'pg'),
    superuserPassword: randomBytes(16).toString('hex'),
    tls: { certPath: certs.certPath, keyPath: certs.keyPath, caPath: certs.caCertPath },
    settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', max_connections: '300' },
  });
  project.provide('pgCluster', {
    host: cluster.host,
    port: cluster.port,
    superuser: cluster.superuser,
    superuserPassword: cluster.superuserPassword,
    caPath: certs.caCertPath,
    certPath: certs.certPath,
    keyPath: certs.keyPath,
  });
  return async () => {
    await cluster.destroy();
    await rm(dir, { recursive: true, force: true });
  };
}
