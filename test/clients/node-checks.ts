import { createHash } from 'node:crypto';
import { RUN_NAMES, type Matrix, type MatrixResults, type MatrixRun, type Outcomes } from './matrix.js';

/** One check: what a user of the library observes, as a string comparable between runs. */
export type Check = (r: MatrixRun) => Promise<string>;

export const TEN_MB = 10 * 1024 * 1024;
export const md5 = (s: string | Buffer): string => createHash('md5').update(s).digest('hex');

/** The SQLSTATE of a Postgres error, else the error as text. */
export function state(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : `error ${String(err)}`;
}

/** Runs every check of one run in order; a check that throws reports the error as its outcome. */
export async function runChecks(r: MatrixRun, checks: Record<string, Check>): Promise<Outcomes> {
  const out: Outcomes = {};
  for (const [name, check] of Object.entries(checks)) {
    try {
      out[name] = await check(r);
    } catch (err) {
      out[name] = `error ${state(err)}: ${err instanceof Error ? err.message : String(err)}`;
    }
  }
  return out;
}

/** Runs the checks in this process for each of the matrix's four runs, one run after another. */
export async function runAllChecks(m: Matrix, checks: Record<string, Check>): Promise<MatrixResults> {
  const out: Partial<MatrixResults> = {};
  for (const name of RUN_NAMES) out[name] = await runChecks(m.run(name), checks);
  return out as MatrixResults;
}
