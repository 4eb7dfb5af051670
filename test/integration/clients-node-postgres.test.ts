import { COMMON_CHECKS, PIPELINING } from '../clients/matrix.js';
import { clientMatrixSuite } from '../clients/matrix-suite.js';
import { runAllChecks } from '../clients/node-checks.js';
import { nodePostgresChecks } from '../clients/node-postgres-checks.js';

clientMatrixSuite({
  slug: 'node-postgres',
  client: 'node-postgres 8.23.1 (COPY with pg-copy-streams 7.0.0)',
  title: 'node-postgres (pg)',
  run: (m) => runAllChecks(m, nodePostgresChecks),
  expected: {
    ...COMMON_CHECKS,
    cancel: { rw: 'cancel 57014, then 1', ro: 'same' },
    pipelining: PIPELINING,
    'pipelining after set_config': { rw: 'acme|café', ro: 'same' },
    'channel binding': { rw: 'SCRAM-SHA-256-PLUS, 1', ro: 'same' },
  },
});
