/**
 * PostgreSQL 15's regression suite (pg_regress --use-existing, parallel_schedule) directly and
 * through pgward, pool off and pool on, each on a fresh cluster of the same server; prints the
 * summary and the tests whose result differs from direct, and writes
 * bench/results/regress-<time>.json. Full outputs: test-output/regress/<time>/<run>/.
 *
 *   npm run regress                        all three runs, parallel_schedule
 *   REGRESS_RUNS=direct,pool-on npm run regress
 *   REGRESS_SCHEDULE=/path/to/schedule npm run regress
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDevCertificates } from '../src/tls/dev-ca.js';
import { runRegressSuite, RUN_NAMES, type RunName } from './regress/suite.js';
import { prepareRegressTree, repoRoot } from './regress/tree.js';

async function main(): Promise<void> {
  const runs = (process.env['REGRESS_RUNS'] ?? RUN_NAMES.join(','))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const r of runs)
    if (!(RUN_NAMES as readonly string[]).includes(r))
      throw new Error(`REGRESS_RUNS: unknown run "${r}" (known: ${RUN_NAMES.join(', ')})`);
  const log = (line: string): void => void process.stderr.write(line + '\n');
  const root = repoRoot();
  log('preparing the regression sources and binaries (cached in .cache/regress)');
  const tree = await prepareRegressTree();
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const outRoot = join(root, 'test-output', 'regress', stamp);
  await mkdir(outRoot, { recursive: true });
  const work = await mkdtemp(join(tmpdir(), 'pgward-regress-'));
  try {
    const certs = await ensureDevCertificates(join(work, 'certs'));
    const report = await runRegressSuite({
      tree,
      certs,
      workDir: work,
      outRoot,
      runs: runs as RunName[],
      schedule: process.env['REGRESS_SCHEDULE'] ?? tree.schedule,
      superuserPassword: randomBytes(12).toString('hex'),
      log,
    });
    const resultsDir = join(root, 'bench', 'results');
    await mkdir(resultsDir, { recursive: true });
    const file = join(resultsDir, `regress-${stamp}.json`);
    await writeFile(file, JSON.stringify(report, null, 2) + '\n');
    log('');
    log(`PostgreSQL ${tree.version} regression suite (${report.schedule}), ${report.host.cores} cores`);
    for (const r of report.runs) {
      log(
        `  ${r.name.padEnd(9)} ${String(r.passed).padStart(3)} passed, ${String(r.failed).padStart(3)} failed of ${r.tests}  ${r.seconds.toFixed(1)} s`,
      );
    }
    const hasDirect = report.runs.some((r) => r.name === 'direct');
    if (!hasDirect) log('\nno direct run (REGRESS_RUNS): nothing compared, each run judged by its own failures');
    for (const r of report.runs) {
      if (r.name === 'direct' || !hasDirect) continue;
      const d = r.differences;
      log(
        `\n${r.name}: ${d.length === 0 ? 'same results as direct' : `${d.length} tests differ from direct: ${d.map((x) => x.test).join(', ')}`}`,
      );
      for (const x of d) log(`  ${x.test}: direct ${x.direct}, ${r.name} ${x.through}`);
      const lo = r.leftoversBeyondDirect;
      if (Object.values(lo).some((v) => v.length > 0)) log(`  left behind beyond a direct run: ${JSON.stringify(lo)}`);
    }
    log(`\nresults: ${file}\noutputs: ${outRoot}`);
    // One closing line: how many test results through pgward matched direct.
    const compared = report.runs.filter((r) => r.name !== 'direct');
    const same = compared.reduce((n, r) => n + r.tests - r.differences.length, 0);
    const differ = compared.reduce((n, r) => n + r.differences.length, 0);
    if (hasDirect && compared.length) log(`regress: ${same} same as direct, ${differ} different`);
    const failures = hasDirect ? differ : report.runs.reduce((n, r) => n + r.failed, 0);
    process.exitCode = report.runs.some((r) => r.exitCode === 2) ? 2 : failures > 0 ? 1 : 0;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`regress: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(2);
});
