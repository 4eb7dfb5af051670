import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { eventHash, genesisHash } from '../../src/audit/chain.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { freePort, PostgresCluster } from '../../src/store/postgres-launcher.js';
import { LOGIN_LOOKUP_TIMEOUT_MS } from '../../src/store/store.js';
import type { UpstreamPool } from '../../src/upstream/pool.js';
import { psql, type RunResult } from '../harness/clients.js';
import { eventually } from '../harness/eventually.js';
import { startTestGateway, superuserQuery, type ClusterInfo, type TestGateway } from '../harness/gateway.js';
import { fields, startupPacket } from '../harness/raw-client.js';

const exec = promisify(execFile);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const shared = inject('pgCluster');
/** A throwaway cluster of this file: the upstream that restarts (gateway A) and the store that goes away (gateway B). */
let side: PostgresCluster;
let sideDir: string;
const sidePassword = randomBytes(12).toString('hex');
/** Our own role and database on the shared cluster: the target that keeps working. */
const sfx = randomBytes(4).toString('hex');
const mainRole = `fu_${sfx}`;
const mainDb = `fu_${sfx}`;
const mainPassword = randomBytes(12).toString('hex');
/** Store on the shared cluster; targets main, side, down (closed port), slow (accepts, never answers), blackhole (never accepts). */
let gwA: TestGateway;
/** Store on the side cluster; target main. */
let gwB: TestGateway;
let storeLink: Awaited<ReturnType<typeof partition>>;
let ca: string;
let downPort: number;
const held = new Set<net.Socket>();
let silentAccepted = 0;
let silent: net.Server;
let blackhole: ChildProcess;
const fillers: net.Socket[] = [];
const tokensA: Record<string, string> = {};
const tokensB: Record<string, string> = {};
/** connectTimeoutMs of the targets that accept and stay silent, or never accept. */
const STUCK_CONNECT_MS = 4_000;

type TargetInput = NonNullable<ConfigInput['targets']>[string];
const target = (port: number, database: string, role: string, extra: Partial<TargetInput> = {}): TargetInput => ({
  host: '127.0.0.1',
  port,
  database,
  role,
  tls: { mode: 'verify-full', caFile: shared.caPath, serverName: 'localhost' },
  ...extra,
});

/** pg_ctl on the side cluster, as the postgres user when we are root (Postgres refuses root). */
async function pgCtl(args: string[]): Promise<void> {
  const bin = join(side.binaries.binDir, 'pg_ctl');
  const full = ['-D', side.dataDir, '-l', join(side.dataDir, 'postgres.log'), ...args];
  if (process.getuid?.() === 0) await exec('runuser', ['-u', 'postgres', '--', bin, ...full]);
  else await exec(bin, full);
}

async function startSide(port?: number): Promise<PostgresCluster> {
  return PostgresCluster.start({
    dataDir: join(sideDir, 'data'),
    ...(port ? { port } : {}),
    superuserPassword: sidePassword,
    tls: { certPath: shared.certPath, keyPath: shared.keyPath, caPath: shared.caPath },
    settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', max_connections: '300' },
  });
}

/** A perl listener with a backlog of 1 that never accepts: once its queue is full, SYNs are dropped. */
async function startBlackhole(): Promise<number> {
  blackhole = spawn('perl', [
    '-MIO::Socket::INET',
    '-e',
    '$|=1; my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 0, Listen => 1) or die "$!"; print $s->sockport, "\\n"; sleep 600;',
  ]);
  const port = await new Promise<number>((resolve, reject) => {
    blackhole.once('error', reject);
    blackhole.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
  });
  // Fill the accept queue: the first connection that does not complete shows SYNs are now dropped.
  // (On loopback a connect that can complete does so in well under a millisecond.)
  for (let i = 0; i < 8; i++) {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => undefined);
    fillers.push(s);
    const done = await Promise.race([
      new Promise<boolean>((r) => s.once('connect', () => r(true))),
      sleep(1_000).then(() => false),
    ]);
    if (!done) return port;
  }
  throw new Error('the blackhole listener kept accepting');
}

/** Node raises its soft descriptor limit to the hard one; as root we can lift the hard one too. */
async function ensureDescriptors(need: number): Promise<void> {
  const soft = async (): Promise<number> => {
    const line = (await readFile('/proc/self/limits', 'utf8')).split('\n').find((l) => l.startsWith('Max open files'));
    const v = line?.split(/\s{2,}/)[1] ?? '0';
    return v === 'unlimited' ? Infinity : Number(v);
  };
  if ((await soft()) >= need) return;
  await exec('prlimit', ['--pid', String(process.pid), `--nofile=${need}:${need}`]).catch(() => undefined);
  const now = await soft();
  if (now < need)
    throw new Error(`this test needs ${need} open files; the limit is ${now} (run as root, or raise ulimit -n)`);
}

