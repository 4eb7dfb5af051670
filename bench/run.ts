import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { openControlPlane } from '../src/cli/control-plane.js';
import { parseConfig } from '../src/config/load.js';
import { Gateway } from '../src/gateway/gateway.js';
import { PolicyRuntime } from '../src/gateway/policy-runtime.js';
import { loadServerTls } from '../src/gateway/server-tls.js';
import { freePort, PostgresCluster } from '../src/store/postgres-launcher.js';
import { ensureDevCertificates } from '../src/tls/dev-ca.js';
import { createLogger } from '../src/util/logger.js';
import { ensurePgBouncer, startPgBouncer } from './pgbouncer.js';

const exec = promisify(execFile);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 6);
const CLIENTS = Number(process.env['BENCH_CLIENTS'] ?? 16);
const SCALE = Number(process.env['BENCH_SCALE'] ?? 4);
/** Each scenario runs this many rounds, targets in rotating order; the median is reported. */
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);

interface Endpoint {
  name: 'direct' | 'pgbouncer' | 'pgward' | 'pgward-nodetect';
  port: number;
  user: string;
  password: string;
  database: string;
}

interface PgbenchResult {
  tps: number;
  failed: number;
  latencyMs: number | null;
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
      },
      maxBuffer: 64 * 1024 * 1024,
    },
  ).catch((err: { stdout?: string; stderr?: string; message: string }) => {
    throw new Error(`pgbench against ${ep.name} failed: ${err.stderr ?? err.message}`);
  });
  const tps = Number(/tps = ([\d.]+)/.exec(stdout)?.[1] ?? NaN);
  const failed = Number(/number of failed transactions: (\d+)/.exec(stdout)?.[1] ?? 0);
  const latency = /latency average = ([\d.]+) ms/.exec(stdout);
  if (!Number.isFinite(tps)) throw new Error(`no tps in pgbench output for ${ep.name}:\n${stdout}\n${stderr}`);
  return { tps, failed, latencyMs: latency ? Number(latency[1]) : null };
}

interface Scenario {
  name: string;
  args: string[];
  /** Also run pgward with the detector off, to price the detector. */
  detectorCost?: boolean;
}

const scenarios: Scenario[] = [
  { name: `select-only simple -c${CLIENTS}`, args: ['-S', '-M', 'simple', '-c', String(CLIENTS), '-j', '2', '-T', String(SECONDS)], detectorCost: true },
  { name: `select-only extended -c${CLIENTS}`, args: ['-S', '-M', 'extended', '-c', String(CLIENTS), '-j', '2', '-T', String(SECONDS)], detectorCost: true },
  { name: `select-only prepared -c${CLIENTS}`, args: ['-S', '-M', 'prepared', '-c', String(CLIENTS), '-j', '2', '-T', String(SECONDS)], detectorCost: true },
  { name: 'connect per transaction, TLS -C -c8', args: ['-S', '-C', '-M', 'simple', '-c', '8', '-j', '2', '-T', String(SECONDS)] },
];

/** BENCH_ONLY=prepared (a substring) runs just the matching scenarios. */
const only = process.env['BENCH_ONLY'];

