import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createGateway, openControlPlane } from '../src/cli/control-plane.js';
import { parseConfig } from '../src/config/load.js';
import { PolicyRuntime } from '../src/gateway/policy-runtime.js';
import { loadServerTls } from '../src/gateway/server-tls.js';
import { freePort, PostgresCluster } from '../src/store/postgres-launcher.js';
import { ensureDevCertificates } from '../src/tls/dev-ca.js';
import { createLogger } from '../src/util/logger.js';
import { startNodeTlsPipe } from './node-tls-pipe.js';
import { scramIterationsOf } from './scram-probe.js';
import { measurePropagation, PROPAGATION_MEASURES, type PropagationReport } from './propagation.js';
import { ensurePgBouncer, startPgBouncer } from './pgbouncer.js';
import { measurePersonRoles, type PersonRolesReport } from './person-roles.js';

const exec = promisify(execFile);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 6);
const CLIENTS = Number(process.env['BENCH_CLIENTS'] ?? 16);
const SCALE = Number(process.env['BENCH_SCALE'] ?? 4);
/** Each scenario runs this many rounds, targets in rotating order; the median is reported. */
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);

interface Endpoint {
  name: 'direct' | 'pgbouncer' | 'pgward' | 'pgward-nodetect' | 'node-tls-pipe' | 'pgward-pool8' | 'pgward-person';
  /** Extra libpq settings for this endpoint. */
  env?: Record<string, string>;
  port: number;
  user: string;
  password: string;
  database: string;
}

interface PgbenchResult {
  tps: number;
  failed: number;
  latencyMs: number | null;
  transactions?: number;
  /** CPU time the proxy spent per transaction (pgward: this process; PgBouncer: its process). */
  proxyCpuUsPerTx?: number | null;
}

async function pgbench(ep: Endpoint, caPath: string, args: string[]): Promise<PgbenchResult> {
  const { stdout, stderr } = await exec(
    'pgbench',
    ['-h', '127.0.0.1', '-p', String(ep.port), '-U', ep.user, ...args, ep.database],
    {
      env: {
        ...process.env,
        PGPASSWORD: ep.password,
        PGSSLMODE: 'verify-full',
        PGSSLROOTCERT: caPath,
        ...ep.env,
      },
      maxBuffer: 64 * 1024 * 1024,
    },
  ).catch((err: { stdout?: string; stderr?: string; message: string }) => {
    throw new Error(`pgbench against ${ep.name} failed: ${err.stderr ?? err.message}`);
  });
  const tps = Number(/tps = ([\d.]+)/.exec(stdout)?.[1] ?? NaN);
  const failed = Number(/number of failed transactions: (\d+)/.exec(stdout)?.[1] ?? 0);
  const latency = /latency average = ([\d.]+) ms/.exec(stdout);
  const transactions = Number(/number of transactions actually processed: (\d+)/.exec(stdout)?.[1] ?? NaN);
  if (!Number.isFinite(tps)) throw new Error(`no tps in pgbench output for ${ep.name}:\n${stdout}\n${stderr}`);
  return { tps, failed, latencyMs: latency ? Number(latency[1]) : null, transactions };
}

interface Scenario {
  name: string;
  args: string[];
  /** Also run pgward with the detector off, to price the detector. */
  detectorCost?: boolean;
  /** Instead of pgbench: a custom measurement (tps = rows per second for COPY). */
  custom?: 'copy';
  /** Only these targets (default: direct, PgBouncer, pgward, the bare Node TLS pipe). */
  targets?: Endpoint['name'][];
}

/** pool.max of the pgward-pool8 target: fewer upstream connections than clients, so sessions wait in line. */
const SMALL_POOL_MAX = 8;
/** How long each session of the pool scenario holds its upstream connection (pg_sleep). */
const HOLD_SECONDS = 0.2;
const HOLD_SCRIPT = join(tmpdir(), `pgward-bench-hold-${process.pid}.sql`);
/** Propagation measures (policy, revocation, kill, cancel across gateways): tries of each. */
const PROPAGATION_TRIES = Number(process.env['BENCH_PROPAGATION_TRIES'] ?? 9);

