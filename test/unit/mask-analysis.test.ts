import { beforeAll, describe, expect, it } from 'vitest';
import { analyseStatement, type Analysis } from '../../src/mask/analysis.js';
import { columnMaskFor, type MaskedCatalogue, type RelationInfo } from '../../src/mask/catalogue.js';
import { loadSqlParser, parseStatements } from '../../src/detect/sql-parser.js';
import { maskingSchema } from '../../src/policy/masking-schema.js';

const rules = maskingSchema.parse({
  columns: [
    { column: 'public.customers.email', strategy: 'email-domain' },
    { label: 'secret', strategy: 'hash' },
  ],
  labels: { secret: ['*.*.ssn'] },
});

function relation(oid: number, schema: string, name: string, cols: string[]): RelationInfo {
  const rel: RelationInfo = { oid, schema, name, kind: 'r', columns: new Map(), masked: new Map() };
  cols.forEach((c, i) => {
    rel.columns.set(i + 1, { name: c, typeOid: 25 });
    const m = columnMaskFor(rules, schema, name, c);
    if (m) rel.masked.set(i + 1, m);
  });
  return rel;
}

const cat: MaskedCatalogue = { byOid: new Map(), byName: new Map(), loadedAt: 0 };
for (const r of [
  relation(1, 'public', 'customers', ['id', 'name', 'email', 'ssn']),
  relation(2, 'public', 'orders', ['id', 'customer_id', 'total']),
]) {
  cat.byOid.set(r.oid, r);
  cat.byName.set(r.name, [r]);
}

beforeAll(() => loadSqlParser());

function analyse(sql: string): Analysis {
  return analyseStatement(parseStatements(sql)![0]!, cat, false);
}

const strategies = (a: Analysis): Array<string | null> => a.outputs!.map((m) => m?.strategy.strategy ?? null);

describe('masking analysis', () => {
  it('labels and globs pick the rule; first rule wins', () => {
    expect(columnMaskFor(rules, 'hr', 'people', 'ssn')?.strategy.strategy).toBe('hash');
    expect(columnMaskFor(rules, 'public', 'customers', 'name')).toBeNull();
  });

  it('masks expressions over masked columns, fully for partial strategies', () => {
    expect(
      strategies(analyse('select id, email, lower(email), ssn || name, count(*) from customers group by 1,2,3,4')),
    ).toEqual([null, 'email-domain', 'redact', 'hash', null]);
  });

  it('follows subqueries, CTEs (renamed columns too) and whole-row references', () => {
    expect(strategies(analyse('with q(x) as (select lower(email) from customers) select x, 1 from q'))).toEqual([
      'redact',
      null,
    ]);
    expect(strategies(analyse('select s.e from (select email as e from customers) s'))).toEqual(['email-domain']);
    expect(strategies(analyse('select row_to_json(c), c.id from customers c'))).toEqual(['redact', null]);
    const star = analyse('select *, upper(email) from customers');
    expect(star.outputs).toBeNull();
    expect(star.anyOutput?.strategy.strategy).toBe('redact');
  });

  it('refuses writes of masked data, binary COPY and COPY it cannot line up', () => {
    expect(analyse('insert into orders (id) select length(email) from customers').refuse).toMatch(/store masked/);
    expect(analyse('create table t as select email from customers').refuse).toMatch(/store masked/);
    expect(analyse('explain analyze create table t as select email from customers').refuse).toMatch(/store masked/);
    expect(analyse('explain analyze select email from customers').refuse).toBeNull();
    expect(analyse('update orders set total = (select count(ssn) from customers)').refuse).toMatch(/store masked/);
    expect(analyse('copy customers to stdout (format binary)').refuse).toMatch(/binary/);
    expect(analyse('copy (select * from customers) to stdout').refuse).toMatch(/columns listed/);
    expect(analyse('copy orders to stdout (format binary)').refuse).toBeNull();
    expect(analyse('delete from customers where email = $1').refuse).toBeNull();
  });

  it('lines COPY columns up with the table', () => {
    const c = analyse('copy customers (email, id) to stdout with (format csv, header)').copy!;
    expect(c.options).toMatchObject({ format: 'csv', header: true, delimiter: ',' });
    expect(c.masks!.map((m) => m?.label ?? null)).toEqual(['public.customers.email', null]);
  });

  it('knows unknown relations, DDL, PREPARE and cursors', () => {
    expect(analyse('select * from newtable').unknown).toEqual(['newtable']);
    expect(analyse('with x as (select 1) select * from x').unknown).toEqual([]);
    expect(analyse('select * from pg_class join information_schema.tables t on true').unknown).toEqual([]);
    expect(analyse('alter table orders add column note text').ddl).toBe(true);
    expect(analyse('select 1').ddl).toBe(false);
    const p = analyse('prepare p as select lower(email) from customers');
    expect(p.defines?.name).toBe('p');
    expect(strategies(p.defines!.analysis)).toEqual(['redact']);
    expect(analyse('fetch 10 from c').uses).toEqual({ kind: 'cursor', name: 'c' });
  });
});