/**
 * A TCP relay in front of the side cluster, for gateway B's store: block() holds every byte
 * both ways on open and new connections alike (a network partition: nothing refused,
 * nothing answered), heal() delivers what was held and forwards again.
 */
function partition(port: () => number): Promise<{ port: number; block(): void; heal(): void; close(): Promise<void> }> {
  let blocked = false;
  const pumps = new Set<() => void>();
  const sockets = new Set<net.Socket>();
  const server = net.createServer((a) => {
    let b: net.Socket | null = null;
    const toB: Buffer[] = [];
    const toA: Buffer[] = [];
    const pump = (): void => {
      if (blocked || a.destroyed) return;
      if (!b) {
        const up = net.connect(port(), '127.0.0.1');
        b = up;
        sockets.add(up);
        up.on('data', (d: Buffer) => {
          toA.push(d);
          pump();
        });
        // A stopped server refuses: the client learns at once, as it would without us.
        up.on('error', () => a.destroy());
        up.on('close', () => {
          sockets.delete(up);
          a.destroy();
        });
      }
      for (const d of toB.splice(0)) b.write(d);
      for (const d of toA.splice(0)) a.write(d);
    };
    sockets.add(a);
    a.on('data', (d: Buffer) => {
      toB.push(d);
      pump();
    });
    a.on('error', () => undefined);
    a.on('close', () => {
      sockets.delete(a);
      pumps.delete(pump);
      b?.destroy();
    });
    pumps.add(pump);
    pump();
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: (server.address() as net.AddressInfo).port,
        block: () => {
          blocked = true;
        },
        heal: () => {
          blocked = false;
          for (const p of pumps) p();
        },
        close: async () => {
          for (const s of sockets) s.destroy();
          await new Promise((r) => server.close(r));
        },
      }),
    ),
  );
}

