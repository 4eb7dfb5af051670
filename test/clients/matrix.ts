import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import { startTestGateway, superuserQuery, type ClusterInfo, type TestGateway } from '../harness/gateway.js';

/**
 * The client matrix: each client library runs the same checks directly against Postgres and
 * through pgward (TLS verify-full, SCRAM), for a read-write and a read-only grant. A check's
 * outcome is what a user observes (values, or an error's SQLSTATE), so runs compare as strings.
 */
export type RunName = 'rw direct' | 'rw pgward' | 'ro direct' | 'ro pgward';
export const RUN_NAMES: RunName[] = ['rw direct', 'rw pgward', 'ro direct', 'ro pgward'];

export interface MatrixRun {
  name: RunName;
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
  caPath: string;
  /** Each run writes to its own table (same columns), so direct and pgward runs start alike. */
  table: string;
  readOnly: boolean;
}

export type Outcomes = Record<string, string>;
export type MatrixResults = Record<RunName, Outcomes>;

/** Read-write for one user, read-only (the grant's session.readOnly) for the other. */
const matrixPolicy = `rules:
  - name: matrix-read-write
    effect: allow
    subjects: { users: [matrix-rw] }
    targets: [app]
  - name: matrix-read-only
    effect: allow
    subjects: { users: [matrix-ro] }
    targets: [app]
    session: { readOnly: true }
`;

export interface Matrix {
  gw: TestGateway;
  runs: MatrixRun[];
  run(name: RunName): MatrixRun;
  close(): Promise<void>;
}

/**
 * A gateway with both grants, and the same two kinds of access directly: the upstream role
 * itself (read-write) and a member of it whose sessions default to read-only, as the grant's are.
 */
export async function startMatrix(cluster: ClusterInfo, client: string): Promise<Matrix> {
  const gw = await startTestGateway(cluster, {}, { policies: { 'matrix.yaml': matrixPolicy } });
  const roRole = `${gw.upstreamRole}_ro`;
  const roPassword = createHash('sha256').update(gw.upstreamPassword).update('ro').digest('hex');
  await superuserQuery(cluster, `create role ${roRole} login password '${roPassword}' in role ${gw.upstreamRole}`);
  await superuserQuery(cluster, `alter role ${roRole} set default_transaction_read_only = on`);
  const rw = await gw.issue('matrix-rw', { ttl: '1h' });
  const ro = await gw.issue('matrix-ro', { ttl: '1h' });
  const tag = client.replace(/[^a-z0-9]/gi, '_').toLowerCase();
  const runs: MatrixRun[] = [];
  for (const name of RUN_NAMES) {
    const readOnly = name.startsWith('ro');
    const direct = name.endsWith('direct');
    const table = `m_${tag}_${name.replace(' ', '_')}`;
    await superuserQuery(
      cluster,
      `create table ${table} (id int primary key, v text); alter table ${table} owner to ${gw.upstreamRole}`,
      gw.upstreamDatabase,
    );
    runs.push({
      name,
      host: direct ? cluster.host : gw.host,
      port: direct ? cluster.port : gw.port,
      database: direct ? gw.upstreamDatabase : gw.database,
      user: direct ? (readOnly ? roRole : gw.upstreamRole) : readOnly ? 'matrix-ro' : 'matrix-rw',
      password: direct ? (readOnly ? roPassword : gw.upstreamPassword) : readOnly ? ro.token : rw.token,
      caPath: cluster.caPath,
      table,
      readOnly,
    });
  }
  return {
    gw,
    runs,
    run: (name) => runs.find((r) => r.name === name)!,
    close: () => gw.close(),
  };
}

/** What a check must show, directly, for each kind of grant ('same' when both show the same). */
export type Expected = Record<string, { rw: string | RegExp; ro: string | RegExp | 'same' }>;

const TEN_MB = 10 * 1024 * 1024;
const md5 = (s: string): string => createHash('md5').update(s).digest('hex');
/** `select length(t), md5(t)` of the 10 MB sent, then the length and md5 of 10 MB received. */
export const LARGE_VALUE = `${TEN_MB}|${md5('x'.repeat(TEN_MB))}|${TEN_MB}|${md5('y'.repeat(TEN_MB))}`;
/** `copy (select g, 'é' || g from generate_series(1, 1000) g) to stdout`: lines and md5. */
export const COPY_OUT = `1000|${md5(Array.from({ length: 1000 }, (_, i) => `${i + 1}\té${i + 1}\n`).join(''))}`;
export const ROWS_100K = '100000|5000050000';
export const PARAMETERS = '43|café ✓|3';

/**
 * What every client shows for the checks they all run, directly: a read-only grant refuses
 * writes with 25006 and shows everything else as read-write does. A client's file adds its
 * own checks and overrides where the library answers differently.
 */
