import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { run, type RunResult } from '../harness/clients.js';
import type { MatrixResults } from './matrix.js';

/**
 * Runs a client program that reads its runs (passwords included) from a private file and
 * prints one JSON object of outcomes; the file never outlives the call.
 */
export async function runProgram(cmd: string, args: (runsFile: string) => string[], runs: string, timeoutMs = 240_000): Promise<MatrixResults> {
  const dir = await mkdtemp(join(tmpdir(), 'pgward-clients-'));
  try {
    const file = join(dir, 'runs');
    await writeFile(file, runs, { mode: 0o600 });
    const r = await run(cmd, args(file), { timeoutMs });
    const line = r.stdout.trim().split('\n').pop() ?? '';
    try {
      return JSON.parse(line) as MatrixResults;
    } catch {
      throw new Error(`${cmd} printed no result (exit ${r.code}, signal ${r.signal}): ${r.stderr.slice(-2000)}`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Runs a program and decodes its output once at the end: decoding chunk by chunk would split
 * multi-byte UTF-8 characters that straddle two reads (and corrupt dumps and COPY output).
 */
export function runWhole(
  cmd: string,
  args: string[],
  opts: { env?: Record<string, string>; input?: string; timeoutMs?: number; onSpawn?: (pid: number) => void } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, PGCONNECT_TIMEOUT: '20', ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('spawn', () => opts.onSpawn?.(child.pid!));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
    child.stdin.on('error', () => undefined); // a program that exits early closes its stdin
    child.stdin.end(opts.input ?? '');
  });
}
