import { beforeAll, describe, expect, it } from 'vitest';
import { ReadOnlyGuard } from '../../src/detect/read-only-guard.js';
import { loadSqlParser } from '../../src/detect/sql-parser.js';

let guard: ReadOnlyGuard;
beforeAll(async () => {
  await loadSqlParser();
  guard = new ReadOnlyGuard(4);
});

describe('read-only guard', () => {
  it.each([
    'SET default_transaction_read_only = off',
    'set default_transaction_read_only to false',
    "SET SESSION default_transaction_read_only = 'no'",
    'SET LOCAL transaction_read_only TO 0',
    'SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE',
    'SET TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ WRITE',
    'BEGIN READ WRITE',
    'START TRANSACTION READ WRITE',
    "SELECT set_config('default_transaction_read_only', 'off', false)",
    "select pg_catalog.set_config('transaction_read_only', 'off', true)",
    'SELECT set_config($1, $2, false)',
    "select 1; set default_transaction_read_only = off",
    "PREPARE p AS SELECT set_config('transaction_read_only', 'off', true)",
    "DO $$ BEGIN PERFORM set_config('default_transaction_read_only','off',false); END $$",
    "ALTER ROLE CURRENT_USER SET default_transaction_read_only = off",
  ])('blocks %s', (sql) => {
    expect(guard.check(sql)?.code).toBe('25006');
  });

  it.each([
    'select 1',
    'SET default_transaction_read_only = on',
    'SET transaction_read_only TO true',
    'BEGIN READ ONLY',
    'BEGIN ISOLATION LEVEL REPEATABLE READ',
    'RESET default_transaction_read_only',
    "SELECT set_config('application_name', 'x', false)",
    "select 'set default_transaction_read_only = off'",
    'selec 1',
    '',
  ])('passes %j', (sql) => {
    expect(guard.check(sql)).toBeNull();
  });

  it('keeps its cache bounded and its answers stable', () => {
    for (let i = 0; i < 20; i++) guard.check(`select ${i}`);
    expect(guard.check('BEGIN READ WRITE')?.message).toBe('pgward: this session is read-only');
    expect(guard.check('BEGIN READ WRITE')?.detail).toBe("The statement uses a READ WRITE transaction, which this session's access policy does not allow.");
  });
});
