import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SYSTEM_PYTHON } from '../harness/global-setup.js';
import {
  assertMatrix,
  recordMatrix,
  runsAsTsv,
  startMatrix,
  type Matrix,
  type MatrixResults,
  COMMON_CHECKS,
  PIPELINING,
} from '../clients/matrix.js';
import { runProgram } from '../clients/run-program.js';

let m: Matrix;
let results: MatrixResults;

beforeAll(async () => {
  m = await startMatrix(inject('pgCluster'), 'psycopg');
  results = await runProgram(SYSTEM_PYTHON, (file) => ['test/clients/psycopg_checks.py', file], runsAsTsv(m.runs));
  await recordMatrix('psycopg 3.1', results);
}, 300_000);

afterAll(async () => {
  await m?.close();
});

describe('psycopg 3 (Debian python3-psycopg, libpq) through pgward as directly', () => {
  it('every check shows through pgward what it shows directly, for a read-write and a read-only grant', () => {
    assertMatrix(results, {
      ...COMMON_CHECKS,
      cancel: { rw: 'cancel 57014, then 1', ro: 'same' },
      pipelining: PIPELINING,
      'pipelining after set_config': { rw: 'acme|café', ro: 'same' },
      'channel binding': { rw: 'bound, 1', ro: 'same' },
    });
    expect(Object.keys(results)).toEqual(['rw direct', 'rw pgward', 'ro direct', 'ro pgward']);
  });
});
