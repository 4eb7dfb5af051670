/**
 * Issue 17 item 7: what data masking costs. The same relay without a masker (unmasked),
 * with statements shown to an observer that does nothing (observed: what a detector session
 * pays anyway), and with a session masker (test/integration/masking-relay.ts: the relay a gateway session runs, between a
 * real client and a real Postgres), on a 100k-row result read by psql (wall time and the
 * relay process's CPU) and on pgbench -S (tps). Writes bench/results/masking-<time>.json.
 *
 *   npm run -s build && node --expose-gc dist/bench/masking.js
 *   MASK_BENCH_ROUNDS=5 MASK_BENCH_SECONDS=10 ...
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { maskingSchema } from '../src/policy/masking-schema.js';
import { PostgresCluster } from '../src/store/postgres-launcher.js';
import { ensureDevCertificates } from '../src/tls/dev-ca.js';
import { startMaskingProxy, type MaskingProxy } from '../test/integration/masking-relay.js';

const exec = promisify(execFile);
const ROUNDS = Number(process.env['MASK_BENCH_ROUNDS'] ?? 5);
const SECONDS = Number(process.env['MASK_BENCH_SECONDS'] ?? 10);
const ROWS = 100_000;

/** A developer's grant: two column rules, a column of pgbench's, and the email recogniser over every text column. */
const RULES = maskingSchema.parse({
  columns: [
    { column: 'public.people.email', strategy: 'email-domain' },
    { column: 'public.people.card', strategy: 'keep-last', keep: 4 },
    { column: 'public.pgbench_accounts.abalance', strategy: 'null' },
  ],
  values: [{ value: 'email', strategy: 'email-domain' }],
});

interface Run {
  wallMs: number;
  cpuMs: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
};

