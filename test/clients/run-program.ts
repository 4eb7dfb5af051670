import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../harness/clients.js';
import type { MatrixResults } from './matrix.js';

/**
 * Runs a client program that reads its runs (passwords included) from a private file and
 * prints one JSON object of outcomes; the file never outlives the call.
 */
export async function runProgram(
  cmd: string,
  args: (runsFile: string) => string[],
  runs: string,
  timeoutMs = 240_000,
): Promise<MatrixResults> {
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
