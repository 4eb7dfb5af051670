import { COMMON_CHECKS, PIPELINING, runsAsTsv } from '../clients/matrix.js';
import { clientMatrixSuite } from '../clients/matrix-suite.js';
import { runProgram } from '../clients/run-program.js';
import { SYSTEM_PYTHON } from '../harness/global-setup.js';

clientMatrixSuite({
  slug: 'psycopg',
  client: 'psycopg 3.1',
  title: 'psycopg 3 (Debian python3-psycopg, libpq)',
  run: (m) => runProgram(SYSTEM_PYTHON, (file) => ['test/clients/psycopg_checks.py', file], runsAsTsv(m.runs)),
  expected: {
    ...COMMON_CHECKS,
    cancel: { rw: 'cancel 57014, then 1', ro: 'same' },
    pipelining: PIPELINING,
    'pipelining after set_config': { rw: 'acme|café', ro: 'same' },
    'channel binding': { rw: 'bound, 1', ro: 'same' },
  },
});
