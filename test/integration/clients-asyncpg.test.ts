import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SYSTEM_PYTHON } from '../harness/global-setup.js';
import {
  assertMatrix,
  COPY_OUT,
  LARGE_VALUE,
  PARAMETERS,
  recordMatrix,
  ROWS_100K,
  runsAsTsv,
  startMatrix,
  type Matrix,
  type MatrixResults,
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
      login: { rw: 't', ro: 'same' },
      parameters: { rw: PARAMETERS, ro: 'same' },
      transactions: { rw: 'rollback 0, commit 1', ro: '25006' },
      'error then reuse': { rw: '22012,22012,25P02,3', ro: 'same' },
      'large value': { rw: LARGE_VALUE, ro: 'same' },
      '100k rows': { rw: ROWS_100K, ro: 'same' },
      'copy out': { rw: COPY_OUT, ro: 'same' },
      'copy in': { rw: '1000|1000', ro: '25006' },
      'listen/notify': { rw: 'payload é', ro: 'same' },
      'prepared reuse': { rw: '110', ro: 'same' },
      cancel: { rw: 'timeout, then 1', ro: 'same' },
      pipelining: { rw: 'batched rows 10000', ro: '25006' },
      '50 connections': { rw: '50 ok', ro: 'same' },
    });
    expect(Object.keys(results)).toEqual(['rw direct', 'rw pgward', 'ro direct', 'ro pgward']);
  });
});
