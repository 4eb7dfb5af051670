import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { z } from 'zod';

const exec = promisify(execFile);

/** PostgreSQL 15's regression sources with a server, psql and pg_regress of the same minor. */
export const regressTreeSchema = z
  .object({
    /** Debian version, e.g. 15.18-0+deb12u1. */
    version: z.string(),
    root: z.string(),
    binDir: z.string(),
    /** Holds this version's libpq.so.5 (psql and pg_regress load it, not the installed one). */
    libDir: z.string(),
    pgRegress: z.string(),
    /** src/test/regress: sql/, expected/, data/, parallel_schedule. */
    inputDir: z.string(),
    schedule: z.string(),
    /** regress.so built against this version's headers, with autoinc.so and refint.so. */
    dlpath: z.string(),
  })
  .strict();
export type RegressTree = z.infer<typeof regressTreeSchema>;

/** The repository root: the nearest folder above this file that holds scripts/regress/prepare.sh (works from dist/ too). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (dir !== dirname(dir)) {
    if (existsSync(join(dir, 'scripts', 'regress', 'prepare.sh'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('scripts/regress/prepare.sh not found above ' + fileURLToPath(import.meta.url));
}

/** Downloads (once, cached under .cache/regress) and unpacks what the suite needs; see scripts/regress/prepare.sh. */
export async function prepareRegressTree(cacheDir?: string): Promise<RegressTree> {
  const root = repoRoot();
  const script = join(root, 'scripts', 'regress', 'prepare.sh');
  const args = [script, ...(cacheDir ? [resolve(cacheDir)] : [])];
  const { stdout } = await exec('bash', args, { maxBuffer: 4 * 1024 * 1024, timeout: 15 * 60_000 }).catch(
    (err: { stderr?: string; message: string }) => {
      throw new Error(`scripts/regress/prepare.sh failed:\n${err.stderr ?? err.message}`);
    },
  );
  const line = stdout.trim().split('\n').pop() ?? '';
  return regressTreeSchema.parse(JSON.parse(line));
}
