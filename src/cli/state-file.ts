import { readFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * What a running embedded `pgward start` tells later CLI calls (token issue, vault set):
 * where its store is, and what it listens on. Private to the owner (0600): it holds the
 * store's password.
 */
export interface EmbeddedState {
  storeUrl: string;
  storeCaFile: string;
  vaultKeyFile: string;
  pid: number;
  gateway?: string;
  console?: string | null;
}

export async function writeState(path: string, state: EmbeddedState): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFile(path, JSON.stringify(state, null, 2), { mode: 0o600 });
}

export async function readState(path: string): Promise<EmbeddedState | null> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as EmbeddedState;
  } catch {
    return null;
  }
}

export async function removeState(path: string): Promise<void> {
  await rm(path, { force: true });
}

/**
 * Whether a process with this pid runs (EPERM: it does, owned by someone else). A zombie
 * does not: in a container whose init does not reap, an orphan that exited stays one.
 */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    return !/^\d+ \(.*\) [ZX] /s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

/** The command line of a process (Linux /proc), or null where it cannot be read. */
export async function commandLine(pid: number): Promise<string | null> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').join(' ').trim();
  } catch {
    return null;
  }
}

/** Who holds a folder's embedded default: written before anything starts, updated as ports are known. */
export interface StartLock {
  pid: number;
  startedAt: string;
  gateway: string | null;
  console: string | null;
  postgresPort: number | null;
}

export class AlreadyRunningError extends Error {
  override name = 'AlreadyRunningError';
}

/** A live pid could be a reused one: it is ours only if it still runs a node process. */
async function holderAlive(pid: number): Promise<boolean> {
  if (!processAlive(pid) || pid === process.pid) return false;
  const cmd = await commandLine(pid);
  return cmd === null || /node/.test(cmd);
}

/**
 * Takes the folder's start lock, or says which pgward holds it. A lock left by a process that
 * no longer runs (a crash, SIGKILL) is taken over; what that process left running is the
 * caller's to clean up (see embedded.ts).
 */
export async function acquireStartLock(path: string): Promise<{
  update(fields: Partial<StartLock>): Promise<void>;
  release(): Promise<void>;
  stale: StartLock | null;
}> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  let stale: StartLock | null = null;
  const lock: StartLock = {
    pid: process.pid,
    startedAt: new Date().toISOString(),
    gateway: null,
    console: null,
    postgresPort: null,
  };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(path, JSON.stringify(lock, null, 2), { mode: 0o600, flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err;
      const held = await readFile(path, 'utf8').then(
        (t) => JSON.parse(t) as StartLock,
        () => null,
      );
      if (held && (await holderAlive(held.pid))) {
        const where = [
          held.gateway ? `gateway ${held.gateway}` : null,
          held.console ? `console ${held.console}` : null,
          held.postgresPort ? `embedded PostgreSQL on 127.0.0.1:${held.postgresPort}` : null,
        ].filter(Boolean);
        throw new AlreadyRunningError(
          `pgward is already running in this folder (pid ${held.pid}${where.length ? `; ${where.join(', ')}` : ', still starting'}).` +
            ` Stop it with Ctrl-C in its terminal or \`kill ${held.pid}\`, or start this one from another folder.`,
        );
      }
      stale = held;
      await rm(path, { force: true });
    }
  }
  return {
    stale,
    update: async (fields) => {
      Object.assign(lock, fields);
      await writeFile(path, JSON.stringify(lock, null, 2), { mode: 0o600 });
    },
    release: () => rm(path, { force: true }),
  };
}
