import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  assertMatrix,
  recordMatrix,
  RUN_NAMES,
  startMatrix,
  type Matrix,
  type MatrixResults,
  COMMON_CHECKS,
  PIPELINING,
} from '../clients/matrix.js';
import { runChecks } from '../clients/node-checks.js';
import { postgresJsChecks } from '../clients/postgres-js-checks.js';

let m: Matrix;
let results: MatrixResults;

beforeAll(async () => {
  m = await startMatrix(inject('pgCluster'), 'postgres-js');
  const out: Partial<MatrixResults> = {};
  for (const name of RUN_NAMES) out[name] = await runChecks(m.run(name), postgresJsChecks);
  results = out as MatrixResults;
  await recordMatrix('postgres.js 4.2.0', results);
}, 300_000);

afterAll(async () => {
  await m?.close();
});

describe('postgres.js through pgward as directly', () => {
  it('every check shows through pgward what it shows directly, for a read-write and a read-only grant', () => {
    assertMatrix(results, {
      ...COMMON_CHECKS,
      cancel: { rw: 'cancel 57014, then 1', ro: 'same' },
      pipelining: PIPELINING,
      'pipelining after set_config': { rw: 'acme|café', ro: 'same' },
      'channel binding': { rw: 'bound, 1', ro: 'same' },
    });
    expect(Object.keys(results)).toEqual(RUN_NAMES);
  });
});
