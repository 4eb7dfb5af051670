import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { JDBC_JAR } from '../harness/global-setup.js';
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
  m = await startMatrix(inject('pgCluster'), 'pgjdbc');
  results = await runProgram(
    'java',
    (file) => ['-cp', JDBC_JAR, 'test/clients/JdbcChecks.java', file],
    runsAsTsv(m.runs),
  );
  await recordMatrix('pgjdbc 42.5.5', results, {
    'channel binding': 'pgjdbc 42.5.5 has no channel-binding option (it offers SCRAM-SHA-256 only)',
  });
}, 300_000);

afterAll(async () => {
  await m?.close();
});

describe('pgjdbc (Debian libpostgresql-jdbc-java) through pgward as directly', () => {
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
      'prepared reuse': { rw: '110 server-prepared true', ro: 'same' },
      cancel: { rw: 'cancel 57014, query timeout 57014, then 1', ro: 'same' },
      pipelining: { rw: 'batched rows 10000', ro: '25006' },
      'pipelining after set_config': { rw: 'batched rows 10', ro: '25006' },
      '50 connections': { rw: '50 ok', ro: 'same' },
      metadata: { rw: 'id int4, v text', ro: 'same' },
    });
    expect(Object.keys(results)).toEqual(['rw direct', 'rw pgward', 'ro direct', 'ro pgward']);
  });
});
