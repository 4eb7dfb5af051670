/**
 * Shared by the fuzz targets. A target throws only for a crash: the typed errors the code
 * under test is designed to throw are swallowed here, everything else propagates (Jazzer.js
 * and fuzz/run.ts both report any exception out of `fuzz` as a finding).
 */

/** A property the code under test must keep, broken: always a crash. */
export class InvariantError extends Error {
  override name = 'InvariantError';
}

export function invariant(ok: boolean, what: string): asserts ok {
  if (!ok) throw new InvariantError(what);
}

export type ErrorClass = abstract new (...args: never[]) => Error;

export const isExpected = (err: unknown, expected: readonly ErrorClass[]): boolean =>
  !(err instanceof InvariantError) && expected.some((type) => err instanceof type);

/** Runs `body`, tolerating only the listed error classes. */
export function tolerate(expected: readonly ErrorClass[], body: () => void): void {
  try {
    body();
  } catch (err) {
    if (!isExpected(err, expected)) throw err;
  }
}

/**
 * Cuts `data` into chunks as TCP might deliver it, the sizes drawn from a tiny LCG seeded
 * by one input byte, so the fuzzer controls (and a replay reproduces) the split.
 */
export function split(data: Buffer, seed: number): Buffer[] {
  if (seed === 0) return data.length > 0 ? [data] : [];
  const maxChunk = 1 << (seed & 7);
  let x = seed >>> 0;
  const out: Buffer[] = [];
  for (let at = 0; at < data.length;) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const n = 1 + ((x >>> 16) % maxChunk);
    out.push(data.subarray(at, at + n));
    at += n;
  }
  return out;
}