async function main(): Promise<void> {
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
    settings: { max_connections: '300', fsync: 'off', synchronous_commit: 'off', shared_buffers: '256MB' },
  });
  const benchPassword = randomBytes(12).toString('hex');
  await cluster.query(`create role bench login password '${benchPassword}'`);
  await cluster.query('create database bench owner bench');
  await cluster.query('create database pgward_cp');
  log(`pgbench -i -s ${SCALE}`);
  await exec('pgbench', ['-i', '-q', '-s', String(SCALE), '-h', '127.0.0.1', '-p', String(cluster.port), '-U', 'bench', 'bench'], {
    env: { ...process.env, PGPASSWORD: benchPassword, PGSSLMODE: 'verify-full', PGSSLROOTCERT: certs.caCertPath },
  });

  const bouncerDir = join(work, 'pgbouncer');
  await mkdir(bouncerDir, { recursive: true });
  const bouncerPort = await freePort();
  const bouncer = await startPgBouncer({
    binary: await ensurePgBouncer(),
    dir: bouncerDir,
    port: bouncerPort,
    upstream: { host: '127.0.0.1', port: cluster.port, database: 'bench', user: 'bench', password: benchPassword, caPath: certs.caCertPath },
    tls: { certPath: certs.certPath, keyPath: certs.keyPath },
    poolSize: CLIENTS + 4,
  });

  const config = parseConfig({
    gatewayId: 'bench',
    listen: { host: '127.0.0.1', port: 0 },
    tls: { certFile: certs.certPath, keyFile: certs.keyPath },
    vault: { keyFile: join(work, 'vault.key') },
    targets: {
      bench: { host: '127.0.0.1', port: cluster.port, database: 'bench', role: 'bench', tls: { mode: 'verify-full', caFile: certs.caCertPath } },
    },
    log: { level: 'warn' },
  });
  config.store.caFile = certs.caCertPath;
  const cp = await openControlPlane(config, { storeUrl: cluster.connectionString('pgward_cp'), createVaultKey: true });
  await cp.vault.set('bench', 'bench', benchPassword);
  const serverTls = await loadServerTls({ certPath: certs.certPath, keyPath: certs.keyPath, caPath: certs.caCertPath, minVersion: 'TLSv1.2' });
  const policyDir = join(work, 'policies');
  await mkdir(policyDir, { recursive: true });
  await writeFile(join(policyDir, 'bench.yaml'), 'rules:\n  - name: bench\n    effect: allow\n    subjects: { users: [bench] }\n    targets: [bench]\n');
  const policy = await PolicyRuntime.start({ store: cp.store, log: createLogger('warn'), dir: policyDir, watch: false });
  const gateway = await Gateway.create({ config, log: createLogger('warn'), tls: serverTls, store: cp.store, vault: cp.vault, tokens: cp.tokens, policy });
  const gwAddr = await gateway.listen('127.0.0.1', 0);
  // The same gateway with the detector off (sessions still recorded, statements not inspected).
  const quietConfig = { ...config, gatewayId: 'bench-nodetect', detector: { enabled: false } };
  const quiet = await Gateway.create({ config: quietConfig, log: createLogger('warn'), tls: serverTls, store: cp.store, vault: cp.vault, tokens: cp.tokens, policy });
  const quietAddr = await quiet.listen('127.0.0.1', 0);
  const token = (await cp.tokens.issue({ user: 'bench', groups: [], ttl: '2h', issuedBy: 'bench' })).token;

  const endpoints: Endpoint[] = [
    { name: 'direct', port: cluster.port, user: 'bench', password: benchPassword, database: 'bench' },
    { name: 'pgbouncer', port: bouncerPort, user: 'bench', password: benchPassword, database: 'bench' },
    { name: 'pgward', port: gwAddr.port, user: 'bench', password: token, database: 'bench' },
  ];
  const quietEndpoint: Endpoint = { name: 'pgward-nodetect', port: quietAddr.port, user: 'bench', password: token, database: 'bench' };

  const results: Array<{ scenario: string; runs: Record<string, PgbenchResult & { rounds: number[] }>; ratios: Record<string, number> }> = [];
  try {
    for (const sc of scenarios.filter((x) => !only || x.name.includes(only))) {
      const rounds: Record<string, PgbenchResult[]> = {};
      for (let round = 0; round < ROUNDS; round++) {
        // Rotate the order so no target always runs first (cold) or last.
        const wanted = process.env['BENCH_TARGETS']?.split(',');
        const targets = (sc.detectorCost ? [...endpoints, quietEndpoint] : endpoints).filter((e) => !wanted || wanted.includes(e.name));
        const order = targets.map((_, i) => targets[(i + round) % targets.length]!);
        for (const ep of order) {
          log(`${sc.name}: ${ep.name} (round ${round + 1}/${ROUNDS}) @${process.hrtime.bigint() / 1000n}`);
          (rounds[ep.name] ??= []).push(await pgbench(ep, certs.caCertPath, sc.args));
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
      };
      results.push({ scenario: sc.name, runs, ratios });
    }
  } finally {
    await gateway.close(1_000);
    await quiet.close(1_000);
    await policy.close();
    await cp.close();
    await bouncer.stop();
    await cluster.stop();
  }

  const report = {
    at: new Date().toISOString(),
    machine: { cpus: (await import('node:os')).cpus().length, node: process.version, postgres: cluster.binaries.version },
    settings: { seconds: SECONDS, rounds: ROUNDS, statistic: 'median tps of the rounds', clients: CLIENTS, scale: SCALE, tls: 'verify-full on every leg', auth: 'SCRAM-SHA-256 (pgward: token + channel binding)' },
    results,
  };
  await mkdir('bench/results', { recursive: true });
  const stamp = report.at.replace(/[:.]/g, '-');
  await writeFile(`bench/results/${stamp}.json`, JSON.stringify(report, null, 2) + '\n');
  await writeFile('bench/results/latest.json', JSON.stringify(report, null, 2) + '\n');

  const pad = (s: string, n: number): string => s.padEnd(n);
  console.log(`\n${pad('scenario', 42)}${pad('direct tps', 13)}${pad('pgbouncer', 13)}${pad('pgward', 13)}${pad('pgward/bouncer', 16)}${pad('pgward/direct', 15)}failed`);
  for (const r of results) {
    if (!r.runs['direct'] || !r.runs['pgbouncer'] || !r.runs['pgward']) continue;
    const f = (n: number): string => n.toFixed(0);
    const failed = Object.values(r.runs).reduce((n, x) => n + x.failed, 0);
    console.log(
      `${pad(r.scenario, 42)}${pad(f(r.runs['direct']!.tps), 13)}${pad(f(r.runs['pgbouncer']!.tps), 13)}${pad(f(r.runs['pgward']!.tps), 13)}${pad(r.ratios['pgward/pgbouncer']!.toFixed(3) + 'x', 16)}${pad(r.ratios['pgward/direct']!.toFixed(3) + 'x', 15)}${failed}`,
    );
  }
  for (const r of results) {
    const d = r.ratios['pgward/pgward-nodetect'];
    if (d !== undefined) console.log(`detector cost, ${r.scenario}: on ${r.runs['pgward']!.tps.toFixed(0)} tps / off ${r.runs['pgward-nodetect']!.tps.toFixed(0)} tps = ${d.toFixed(3)}x (target >= 0.9x)`);
  }
  console.log(`\nresults: bench/results/${stamp}.json`);
  await rm(work, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
