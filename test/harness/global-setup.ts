import { mkdtemp, rm } from 'node:fs/promises';
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

/** One real PostgreSQL (TLS on, SCRAM only) for the whole run; each test file makes its own databases in it. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
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