const scenarios: Scenario[] = [
  {
    name: `select-only simple -c${CLIENTS}`,
    args: ['-S', '-M', 'simple', '-c', String(CLIENTS), '-j', '2', '-T', String(SECONDS)],
    detectorCost: true,
  },
  {
    name: `select-only extended -c${CLIENTS}`,
    args: ['-S', '-M', 'extended', '-c', String(CLIENTS), '-j', '2', '-T', String(SECONDS)],
    detectorCost: true,
  },
  {
    name: `select-only prepared -c${CLIENTS}`,
    args: ['-S', '-M', 'prepared', '-c', String(CLIENTS), '-j', '2', '-T', String(SECONDS)],
    detectorCost: true,
  },
  {
    name: 'connect per transaction, TLS -C -c8',
    args: ['-S', '-C', '-M', 'simple', '-c', '8', '-j', '2', '-T', String(SECONDS)],
  },
  // pgbench connects with a blocking call, so each thread opens one connection at a time: -j2
  // above is two logins in flight (login latency); one thread per client puts eight in flight.
  {
    name: 'connect per transaction, TLS -C -c8 -j8',
    args: ['-S', '-C', '-M', 'simple', '-c', '8', '-j', '8', '-T', String(SECONDS)],
  },
  // 32 clients at once, each connecting per transaction and holding its connection for
  // HOLD_SECONDS, against a pool of 8: sessions beyond 8 wait in the pool's line (FIFO), so
  // throughput is capped near 8 / HOLD_SECONDS and no client may fail. pgward with its
  // default pool (500) for comparison.
  {
    name: `pool max ${SMALL_POOL_MAX}, -C -c32, each holding ${HOLD_SECONDS}s`,
    args: ['-f', HOLD_SCRIPT, '-C', '-M', 'simple', '-c', '32', '-j', '32', '-T', String(SECONDS)],
    targets: ['direct', 'pgward', 'pgward-pool8'],
  },
  {
    name: `TPC-B (pgbench default) -c${CLIENTS}`,
    args: ['-M', 'prepared', '-c', String(CLIENTS), '-j', '2', '-T', String(SECONDS)],
  },
  { name: 'one-client latency -S -c1', args: ['-S', '-M', 'simple', '-c', '1', '-T', String(SECONDS)] },
  // Per-person upstream logins (target option personRoles) against the shared role, one
  // person connecting per transaction: steady state, the person's login long made. First
  // connects and many people at once are measured by measurePersonRoles (BENCH_ONLY=person-roles).
  {
    name: 'person-roles: connect per transaction, TLS -C -c8',
    args: ['-S', '-C', '-M', 'simple', '-c', '8', '-j', '2', '-T', String(SECONDS)],
    targets: ['direct', 'pgward', 'pgward-person'],
  },
  { name: 'COPY 1M rows in', args: [], custom: 'copy' },
];

/** Idle-client counts to measure, in one run (the issue asks for 1,000 and 10,000). */
const IDLE_COUNTS = (process.env['BENCH_IDLE'] ?? '1000,10000')
  .split(',')
  .map(Number)
  .filter((n) => n > 0);
const IDLE_CLIENTS = Math.max(0, ...IDLE_COUNTS);
const COPY_ROWS = Number(process.env['BENCH_COPY_ROWS'] ?? 1_000_000);

/** COPY FROM STDIN of COPY_ROWS rows through psql; "tps" is rows per second. */
async function copyIn(ep: Endpoint, caPath: string, file: string): Promise<PgbenchResult> {
  const t0 = performance.now();
  await exec(
    'psql',
    [
      '-X',
      '-q',
      '-v',
      'ON_ERROR_STOP=1',
      '-h',
      '127.0.0.1',
      '-p',
      String(ep.port),
      '-U',
      ep.user,
      '-d',
      ep.database,
      '-c',
      'truncate copy_t',
      '-c',
      `\\copy copy_t from '${file}'`,
    ],
    {
      env: { ...process.env, PGPASSWORD: ep.password, PGSSLMODE: 'verify-full', PGSSLROOTCERT: caPath },
      maxBuffer: 16 * 1024 * 1024,
    },
  ).catch((err: { stderr?: string; message: string }) => {
    throw new Error(`COPY through ${ep.name} failed: ${err.stderr ?? err.message}`);
  });
  const seconds = (performance.now() - t0) / 1000;
  return { tps: COPY_ROWS / seconds, failed: 0, latencyMs: seconds * 1000 };
}

/** New people whose first connect is timed, and people connecting at once, in the person-roles measure. */
const PERSON_ROLES_NEW = Number(process.env['BENCH_PERSON_NEW'] ?? 30);
const PERSON_ROLES_PEOPLE = Number(process.env['BENCH_PERSON_PEOPLE'] ?? 8);

/**
 * BENCH_ONLY=prepared (a substring) runs just the matching scenarios; BENCH_ONLY=person-roles
 * also runs the person-roles measure. A filtered run leaves bench/results/latest.json alone.
 */
const only = process.env['BENCH_ONLY'];

const git = async (...args: string[]): Promise<string> =>
  (await exec('git', args).catch(() => ({ stdout: '?' }))).stdout.trim();

