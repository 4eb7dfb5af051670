import { execFile } from 'node:child_process';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RegressTree } from './tree.js';

export type TestStatus = 'ok' | 'failed' | 'ignored';

export interface TestOutcome {
  name: string;
  status: TestStatus;
  ms: number | null;
}

export interface PgRegressRun {
  /** Exit code: 0 all passed, 1 some failed, 2 pg_regress itself failed. */
  exitCode: number;
  seconds: number;
  tests: TestOutcome[];
  passed: number;
  failed: number;
  /** Test name → its block of regression.diffs. */
  diffs: Record<string, string>;
  outputDir: string;
  /** pg_regress's own output (the per-test lines and summary). */
  log: string;
}

export interface Endpoint {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  caPath: string;
}

/** One line per test: "test name ... ok 12 ms", "     name ... FAILED 30 ms", "name ... failed (ignored)". */
const TEST_LINE = /^(?:test\s+|\s+)(\S+)\s+\.\.\.\s+(ok|FAILED|failed \(ignored\))(?:\s+(\d+) ms)?/;

export function parseTestLines(log: string): TestOutcome[] {
  const out: TestOutcome[] = [];
  for (const line of log.split('\n')) {
    const m = TEST_LINE.exec(line);
    if (!m) continue;
    const status: TestStatus = m[2] === 'ok' ? 'ok' : m[2] === 'FAILED' ? 'failed' : 'ignored';
    out.push({ name: m[1]!, status, ms: m[3] ? Number(m[3]) : null });
  }
  return out;
}

/** regression.diffs holds one "diff -U3 .../expected/NAME.out .../results/NAME.out" block per failed test. */
export function splitDiffs(text: string): Record<string, string> {
  const blocks: Record<string, string> = {};
  let name: string | null = null;
  let lines: string[] = [];
  const flush = (): void => {
    if (name) blocks[name] = (blocks[name] ? blocks[name] + '\n' : '') + lines.join('\n');
  };
  for (const line of text.split('\n')) {
    const m = /^diff .* \S*\/results\/([^/\s]+)\.out$/.exec(line);
    if (m) {
      flush();
      name = m[1]!;
      lines = [line];
    } else if (name) {
      lines.push(line);
    }
  }
  flush();
  return blocks;
}

/**
 * pg_regress --use-existing with a schedule against one endpoint, over TLS verify-full and
 * SCRAM (PGPASSWORD). The server writes COPY TO files into OUTDIR/results as the postgres
 * user, so that folder is world-writable.
 */
export async function runPgRegress(
  tree: RegressTree,
  ep: Endpoint,
  o: { outputDir: string; schedule?: string; tests?: string[]; timeoutMs?: number },
): Promise<PgRegressRun> {
  await mkdir(join(o.outputDir, 'results'), { recursive: true });
  await chmod(o.outputDir, 0o755);
  await chmod(join(o.outputDir, 'results'), 0o777);
  const args = [
    '--use-existing',
    `--bindir=${tree.binDir}`,
    `--inputdir=${tree.inputDir}`,
    `--outputdir=${o.outputDir}`,
    `--dlpath=${tree.dlpath}`,
    `--host=${ep.host}`,
    `--port=${ep.port}`,
    `--user=${ep.user}`,
    `--dbname=${ep.database}`,
    ...(o.schedule ? [`--schedule=${o.schedule}`] : []),
    ...(o.tests ?? []),
  ];
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: process.env['HOME'] ?? '/tmp',
    LD_LIBRARY_PATH: tree.libDir,
    PGPASSWORD: ep.password,
    PGSSLMODE: 'verify-full',
    PGSSLROOTCERT: ep.caPath,
    PGCONNECT_TIMEOUT: '30',
  };
  const t0 = performance.now();
  const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      tree.pgRegress,
      args,
      { env, maxBuffer: 64 * 1024 * 1024, timeout: o.timeoutMs ?? 30 * 60_000, cwd: o.outputDir },
      (err, so, se) => {
        const c = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 2) : 0;
        resolve({ code: c, stdout: String(so), stderr: String(se) });
      },
    );
  });
  const seconds = (performance.now() - t0) / 1000;
  const log = stdout + (stderr ? `\n--- stderr ---\n${stderr}` : '');
  await writeFile(join(o.outputDir, 'pg_regress.log'), log);
  const tests = parseTestLines(stdout);
  const diffsText = await readFile(join(o.outputDir, 'regression.diffs'), 'utf8').catch(() => '');
  return {
    exitCode: code,
    seconds,
    tests,
    passed: tests.filter((t) => t.status === 'ok').length,
    failed: tests.filter((t) => t.status !== 'ok').length,
    diffs: splitDiffs(diffsText),
    outputDir: o.outputDir,
    log,
  };
}