beforeAll(async () => {
  ca = await readFile(shared.caPath, 'utf8');
  sideDir = await mkdtemp(join(tmpdir(), 'pgward-fu-'));
  side = await startSide();
  await side.query(`create role app login password '${sidePassword}'`);
  await side.query('create database app owner app');
  await superuserQuery(shared, `create role ${mainRole} login password '${mainPassword}'`);
  await superuserQuery(shared, `create database ${mainDb} owner ${mainRole}`);
  silent = net.createServer((s) => {
    held.add(s);
    silentAccepted++;
    s.on('error', () => undefined);
    s.resume(); // read (and ignore) the SSLRequest, so the gateway hanging up shows as a close
    s.on('close', () => held.delete(s));
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const blackholePort = await startBlackhole();
  downPort = await freePort();

  const main = target(shared.port, mainDb, mainRole);
  gwA = await startTestGateway(shared, {
    targets: {
      main,
      // Idle pooled connections beyond min are closed soon, so the bulk-login test leaves no crowd behind.
      side: target(side.port, 'app', 'app', { pool: { idleMs: 2_000 } }),
      down: target(downPort, 'app', 'app', { connectTimeoutMs: 1_000 }),
      // Long enough that a psql session on the main target, started beside them, is sure to finish first.
      slow: target((silent.address() as net.AddressInfo).port, 'app', 'app', { connectTimeoutMs: STUCK_CONNECT_MS }),
      blackhole: target(blackholePort, 'app', 'app', { connectTimeoutMs: STUCK_CONNECT_MS }),
    },
    limits: { startupTimeoutMs: 15_000 },
  });
  await gwA.cp.vault.set('main', mainRole, mainPassword);
  for (const t of ['side', 'down', 'slow', 'blackhole']) await gwA.cp.vault.set(t, 'app', sidePassword);
  for (const u of ['restart-user', 'main-user', 'down-user', 'flood-user', 'bulk-user'])
    tokensA[u] = (await gwA.issue(u)).token;

  storeLink = await partition(() => side.port);
  const sideInfo: ClusterInfo = {
    ...shared,
    host: side.host,
    port: storeLink.port,
    superuser: side.superuser,
    superuserPassword: sidePassword,
  };
  gwB = await startTestGateway(sideInfo, { targets: { main }, limits: { startupTimeoutMs: 15_000 } });
  await gwB.cp.vault.set('main', mainRole, mainPassword);
  for (const u of ['live-1', 'live-2', 'late-user', 'cut-user']) tokensB[u] = (await gwB.issue(u)).token;
}, 120_000);

afterAll(async () => {
  await gwA?.close();
  await gwB?.close();
  await storeLink?.close();
  await side?.destroy();
  if (sideDir) await rm(sideDir, { recursive: true, force: true });
  for (const s of held) s.destroy();
  await new Promise((r) => (silent ? silent.close(r) : r(undefined)));
  for (const s of fillers) s.destroy();
  blackhole?.kill();
  await superuserQuery(shared, `drop database if exists ${mainDb} with (force)`).catch(() => undefined);
  await superuserQuery(shared, `drop role if exists ${mainRole}`).catch(() => undefined);
});

const pgClient = (gw: TestGateway, user: string, database: string, password: string): pg.Client =>
  new pg.Client({
    host: gw.host,
    port: gw.port,
    user,
    password,
    database,
    ssl: { ca, servername: 'localhost' },
    connectionTimeoutMillis: 30_000,
  });

/** One psql session through gateway A: its single output line, and the whole result. */
async function ask(user: string, database: string, sql: string): Promise<RunResult & { line: string }> {
  const r = await psql(gwA, user, database, tokensA[user]!, ['-c', sql], { timeoutMs: 30_000 });
  return { ...r, line: r.stdout.trim() };
}

/** The error a login through gateway A ends with, and how long it took. */
async function loginError(user: string, database: string): Promise<{ err: pg.DatabaseError; ms: number }> {
  const c = pgClient(gwA, user, database, tokensA[user]!);
  c.on('error', () => undefined); // the refusal is asserted from connect()
  const t0 = Date.now();
  try {
    await c.connect();
  } catch (err) {
    return { err: err as pg.DatabaseError, ms: Date.now() - t0 };
  } finally {
    await c.end().catch(() => undefined);
  }
  throw new Error(`login to ${database} succeeded`);
}

const poolsOf = (gw: TestGateway): Map<string, UpstreamPool> =>
  (gw.gateway as unknown as { ctx: { pools: Map<string, UpstreamPool> } }).ctx.pools;

interface FloodReport {
  openMs: number;
  answeredMs: number;
  /** Connections of each kind: SSLRequest, plaintext startup, half a startup. */
  kinds: [number, number, number];
  connectErrors: Record<string, number>;
  /** Connections whose answer was not the expected one (at most 10). */
  wrong: string[];
  /** The distinct answers to the plaintext startups, base64. */
  refusals: string[];
}

/**
 * The load, run in a process of its own (plain JS, so node runs it as is) with its own
 * descriptor limit: opens N connections in batches, sends each its bytes, reports once
 * every answer is in, holds them until told on stdin, then closes them (half FIN, half RST).
 */
const FLOOD = `
import net from 'node:net';
const [port, n, batch] = process.argv.slice(1, 4).map(Number);
const plaintext = Buffer.from(process.argv[4], 'hex');
const SSL_REQUEST = Buffer.from('0000000804d2162f', 'hex');
const conns = [];
const connectErrors = {};
const open = (i) => new Promise((resolve) => {
  const kind = i % 3;
  const s = net.connect(Number(port), '127.0.0.1');
  const c = { s, kind, got: [], closed: false, failed: false };
  // Answered: an SSLRequest by its first byte, a plaintext startup by the close after its FATAL,
  // half a startup at once (its answer is silence); a failed connect needs no answer.
  c.answered = new Promise((done) => {
    c.done = done;
    if (kind === 2) done();
  });
  c.gone = new Promise((done) => s.on('close', done));
  conns.push(c);
  s.on('data', (d) => { c.got.push(d); if (kind === 0) c.done(); });
  s.on('close', () => { c.closed = true; c.done(); });
  s.on('error', (e) => {
    if (!c.failed && !c.connected) { c.failed = true; connectErrors[e.code] = (connectErrors[e.code] ?? 0) + 1; c.done(); resolve(); }
  });
  s.once('connect', () => {
    c.connected = true;
    s.write(kind === 0 ? SSL_REQUEST : kind === 1 ? plaintext : plaintext.subarray(0, 12));
    resolve();
  });
});
const t0 = Date.now();
for (let b = 0; b < n; b += batch) await Promise.all(Array.from({ length: Math.min(batch, n - b) }, (_, j) => open(b + j)));
const openMs = Date.now() - t0;
// At most 30 s: the report then shows which were not answered.
await Promise.race([Promise.all(conns.map((c) => c.answered)), new Promise((r) => setTimeout(r, 30000))]);
// A short window in which an unwanted second answer or close would show.
await new Promise((r) => setTimeout(r, 300));
const wrong = [];
const refusals = new Set();
const kinds = [0, 0, 0];
for (const c of conns) {
  kinds[c.kind]++;
  if (c.failed) continue;
  const got = Buffer.concat(c.got);
  let ok;
  if (c.kind === 0) ok = got.toString() === 'S' && !c.closed;
  else if (c.kind === 1) { ok = c.closed && got.length > 0; refusals.add(got.toString('base64')); }
  else ok = got.length === 0 && !c.closed;
  if (!ok && wrong.length < 10) wrong.push(c.kind + ': ' + JSON.stringify(got.toString('latin1')) + ' closed=' + c.closed);
}
process.stdout.write(JSON.stringify({ openMs, answeredMs: Date.now() - t0, kinds, connectErrors, wrong, refusals: [...refusals] }) + '\\n');
process.stdin.once('data', async () => {
  conns.forEach((c, i) => (i % 2 ? c.s.end() : c.s.destroy()));
  await Promise.all(conns.map((c) => c.gone));
  process.exit(0);
});
`;

/** Accepted sockets of the listener on this port the kernel still holds open (ESTABLISHED or CLOSE_WAIT). */
async function kernelSockets(port: number): Promise<number> {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  const lines = (await readFile('/proc/net/tcp', 'utf8')).split('\n').slice(1);
  return lines.filter((l) => {
    const [, local, , st] = l.trim().split(/\s+/);
    return local?.endsWith(`:${hex}`) && (st === '01' || st === '08');
  }).length;
}

/** Sequential psql sessions on the main target until stopped: what a user sees during a flood. */
function keepAsking(user: string): { stop(): Promise<{ served: number; failed: string[] }> } {
  let going = true;
  const failed: string[] = [];
  let served = 0;
  const loop = (async (): Promise<void> => {
    for (let i = 0; going || i < 2; i++) {
      const r = await ask(user, 'main', `select 'served-${i}'`);
      if (r.line === `served-${i}` && r.code === 0) served++;
      else failed.push(r.stderr || r.line);
    }
  })();
  return {
    stop: async () => {
      going = false;
      await loop;
      return { served, failed };
    },
  };
}

describe('upstream and control-plane faults', () => {
  it('upstream restarted: live sessions get a clean FATAL, the warm pool hands out no dead connection, the audit closes each session', async () => {
    const user = 'restart-user';
    const token = tokensA[user]!;
    expect((await ask(user, 'side', "select 'warm'")).line).toBe('warm');
    // Three live sessions: one running a statement, one idle, one idle in a transaction.
    const sleeping = psql(gwA, user, 'side', token, ['-c', 'select pg_sleep(30)'], { timeoutMs: 40_000 });
    const idle = pgClient(gwA, user, 'side', token);
    const inTx = pgClient(gwA, user, 'side', token);
    // The first error is what the user sees; pg reports the closed socket after it.
    const firstError = (c: pg.Client): Promise<pg.DatabaseError> =>
      new Promise((r) => c.on('error', (e) => r(e as pg.DatabaseError)));
    const idleErr = firstError(idle);
    const inTxErr = firstError(inTx);
    await idle.connect();
    await inTx.connect();
    expect((await idle.query('select 1 as n')).rows).toEqual([{ n: 1 }]);
    await inTx.query('begin');
    await inTx.query('select 2');
    await eventually(async () =>
      expect(
        (await side.query("select 1 from pg_stat_activity where query = 'select pg_sleep(30)' and state = 'active'"))
          .rowCount,
      ).toBe(1),
    );
    const pool = [...poolsOf(gwA).entries()].find(([k]) => k.startsWith('side\0'))![1];
    // Without warm connections this would prove nothing about the pool.
    await eventually(() => expect(pool.size).toBeGreaterThanOrEqual(2));
    const restartAt = new Date();

    await pgCtl(['-m', 'fast', '-w', '-t', '60', 'restart']);

    // The running statement ends with Postgres's own FATAL, relayed (pg_sleep(30) finishing would exit 0).
    const r = await sleeping;
    expect(r.signal).toBeNull();
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/FATAL: {2}terminating connection due to administrator command/);
    for (const e of [await idleErr, await inTxErr]) {
      expect(e.message).toBe('terminating connection due to administrator command');
      expect(e.code).toBe('57P01');
    }
    await expect(inTx.query('select 3')).rejects.toThrow();
    await idle.end().catch(() => undefined);
    await inTx.end().catch(() => undefined);

    // The first sessions after the restart succeed at once: nothing dead comes out of the pool.
    for (let i = 0; i < 4; i++) {
      const after = await ask(user, 'side', `select 'after-${i}'`);
      expect({ stderr: after.stderr, line: after.line }).toEqual({ stderr: '', line: `after-${i}` });
    }
    expect((await ask('main-user', 'main', "select 'main ok'")).line).toBe('main ok');

    await gwA.gateway.settled();
    const { rows } = await gwA.cp.store.sql.query<{ end_reason: string | null; ended: boolean }>(
      `select end_reason, ended_at is not null as ended from sessions
        where username = $1 and target = 'side' and started_at > $2::timestamptz - interval '60 seconds' and started_at < $2 order by started_at`,
      [user, restartAt],
    );
    // The warm-up session left by itself; the three live ones were ended by the upstream.
    expect(rows).toEqual([
      { end_reason: 'client-terminate', ended: true },
      { end_reason: 'upstream-closed', ended: true },
      { end_reason: 'upstream-closed', ended: true },
      { end_reason: 'upstream-closed', ended: true },
    ]);
  }, 60_000);
  it('upstream refuses connections: a FATAL 08006 that names the database, not the host', async () => {
    const { err } = await loginError('down-user', 'down');
    expect({ severity: err.severity, code: err.code, message: err.message }).toEqual({
      severity: 'FATAL',
      code: '08006',
      message: 'pgward could not connect to the server for database "down"',
    });
    // Host, port and socket error are for the operator's log, not for the client.
    expect(err.message).not.toMatch(/127\.0\.0\.1|ECONNREFUSED/);
    expect(err.message).not.toContain(String(downPort));
    expect(gwA.logs.some((l) => l.includes(`cannot reach 127.0.0.1:${downPort}`) && l.includes('ECONNREFUSED'))).toBe(
      true,
    );
    const r = await psql(gwA, 'down-user', 'down', tokensA['down-user']!, ['-c', 'select 1'], { timeoutMs: 10_000 });
    expect(r.stderr).toContain('FATAL:  pgward could not connect to the server for database "down"');
    expect(r.code).toBe(2);
  });

  it('upstream accepts and stays silent, or never accepts: FATAL after connectTimeoutMs, the main target served meanwhile', async () => {
    const t0 = Date.now();
    const slow = loginError('down-user', 'slow');
    const hole = loginError('down-user', 'blackhole');
    const main = await ask('main-user', 'main', "select 'main while waiting'");
    const mainMs = Date.now() - t0;
    expect(main.line).toBe('main while waiting');
    for (const [name, { err, ms }] of [
      ['slow', await slow],
      ['blackhole', await hole],
    ] as const) {
      expect({ severity: err.severity, code: err.code, message: err.message }).toEqual({
        severity: 'FATAL',
        code: '08006',
        message: `pgward could not connect to the server for database "${name}"`,
      });
      // Not given up before the configured time.
      expect(ms).toBeGreaterThanOrEqual(STUCK_CONNECT_MS);
      // The other session was not queued behind the stuck connects.
      expect(mainMs).toBeLessThan(ms);
    }
    expect(gwA.logs.some((l) => l.includes('upstream did not finish startup in time'))).toBe(true);
    expect(gwA.logs.some((l) => /timed out connecting to 127\.0\.0\.1:\d+/.test(l))).toBe(true);
    // The silent server saw the gateway give up: nothing of ours stays connected to it.
    expect(silentAccepted).toBeGreaterThan(0);
    await eventually(() => expect(held.size, 'connections to the silent server').toBe(0));
  });
  it('store down: new logins fail closed with FATAL 57P03, live sessions keep working, their audit is spooled and delivered, none lost', async () => {
    const users = ['live-1', 'live-2'];
    // Only this test's sessions: another test signs in as live-1 too.
    const startedAt = new Date(Date.now() - 1_000);
    const errors: Error[] = [];
    const live = users.map((u) => pgClient(gwB, u, 'main', tokensB[u]!));
    for (const c of live) {
      c.on('error', (e) => errors.push(e));
      await c.connect();
    }
    const ran = [0, 0];
    const run = async (k: number, n: number, phase: string): Promise<void> => {
      for (let i = 0; i < n; i++) {
        const { rows } = await live[k]!.query('select $1::int + 1 as n, $2::text as phase', [ran[k], phase]);
        expect(rows).toEqual([{ n: ran[k]! + 1, phase }]);
        ran[k]!++;
      }
    };
    await Promise.all([run(0, 5, 'before'), run(1, 5, 'before')]);
    await gwB.gateway.settled();
    const spoolFile = join(gwB.config.audit.spoolDir!, 'audit-spool.jsonl');
    const spooledLines = async (): Promise<number> =>
      (await readFile(spoolFile, 'utf8').catch(() => '')).split('\n').filter(Boolean).length;
    expect(await spooledLines()).toBe(0);

    const port = side.port;
    await side.stop('fast');
    try {
      // 57P03 (cannot_connect_now) is what Postgres answers while it cannot let anyone in
      // for now (starting up, shutting down, in recovery): a retryable refusal, which is
      // what a login without the credential store is. 08006 would claim a broken link.
      const late = pgClient(gwB, 'late-user', 'main', tokensB['late-user']!);
      const err = (await late.connect().then(
        () => null,
        (e: unknown) => e,
      )) as pg.DatabaseError | null;
      await late.end().catch(() => undefined);
      expect({ severity: err?.severity, code: err?.code, message: err?.message }).toEqual({
        severity: 'FATAL',
        code: '57P03',
        message: 'pgward cannot verify credentials right now',
      });
      const r = await psql(gwB, 'late-user', 'main', tokensB['late-user']!, ['-c', 'select 1'], { timeoutMs: 10_000 });
      expect(r.stderr).toContain('FATAL:  pgward cannot verify credentials right now');
      expect(r.code).toBe(2);

      // Live sessions do not need the store: they keep answering, and their audit goes to disk.
      await Promise.all([run(0, 20, 'during'), run(1, 20, 'during')]);
      await eventually(async () => expect(await spooledLines(), 'audit batches in the spool').toBeGreaterThan(0));
    } finally {
      side = await startSide(port);
    }
    await Promise.all([run(0, 5, 'after'), run(1, 5, 'after')]);
    for (const c of live) await c.end();
    expect(errors).toEqual([]);
    expect(ran).toEqual([30, 30]);
    await gwB.gateway.settled();

    // Delivered after the store came back: every session's chain whole, every statement in it.
    const store = gwB.cp.store.sql;
    const sessions = async (): Promise<
      Array<{ id: string; username: string; end_reason: string | null; statements: number; chain_length: number }>
    > =>
      (
        await store.query(
          `select id, username, end_reason, statements, chain_length from sessions where username = any($1) and started_at >= $2 order by username`,
          [users, startedAt],
        )
      ).rows;
    const stored = async (id: string): Promise<number> =>
      Number((await store.query('select count(*) from session_events where session_id = $1', [id])).rows[0].count);
    await eventually(async () => {
      expect(await spooledLines(), 'lines left in the spool').toBe(0);
      const delivered = await Promise.all(
        (await sessions()).map(async (s) => ({ user: s.username, chain: s.chain_length, stored: await stored(s.id) })),
      );
      for (const d of delivered) expect(d.chain).toBeGreaterThan(0);
      expect(delivered.map((d) => d.stored)).toEqual(delivered.map((d) => d.chain));
    });
    const rows = await sessions();
    expect(rows.map((s) => ({ user: s.username, end: s.end_reason, statements: s.statements }))).toEqual(
      users.map((u) => ({ user: u, end: 'client-terminate', statements: 30 })),
    );
    for (const s of rows) {
      const { rows: events } = await store.query<{
        seq: number;
        at: Date;
        kind: string;
        username: string | null;
        payload: { count?: number };
        prev_hash: Buffer;
        hash: Buffer;
      }>('select * from session_events where session_id = $1 order by seq', [s.id]);
      let prev = genesisHash(s.id);
      events.forEach((e, i) => {
        expect(e.seq).toBe(i + 1);
        expect(e.prev_hash.toString('hex')).toBe(prev);
        expect(
          eventHash({
            session_id: s.id,
            seq: e.seq,
            at: e.at.toISOString(),
            kind: e.kind,
            username: e.username,
            payload: e.payload,
            prev_hash: prev,
          }),
        ).toBe(e.hash.toString('hex'));
        prev = e.hash.toString('hex');
      });
      expect(events.length).toBe(s.chain_length);
      expect(events.filter((e) => e.kind === 'statements').reduce((n, e) => n + (e.payload.count ?? 0), 0)).toBe(30);
      expect(events.at(-1)?.kind).toBe('session_end');
    }
    // And logins work again.
    const back = await psql(gwB, 'late-user', 'main', tokensB['late-user']!, ['-c', "select 'store back'"], {
      timeoutMs: 10_000,
    });
    expect(back.stdout.trim()).toBe('store back');
  }, 60_000);
  it('store cut off (a partition: nothing refused, nothing answered): new logins get FATAL 57P03 after the lookup bound, not a hang', async () => {
    const live = pgClient(gwB, 'live-1', 'main', tokensB['live-1']!);
    const liveErrors: Error[] = [];
    live.on('error', (e) => liveErrors.push(e));
    await live.connect();
    storeLink.block();
    try {
      const c = pgClient(gwB, 'cut-user', 'main', tokensB['cut-user']!);
      c.on('error', () => undefined); // the refusal is asserted from connect()
      const t0 = Date.now();
      const err = (await c.connect().then(
        () => null,
        (e: unknown) => e,
      )) as pg.DatabaseError | null;
      await c.end().catch(() => undefined);
      const ms = Date.now() - t0;
      // A FATAL the client can read: the 15 s startup deadline would have dropped it silently.
      expect({ severity: err?.severity, code: err?.code, message: err?.message }).toEqual({
        severity: 'FATAL',
        code: '57P03',
        message: 'pgward cannot verify credentials right now',
      });
      // Not given up before the lookup bound.
      expect(ms).toBeGreaterThanOrEqual(LOGIN_LOOKUP_TIMEOUT_MS - 50);
      expect(gwB.logs.some((l) => l.includes('control plane credential lookup: no answer within'))).toBe(true);
      // A live session needs nothing from the store; its audit batches, which the store
      // neither takes nor refuses, go to the spool once the write bound passes.
      expect((await live.query("select 'still here' as s")).rows).toEqual([{ s: 'still here' }]);
      for (let i = 0; i < 20; i++) expect((await live.query('select $1::int as i', [i])).rows).toEqual([{ i }]);
      const spoolFile = join(gwB.config.audit.spoolDir!, 'audit-spool.jsonl');
      await eventually(async () =>
        expect(
          (await readFile(spoolFile, 'utf8').catch(() => '')).length,
          'spool bytes during the partition',
        ).toBeGreaterThan(0),
      );
    } finally {
      storeLink.heal();
    }
    await live.end();
    expect(liveErrors).toEqual([]);
    // Delivered after the partition heals: the whole chain, all 21 statements.
    await gwB.gateway.settled();
    const store = gwB.cp.store.sql;
    const latest = async (): Promise<
      { id: string; statements: number; chain_length: number; stored: number } | undefined
    > =>
      (
        await store.query(
          `select s.id, s.statements, s.chain_length, (select count(*)::int from session_events e where e.session_id = s.id) as stored
             from sessions s where s.username = 'live-1' order by s.started_at desc limit 1`,
        )
      ).rows[0];
    await eventually(async () => {
      const s = await latest();
      expect(s?.chain_length).toBeGreaterThan(0);
      expect(s?.stored).toBe(s?.chain_length);
    });
    expect((await latest())?.statements).toBe(21);
    const back = await psql(gwB, 'cut-user', 'main', tokensB['cut-user']!, ['-c', "select 'healed'"], {
      timeoutMs: 20_000,
    });
    expect(back.stdout.trim()).toBe('healed');
  }, 70_000);
  it('5,000 connections at once (SSLRequest, plaintext startup, half a startup): each gets its answer, psql is served meanwhile, everything returns to baseline', async () => {
    const N = 5_000;
    // The gateway (this process) holds one descriptor per connection; the load runs in its own process.
    await ensureDescriptors(N + 4_096);
    const user = 'flood-user';
    expect((await ask(user, 'main', "select 'warm'")).line).toBe('warm');
    await gwA.gateway.settled();
    await eventually(() => expect(gwA.gateway.activeConnections).toBe(0));
    const baseFds = (await readdir('/proc/self/fd')).length;
    const asking = keepAsking(user);

    const plaintext = startupPacket({ user: 'flood', database: 'main' });
    const load = spawn(
      'bash',
      [
        '-c',
        'ulimit -n 20000 2>/dev/null; exec "$0" --input-type=module -e "$1" "${@:2}"',
        process.execPath,
        FLOOD,
        String(gwA.port),
        String(N),
        '500',
        plaintext.toString('hex'),
      ],
      {
        stdio: ['pipe', 'pipe', 'inherit'],
      },
    );
    const exited = new Promise<number | null>((r) => load.once('exit', (code) => r(code)));
    let timing: string;
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = '';
        load.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('\n')) resolve(out.split('\n')[0]!);
        });
        void exited.then((code) => reject(new Error(`the load process exited (${code}) before reporting`)));
      });
      const report = JSON.parse(line) as FloodReport;
      timing = `opened in ${report.openMs} ms, all answered by ${report.answeredMs} ms`;
      // Held open right now: every SSLRequest and every half startup (the plaintext ones were refused).
      const heldOpen = report.kinds[0] + report.kinds[2];
      expect(gwA.gateway.activeConnections).toBeGreaterThanOrEqual(heldOpen);
      // A new psql session is served while the flood's connections are all held open.
      expect((await ask(user, 'main', "select 'during the flood'")).line).toBe('during the flood');
      expect(report.connectErrors).toEqual({});
      expect(report.wrong).toEqual([]);
      expect(report.kinds).toEqual([1_667, 1_667, 1_666]);
      // Every plaintext startup got the same FATAL, the one Postgres gives for a hostssl-only rule.
      expect(
        report.refusals.map((b64) => {
          const e = Buffer.from(b64, 'base64');
          return { type: String.fromCharCode(e[0]!), ...fields(e.subarray(5, 1 + e.readUInt32BE(1))) };
        }),
      ).toEqual([
        {
          type: 'E',
          S: 'FATAL',
          V: 'FATAL',
          C: '28000',
          M: 'no pgward access rule for host "127.0.0.1", user "flood", database "main", no encryption',
          H: 'pgward requires TLS: connect with sslmode=require or stronger.',
        },
      ]);
      load.stdin!.end('close\n');
      expect(await exited).toBe(0);
    } finally {
      load.kill();
      await asking.stop();
    }
    const { served, failed } = await asking.stop();
    expect(failed).toEqual([]);
    expect(served).toBeGreaterThanOrEqual(2);
    await eventually(() => expect(gwA.gateway.activeConnections, 'connections the gateway holds').toBe(0));
    await eventually(async () => expect(await kernelSockets(gwA.port), 'sockets the kernel holds').toBe(0));
    expect(gwA.gateway.registry.size).toBe(0);
    // Allowance for the store's and the pools' own connections, which come and go; a leak of thousands shows.
    expect((await readdir('/proc/self/fd')).length).toBeLessThan(baseFds + 30);
    expect((await ask(user, 'main', "select 'after the flood'")).line).toBe('after the flood');
    console.log(`flood: ${N} connections ${timing}; ${served} psql sessions served meanwhile`);
  }, 60_000);

  it('200 full TLS + SCRAM logins at once: each session answers with its own row, psql is served meanwhile, all recorded, back to baseline', async () => {
    const user = 'bulk-user';
    const asking = keepAsking('main-user');
    const errors: Error[] = [];
    const clients = Array.from({ length: 200 }, () => {
      const c = pgClient(gwA, user, 'side', tokensA[user]!);
      c.on('error', (e) => errors.push(e));
      return c;
    });
    const t0 = Date.now();
    let loginMs: number;
    try {
      await Promise.all(clients.map((c) => c.connect()));
      loginMs = Date.now() - t0;
      expect(gwA.gateway.registry.size).toBeGreaterThanOrEqual(200);
      const results = await Promise.all(
        clients.map((c, i) => c.query<{ i: number; pid: number }>('select $1::int as i, pg_backend_pid() as pid', [i])),
      );
      expect(results.map((r) => r.rows[0]!.i)).toEqual(clients.map((_, i) => i));
      // Every session has its own upstream backend while they all run at once.
      expect(new Set(results.map((r) => r.rows[0]!.pid)).size).toBe(200);
    } finally {
      await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
      await asking.stop();
    }
    const { served, failed } = await asking.stop();
    expect(failed).toEqual([]);
    expect(served).toBeGreaterThanOrEqual(2);
    expect(errors).toEqual([]);
    await eventually(() =>
      expect({ connections: gwA.gateway.activeConnections, sessions: gwA.gateway.registry.size }).toEqual({
        connections: 0,
        sessions: 0,
      }),
    );
    await gwA.gateway.settled();
    const { rows } = await gwA.cp.store.sql.query<{ end_reason: string; n: number }>(
      `select end_reason, count(*)::int as n from sessions where username = $1 group by end_reason`,
      [user],
    );
    expect(rows).toEqual([{ end_reason: 'client-terminate', n: 200 }]);
    console.log(`bulk: 200 logins in ${loginMs} ms, ${served} psql sessions served meanwhile`);
  }, 60_000);
});