export const COMMON_CHECKS: Expected = {
  login: { rw: 't', ro: 'same' },
  parameters: { rw: PARAMETERS, ro: 'same' },
  transactions: { rw: 'rollback 0, commit 1', ro: '25006' },
  'error then reuse': { rw: '22012,22012,25P02,3', ro: 'same' },
  'large value': { rw: LARGE_VALUE, ro: 'same' },
  '100k rows': { rw: ROWS_100K, ro: 'same' },
  'copy out': { rw: COPY_OUT, ro: 'same' },
  'copy in': { rw: '1000|1000', ro: '25006' },
  'listen/notify': { rw: 'payload é', ro: 'same' },
  'prepared reuse': { rw: '110', ro: 'same' },
  '50 connections': { rw: '50 ok', ro: 'same' },
};

/** 10,000 rows inserted in one pipeline (batch); refused read-only. */
export const PIPELINING: Expected[string] = { rw: 'batched rows 10000', ro: '25006' };

/**
 * Each run's outcome equals the direct one of the same grant, and the direct one is the
 * expected value (so a check broken the same way on both paths still fails).
 */
export function assertMatrix(results: MatrixResults, expected: Expected): void {
  for (const [check, want] of Object.entries(expected)) {
    for (const mode of ['rw', 'ro'] as const) {
      const direct = results[`${mode} direct`]?.[check];
      const viaPgward = results[`${mode} pgward`]?.[check];
      const w = want[mode] === 'same' ? want.rw : want[mode];
      if (typeof w === 'string') expect.soft(direct, `${check} (${mode} direct)`).toBe(w);
      else expect.soft(direct, `${check} (${mode} direct)`).toMatch(w);
      expect.soft(viaPgward, `${check} (${mode} through pgward, vs direct)`).toBe(direct);
    }
  }
}

const resultsDir = 'test-results/client-matrix';

/** Records one client's results and rewrites test-results/client-matrix.md from every client's. */
export async function recordMatrix(
  client: string,
  results: MatrixResults,
  notes: Record<string, string> = {},
): Promise<void> {
  await mkdir(resultsDir, { recursive: true });
  const file = join(resultsDir, `${client.replace(/[^a-z0-9.-]/gi, '_')}.json`);
  await writeFile(`${file}.tmp`, JSON.stringify({ client, results, notes }, null, 2));
  await rename(`${file}.tmp`, file);
  const all: Array<{ client: string; results: MatrixResults; notes: Record<string, string> }> = [];
  for (const f of (await readdir(resultsDir)).filter((x) => x.endsWith('.json')).sort()) {
    all.push(JSON.parse(await readFile(join(resultsDir, f), 'utf8')) as (typeof all)[number]);
  }
  const cell = (s: string | undefined): string =>
    s === undefined ? '' : (s.length > 48 ? `${s.slice(0, 45)}...` : s).replace(/\|/g, '/').replace(/\n/g, ' ');
  const lines = [
    '# Client matrix: direct vs through pgward',
    '',
    'TLS verify-full and SCRAM on every connection; read-write and read-only grants (directly: the upstream role, and a member whose sessions default to read-only). A pgward cell reads "= direct" when it shows exactly what the direct run shows.',
    '',
    '| client | check | read-write direct | read-write pgward | read-only direct | read-only pgward |',
    '|---|---|---|---|---|---|',
  ];
  for (const c of all) {
    const checks = [...new Set([...Object.keys(c.results['rw direct'] ?? {}), ...Object.keys(c.notes)])];
    for (const check of checks) {
      const note = c.notes[check];
      if (note !== undefined && c.results['rw direct']?.[check] === undefined) {
        lines.push(`| ${c.client} | ${check} | n/a: ${note.replace(/\|/g, '/')} | | | |`);
        continue;
      }
      const row = [c.client, check];
      for (const mode of ['rw', 'ro'] as const) {
        const d = c.results[`${mode} direct`]?.[check];
        const p = c.results[`${mode} pgward`]?.[check];
        row.push(cell(d), p === d ? '= direct' : `**${cell(p)}**`);
      }
      lines.push(`| ${row.join(' | ')} |`);
    }
  }
  await writeFile('test-results/client-matrix.md.tmp', `${lines.join('\n')}\n`);
  await rename('test-results/client-matrix.md.tmp', 'test-results/client-matrix.md');
}

/** The runs as JdbcChecks.java reads them: one tab-separated line each. */
export function runsAsTsv(runs: MatrixRun[]): string {
  return runs
    .map((r) => [r.name, r.host, r.port, r.database, r.user, r.password, r.caPath, r.table, r.readOnly].join('\t'))
    .join('\n');
}
