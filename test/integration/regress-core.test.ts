import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coreSchedule } from '../../bench/regress/schedule.js';
import { runRegressSuite, type RunReport, type SuiteReport } from '../../bench/regress/suite.js';
import { prepareRegressTree, repoRoot } from '../../bench/regress/tree.js';
import { ensureDevCertificates } from '../../src/tls/dev-ca.js';

/**
 * PostgreSQL's own regression suite, core schedule (the first five groups of
 * parallel_schedule), run with pg_regress directly and through pgward with the pool off and
 * on, each on a fresh cluster of the same server: every test must have the result it has
 * directly. The full schedule is `npm run regress` (docs/regress.md).
 */
let report: SuiteReport;
let work: string;
let expectedTests: string[];

beforeAll(async () => {
  const tree = await prepareRegressTree();
  work = await mkdtemp(join(tmpdir(), 'pgward-regress-test-'));
  const schedule = await coreSchedule(tree);
  expectedTests = schedule.tests;
  const scheduleFile = join(work, 'core_schedule');
  await writeFile(scheduleFile, schedule.text);
  const outRoot = join(repoRoot(), 'test-output', 'regress-core', new Date().toISOString().replace(/[:.]/g, '-'));
  await mkdir(outRoot, { recursive: true });
  report = await runRegressSuite({
    tree,
    certs: await ensureDevCertificates(join(work, 'certs')),
    workDir: work,
    outRoot,
    runs: ['direct', 'pool-off', 'pool-on'],
    schedule: scheduleFile,
    superuserPassword: randomBytes(12).toString('hex'),
    log: () => undefined,
  });
}, 15 * 60_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

const run = (name: RunReport['name']): RunReport => {
  const r = report.runs.find((x) => x.name === name);
  if (!r) throw new Error(`no ${name} run in the report`);
  return r;
};

/** What differs, with the start of each test's diff, so a failure shows its cause. */
const differences = (r: RunReport): Array<{ test: string; direct: string; through: string; diff: string }> =>
  r.differences.map((d) => ({
    test: d.test,
    direct: d.direct,
    through: d.through,
    diff: d.diff.split('\n').slice(0, 30).join('\n'),
  }));

describe('PostgreSQL 15 regression suite, core schedule', () => {
  it('passes every test directly (sources, server, psql and pg_regress of one minor)', () => {
    const direct = run('direct');
    expect(direct.exitCode).toBe(0);
    expect(Object.keys(direct.results).sort()).toEqual([...expectedTests].sort());
    expect(direct.failedTests).toEqual([]);
  });

  it('gives every test its direct result through pgward with the pool off', () => {
    const r = run('pool-off');
    expect(r.tests).toBe(expectedTests.length);
    expect(differences(r)).toEqual([]);
  });

  it('gives every test its direct result through pgward with the pool at its defaults', () => {
    const r = run('pool-on');
    expect(r.tests).toBe(expectedTests.length);
    expect(differences(r)).toEqual([]);
  });

  it('leaves nothing behind through pgward that a direct run does not (roles, prepared transactions)', () => {
    for (const name of ['pool-off', 'pool-on'] as const) {
      expect({ run: name, ...run(name).leftoversBeyondDirect }).toEqual({
        run: name,
        preparedTransactions: [],
        roles: [],
        databases: [],
        tablespaces: [],
      });
    }
  });
});