async function main(): Promise<void> {
  // The parse budget has its own script (bench/parse-budget.ts), run after this one.
  if (only === 'parse-budget') return;
  // What is measured: the build made from this commit plus any uncommitted changes under src/.
  const commit = await git('rev-parse', '--short', 'HEAD');
  const uncommittedSrc = (await git('status', '--porcelain', '--', 'src'))
    .split('\n')
    .filter(Boolean)
    .map((l) => l.slice(3));
  const work = await mkdtemp(join(tmpdir(), 'pgward-bench-'));
  const log = (line: string): void => {
    process.stderr.write(line + '\n');
  };
  const certs = await ensureDevCertificates(join(work, 'certs'));
  log('starting PostgreSQL');
  const cluster = await PostgresCluster.start({
    dataDir: join(work, 'pg'),
    superuserPassword: randomBytes(12).toString('hex'),
    tls: { certPath: certs.certPath, keyPath: certs.keyPath, caPath: certs.caCertPath },
    settings: {
      max_connections: String(IDLE_CLIENTS + 300),
      fsync: 'off',
      synchronous_commit: 'off',
      shared_buffers: '256MB',
    },
  });
  await writeFile(HOLD_SCRIPT, `select pg_sleep(${HOLD_SECONDS});\n`);
  const copyFile = join(work, 'copy.tsv');
  {
    const lines: string[] = [];
    for (let i = 0; i < COPY_ROWS; i++) lines.push(`${i}\trow number ${i} of the copy benchmark`);
    await writeFile(copyFile, lines.join('\n') + '\n');
  }
  const benchPassword = randomBytes(12).toString('hex');
  await cluster.query(`create role bench login password '${benchPassword}'`);
  await cluster.query('create database bench owner bench');
  await cluster.query('create database pgward_cp');
  // The provisioner of per-person logins (target benchp): CREATEROLE, and from Postgres 16 on
  // ADMIN OPTION on the granted role (without its privileges or SET).
  const provisionerPassword = randomBytes(12).toString('hex');
  await cluster.query(`create role bench_prov login createrole password '${provisionerPassword}'`);
  if (cluster.binaries.version >= 16)
    await cluster.query('grant bench to bench_prov with admin true, inherit false, set false');
  log(`pgbench -i -s ${SCALE}`);
  await exec(
    'pgbench',
    ['-i', '-q', '-s', String(SCALE), '-h', '127.0.0.1', '-p', String(cluster.port), '-U', 'bench', 'bench'],
    {
      env: { ...process.env, PGPASSWORD: benchPassword, PGSSLMODE: 'verify-full', PGSSLROOTCERT: certs.caCertPath },
    },
  );
  await exec(
    'psql',
    [
      '-X',
      '-q',
      '-h',
      '127.0.0.1',
      '-p',
      String(cluster.port),
      '-U',
      'bench',
      '-d',
      'bench',
      '-c',
      'create unlogged table copy_t (id int, v text)',
    ],
    {
      env: { ...process.env, PGPASSWORD: benchPassword, PGSSLMODE: 'verify-full', PGSSLROOTCERT: certs.caCertPath },
    },
  );

  const bouncerDir = join(work, 'pgbouncer');
  await mkdir(bouncerDir, { recursive: true });
  const bouncerPort = await freePort();
  const bouncer = await startPgBouncer({
    binary: await ensurePgBouncer(),
    dir: bouncerDir,
    port: bouncerPort,
    upstream: {
      host: '127.0.0.1',
      port: cluster.port,
      database: 'bench',
      user: 'bench',
      password: benchPassword,
      caPath: certs.caCertPath,
    },
    tls: { certPath: certs.certPath, keyPath: certs.keyPath },
    poolSize: CLIENTS + 4,
    maxClientConn: Math.max(2_000, IDLE_CLIENTS + 100),
  });

  const config = parseConfig({
    gatewayId: 'bench',
    listen: { host: '127.0.0.1', port: 0 },
    tls: { certFile: certs.certPath, keyFile: certs.keyPath },
    vault: { keyFile: join(work, 'vault.key') },
    targets: {
      bench: {
        host: '127.0.0.1',
        port: cluster.port,
        database: 'bench',
        role: 'bench',
        tls: { mode: 'verify-full', caFile: certs.caCertPath },
      },
      bench8: {
        host: '127.0.0.1',
        port: cluster.port,
        database: 'bench',
        role: 'bench',
        tls: { mode: 'verify-full', caFile: certs.caCertPath },
        pool: { max: SMALL_POOL_MAX },
      },
      benchp: {
        host: '127.0.0.1',
        port: cluster.port,
        database: 'bench',
        role: 'bench',
        tls: { mode: 'verify-full', caFile: certs.caCertPath },
        personRoles: { enabled: true, provisioner: 'bench_prov' },
      },
    },
    log: { level: 'warn' },
  });
  config.store.caFile = certs.caCertPath;
  const cp = await openControlPlane(config, { storeUrl: cluster.connectionString('pgward_cp'), createVaultKey: true });
  await cp.vault.set('bench', 'bench', benchPassword);
  await cp.vault.set('bench8', 'bench', benchPassword);
  await cp.vault.set('benchp', 'bench_prov', provisionerPassword);
  const serverTls = await loadServerTls({
    certPath: certs.certPath,
    keyPath: certs.keyPath,
    caPath: certs.caCertPath,
    minVersion: 'TLSv1.2',
  });
  const policyDir = join(work, 'policies');
  await mkdir(policyDir, { recursive: true });
  const policyDocuments = {
    'bench.yaml':
      'rules:\n  - name: bench\n    effect: allow\n    subjects: { users: [bench, bench-probe] }\n    targets: [bench, bench8]\n' +
      // Requestable only (the propagation measure of an access approval): jit-* have no standing grant.
      "  - name: bench-jit\n    effect: allow\n    subjects: { users: ['jit-*'] }\n    targets: [bench]\n    role: bench\n    requestable:\n      approvers: { groups: [bench-approvers] }\n      reason: { required: false }\n",
    'people.yaml':
      "rules:\n  - name: people\n    effect: allow\n    subjects: { users: [bench, 'person-*'] }\n    targets: [bench, benchp]\n",
  };
  for (const [name, text] of Object.entries(policyDocuments)) await writeFile(join(policyDir, name), text);
  const policy = await PolicyRuntime.start({
    store: cp.store,
    log: createLogger('warn'),
    dir: policyDir,
    watch: false,
  });
  const gateway = await createGateway(cp, { config, log: createLogger('warn'), tls: serverTls, policy });
  const gwAddr = await gateway.listen('127.0.0.1', 0);
  // The same gateway with the detector off (sessions still recorded, statements not inspected).
  const quietConfig = { ...config, gatewayId: 'bench-nodetect', detector: { enabled: false } };
  const quiet = await createGateway(cp, { config: quietConfig, log: createLogger('warn'), tls: serverTls, policy });
  const quietAddr = await quiet.listen('127.0.0.1', 0);
  const token = (await cp.tokens.issue({ user: 'bench', groups: [], ttl: '2h', issuedBy: 'bench' })).token;
  // A second gateway on the same store with a control plane of its own (its own store
  // connections, LISTENs and policy runtime): it hears the first only through NOTIFY.
  const configB = { ...config, gatewayId: 'bench-b' };
  const cpB = await openControlPlane(configB, { storeUrl: cluster.connectionString('pgward_cp') });
  const policyB = await PolicyRuntime.start({ store: cpB.store, log: createLogger('warn'), dir: null });
  const gatewayB = await createGateway(cpB, {
    config: configB,
    log: createLogger('warn'),
    tls: serverTls,
    policy: policyB,
  });
  const gwBAddr = await gatewayB.listen('127.0.0.1', 0);

  // The SCRAM iteration count each target makes a client compute at login (issue 15: 4,096),
  // as each announces it in its server-first-message.
  const caText = await readFile(certs.caCertPath, 'utf8');
  const scramIterations = {
    configured: config.auth.scramIterations,
    pgward: await scramIterationsOf(gwAddr.port, caText, 'bench', 'bench'),
    direct: await scramIterationsOf(cluster.port, caText, 'bench', 'bench'),
    pgbouncer: await scramIterationsOf(bouncerPort, caText, 'bench', 'bench'),
  };
  if (scramIterations.pgward !== config.auth.scramIterations)
    throw new Error(
      `pgward announces ${scramIterations.pgward} SCRAM iterations, configured ${config.auth.scramIterations}`,
    );
  log(`SCRAM iterations: ${JSON.stringify(scramIterations)}`);

  const pipe = await startNodeTlsPipe({
    upstream: { host: '127.0.0.1', port: cluster.port, caPath: certs.caCertPath },
    tls: { certPath: certs.certPath, keyPath: certs.keyPath },
  });
  const endpoints: Endpoint[] = [
    { name: 'direct', port: cluster.port, user: 'bench', password: benchPassword, database: 'bench' },
    { name: 'pgbouncer', port: bouncerPort, user: 'bench', password: benchPassword, database: 'bench' },
    { name: 'pgward', port: gwAddr.port, user: 'bench', password: token, database: 'bench' },
    {
      name: 'node-tls-pipe',
      port: pipe.port,
      user: 'bench',
      password: benchPassword,
      database: 'bench',
      env: { PGCHANNELBINDING: 'disable' },
    },
  ];
  const smallPoolEndpoint: Endpoint = {
    name: 'pgward-pool8',
    port: gwAddr.port,
    user: 'bench',
    password: token,
    database: 'bench8',
  };
  const personEndpoint: Endpoint = {
    name: 'pgward-person',
    port: gwAddr.port,
    user: 'bench',
    password: token,
    database: 'benchp',
  };
  const quietEndpoint: Endpoint = {
    name: 'pgward-nodetect',
    port: quietAddr.port,
    user: 'bench',
    password: token,
    database: 'bench',
  };

  const idle: Record<
    string,
    {
      clients: number;
      failed: number;
      rssDeltaMb: number;
      perClientKb: number;
      heapKbPerClient?: number;
      externalKbPerClient?: number;
    }
  > = {};
  // The proxy's own CPU (user + system): what each design costs per transaction.
  const proxyCpuUs = async (name: string): Promise<number | null> => {
    if (name === 'pgward' || name === 'pgward-nodetect' || name === 'node-tls-pipe') {
      const u = process.cpuUsage();
      return u.user + u.system;
    }
    if (name !== 'pgbouncer') return null;
    const stat = (await readFile(`/proc/${await bouncer.pid()}/stat`, 'utf8')).split(') ')[1]!.split(' ');
    // utime and stime are fields 14 and 15 of /proc/PID/stat, in clock ticks (100 per second).
    return (Number(stat[11]) + Number(stat[12])) * 10_000;
  };
  let propagation: PropagationReport = {};
  let personRoles: PersonRolesReport | null = null;
  const loadBefore = (await readFile('/proc/loadavg', 'utf8')).trim();
  const results: Array<{
    scenario: string;
    runs: Record<string, PgbenchResult & { rounds: number[] }>;
    ratios: Record<string, number>;
  }> = [];
  try {
    for (const sc of scenarios.filter((x) => !only || x.name.includes(only))) {
      const rounds: Record<string, PgbenchResult[]> = {};
      for (let round = 0; round < ROUNDS; round++) {
        // Rotate the order so no target always runs first (cold) or last.
        const wanted = process.env['BENCH_TARGETS']?.split(',');
        const all = [
          ...endpoints,
          ...(sc.detectorCost ? [quietEndpoint] : []),
          ...(sc.targets ? [smallPoolEndpoint, personEndpoint] : []),
        ];
        const targets = all.filter(
          (e) => (!wanted || wanted.includes(e.name)) && (!sc.targets || sc.targets.includes(e.name)),
        );
        const order = targets.map((_, i) => targets[(i + round) % targets.length]!);
        for (const ep of order) {
          log(`${sc.name}: ${ep.name} (round ${round + 1}/${ROUNDS}) @${process.hrtime.bigint() / 1000n}`);
          const cpuBefore = await proxyCpuUs(ep.name);
          const result =
            sc.custom === 'copy'
              ? await copyIn(ep, certs.caCertPath, copyFile)
              : await pgbench(ep, certs.caCertPath, sc.args);
          const cpuAfter = await proxyCpuUs(ep.name);
          if (cpuBefore !== null && cpuAfter !== null && result.transactions) {
            result.proxyCpuUsPerTx = Math.round(((cpuAfter - cpuBefore) / result.transactions) * 10) / 10;
          }
          (rounds[ep.name] ??= []).push(result);
        }
      }
      const runs: Record<string, PgbenchResult & { rounds: number[] }> = {};
      for (const [name, list] of Object.entries(rounds)) {
        const sorted = [...list].sort((a, b) => a.tps - b.tps);
        const median = sorted[Math.floor(sorted.length / 2)]!;
        runs[name] = { ...median, failed: list.reduce((n, x) => n + x.failed, 0), rounds: list.map((x) => x.tps) };
      }
      const r = (a: string, b: string): Record<string, number> =>
        runs[a] && runs[b] ? { [`${a}/${b}`]: Math.round((runs[a].tps / runs[b].tps) * 1000) / 1000 } : {};
      const ratios: Record<string, number> = {
        ...r('pgward', 'pgbouncer'),
        ...r('pgward', 'direct'),
        ...r('pgbouncer', 'direct'),
        ...r('pgward', 'pgward-nodetect'),
        ...r('node-tls-pipe', 'pgbouncer'),
        ...r('pgward', 'node-tls-pipe'),
        ...r('pgward-pool8', 'pgward'),
        ...r('pgward-person', 'pgward'),
      };
      const lat = (n: string): number | null => runs[n]?.latencyMs ?? null;
      const [ld, lb, lw] = [lat('direct'), lat('pgbouncer'), lat('pgward')];
      if (sc.name.startsWith('one-client') && ld !== null && lb !== null && lw !== null) {
        // Added latency over direct Postgres, pgward's relative to PgBouncer's.
        ratios['added latency pgward/pgbouncer'] = Math.round(((lw - ld) / Math.max(0.001, lb - ld)) * 1000) / 1000;
      }
      results.push({ scenario: sc.name, runs, ratios });
    }
    if (!only || only === 'propagation') {
      propagation = await measurePropagation(
        {
          a: { cp, gateway, port: gwAddr.port },
          b: { cp: cpB, gateway: gatewayB, port: gwBAddr.port, policy: policyB },
          ca: caText,
          database: 'bench',
          user: 'bench-probe',
          policyDocuments,
          upstreamQuery: (sql) => cluster.query(sql),
          tries: PROPAGATION_TRIES,
        },
        log,
      );
    }
    if (!only || only === 'person-roles') {
      const side = (database: string) => ({
        port: gwAddr.port,
        database,
        token: async (person: string) =>
          (await cp.tokens.issue({ user: person, groups: [], ttl: '2h', issuedBy: 'bench' })).token,
      });
      personRoles = await measurePersonRoles(
        { off: side('bench'), on: side('benchp') },
        caText,
        certs.caCertPath,
        { newPeople: PERSON_ROLES_NEW, people: PERSON_ROLES_PEOPLE, seconds: SECONDS, rounds: ROUNDS },
        log,
      );
    }
    // Memory per idle TLS client: N authenticated idle sessions from another process; the
    // proxy's resident memory before and after, divided by N.
    if (!only || 'idle'.includes(only) || only === 'idle') {
      const { spawn } = await import('node:child_process');
      const rssOf = async (name: string): Promise<number> => {
        if (name === 'pgward') return process.memoryUsage().rss;
        const pid = await bouncer.pid();
        const status = await readFile(`/proc/${pid}/status`, 'utf8');
        return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
      };
      for (const count of IDLE_COUNTS)
        for (const ep of endpoints.filter((e) => e.name === 'pgbouncer' || e.name === 'pgward')) {
          const key = `${ep.name} @${count}`;
          log(`idle TLS clients: ${count} to ${ep.name}`);
          (globalThis as { gc?: () => void }).gc?.();
          if (ep.name === 'pgward' && process.env['BENCH_HEAPSNAP'])
            (await import('node:v8')).writeHeapSnapshot(`${process.env['BENCH_HEAPSNAP']}.before`);
          const before = await rssOf(ep.name);
          const heapBefore = process.memoryUsage();
          const child = spawn(
            process.execPath,
            [
              new URL('./idle-clients.js', import.meta.url).pathname,
              String(ep.port),
              ep.user,
              ep.database,
              certs.caCertPath,
              String(count),
            ],
            {
              env: { ...process.env, PGPASSWORD: ep.password },
              stdio: ['pipe', 'pipe', 'inherit'],
            },
          );
          const line = await new Promise<string>((resolve) => {
            let out = '';
            child.stdout.on('data', (d: Buffer) => {
              out += d.toString();
              if (out.includes('\n')) resolve(out.trim());
            });
          });
          await new Promise((r) => setTimeout(r, 1_500));
          (globalThis as { gc?: () => void }).gc?.();
          const after = await rssOf(ep.name);
          if (ep.name === 'pgward' && process.env['BENCH_HEAPSNAP'])
            (await import('node:v8')).writeHeapSnapshot(process.env['BENCH_HEAPSNAP']);
          const [, ok, failed] = line.split(' ').map(Number) as [number, number, number];
          idle[key] = {
            clients: ok,
            failed,
            rssDeltaMb: Math.round(((after - before) / 1048576) * 10) / 10,
            perClientKb: Math.round((after - before) / 1024 / Math.max(1, ok)),
          };
          if (ep.name === 'pgward') {
            // Where pgward's share goes: the JS heap, or native memory (OpenSSL, socket buffers).
            const heapAfter = process.memoryUsage();
            idle[key]!.heapKbPerClient =
              Math.round(((heapAfter.heapUsed - heapBefore.heapUsed) / 1024 / Math.max(1, ok)) * 10) / 10;
            idle[key]!.externalKbPerClient =
              Math.round(((heapAfter.external - heapBefore.external) / 1024 / Math.max(1, ok)) * 10) / 10;
          }
          child.stdin.end();
          await new Promise((r) => child.once('close', r));
          await new Promise((r) => setTimeout(r, 1_000));
        }
    }
  } finally {
    await gateway.close(1_000);
    await quiet.close(1_000);
    await gatewayB.close(1_000);
    await policyB.close();
    await cpB.close();
    await pipe.close();
    await policy.close();
    await cp.close();
    await bouncer.stop();
    await cluster.stop();
  }

  // Onboarding: mean time from accept to the end of each stage, from the gateway's own histograms.
  const stageMetric = (await gateway.metrics.stage.get()).values;
  const onboarding: Record<string, { count: number; meanMs: number }> = {};
  for (const v of stageMetric) {
    const stage = String(v.labels['stage']);
    const e = (onboarding[stage] ??= { count: 0, meanMs: 0 });
    if (v.metricName?.endsWith('_sum')) e.meanMs = v.value;
    if (v.metricName?.endsWith('_count')) e.count = v.value;
  }
  for (const e of Object.values(onboarding))
    e.meanMs = e.count ? Math.round((e.meanMs / e.count) * 1_000_000) / 1000 : 0;

  const report = {
    commit,
    /** Files under src/ that differed from that commit when the bench started (the build measured includes them). */
    uncommittedSrc,
    scramIterations,
    propagation: { measures: PROPAGATION_MEASURES, results: propagation },
    /** Per-person upstream logins (docs/person-roles.md): first and second connects, many people at once. */
    personRoles,
    /** BENCH_ONLY of this run (null: everything ran). */
    only: only ?? null,
    idleClients: idle,
    onboarding,
    at: new Date().toISOString(),
    machine: {
      cpus: (await import('node:os')).cpus().length,
      node: process.version,
      postgres: cluster.binaries.version,
      // Other work shares this machine: /proc/loadavg at the start and the end of the run.
      loadavg: { before: loadBefore, after: (await readFile('/proc/loadavg', 'utf8')).trim() },
    },
    settings: {
      seconds: SECONDS,
      rounds: ROUNDS,
      statistic: 'median tps of the rounds',
      clients: CLIENTS,
      scale: SCALE,
      tls: 'verify-full on every leg',
      auth: `SCRAM-SHA-256 at ${config.auth.scramIterations} iterations (pgward: token + channel binding)`,
      smallPoolMax: SMALL_POOL_MAX,
    },
    results,
  };
  await mkdir('bench/results', { recursive: true });
  const stamp = report.at.replace(/[:.]/g, '-');
  const file = only ? `${stamp}-${only.replace(/[^A-Za-z0-9_-]/g, '_')}` : stamp;
  await writeFile(`bench/results/${file}.json`, JSON.stringify(report, null, 2) + '\n');
  if (!only) await writeFile('bench/results/latest.json', JSON.stringify(report, null, 2) + '\n');

  const pad = (s: string, n: number): string => s.padEnd(n);
  console.log(
    `\n${pad('scenario', 42)}${pad('direct tps', 13)}${pad('pgbouncer', 13)}${pad('pgward', 13)}${pad('pgward/bouncer', 16)}${pad('pgward/direct', 15)}failed`,
  );
  for (const r of results) {
    if (!r.runs['direct'] || !r.runs['pgbouncer'] || !r.runs['pgward']) continue;
    const f = (n: number): string => n.toFixed(0);
    const failed = Object.values(r.runs).reduce((n, x) => n + x.failed, 0);
    console.log(
      `${pad(r.scenario, 42)}${pad(f(r.runs['direct']!.tps), 13)}${pad(f(r.runs['pgbouncer']!.tps), 13)}${pad(f(r.runs['pgward']!.tps), 13)}${pad(r.ratios['pgward/pgbouncer']!.toFixed(3) + 'x', 16)}${pad(r.ratios['pgward/direct']!.toFixed(3) + 'x', 15)}${failed}`,
    );
  }
  for (const connects of results.filter((r) => r.scenario.startsWith('connect per transaction'))) {
    const c = (n: string): string => `${connects.runs[n]?.tps.toFixed(0) ?? '?'}/s`;
    console.log(
      `connects/s (${connects.scenario.slice('connect per transaction, '.length)}), TLS verify-full + SCRAM-SHA-256 at ${config.auth.scramIterations} iterations (pgward ${scramIterations.pgward}, direct ${scramIterations.direct}, pgbouncer ${scramIterations.pgbouncer}): ` +
        `direct ${c('direct')}, pgbouncer ${c('pgbouncer')}, pgward ${c('pgward')}; pgward/pgbouncer ${connects.ratios['pgward/pgbouncer']?.toFixed(3)}x`,
    );
  }
  const waiting = results.find((r) => r.scenario.startsWith('pool max'));
  if (waiting) {
    const w = (n: string): string =>
      `${waiting.runs[n]?.tps.toFixed(0) ?? '?'} tps (${waiting.runs[n]?.failed ?? '?'} failed)`;
    console.log(
      `${waiting.scenario}: direct ${w('direct')}, pgward default pool ${w('pgward')}, pgward pool.max ${SMALL_POOL_MAX} ${w('pgward-pool8')} (its cap: ${SMALL_POOL_MAX} / ${HOLD_SECONDS} s = ${SMALL_POOL_MAX / HOLD_SECONDS}/s)`,
    );
  }
  for (const [name, v] of Object.entries(propagation)) {
    console.log(
      'error' in v
        ? `${name}: FAILED ${v.error}`
        : `${name}: median ${v.medianMs.toFixed(1)} ms, max ${v.maxMs.toFixed(1)} ms (${v.tries} tries)`,
    );
  }
  console.log(`load average before/after: ${loadBefore} / ${report.machine.loadavg.after}`);
  const lat = results.find((r) => r.scenario.startsWith('one-client'));
  if (lat) {
    const l = (n: string): string => `${lat.runs[n]?.latencyMs?.toFixed(3) ?? '?'} ms`;
    console.log(
      `one-client latency: direct ${l('direct')}, pgbouncer ${l('pgbouncer')}, pgward ${l('pgward')}; added latency pgward/pgbouncer = ${lat.ratios['added latency pgward/pgbouncer']}x (target <= 1.2x)`,
    );
  }
  for (const [name, v] of Object.entries(idle))
    console.log(
      `idle TLS clients, ${name}: ${v.clients} sessions (${v.failed} failed), +${v.rssDeltaMb} MB RSS = ${v.perClientKb} KB each (target <= 24 KB)${v.heapKbPerClient !== undefined ? `; JS heap ${v.heapKbPerClient} KB, external ${v.externalKbPerClient} KB` : ''}`,
    );
  console.log(
    `onboarding (mean ms from accept, pgward): ${Object.entries(onboarding)
      .map(([k, v]) => `${k} ${v.meanMs}`)
      .join(', ')}`,
  );
  for (const r of results) {
    const d = r.ratios['pgward/pgward-nodetect'];
    if (d !== undefined)
      console.log(
        `detector cost, ${r.scenario}: on ${r.runs['pgward']!.tps.toFixed(0)} tps / off ${r.runs['pgward-nodetect']!.tps.toFixed(0)} tps = ${d.toFixed(3)}x (target >= 0.9x)`,
      );
  }
  for (const r of results) {
    const c = (n: string): string => (r.runs[n]?.proxyCpuUsPerTx != null ? `${r.runs[n]!.proxyCpuUsPerTx} µs` : '?');
    if (r.runs['pgward']?.proxyCpuUsPerTx != null) {
      console.log(
        `proxy CPU per transaction, ${r.scenario}: pgbouncer ${c('pgbouncer')}, bare Node TLS pipe ${c('node-tls-pipe')}, pgward ${c('pgward')}`,
      );
    }
    const floor = r.ratios['node-tls-pipe/pgbouncer'];
    if (floor !== undefined)
      console.log(
        `  Node floor, ${r.scenario}: bare Node TLS pipe/pgbouncer ${floor.toFixed(3)}x, pgward/pipe ${r.ratios['pgward/node-tls-pipe']?.toFixed(3)}x`,
      );
  }
  const person = results.find((r) => r.scenario.startsWith('person-roles'));
  if (person) {
    const c = (n: string): string => `${person.runs[n]?.tps.toFixed(0) ?? '?'}/s`;
    console.log(
      `person roles, one person connecting per transaction (-C -c8): direct ${c('direct')}, pgward shared role ${c('pgward')}, pgward per-person login ${c('pgward-person')} = ${person.ratios['pgward-person/pgward']?.toFixed(3)}x`,
    );
  }
  if (personRoles) {
    const l = (s: { medianMs: number; p95Ms: number }): string => `median ${s.medianMs} ms, p95 ${s.p95Ms} ms`;
    const p = personRoles;
    console.log(
      `person roles, first connect of a new person: off ${l(p.firstConnect.off)}; on (login created) ${l(p.firstConnect.on)}`,
    );
    console.log(`person roles, second connect: off ${l(p.secondConnect.off)}; on ${l(p.secondConnect.on)}`);
    console.log(
      `person roles, ${p.manyPeople.people} people at once, -C -c1 each: off ${p.manyPeople.off}/s, on ${p.manyPeople.on}/s (failed ${p.manyPeople.failed.off}/${p.manyPeople.failed.on})`,
    );
  }
  console.log(`\nresults: bench/results/${file}.json`);
  await rm(work, { recursive: true, force: true });
  await rm(HOLD_SCRIPT, { force: true });
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
