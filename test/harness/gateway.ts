import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pg from 'pg';
import { createGateway, openControlPlane, type ControlPlane } from '../../src/cli/control-plane.js';
import { planConsole, startWebConsole, type WebConsole } from '../../src/cli/web-console.js';
import { parseConfig } from '../../src/config/load.js';
import type { ConfigInput, GatewayConfig } from '../../src/config/schema.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { PolicyRuntime } from '../../src/gateway/policy-runtime.js';
import { loadServerTls } from '../../src/gateway/server-tls.js';
import { createLogger } from '../../src/util/logger.js';
import type { ConnTarget } from './clients.js';

/** Connection facts of the cluster that the global setup started. */
export interface ClusterInfo {
  host: string;
  port: number;
  superuser: string;
  superuserPassword: string;
  caPath: string;
  certPath: string;
  keyPath: string;
}

export async function superuserQuery(
  c: ClusterInfo,
  sql: string,
  database = 'postgres',
  values: unknown[] = [],
): Promise<pg.QueryResult> {
  const client = new pg.Client({
    host: c.host,
    port: c.port,
    user: c.superuser,
    password: c.superuserPassword,
    database,
    ssl: { ca: await readFile(c.caPath, 'utf8'), servername: 'localhost' },
  });
  await client.connect();
  try {
    return await client.query(sql, values);
  } finally {
    await client.end();
  }
}

export interface TestGateway extends ConnTarget {
  gateway: Gateway;
  cp: ControlPlane;
  config: GatewayConfig;
  /** The client-facing database name that routes to this gateway's upstream. */
  database: string;
  upstreamDatabase: string;
  upstreamRole: string;
  /** Every log line the gateway wrote (to check that no secret ever appears). */
  logs: string[];
  /** The web console with the development IdP, when asked for. */
  web: WebConsole | null;
  /** The watched policy directory (edit files here to exercise hot reload). */
  policyDir: string;
  policy: PolicyRuntime;
  storeUrl: string;
  vaultKeyFile: string;
  /** The upstream role's password (only the vault should hold it; tests look for leaks). */
  upstreamPassword: string;
  issue(user: string, opts?: { groups?: string[]; ttl?: string }): Promise<{ token: string; jti: string }>;
  close(): Promise<void>;
}

/** Lets everyone in to every target: for tests about something other than policy. */
export const EVERYONE_POLICY = `rules:
  - name: everyone
    effect: allow
    subjects: { users: ['*'] }
    targets: ['*']
    tls: { required: false }
`;

/**
 * A gateway in this process with its own control-plane database and its own upstream
 * database and role in the shared test cluster; the role's password exists only in the vault.
 */
export async function startTestGateway(
  cluster: ClusterInfo,
  overrides: Partial<ConfigInput> = {},
  /** share: a second gateway on the same control plane and upstream (several gateways behind a balancer). */
  opts: { web?: boolean; policies?: Record<string, string>; extraTargets?: string[]; share?: TestGateway } = {},
): Promise<TestGateway> {
  const sfx = randomBytes(4).toString('hex');
  const share = opts.share;
  const cpDb = share ? share.storeUrl.split('/').pop()! : `pgward_cp_${sfx}`;
  const role = share ? share.upstreamRole : `app_${sfx}`;
  const upstreamDb = share ? share.upstreamDatabase : `app_${sfx}`;
  const rolePassword = share ? share.upstreamPassword : randomBytes(18).toString('hex');
  if (!share) {
    await superuserQuery(cluster, `create database ${cpDb}`);
    await superuserQuery(cluster, `create role ${role} login password '${rolePassword}'`);
    await superuserQuery(cluster, `create database ${upstreamDb} owner ${role}`);
  }

  const dir = await mkdtemp(join(tmpdir(), 'pgward-gw-'));
  if (share) {
    const { copyFile } = await import('node:fs/promises');
    await copyFile(share.vaultKeyFile, join(dir, 'vault.key'));
  }
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  const config = parseConfig({
    gatewayId: `test-${sfx}`,
    listen: { host: '127.0.0.1', port: 0 },
    tls: { certFile: cluster.certPath, keyFile: cluster.keyPath },
    vault: { keyEnv: `PGWARD_TEST_NO_KEY_${sfx}`, keyFile: join(dir, 'vault.key') },
    targets: {
      app: {
        host: cluster.host,
        port: cluster.port,
        database: upstreamDb,
        role,
        tls: { mode: 'verify-full', caFile: cluster.caPath, serverName: 'localhost' },
      },
    },
    log: { level: 'debug' },
    web: { host: '127.0.0.1', port: 0 },
    audit: { spoolDir: join(dir, 'spool') },
    ...overrides,
  });
  // Other names for the same upstream, for tests about which names a grant covers.
  for (const name of opts.extraTargets ?? []) config.targets[name] = { ...config.targets['app']! };
  const storeUrl = `postgresql://${cluster.superuser}:${encodeURIComponent(cluster.superuserPassword)}@${cluster.host}:${cluster.port}/${cpDb}`;
  config.store.caFile = cluster.caPath;
  const cp = await openControlPlane(config, { storeUrl, createVaultKey: !share });
  if (!share) await cp.vault.set('app', role, rolePassword);
  for (const name of opts.extraTargets ?? []) await cp.vault.set(name, role, rolePassword);
  const tls = await loadServerTls({
    certPath: cluster.certPath,
    keyPath: cluster.keyPath,
    caPath: cluster.caPath,
    minVersion: 'TLSv1.2',
  });
  const log = createLogger('debug', sink);
  const plan = opts.web ? await planConsole(config) : null;
  const policyDir = join(dir, 'policies');
  await mkdir(policyDir);
  for (const [name, text] of Object.entries(opts.policies ?? { 'everyone.yaml': EVERYONE_POLICY }))
    await writeFile(join(policyDir, name), text);
  const policy = await PolicyRuntime.start({ store: cp.store, log, dir: policyDir });
  const gateway = await createGateway(cp, { config, log, tls, policy, consoleUrl: plan?.publicUrl });
  const addr = await gateway.listen('127.0.0.1', 0);
  const web = plan
    ? await startWebConsole({
        plan,
        config,
        cp,
        log,
        pg: { host: 'localhost', port: addr.port, caPath: cluster.caPath },
        devIdp: true,
        policy,
        gateway,
      })
    : null;
  return {
    host: '127.0.0.1',
    port: addr.port,
    caPath: cluster.caPath,
    gateway,
    cp,
    config,
    database: 'app',
    upstreamDatabase: upstreamDb,
    upstreamRole: role,
    logs,
    web,
    policyDir,
    policy,
    storeUrl,
    vaultKeyFile: join(dir, 'vault.key'),
    upstreamPassword: rolePassword,
    issue: async (user, o = {}) => {
      const t = await cp.tokens.issue({ user, groups: o.groups ?? [], ttl: o.ttl, issuedBy: 'test' });
      return { token: t.token, jti: t.jti };
    },
    close: async () => {
      await gateway.close(2_000);
      await web?.close();
      await policy.close();
      await cp.close();
    },
  };
}

/** The audit reason of a user's newest failed login (after the gateway's pending writes land). */
export async function lastAuthFailure(gw: TestGateway, user: string): Promise<string | null> {
  await gw.gateway.settled();
  const { rows } = await gw.cp.store.sql.query<{ reason: string }>(
    `select reason from auth_events where username = $1 and outcome = 'failure' order by id desc limit 1`,
    [user],
  );
  return rows[0]?.reason ?? null;
}
