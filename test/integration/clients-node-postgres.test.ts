import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  assertMatrix,
  COPY_OUT,
  LARGE_VALUE,
  PARAMETERS,
  recordMatrix,
  ROWS_100K,
  RUN_NAMES,
  startMatrix,
  type Matrix,
  type MatrixResults,
} from '../clients/matrix.js';
import { runChecks } from '../clients/node-checks.js';
import { nodePostgresChecks } from '../clients/node-postgres-checks.js';

let m: Matrix;
let results: MatrixResults;

beforeAll(async () => {
  m = await startMatrix(inject('pgCluster'), 'node-postgres');
  const out: Partial<MatrixResults> = {};
  for (const name of RUN_NAMES) out[name] = await runChecks(m.run(name), nodePostgresChecks);
  results = out as MatrixResults;
  await recordMatrix('node-postgres 8.23.1 (COPY with pg-copy-streams 7.0.0)', results);
}, 300_000);

afterAll(async () => {
  await m?.close();
});

describe('node-postgres (pg) through pgward as directly', () => {
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
      cancel: { rw: 'cancel 57014, then 1', ro: 'same' },
      pipelining: { rw: 'batched rows 10000', ro: '25006' },
      'pipelining after set_config': { rw: 'acme|café', ro: 'same' },
      '50 connections': { rw: '50 ok', ro: 'same' },
      'channel binding': { rw: 'SCRAM-SHA-256-PLUS, 1', ro: 'same' },
    });
    expect(Object.keys(results)).toEqual(RUN_NAMES);
  });
});
