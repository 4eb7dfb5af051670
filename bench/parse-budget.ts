/**
 * Issue 13 item 5: another session's latency while one session sends a 10 MB statement,
 * straight to Postgres (the floor on this machine), through pgward with the parse budget
 * (texts over it classified by a worker thread) and without it (the budget set huge: every
 * text parsed on the event loop, as before), and the gateway's RSS before, at the peak and
 * after. Writes bench/results/parse-budget-<time>.json.
 *
 *   npm run -s build && node --expose-gc dist/bench/parse-budget.js
 *   PARSE_BENCH_MB=8.9 PARSE_BENCH_ROUNDS=3 ...
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { createGateway, openControlPlane } from '../src/cli/control-plane.js';
import { parseConfig } from '../src/config/load.js';
import {
  closeParseWorkers,
  configureParseBudget,
  parsePool,
  PARSE_BUDGET_DEFAULTS,
} from '../src/detect/offthread-inspection.js';
import { PolicyRuntime } from '../src/gateway/policy-runtime.js';
import { loadServerTls } from '../src/gateway/server-tls.js';
import { PostgresCluster } from '../src/store/postgres-launcher.js';
import { ensureDevCertificates } from '../src/tls/dev-ca.js';
import { valuesList } from '../test/harness/values-list.js';
import { createLogger } from '../src/util/logger.js';

const exec = promisify(execFile);
const MB = Number(process.env['PARSE_BENCH_MB'] ?? 10);
const ROUNDS = Number(process.env['PARSE_BENCH_ROUNDS'] ?? 2);
/** The other session's pace. */
const PROBE_EVERY_MS = 10;

const PROBE = `
import pg from 'pg';
const c = new pg.Client(JSON.parse(process.env.PROBE_CONN));
await c.connect();
const runs = [];
let stop = false;
process.stdin.on('data', () => (stop = true));
process.stdin.resume();
process.stdout.write('ready\\n');
while (!stop) {
  const at = Date.now();
  const t0 = performance.now();
  await c.query('select 1');
  runs.push([at, performance.now() - t0]);
  await new Promise((r) => setTimeout(r, ${PROBE_EVERY_MS}));
}
await c.end();
process.stdout.write(JSON.stringify(runs));
process.exit(0);`;

/** A session in another process (a probe in the gateway's own process would not send while its loop is stalled). */
async function startProbe(conn: Record<string, unknown>): Promise<() => Promise<Array<[number, number]>>> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', PROBE], {
    env: { ...process.env, PROBE_CONN: JSON.stringify(conn) },
  });
  let out = '';
  child.stderr.pipe(process.stderr);
  const ready = new Promise<void>((resolve) =>
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.startsWith('ready\n')) resolve();
    }),
  );
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  await ready;
  return async () => {
    child.stdin.write('stop\n');
    await closed;
    return JSON.parse(out.slice('ready\n'.length)) as Array<[number, number]>;
  };
}

const rssMb = (): number => Math.round(process.memoryUsage().rss / 1048576);
const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
};
const round1 = (x: number): number => Math.round(x * 10) / 10;

/** direct: both sessions straight to Postgres, the floor on this machine; the others through pgward. */
const MODES = ['direct', 'budget', 'no-budget'] as const;

interface Round {
  mode: (typeof MODES)[number];
  statementMs: number;
  probes: number;
  maxMs: number;
  p99Ms: number;
  p50Ms: number;
  loopMaxDelayMs: number;
  rssBeforeMb: number;
  rssPeakMb: number;
  rssAfterMb: number;
  workerParses: number;
}

