/**
 * Issue 13 item 5: statement texts over the parse budget are classified by a worker thread,
 * so one user's 10 MB statement no longer stalls everyone else's session (it stalled a
 * `select 1` for 14 s), and what it holds is still judged as any other statement.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  closeParseWorkers,
  configureParseBudget,
  parsePool,
  PARSE_BUDGET_DEFAULTS,
} from '../../src/detect/offthread-inspection.js';
import { psql } from '../harness/clients.js';
import { startTestGateway, type TestGateway } from '../harness/gateway.js';
import { valuesList } from '../harness/values-list.js';

let gw: TestGateway;
let ca: string;
let dir: string;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  gw = await startTestGateway(
    inject('pgCluster'),
    {},
    {
      policies: {
        'p.yaml': `profiles:
  no-truncate:
    risks: { truncate: block, '*': log }
rules:
  - name: readers
    effect: allow
    subjects: { users: ['ro-*'] }
    session: { readOnly: true }
    tls: { required: false }
  - name: admins
    effect: allow
    subjects: { users: ['admin-*'] }
    session: { detector: no-truncate }
    tls: { required: false }
  - name: everyone
    effect: allow
    subjects: { users: ['*'] }
    tls: { required: false }
`,
      },
    },
  );
  ca = await readFile(gw.caPath, 'utf8');
  dir = await mkdtemp(join(tmpdir(), 'pgward-parse-budget-'));
  for (const u of ['loader', 'prober', 'ro-rita', 'admin-ann', 'crasher']) tokens[u] = (await gw.issue(u)).token;
  await psql(gw, 'loader', gw.database, tokens['loader']!, [
    '-c',
    'create unlogged table big (a int, b text)',
    '-c',
    'create table victim (x int)',
    '-c',
    'insert into victim values (1), (2)',
  ]);
});
afterAll(async () => {
  await gw?.close();
  await closeParseWorkers();
});

async function connect(user: string): Promise<pg.Client> {
  const c = new pg.Client({
    host: gw.host,
    port: gw.port,
    user,
    password: tokens[user],
    database: gw.database,
    ssl: { ca, servername: 'localhost' },
  });
  await c.connect();
  return c;
}

/** Runs a statement of `bytes` bytes with psql (another process: its sending costs the gateway nothing). */
async function psqlFile(user: string, sql: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const file = join(dir, `${user}-${sql.length}.sql`);
  await writeFile(file, sql + ';\n');
  return psql(gw, user, gw.database, tokens[user]!, ['-f', file], { timeoutMs: 120_000 });
}

/**
 * Another session's `select 1` every 10 ms, from a child process: a probe on the gateway's
 * own event loop would not send while the loop is stalled and so would not see the stall.
 */
function startProbe(): { stop(): Promise<Array<[number, number]>> } {
  const code = `
    import pg from 'pg';
    const c = new pg.Client(JSON.parse(process.env.PROBE_CONN));
    await c.connect();
    const ms = [];
    let stop = false;
    process.stdin.on('data', () => (stop = true));
    process.stdin.resume();
    while (!stop) {
      const at = Date.now();
      const t0 = performance.now();
      await c.query('select 1');
      ms.push([at, performance.now() - t0]);
      await new Promise((r) => setTimeout(r, 10));
    }
    await c.end();
    process.stdout.write(JSON.stringify(ms));
    process.exit(0);`;
  const conn = {
    host: gw.host,
    port: gw.port,
    user: 'prober',
    password: tokens['prober'],
    database: gw.database,
    ssl: { ca, servername: 'localhost' },
  };
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
    cwd: process.cwd(),
    env: { ...process.env, PROBE_CONN: JSON.stringify(conn) },
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  return {
    stop: async () => {
      child.stdin.write('stop\n');
      await exited;
      if (!out) throw new Error(`probe failed: ${err}`);
      return JSON.parse(out) as Array<[number, number]>;
    },
  };
}

