import { spawn, type ChildProcess } from 'node:child_process';
import { access, chmod, cp, mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/store/postgres-launcher.js';
import { eventually } from '../harness/eventually.js';
import { buildCli, pgward } from './audit-cli.js';

const ROOT = resolve(import.meta.dirname, '../..');
let main: string;
let dir: string;
let gatewayPort: number;
let consolePort: number;
const children: ChildProcess[] = [];

/** Pids of the Postgres servers running on this folder's embedded data (their command line names it). */
async function postgresOn(dataDir: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmd = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    if (/postgres/.test(cmd) && cmd.includes(`-D\0${dataDir}\0`) && !/\) Z /.test(stat)) pids.push(Number(entry));
  }
  return pids;
}

const exists = (p: string): Promise<boolean> =>
  access(p).then(
    () => true,
    () => false,
  );

/** `node dist/src/cli/main.js start` in the folder, until it prints its banner. */
async function startRunning(): Promise<{ child: ChildProcess; out: () => string }> {
  const child = spawn(process.execPath, [main, 'start'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  await eventually(
    () => {
      expect(child.exitCode, out).toBeNull();
      expect(out).toContain('pgward is listening on');
    },
    { timeoutMs: 150_000, intervalMs: 200 },
  );
  return { child, out: () => out };
}

const exited = (child: ChildProcess): Promise<number | null> =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve(child.exitCode)
    : new Promise((r) => child.once('exit', (c) => r(c)));

const writeConfig = (policiesDir: string): Promise<void> =>
  writeFile(
    join(dir, 'pgward.yaml'),
    [
      `listen: { port: ${gatewayPort} }`,
      `web: { port: ${consolePort} }`,
      `policies: { dir: '${policiesDir}' }`,
      'log: { level: info }',
      '',
    ].join('\n'),
  );

beforeAll(async () => {
  main = await buildCli();
  dir = await mkdtemp(join(tmpdir(), 'pgward-start-'));
  // As root the embedded Postgres runs as the postgres user, who must pass through (as in a home folder).
  await chmod(dir, 0o711);
  gatewayPort = await freePort();
  consolePort = await freePort();
}, 240_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  await Promise.all(children.map(exited));
  for (const pid of dir ? await postgresOn(join(dir, '.pgward/postgres')) : []) process.kill(pid, 'SIGQUIT');
}, 60_000);

describe('pgward start recovers from failed, doubled and killed starts', () => {
  const dataDir = (): string => join(dir, '.pgward/postgres');

  it('a busy gateway port is named with the setting that moves it, before anything starts', async () => {
    await writeConfig(join(ROOT, 'policies'));
    const holder = net.createServer();
    await new Promise<void>((r) => holder.listen(gatewayPort, '127.0.0.1', r));
    try {
      const r = await pgward(main, ['start'], dir);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(
        `pgward: port ${gatewayPort} on 127.0.0.1 is already in use, so the gateway cannot listen there. Move it with listen.port in pgward.yaml (or --port N)`,
      );
      expect(r.stderr).not.toContain('PostgreSQL did not start');
      expect(await exists(join(dir, '.pgward/start.lock'))).toBe(false);
      expect(await postgresOn(dataDir())).toEqual([]);
    } finally {
      await new Promise((r) => holder.close(r));
    }
  }, 60_000);

  it('a start that fails after the embedded PostgreSQL is up stops it again', async () => {
    const bad = join(dir, 'bad-policies');
    await mkdir(bad, { recursive: true });
    await writeFile(join(bad, 'p.yaml'), 'rules:\n  - name: x\n    effect: maybe\n');
    await writeConfig(bad);
    const r = await pgward(main, ['start'], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('are invalid and no earlier version is stored');
    // Postgres did start (initdb made the folder) and was stopped.
    expect(await exists(join(dataDir(), 'PG_VERSION'))).toBe(true);
    expect(await exists(join(dataDir(), 'postmaster.pid'))).toBe(false);
    expect(await postgresOn(dataDir())).toEqual([]);
    expect(await exists(join(dir, '.pgward/start.lock'))).toBe(false);
  }, 180_000);

  it('a second start says one is running; after a SIGKILL the next start stops the orphaned PostgreSQL', async () => {
    await cp(join(ROOT, 'policies'), join(dir, 'policies'), { recursive: true });
    await writeConfig(join(dir, 'policies'));
    const first = await startRunning();
    const [orphan] = await postgresOn(dataDir());
    expect(orphan).toBeGreaterThan(0);

    const second = await pgward(main, ['start'], dir);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(
      `pgward: pgward is already running in this folder (pid ${first.child.pid}; gateway 127.0.0.1:${gatewayPort}, console http://127.0.0.1:${consolePort}, embedded PostgreSQL on 127.0.0.1:`,
    );
    expect(second.stderr).not.toContain('PostgreSQL did not start');
    expect(first.child.exitCode).toBeNull();

    // A crash: the node process dies, its Postgres (detached by pg_ctl) runs on.
    first.child.kill('SIGKILL');
    await exited(first.child);
    expect(await postgresOn(dataDir())).toEqual([orphan]);

    const third = await startRunning();
    expect(third.out()).toContain(`stopping the embedded PostgreSQL (pid ${orphan}`);
    const now = await postgresOn(dataDir());
    expect(now).toHaveLength(1);
    expect(now).not.toContain(orphan);

    third.child.kill('SIGTERM');
    expect(await exited(third.child)).toBe(0);
    expect(await postgresOn(dataDir())).toEqual([]);
    expect(await exists(join(dir, '.pgward/start.lock'))).toBe(false);
  }, 400_000);

  it('Ctrl-C while starting stops the embedded PostgreSQL it had started (pg_ctl detached it from the terminal)', async () => {
    const child = spawn(process.execPath, [main, 'start'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    await eventually(() => expect(out).toContain('starting the embedded PostgreSQL'), { timeoutMs: 60_000 });
    child.kill('SIGINT');
    expect(await exited(child)).toBe(1);
    expect(out).toContain('pgward: stopped by SIGINT while starting; what had started is stopped again');
    expect(out).not.toContain('pgward is listening on');
    expect(await postgresOn(dataDir())).toEqual([]);
    expect(await exists(join(dir, '.pgward/start.lock'))).toBe(false);
  }, 120_000);

  it('a postmaster.pid whose pid now belongs to another program is cleared, not fatal', async () => {
    // Postgres refuses to start while any process has the pid its lock file names (a pid
    // reused after a crash and a reboot); here the pid is this test's own node process.
    await writeFile(
      join(dataDir(), 'postmaster.pid'),
      `${process.pid}\n${dataDir()}\n1700000000\n5999\n/tmp\n127.0.0.1\n  5999001  0\nready   \n`,
    );
    const run = await startRunning();
    expect(run.out()).toContain(`postmaster.pid: left by a PostgreSQL (pid ${process.pid}) that is no longer running`);
    run.child.kill('SIGTERM');
    expect(await exited(run.child)).toBe(0);
    expect(await postgresOn(dataDir())).toEqual([]);
  }, 200_000);
});
