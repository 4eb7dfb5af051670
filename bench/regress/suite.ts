import { cpus } from 'node:os';
import { basename, join } from 'node:path';
import { chmod, copyFile, mkdir, readFile } from 'node:fs/promises';
import type { DevCertificates } from '../../src/tls/dev-ca.js';
import { CONTROL_PLANE_DB, startRegressGateway } from './gateway.js';
import { runPgRegress, type Endpoint, type PgRegressRun, type TestStatus } from './pg-regress.js';
import {
  createRegressionDatabase,
  leftovers,
  REGRESS_DB,
  regressDataDir,
  startRegressServer,
  type Leftovers,
} from './server.js';
import type { RegressTree } from './tree.js';

export const RUN_NAMES = ['direct', 'pool-off', 'pool-on'] as const;
export type RunName = (typeof RUN_NAMES)[number];

export interface Difference {
  test: string;
  direct: TestStatus | 'absent';
  through: TestStatus | 'absent';
  /** The start of the test's block in this run's regression.diffs. */
  diff: string;
}

export interface RunReport {
  name: RunName;
  exitCode: number;
  seconds: number;
  tests: number;
  passed: number;
  failed: number;
  failedTests: string[];
  results: Record<string, TestStatus>;
  differences: Difference[];
  leftovers: Leftovers;
  leftoversBeyondDirect: Leftovers;
  /** Gateway log lines at warn or above, counted by event (pgward runs). */
  gatewayWarnings: Record<string, number>;
  outputDir: string;
}

export interface SuiteReport {
  postgres: string;
  schedule: string;
  host: { cores: number; node: string };
  startedAt: string;
  runs: RunReport[];
}

const DIFF_EXCERPT_LINES = 80;

function excerpt(block: string | undefined): string {
  if (!block) return '';
  const lines = block.split('\n');
  return lines.length <= DIFF_EXCERPT_LINES
    ? block
    : [...lines.slice(0, DIFF_EXCERPT_LINES), `... (${lines.length - DIFF_EXCERPT_LINES} more lines)`].join('\n');
}

async function warnings(logFile: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  const text = await readFile(logFile, 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const rec = JSON.parse(line) as { level?: number; event?: string; kind?: string; msg?: string };
      if ((rec.level ?? 0) < 40) continue;
      const key = (rec.event ?? rec.msg ?? 'unnamed') + (rec.kind ? `:${rec.kind}` : '');
      counts[key] = (counts[key] ?? 0) + 1;
    } catch {
      // a line pino did not write
    }
  }
  return counts;
}

/** The files worth keeping from a pg_regress output folder (results/ holds every test's full output). */
async function keepOutputs(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const f of ['regression.diffs', 'regression.out', 'pg_regress.log'])
    await copyFile(join(from, f), join(to, f)).catch(() => undefined);
}

const minus = (a: Leftovers, b: Leftovers | null): Leftovers => ({
  preparedTransactions: a.preparedTransactions.filter((x) => !b?.preparedTransactions.includes(x)),
  roles: a.roles.filter((x) => !b?.roles.includes(x)),
  databases: a.databases.filter((x) => !b?.databases.includes(x)),
  tablespaces: a.tablespaces.filter((x) => !b?.tablespaces.includes(x)),
});

/**
 * Each run gets a fresh cluster of the same server and settings, so what one run leaves
 * behind (roles, prepared transactions, statistics) cannot change the next one's results.
 */
export async function runRegressSuite(o: {
  tree: RegressTree;
  certs: DevCertificates;
  workDir: string;
  outRoot: string;
  runs: RunName[];
  schedule: string;
  superuserPassword: string;
  log: (line: string) => void;
}): Promise<SuiteReport> {
  const report: SuiteReport = {
    postgres: o.tree.version,
    schedule: basename(o.schedule),
    host: { cores: cpus().length, node: process.version },
    startedAt: new Date().toISOString(),
    runs: [],
  };
  // The server (the postgres user) writes COPY TO files into each run's output folder below it.
  await chmod(o.workDir, 0o711);
  let direct: { results: Record<string, TestStatus>; leftovers: Leftovers } | null = null;
  for (const name of o.runs) {
    const cluster = await startRegressServer(o.tree, regressDataDir(o.workDir, name), o.certs, o.superuserPassword);
    // pg_regress writes where the server (the postgres user) can write too: under the work
    // folder; its summary, diffs and log are copied to outRoot/NAME afterwards.
    const runDir = join(o.workDir, `out-${name}`);
    const outputDir = join(o.outRoot, name);
    const gatewayLog = join(o.outRoot, `${name}.gateway.log`);
    try {
      await createRegressionDatabase(cluster);
      const gateway =
        name === 'direct'
          ? null
          : await startRegressGateway(cluster, o.certs, {
              dir: join(o.workDir, `gw-${name}`),
              pool: name === 'pool-on',
              logFile: gatewayLog,
            });
      let run: PgRegressRun;
      try {
        const ep: Endpoint = gateway
          ? {
              host: gateway.host,
              port: gateway.port,
              user: gateway.user,
              password: gateway.token,
              database: REGRESS_DB,
              caPath: o.certs.caCertPath,
            }
          : {
              host: cluster.host,
              port: cluster.port,
              user: cluster.superuser,
              password: cluster.superuserPassword,
              database: REGRESS_DB,
              caPath: o.certs.caCertPath,
            };
        o.log(
          `${name}: pg_regress ${basename(o.schedule)} against ${gateway ? 'pgward' : 'PostgreSQL'} on port ${ep.port}`,
        );
        run = await runPgRegress(o.tree, ep, { outputDir: runDir, schedule: o.schedule });
        await keepOutputs(runDir, outputDir);
      } finally {
        await gateway?.close();
      }
      const left = await leftovers(cluster, { databases: [CONTROL_PLANE_DB] });
      const results = Object.fromEntries(run.tests.map((t) => [t.name, t.status])) as Record<string, TestStatus>;
      const differences: Difference[] = [];
      if (direct && name !== 'direct') {
        for (const test of new Set([...Object.keys(direct.results), ...Object.keys(results)])) {
          const d = direct.results[test] ?? 'absent';
          const t = results[test] ?? 'absent';
          if (d !== t) differences.push({ test, direct: d, through: t, diff: excerpt(run.diffs[test]) });
        }
      }
      const rep: RunReport = {
        name,
        exitCode: run.exitCode,
        seconds: Math.round(run.seconds * 10) / 10,
        tests: run.tests.length,
        passed: run.passed,
        failed: run.failed,
        failedTests: run.tests.filter((t) => t.status !== 'ok').map((t) => t.name),
        results,
        differences,
        leftovers: left,
        leftoversBeyondDirect: minus(left, direct?.leftovers ?? null),
        gatewayWarnings: name === 'direct' ? {} : await warnings(gatewayLog),
        outputDir,
      };
      if (name === 'direct') direct = { results, leftovers: left };
      o.log(
        `${name}: ${rep.passed} passed, ${rep.failed} failed of ${rep.tests} in ${rep.seconds} s${run.exitCode === 2 ? ' (pg_regress failed: see ' + join(outputDir, 'pg_regress.log') + ')' : ''}`,
      );
      report.runs.push(rep);
    } finally {
      await cluster.destroy();
    }
  }
  return report;
}