async function main(): Promise<void> {
  const log = (line: string): void => void process.stderr.write(line + '\n');
  const only = process.env['BENCH_ONLY'];
  if (only && only !== 'masking') return log(`masking: skipped (BENCH_ONLY=${only})`);
  const work = await mkdtemp(join(tmpdir(), 'pgward-mask-bench-'));
  const certs = await ensureDevCertificates(join(work, 'certs'));
  log('starting PostgreSQL');
  const cluster = await PostgresCluster.start({
    dataDir: join(work, 'pg'),
    superuserPassword: randomBytes(12).toString('hex'),
    tls: { certPath: certs.certPath, keyPath: certs.keyPath, caPath: certs.caCertPath },
    settings: { fsync: 'off', synchronous_commit: 'off' },
  });
  const proxies: MaskingProxy[] = [];
  try {
    const password = randomBytes(12).toString('hex');
    await cluster.query(`create role bench login password '${password}'`);
    await cluster.query('create database bench owner bench');
    const where = { host: '127.0.0.1', port: cluster.port, caPath: certs.caCertPath };
    const login = { role: 'bench', password, database: 'bench' };
    const plain = await startMaskingProxy(where, login, null);
    // Statements shown to an observer that does nothing: what a detector session pays anyway.
    const observed = await startMaskingProxy(where, login, null, undefined, true);
    const masked = await startMaskingProxy(where, login, RULES);
    proxies.push(plain, observed, masked);
    const env = { ...process.env, PGSSLMODE: 'disable', PGPASSWORD: '' };
    const psql = (port: number, sql: string, out = '/dev/null') =>
      exec(
        'psql',
        [
          '-X',
          '-q',
          '-v',
          'ON_ERROR_STOP=1',
          '-h',
          '127.0.0.1',
          '-p',
          String(port),
          '-U',
          'bench',
          '-o',
          out,
          '-c',
          sql,
          'bench',
        ],
        {
          env,
          maxBuffer: 1 << 26,
        },
      );
    log(`loading ${ROWS} rows and pgbench -i`);
    await psql(
      plain.port,
      `create table people as select g as id, 'person ' || g as name, 'user' || g || '@example.com' as email,
         lpad(g::text, 16, '4') as card, 'city ' || (g % 100) as city from generate_series(1, ${ROWS}) g`,
    );
    await exec(
      'pgbench',
      ['-i', '-q', '-s', '1', '-h', '127.0.0.1', '-p', String(plain.port), '-U', 'bench', 'bench'],
      { env },
    );

    const modes = [
      ['unmasked', plain],
      ['observed', observed],
      ['masked', masked],
    ] as const;
    const rows: Record<(typeof modes)[number][0], Run[]> = { unmasked: [], observed: [], masked: [] };
    for (let r = 0; r < ROUNDS; r++) {
      for (const [mode, proxy] of modes) {
        global.gc?.();
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        await psql(proxy.port, 'select * from people');
        const wallMs = performance.now() - t0;
        const cpu = process.cpuUsage(cpu0);
        rows[mode].push({ wallMs, cpuMs: (cpu.user + cpu.system) / 1000 });
      }
    }
    // The masked result really is masked (a bench of a masker that does nothing would flatter it).
    const sample = join(work, 'sample');
    await psql(masked.port, 'select email, card from people where id = 42', sample);
    const { readFile } = await import('node:fs/promises');
    const seen = await readFile(sample, 'utf8');
    if (!seen.includes('u***@example.com') || seen.includes('user42@')) throw new Error(`masking not applied: ${seen}`);

    const tps: Record<(typeof modes)[number][0], number> = { unmasked: 0, observed: 0, masked: 0 };
    for (const [mode, proxy] of modes) {
      log(`pgbench -S ${mode} (${SECONDS} s)`);
      const { stdout } = await exec(
        'pgbench',
        [
          '-n',
          '-S',
          '-c',
          '4',
          '-j',
          '2',
          '-T',
          String(SECONDS),
          '-h',
          '127.0.0.1',
          '-p',
          String(proxy.port),
          '-U',
          'bench',
          'bench',
        ],
        { env },
      );
      tps[mode] = Number(/tps = ([\d.]+)/.exec(stdout)?.[1]);
    }
    const summary = (xs: Run[]) => ({
      medianWallMs: Math.round(median(xs.map((x) => x.wallMs))),
      medianRelayCpuMs: Math.round(median(xs.map((x) => x.cpuMs))),
      runs: xs.map((x) => ({ wallMs: Math.round(x.wallMs), cpuMs: Math.round(x.cpuMs) })),
    });
    const un = summary(rows.unmasked);
    const ob = summary(rows.observed);
    const ma = summary(rows.masked);
    const report = {
      bench: 'masking',
      at: new Date().toISOString(),
      node: process.version,
      rules: RULES,
      result100k: {
        query:
          'select * from people (100,000 rows, 5 columns; 2 masked by column rules, 3 scanned by the email recogniser)',
        client: 'psql (text)',
        unmasked: un,
        observed: ob,
        masked: ma,
        wallRatio: Number((ma.medianWallMs / un.medianWallMs).toFixed(2)),
        relayCpuRatio: Number((ma.medianRelayCpuMs / un.medianRelayCpuMs).toFixed(2)),
        relayCpuPerRowUs: Number((((ma.medianRelayCpuMs - un.medianRelayCpuMs) * 1000) / ROWS).toFixed(2)),
      },
      pgbenchSelectOnly: {
        args: `-S -c 4 -j 2 -T ${SECONDS} (scale 1; abalance masked to NULL)`,
        unmaskedTps: Math.round(tps.unmasked),
        observedTps: Math.round(tps.observed),
        maskedTps: Math.round(tps.masked),
        tpsRatio: Number((tps.masked / tps.unmasked).toFixed(2)),
        tpsRatioToObserved: Number((tps.masked / tps.observed).toFixed(2)),
      },
    };
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    await mkdir('bench/results', { recursive: true });
    await writeFile(`bench/results/masking-${stamp}.json`, JSON.stringify(report, null, 2) + '\n');
    console.log(
      `100k rows: wall ${un.medianWallMs} -> ${ma.medianWallMs} ms (${report.result100k.wallRatio}x), relay CPU ${un.medianRelayCpuMs} -> ${ma.medianRelayCpuMs} ms (${report.result100k.relayCpuRatio}x); ` +
        `pgbench -S ${report.pgbenchSelectOnly.unmaskedTps} (observed ${report.pgbenchSelectOnly.observedTps}) -> ${report.pgbenchSelectOnly.maskedTps} tps (${report.pgbenchSelectOnly.tpsRatio}x; ${report.pgbenchSelectOnly.tpsRatioToObserved}x of observed)`,
    );
    console.log(`results: bench/results/masking-${stamp}.json`);
  } finally {
    for (const p of proxies) await p.close();
    await cluster.destroy();
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