describe('a 10 MB statement does not stall other sessions', () => {
  it('another session answers `select 1` quickly all along; the INSERT runs', async () => {
    const sql = valuesList(10 * 1024 * 1024, 'insert into big (a, b) values ');
    const probe = startProbe();
    const loop = monitorEventLoopDelay({ resolution: 5 });
    await new Promise((r) => setTimeout(r, 300)); // the probe is connected and running
    loop.enable();
    const parsedBefore = parsePool().counts.parsed;
    const started = Date.now();
    const r = await psqlFile('loader', sql);
    const took = Date.now() - started;
    loop.disable();
    // From the moment the statement is sent (the probe's own first statements warm the parser).
    const latencies = (await probe.stop()).filter(([at]) => at >= started).map(([, ms]) => ms);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toMatch(/^INSERT 0 \d{6}$/);
    expect(parsePool().counts.parsed).toBe(parsedBefore + 1);
    const max = Math.max(...latencies);
    const stallMs = loop.max / 1e6;
    console.log(
      `10 MB INSERT through pgward in ${took} ms; other session: ${latencies.length} select 1, max ${max.toFixed(1)} ms; gateway event loop max delay ${stallMs.toFixed(1)} ms`,
    );
    expect(latencies.length).toBeGreaterThan(20);
    // Before, the parse stalled everyone for seconds (14 s in the issue, 8.8 s in the bench). The
    // bench (bench/parse-budget.ts) shows the figure on a quiet machine; on 2 cores shared with
    // Postgres parsing the same 10 MB and the rest of the suite, threads wait their turn.
    expect(max).toBeLessThan(500);
    expect(stallMs).toBeLessThan(500);
  });
});

describe('a statement over the budget is judged like any other', () => {
  it('a read-only session: a large text that switches read-only off is refused (25006)', async () => {
    const sql = `${valuesList(2_000_000, 'select count(*) from (values ')}) v(a, b); set default_transaction_read_only = off`;
    const c = await connect('ro-rita');
    try {
      await expect(c.query(sql)).rejects.toMatchObject({ code: '25006' });
      expect((await c.query('show default_transaction_read_only')).rows[0]).toEqual({
        default_transaction_read_only: 'on',
      });
    } finally {
      await c.end();
    }
  });

  it('a profile that blocks TRUNCATE blocks it at the end of a large text (42501); the table keeps its rows', async () => {
    const sql = `${valuesList(2_000_000, 'select count(*) from (values ')}) v(a, b); truncate victim`;
    const c = await connect('admin-ann');
    try {
      await expect(c.query(sql)).rejects.toMatchObject({ code: '42501' });
      expect((await c.query('select count(*)::int as n from victim')).rows[0]).toEqual({ n: 2 });
    } finally {
      await c.end();
    }
  });

  it('a large text that is fine runs, through the extended protocol too', async () => {
    const sql = `${valuesList(1_000_000, 'select count(*)::int as n from (values ')}) v(a, b) where a >= $1`;
    const c = await connect('admin-ann');
    try {
      const rows = (await c.query(sql, [0])).rows as Array<{ n: number }>;
      expect(rows[0]!.n).toBeGreaterThan(30_000);
      // The session's next statements go on as usual.
      expect((await c.query('select 2 as x')).rows[0]).toEqual({ x: 2 });
    } finally {
      await c.end();
    }
  });
});

describe('the parse worker failing refuses the statement, never the gateway', () => {
  it('a worker out of heap: the statement is refused (0A000) with why, flagged, and the session goes on', async () => {
    configureParseBudget({ maxHeapMb: 32 });
    const c = await connect('crasher');
    try {
      const sql = `${valuesList(4_000_000, 'select count(*) from (values ')}) v(a, b)`;
      const err = (await c.query(sql).then(
        () => null,
        (e: unknown) => e,
      )) as { code?: string; message?: string; detail?: string } | null;
      expect(err?.code).toBe('0A000');
      expect(err?.message).toBe('pgward: statement refused: its text cannot be inspected');
      expect(err?.detail).toMatch(/^pgward ran out of memory classifying this statement/);
      expect((await c.query('select 3 as x')).rows[0]).toEqual({ x: 3 });
    } finally {
      await c.end();
      configureParseBudget({ maxHeapMb: PARSE_BUDGET_DEFAULTS.maxHeapMb });
    }
    await gw.gateway.settled();
    const { rows } = await gw.cp.store.sql.query<{ n: number }>(
      `select count(*)::int as n from anomalies where username = 'crasher' and kind = 'unreadable-statement'`,
    );
    expect(rows[0]!.n).toBe(1);
    // Another session is served as before.
    const r = await psql(gw, 'loader', gw.database, tokens['loader']!, ['-c', 'select 4']);
    expect(r.stdout.trim()).toBe('4');
  });
});
