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
  m = await startMatrix(inject('pgCluster'), 'asyncpg');
  results = await runProgram(SYSTEM_PYTHON, (file) => ['test/clients/asyncpg_checks.py', file], runsAsTsv(m.runs));
  await recordMatrix('asyncpg 0.27', results, {
    'pipelining after set_config': 'asyncpg pipelines only executemany (one statement, many parameter sets)',
    'channel binding': 'asyncpg 0.27 has no channel binding (it offers SCRAM-SHA-256 only)',
  });
}, 300_000);

afterAll(async () => {
  await m?.close();
});

describe('asyncpg (Debian python3-asyncpg) through pgward as directly', () => {
  it('every check shows through pgward what it shows directly, for a read-write and a read-only grant', () => {
    assertMatrix(results, {
      ...COMMON_CHECKS,
      cancel: { rw: 'timeout, then 1', ro: 'same' },
      pipelining: PIPELINING,
    });
    expect(Object.keys(results)).toEqual(['rw direct', 'rw pgward', 'ro direct', 'ro pgward']);
  });
});
