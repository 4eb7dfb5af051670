import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createGateway, openControlPlane } from '../../src/cli/control-plane.js';
import { parseConfig } from '../../src/config/load.js';
import { PolicyRuntime } from '../../src/gateway/policy-runtime.js';
import { loadServerTls } from '../../src/gateway/server-tls.js';
import type { PostgresCluster } from '../../src/store/postgres-launcher.js';
import type { DevCertificates } from '../../src/tls/dev-ca.js';
import { createLogger } from '../../src/util/logger.js';
import { REGRESS_DB } from './server.js';

/** The pgward user pg_regress signs in as (a token is its PGPASSWORD). */
export const REGRESS_USER = 'regress';
/** The control plane lives in the same cluster, as in the bench; the suite never looks at it. */
export const CONTROL_PLANE_DB = 'pgward_cp';

/**
 * The grant: the suite's user on the regression database as the cluster's superuser (the
 * role a direct run uses), TLS required, and a detector profile that only logs, so that any
 * difference from a direct run comes from the relay and pool, not from a policy refusing DDL.
 * pg_regress's startup settings (PGTZ, PGDATESTYLE, PGOPTIONS='-c intervalstyle=...',
 * application_name, client_encoding) are in every grant's baseline; they are named here too
 * so the grant keeps allowing them if the baseline narrows.
 */
export const REGRESS_POLICY = `profiles:
  regress-log-only:
    risks: { '*': log }
    anomalies: { '*': log }
rules:
  - name: regress
    description: PostgreSQL's regression suite through pgward, as the cluster superuser
    effect: allow
    subjects: { users: [${REGRESS_USER}] }
    targets: [${REGRESS_DB}]
    params:
      timezone: '*'
      datestyle: '*'
      intervalstyle: '*'
      application_name: '*'
      client_encoding: '*'
    tls: { required: true }
    session: { detector: regress-log-only }
`;

export interface RegressGateway {
  host: string;
  port: number;
  user: string;
  /** The token pg_regress sends as PGPASSWORD. */
  token: string;
  close(): Promise<void>;
}

/** A pgward gateway in this process in front of the cluster; `pool` false sets targets.regression.pool.enabled false. */
export async function startRegressGateway(
  cluster: PostgresCluster,
  certs: DevCertificates,
  o: { dir: string; pool: boolean; logFile: string },
): Promise<RegressGateway> {
  await mkdir(o.dir, { recursive: true });
  await cluster.query(`create database ${CONTROL_PLANE_DB}`);
  const config = parseConfig({
    gatewayId: `regress-pool-${o.pool ? 'on' : 'off'}`,
    listen: { host: '127.0.0.1', port: 0 },
    tls: { certFile: certs.certPath, keyFile: certs.keyPath },
    vault: { keyFile: join(o.dir, 'vault.key') },
    targets: {
      [REGRESS_DB]: {
        host: cluster.host,
        port: cluster.port,
        database: REGRESS_DB,
        role: cluster.superuser,
        tls: { mode: 'verify-full', caFile: certs.caCertPath },
        ...(o.pool ? {} : { pool: { enabled: false } }),
      },
    },
    audit: { spoolDir: join(o.dir, 'spool') },
    log: { level: 'info' },
  });
  config.store.caFile = certs.caCertPath;
  const logStream = createWriteStream(o.logFile, { flags: 'a' });
  const log = createLogger('info', logStream);
  const cp = await openControlPlane(config, {
    storeUrl: cluster.connectionString(CONTROL_PLANE_DB),
    createVaultKey: true,
  });
  await cp.vault.set(REGRESS_DB, cluster.superuser, cluster.superuserPassword);
  const policyDir = join(o.dir, 'policies');
  await mkdir(policyDir, { recursive: true });
  await writeFile(join(policyDir, 'regress.yaml'), REGRESS_POLICY);
  const policy = await PolicyRuntime.start({ store: cp.store, log, dir: policyDir, watch: false });
  const tls = await loadServerTls({
    certPath: certs.certPath,
    keyPath: certs.keyPath,
    caPath: certs.caCertPath,
    minVersion: 'TLSv1.2',
  });
  const gateway = await createGateway(cp, { config, log, tls, policy });
  const addr = await gateway.listen('127.0.0.1', 0);
  const token = (await cp.tokens.issue({ user: REGRESS_USER, groups: [], ttl: '4h', issuedBy: 'regress' })).token;
  return {
    host: '127.0.0.1',
    port: addr.port,
    user: REGRESS_USER,
    token,
    close: async () => {
      await gateway.close(2_000);
      await policy.close();
      await cp.close();
      await new Promise<void>((r) => logStream.end(r));
    },
  };
}
