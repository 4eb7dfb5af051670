import { COMMON_CHECKS, PIPELINING, runsAsTsv } from '../clients/matrix.js';
import { clientMatrixSuite } from '../clients/matrix-suite.js';
import { runProgram } from '../clients/run-program.js';
import { SYSTEM_PYTHON } from '../harness/global-setup.js';

clientMatrixSuite({
  slug: 'asyncpg',
  client: 'asyncpg 0.27',
  title: 'asyncpg (Debian python3-asyncpg)',
  run: (m) => runProgram(SYSTEM_PYTHON, (file) => ['test/clients/asyncpg_checks.py', file], runsAsTsv(m.runs)),
  notes: {
    'pipelining after set_config': 'asyncpg pipelines only executemany (one statement, many parameter sets)',
    'channel binding': 'asyncpg 0.27 has no channel binding (it offers SCRAM-SHA-256 only)',
  },
  expected: {
    ...COMMON_CHECKS,
    cancel: { rw: 'timeout, then 1', ro: 'same' },
    pipelining: PIPELINING,
  },
});
