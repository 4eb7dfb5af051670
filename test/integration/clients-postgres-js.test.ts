import { COMMON_CHECKS, PIPELINING } from '../clients/matrix.js';
import { clientMatrixSuite } from '../clients/matrix-suite.js';
import { runAllChecks } from '../clients/node-checks.js';
import { postgresJsChecks } from '../clients/postgres-js-checks.js';

clientMatrixSuite({
  slug: 'postgres-js',
  client: 'postgres.js 4.2.0',
  title: 'postgres.js',
  run: (m) => runAllChecks(m, postgresJsChecks),
  expected: {
    ...COMMON_CHECKS,
    cancel: { rw: 'cancel 57014, then 1', ro: 'same' },
    pipelining: PIPELINING,
    'pipelining after set_config': { rw: 'acme|café', ro: 'same' },
    'channel binding': { rw: 'bound, 1', ro: 'same' },
  },
});
