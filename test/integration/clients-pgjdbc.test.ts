import { COMMON_CHECKS, PIPELINING, runsAsTsv } from '../clients/matrix.js';
import { clientMatrixSuite } from '../clients/matrix-suite.js';
import { runProgram } from '../clients/run-program.js';
import { JDBC_JAR } from '../harness/global-setup.js';

clientMatrixSuite({
  slug: 'pgjdbc',
  client: 'pgjdbc 42.5.5',
  title: 'pgjdbc (Debian libpostgresql-jdbc-java)',
  run: (m) => runProgram('java', (file) => ['-cp', JDBC_JAR, 'test/clients/JdbcChecks.java', file], runsAsTsv(m.runs)),
  notes: { 'channel binding': 'pgjdbc 42.5.5 has no channel-binding option (it offers SCRAM-SHA-256 only)' },
  expected: {
    ...COMMON_CHECKS,
    'prepared reuse': { rw: '110 server-prepared true', ro: 'same' },
    cancel: { rw: 'cancel 57014, query timeout 57014, then 1', ro: 'same' },
    pipelining: PIPELINING,
    'pipelining after set_config': { rw: 'batched rows 10', ro: '25006' },
    metadata: { rw: 'id int4, v text', ro: 'same' },
  },
});