async function main(): Promise<void> {
  const log = (line: string): void => void process.stderr.write(line + '\n');
  // `npm run bench` runs this after bench/run.ts; BENCH_ONLY naming another measure skips it.
  const only = process.env['BENCH_ONLY'];
  if (only && only !== 'parse-budget') return log(`parse budget: skipped (BENCH_ONLY=${only})`);
  const work = await mkdtemp(join(tmpdir(), 'pgward-parse-bench-'));
  const certs = await ensureDevCertificates(join(work, 'certs'));
  log('starting PostgreSQL');
  const cluster = await PostgresCluster.start({
    dataDir: join(work, 'pg'),
    superuserPassword: randomBytes(12).toString('hex'),
    tls: { certPath: certs.certPath, keyPath: certs.keyPath, caPath: certs.caCertPath },
    settings: { fsync: 'off', synchronous_commit: 'off' },
  });
  const password = randomBytes(12).toString('hex');
  await cluster.query(`create role bench login password '${password}'`);
  await cluster.query('create database bench owner bench');
  await cluster.query('create database pgward_cp');
  const config = parseConfig({
    gatewayId: 'parse-bench',
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
    },
    log: { level: 'warn' },
  });
  config.store.caFile = certs.caCertPath;
  const cp = await openControlPlane(config, { storeUrl: cluster.connectionString('pgward_cp'), createVaultKey: true });
  await cp.vault.set('bench', 'bench', password);
  const tls = await loadServerTls({
    certPath: certs.certPath,
    keyPath: certs.keyPath,
    caPath: certs.caCertPath,
    minVersion: 'TLSv1.2',
  });
  const policyDir = join(work, 'policies');
  await mkdir(policyDir, { recursive: true });
  await writeFile(
    join(policyDir, 'bench.yaml'),
    'rules:\n  - name: bench\n    effect: allow\n    subjects: { users: [loader, prober] }\n    targets: [bench]\n',
  );
  const policy = await PolicyRuntime.start({
    store: cp.store,
    log: createLogger('warn'),
    dir: policyDir,
    watch: false,
  });
  const gateway = await createGateway(cp, { config, log: createLogger('warn'), tls, policy });
  const addr = await gateway.listen('127.0.0.1', 0);
  const token = async (user: string): Promise<string> =>
    (await cp.tokens.issue({ user, groups: [], ttl: '2h', issuedBy: 'bench' })).token;
  const loaderToken = await token('loader');
  const ca = await readFile(certs.caCertPath, 'utf8');
  const probeConn = {
    host: '127.0.0.1',
    port: addr.port,
    user: 'prober',
    password: await token('prober'),
    database: 'bench',
    ssl: { ca, servername: 'localhost' },
  };
  const psqlEnv = {
    ...process.env,
    PGPASSWORD: loaderToken,
    PGSSLMODE: 'verify-full',
    PGSSLROOTCERT: certs.caCertPath,
  };
  const psqlArgs = ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', String(addr.port), '-U', 'loader'];
  const directArgs = [
    '-X',
    '-q',
    '-v',
    'ON_ERROR_STOP=1',
    '-h',
    '127.0.0.1',
    '-p',
    String(cluster.port),
    '-U',
    'bench',
  ];
  await exec('psql', [...psqlArgs, '-d', 'bench', '-c', 'create unlogged table big (a int, b text)'], {
    env: psqlEnv,
  });
  const file = join(work, 'big.sql');
  const sql = valuesList(MB * 1024 * 1024, 'insert into big (a, b) values ');
  log(`statement: ${(sql.length / 1048576).toFixed(1)} MiB, ${ROUNDS} rounds per mode`);

  const rounds: Round[] = [];
  const gc = (globalThis as { gc?: () => void }).gc;
  try {
    // The budget before none: once the event loop has parsed a 10 MB text, its WASM memory stays grown.
    for (const mode of MODES) {
      configureParseBudget({
        budgetBytes: mode === 'no-budget' ? 0x3fffffff : PARSE_BUDGET_DEFAULTS.budgetBytes,
      });
      for (let r = 0; r < ROUNDS; r++) {
        gc?.();
        const rssBefore = rssMb();
        let peak = rssBefore;
        const sampler = setInterval(() => (peak = Math.max(peak, rssMb())), 20);
        const direct = mode === 'direct';
        const stop = await startProbe(
          direct ? { ...probeConn, port: cluster.port, user: 'bench', password } : probeConn,
        );
        await new Promise((res) => setTimeout(res, 500));
        // Another shape each round (one row more): the inspector's caches would answer a text,
        // or a text with other literals, that they saw before.
        await writeFile(file, `${sql}${",(0,'extra')".repeat(rounds.length + 1)};\n`);
        const loop = monitorEventLoopDelay({ resolution: 5 });
        loop.enable();
        const parsed = parsePool().counts.parsed;
        const started = Date.now();
        await exec('psql', [...(direct ? directArgs : psqlArgs), '-d', 'bench', '-f', file], {
          env: direct ? { ...psqlEnv, PGPASSWORD: password } : psqlEnv,
          maxBuffer: 1 << 20,
        });
        const statementMs = Date.now() - started;
        loop.disable();
        const latencies = (await stop()).filter(([at]) => at >= started).map(([, ms]) => ms);
        clearInterval(sampler);
        await new Promise((res) => setTimeout(res, 2_000));
        gc?.();
        await new Promise((res) => setTimeout(res, 500));
        const round: Round = {
          mode,
          statementMs,
          probes: latencies.length,
          maxMs: round1(Math.max(...latencies)),
          p99Ms: round1(quantile(latencies, 0.99)),
          p50Ms: round1(quantile(latencies, 0.5)),
          loopMaxDelayMs: round1(loop.max / 1e6),
          rssBeforeMb: rssBefore,
          rssPeakMb: peak,
          rssAfterMb: rssMb(),
          workerParses: parsePool().counts.parsed - parsed,
        };
        rounds.push(round);
        log(JSON.stringify(round));
        await exec('psql', [...psqlArgs, '-d', 'bench', '-c', 'truncate big'], { env: psqlEnv });
      }
    }
  } finally {
    await gateway.close(1_000);
    await closeParseWorkers();
    await policy.close();
    await cp.close();
    await cluster.stop();
    await rm(work, { recursive: true, force: true });
  }
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const report = {
    at: new Date().toISOString(),
    statementMiB: round1(sql.length / 1048576),
    probeEveryMs: PROBE_EVERY_MS,
    parseBudget: PARSE_BUDGET_DEFAULTS,
    loadavg: (await readFile('/proc/loadavg', 'utf8')).trim(),
    rounds,
  };
  await mkdir('bench/results', { recursive: true });
  await writeFile(`bench/results/parse-budget-${stamp}.json`, JSON.stringify(report, null, 2) + '\n');
  for (const mode of MODES) {
    const rs = rounds.filter((r) => r.mode === mode);
    console.log(
      `${mode.padEnd(10)} other session select 1: max ${rs.map((r) => r.maxMs).join('/')} ms, p99 ${rs.map((r) => r.p99Ms).join('/')} ms; ` +
        `event loop max delay ${rs.map((r) => r.loopMaxDelayMs).join('/')} ms; statement ${rs.map((r) => r.statementMs).join('/')} ms; ` +
        `RSS before/peak/after ${rs.map((r) => `${r.rssBeforeMb}/${r.rssPeakMb}/${r.rssAfterMb}`).join(', ')} MB`,
    );
  }
  // Issue 13's figure: another session's latency while a 10 MB statement is inspected.
  const worst = (mode: (typeof MODES)[number]): number =>
    Math.max(...rounds.filter((r) => r.mode === mode).map((r) => r.maxMs));
  const median = (mode: (typeof MODES)[number]): number => {
    const xs = rounds
      .filter((r) => r.mode === mode)
      .map((r) => r.maxMs)
      .sort((a, b) => a - b);
    return xs[Math.floor(xs.length / 2)] ?? NaN;
  };
  console.log(
    `other session's max latency during the statement, median of rounds: budget ${median('budget')} ms (target < 50 ms: ${median('budget') < 50 ? 'met' : 'NOT met'}; worst round ${worst('budget')} ms), ` +
      `no budget ${median('no-budget')} ms, direct ${median('direct')} ms; budget/no-budget ${(median('budget') / median('no-budget')).toFixed(3)}x`,
  );
  console.log(`results: bench/results/parse-budget-${stamp}.json`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
