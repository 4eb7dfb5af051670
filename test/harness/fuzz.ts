import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** The last stdout line of a fuzz/run.js run. */
export interface FuzzSummary {
  target: string;
  execs: number;
  tried: number;
  seconds: number;
  corpusStart: number;
  corpusEnd: number;
  featuresStart: number;
  featuresEnd: number;
  crash: string | null;
}

export interface FuzzRun {
  code: number | null;
  stderr: string;
  summary: FuzzSummary | null;
}

/**
 * Compiles fuzz/ (and the src files it imports) into a fresh folder under test-output/, so
 * tests neither depend on nor race with a build in dist/. Returns that folder.
 */
export async function buildFuzz(): Promise<string> {
  await mkdir(join(repoRoot, 'test-output'), { recursive: true });
  const out = await mkdtemp(join(repoRoot, 'test-output', 'fuzz-'));
  const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
  await promisify(execFile)(process.execPath, [tsc, '-p', join(repoRoot, 'tsconfig.fuzz.json'), '--outDir', out], {
    cwd: repoRoot,
  });
  return out;
}

/** Runs the compiled runner from the repository root (so fuzz/corpus is the default corpus). */
export function runFuzz(out: string, args: readonly string[]): Promise<FuzzRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(out, 'fuzz', 'run.js'), ...args], { cwd: repoRoot });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const last = stdout.trim().split('\n').pop() ?? '';
      resolve({ code, stderr, summary: last.startsWith('{') ? (JSON.parse(last) as FuzzSummary) : null });
    });
  });
}
