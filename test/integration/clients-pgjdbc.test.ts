import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { JDBC_JAR } from '../harness/global-setup.js';
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
      ...COMMON_CHECKS,
      'prepared reuse': { rw: '110 server-prepared true', ro: 'same' },
      cancel: { rw: 'cancel 57014, query timeout 57014, then 1', ro: 'same' },
      pipelining: PIPELINING,
      'pipelining after set_config': { rw: 'batched rows 10', ro: '25006' },
      metadata: { rw: 'id int4, v text', ro: 'same' },
    });
    expect(Object.keys(results)).toEqual(['rw direct', 'rw pgward', 'ro direct', 'ro pgward']);
  });
});
