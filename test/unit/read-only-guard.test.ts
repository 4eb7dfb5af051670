import { beforeAll, describe, expect, it } from 'vitest';
import { mayBeFalse, ReadOnlyGuard, readOnlyVerdict } from '../../src/detect/read-only-guard.js';
import { loadSqlParser } from '../../src/detect/sql-parser.js';

let guard: ReadOnlyGuard;
beforeAll(async () => {
  await loadSqlParser();
  guard = new ReadOnlyGuard(4);
});

describe('mayBeFalse reads booleans as Postgres does', () => {
  it.each(['f', 'fa', 'FALSE', 'n', 'no', 'of', 'off', '0'])('%s may be false', (v) =>
    expect(mayBeFalse(v)).toBe(true),
  );
  it.each(['t', 'true', 'on', 'o', 'yes', '1', '', 'view, foreign-table', 'offf', 'nope'])('%j is not false', (v) =>
    expect(mayBeFalse(v)).toBe(false),
  );
  it('a value that is not a constant may be anything', () => expect(mayBeFalse(null)).toBe(true));
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
    'select 1; set default_transaction_read_only = off',
    "PREPARE p AS SELECT set_config('transaction_read_only', 'off', true)",
    "DO $$ BEGIN PERFORM set_config('default_transaction_read_only','off',false); END $$",
    'ALTER ROLE CURRENT_USER SET default_transaction_read_only = off',
    // Postgres reads any prefix of false/no, and of/off, as false.
    'set default_transaction_read_only = fal',
    "SET LOCAL transaction_read_only = 'fals'",
    "SELECT set_config('default_transaction_read_only', 'FA', false)",
    // A computed name with a value that could be false.
    "SELECT set_config(name, 'off', false) FROM pg_settings WHERE name LIKE 'default_trans%'",
    'SELECT set_config(name, setting, false) FROM pg_settings',
    // transaction_read_only resets to off: before the first query of a transaction it lifts.
    'RESET transaction_read_only',
    'begin; listen x; reset transaction_read_only',
    'SET transaction_read_only TO DEFAULT',
    // Issue 13, item 3: SQL run from inside SQL.
    "select query_to_xml('select set_config(''default_transaction_read_only'',''off'',false)',true,false,'')",
    "select query_to_xml('select 1', true, false, '')",
    "DO $$BEGIN EXECUTE 'SET default_transaction_re'||'ad_only = off'; END$$",
    "DO $$BEGIN EXECUTE 'SET default_transaction_read_only = off'; END$$",
    "DO $$DECLARE s text := 'SET default_transaction_read_only = off'; BEGIN EXECUTE s; END$$",
    "DO $$DECLARE x text; BEGIN x := set_config('default_transaction_read_only', 'off', false); END$$",
    "DO $$BEGIN IF set_config('transaction_read_only', 'off', true) = 'off' THEN NULL; END IF; END$$",
    'DO LANGUAGE plpython3u $$ plpy.execute("set default_transaction_read_only = off") $$',
    "select dblink_exec('dbname=app', 'insert into t values (1)')",
    // A DO body that commits: its later statements run in a new transaction.
    'DO $$BEGIN PERFORM app.lift(); COMMIT; PERFORM app.write(); END$$',
    // Past a COMMIT, after a statement that could run a function that lifted the default.
    'select app.lift(); commit; select app.write()',
    'select 1; end; insert into t values (1)',
    'select app.lift(); rollback; select 1',
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
    // pg_dump 15.20 at its start: the computed name's value cannot be read as false.
    "SELECT set_config(name, 'view, foreign-table', false) FROM pg_settings WHERE name = 'restrict_nonsystem_relation_kind'",
    "SELECT set_config('transaction_read_only', 'on', true)",
    'SET default_transaction_read_only = o',
    'selec 1',
    '',
    'RESET default_transaction_read_only',
    'RESET ALL',
    'begin; select 1; commit',
    'select 1; commit and chain; select 2',
    'set statement_timeout = 5; commit; select 1',
    'begin read only; select 1',
    "DO $$BEGIN RAISE NOTICE 'read_only: %', current_setting('transaction_read_only'); END$$",
    "DO $$BEGIN EXECUTE 'SELECT 1'; PERFORM count(*) FROM t; END$$",
    "select table_to_xml('t', true, false, '')",
  ])('passes %j', (sql) => {
    expect(guard.check(sql)).toBeNull();
  });

  it("reads text only the upstream's grammar parses with that grammar", () => {
    const sql = 'SET default_transaction_read_only = off; SELECT 1 FROM (VALUES (1)) AS system_user';
    expect(guard.check(sql, 15)?.code).toBe('25006');
    expect(readOnlyVerdict(sql, 15)?.detail).toContain('SET default_transaction_read_only');
    // Without the major no grammar reads it: the monitor refuses it with the syntax error.
    expect(guard.check(sql)).toBeNull();
  });

  it('keeps its cache bounded and its answers stable', () => {
    for (let i = 0; i < 20; i++) guard.check(`select ${i}`);
    expect(guard.check('BEGIN READ WRITE')?.message).toBe('pgward: this session is read-only');
    expect(guard.check('BEGIN READ WRITE')?.detail).toBe(
      "The statement uses a READ WRITE transaction, which this session's access policy does not allow.",
    );
  });
});
