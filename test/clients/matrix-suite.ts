import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  assertMatrix,
  recordMatrix,
  RUN_NAMES,
  startMatrix,
  type Expected,
  type Matrix,
  type MatrixResults,
} from './matrix.js';

/** One client library's row of the matrix: how to run its checks and what it must show. */
export interface ClientMatrix {
  /** Names the matrix's databases and roles. */
  slug: string;
  /** The client as the results table names it (with its version). */
  client: string;
  title: string;
  run(m: Matrix): Promise<MatrixResults>;
  expected: Expected;
  /** Checks the library cannot run, with why. */
  notes?: Record<string, string>;
}

/**
 * Registers one client's suite: its checks run four ways (read-write and read-only, directly
 * and through pgward), the results are recorded, and every check must show through pgward
 * exactly what it shows directly.
 */
export function clientMatrixSuite(c: ClientMatrix): void {
  let m: Matrix;
  let results: MatrixResults;

  beforeAll(async () => {
    m = await startMatrix(inject('pgCluster'), c.slug);
    results = await c.run(m);
    await recordMatrix(c.client, results, c.notes);
  }, 300_000);

  afterAll(async () => {
    await m?.close();
  });

  describe(`${c.title} through pgward as directly`, () => {
    it('every check shows through pgward what it shows directly, for a read-write and a read-only grant', () => {
      assertMatrix(results, c.expected);
      expect(Object.keys(results)).toEqual(RUN_NAMES);
    });
  });
}
