import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { superuserQuery } from '../harness/gateway.js';
import { pgDumpChecks, psqlChecks } from '../clients/libpq-tools-checks.js';
import {
  assertMatrix,
  recordMatrix,
  startMatrix,
  type Matrix,
  type MatrixResults,
  COMMON_CHECKS,
} from '../clients/matrix.js';
import { runAllChecks } from '../clients/node-checks.js';

let psqlMatrix: Matrix;
let dumpMatrix: Matrix;
let psqlResults: MatrixResults;
let dumpResults: MatrixResults;

beforeAll(async () => {
  const cluster = inject('pgCluster');
  psqlMatrix = await startMatrix(cluster, 'psql');
  dumpMatrix = await startMatrix(cluster, 'pg_dump');
  for (const r of dumpMatrix.runs) {
    await superuserQuery(
      cluster,
      `insert into ${r.table} select g, 'row é ' || g from generate_series(1, 5000) g`,
      dumpMatrix.gw.upstreamDatabase,
    );
  }
  psqlResults = await runAllChecks(psqlMatrix, psqlChecks);
  dumpResults = await runAllChecks(dumpMatrix, pgDumpChecks);
  await recordMatrix('psql 15', psqlResults, {
    pipelining: 'psql 15 has no pipeline commands (\\startpipeline is psql 18)',
  });
  await recordMatrix('pg_dump, pg_restore 15', dumpResults);
}, 300_000);

afterAll(async () => {
  await psqlMatrix?.close();
  await dumpMatrix?.close();
});

describe('psql (libpq 15) through pgward as directly', () => {
  it('every check shows through pgward what it shows directly, for a read-write and a read-only grant', () => {
    assertMatrix(psqlResults, {
      ...COMMON_CHECKS,
      // psql reading a script stops after Ctrl-C has cancelled a statement, directly too.
      cancel: { rw: 'cancel 57014', ro: 'same' },
      'channel binding': { rw: 'bound, 1', ro: 'same' },
    });
  });
});

describe('pg_dump and pg_restore (15) through pgward as directly', () => {
  it('dumps what a direct dump shows; restores read-write, and is refused read-only as directly', () => {
    expect(dumpResults['rw direct']['pg_dump plain']).toMatch(/^[0-9a-f]{32}, 5000 rows$/);
    assertMatrix(dumpResults, {
      'pg_dump plain': { rw: dumpResults['rw direct']['pg_dump plain']!, ro: 'same' },
      'pg_dump -Fd -j 2, pg_restore to SQL': { rw: /^[0-9a-f]{32}$/, ro: 'same' },
      'pg_restore --clean, dumped again': {
        rw: 'restored, same dump',
        ro: /^refused: cannot execute [A-Z ]+ in a read-only transaction$/,
      },
    });
  });
});
