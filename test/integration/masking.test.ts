import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { keyedHash } from '../../src/mask/maskers.js';
import { maskingSchema } from '../../src/policy/masking-schema.js';
import { run } from '../harness/clients.js';
import { superuserQuery } from '../harness/gateway.js';
import { JDBC_JAR, SYSTEM_PYTHON } from '../harness/global-setup.js';
import { startMaskingProxy, type MaskingProxy } from './masking-relay.js';

/**
 * Data masking with real clients and a real Postgres: the relay and a session masker
 * between them (test/integration/masking-relay.ts). One proxy masks (a developer's grant),
 * one does not (an admin's grant: no masker, rows stream untouched).
 */

const cluster = inject('pgCluster');
const sfx = randomBytes(4).toString('hex');
const role = `mask_${sfx}`;
const database = `mask_${sfx}`;
const password = randomBytes(12).toString('hex');
const key = Buffer.from('test-masking-key-test-masking-key');
const PHONE = '+33 6 12 34 56 78';

export const RULES = maskingSchema.parse({
  columns: [
    { column: 'public.customers.email', strategy: 'email-domain' },
    { column: 'public.customers.card', strategy: 'keep-last', keep: 4 },
    { label: 'pii', strategy: 'hash' },
    { column: 'public.customers.birth', strategy: 'redact' },
  ],
  labels: { pii: ['public.customers.phone'] },
  values: [
    { value: 'email', strategy: 'email-domain' },
    { value: 'payment-card', strategy: 'keep-last', keep: 4 },
  ],
});

let masked: MaskingProxy;
let admin: MaskingProxy;

async function sql(proxy: MaskingProxy, text: string): Promise<{ out: string; err: string; code: number | null }> {
  const r = await run(
    'psql',
    [
      '-X',
      '-At',
      '-v',
      'ON_ERROR_STOP=1',
      '-d',
      `host=127.0.0.1 port=${proxy.port} user=${role} dbname=${database} sslmode=disable`,
      '-c',
      text,
    ],
    { env: { PGPASSWORD: '' } },
  );
  return { out: r.stdout.trim(), err: r.stderr.trim(), code: r.code };
}

beforeAll(async () => {
  await superuserQuery(cluster, `create role ${role} login password '${password}'`);
  await superuserQuery(cluster, `create database ${database} owner ${role}`);
  const setup = new pg.Client({
    host: cluster.host,
    port: cluster.port,
    user: cluster.superuser,
    password: cluster.superuserPassword,
    database,
    ssl: { rejectUnauthorized: false },
  });
  await setup.connect();
  await setup.query(`set role ${role}`);
  await setup.query(`
    create table customers (id int primary key, name text, email text, card text, phone text, birth date, notes text);
    create table orders (id int primary key, customer_id int references customers, total numeric, note text);
    insert into customers values
      (1, 'Alice', 'alice@example.com', '4111111111111111', '${PHONE}', '1990-01-02', 'contact bob@corp.example.org'),
      (2, 'Bob', 'bob@example.net', '5555555555554444', '+1 415 555 0100', '1985-05-05', 'nothing');
    insert into orders values (10, 1, 12.5, 'paid with 4111 1111 1111 1111');
    create view v_customers as select id, email, lower(email) as lemail from customers;
    create view v_names as select id, name from customers;
  `);
  await setup.end();
  const login = { role, password, database };
  masked = await startMaskingProxy(cluster, login, RULES, key);
  admin = await startMaskingProxy(cluster, login, null, key);
});

afterAll(async () => {
  await masked?.close();
  await admin?.close();
});

const ALICE_PHONE_HASH = keyedHash(PHONE, key);

describe('psql (simple protocol, text)', () => {
  it('masks selected columns by their rules, and recognised values in other columns', async () => {
    const r = await sql(masked, 'select id, name, email, card, phone, birth, notes from customers order by id');
    expect(r.err).toBe('');
    expect(r.out.split('\n')[0]).toBe(
      `1|Alice|a***@example.com|************1111|${ALICE_PHONE_HASH}||contact b***@corp.example.org`,
    );
    // Unmasked columns pass as they are.
    expect(r.out.split('\n')[1]).toMatch(/^2\|Bob\|b\*\*\*@example\.net\|\*{12}4444\|[0-9a-f]{16}\|\|nothing$/);
    expect(masked.summaries.at(-1)).toMatchObject({
      'public.customers.email': 2,
      'public.customers.card': 2,
      'public.customers.phone': 2,
      'public.customers.birth': 2,
      email: 1,
    });
  });

  it('masks joins, expressions, views, CTEs and set operations', async () => {
    expect(
      (await sql(masked, 'select c.email, o.total, o.note from customers c join orders o on o.customer_id = c.id')).out,
    ).toBe('a***@example.com|12.5|paid with ***************1111');
    // Expressions over a masked column: fully redacted (partial strategies are not safe there); a number becomes NULL.
    expect(
      (await sql(masked, "select upper(email), length(email), email || '!' from customers where id = 1")).out,
    ).toBe('***||***');
    expect((await sql(masked, 'select * from v_customers where id = 1')).out).toBe('1|a***@example.com|***');
    expect(
      (
        await sql(
          masked,
          'with q as (select id, email e, lower(email) l from customers) select e, l from q where id = 1',
        )
      ).out,
    ).toBe('a***@example.com|***');
    expect((await sql(masked, 'with q as (select lower(email) l from customers) select * from q limit 1')).out).toBe(
      '***',
    );
    // A set operation's column keeps the first arm's table: the whole column is masked by its rule.
    expect((await sql(masked, "select email from customers where id = 1 union all select 'x@y.io'")).out).toBe(
      'a***@example.com\nx***@y.io',
    );
    // A column is masked whole: the constant arm of the union too.
    expect((await sql(masked, "select 'x' union all select lower(email) from customers where id = 1")).out).toBe(
      '***\n***',
    );
    expect((await sql(masked, 'select (select email from customers where id = 1) as e')).out).toBe('***');
    // A whole-row reference reads every column; json cannot carry a redacted text: NULL.
    expect((await sql(masked, 'select row_to_json(c) from customers c where id = 1')).out).toBe('');
    // Columns no rule names pass untouched (a view over them too).
    expect((await sql(masked, 'select name, count(*) from v_names group by name order by name')).out).toBe(
      'Alice|1\nBob|1',
    );
  });

  it('masks COPY TO STDOUT in text and CSV, and refuses binary COPY', async () => {
    expect((await sql(masked, 'copy customers (id, email, card) to stdout')).out).toBe(
      '1\ta***@example.com\t************1111\n2\tb***@example.net\t************4444',
    );
    expect(
      (
        await sql(
          masked,
          'copy (select id, email, notes from customers order by id) to stdout with (format csv, header)',
        )
      ).out,
    ).toBe('id,email,notes\n1,a***@example.com,contact b***@corp.example.org\n2,b***@example.net,nothing');
    const bin = await sql(masked, 'copy customers to stdout (format binary)');
    expect(bin.code).not.toBe(0);
    expect(bin.err).toContain('COPY in binary format cannot be masked');
    const star = await sql(masked, 'copy (select * from customers) to stdout');
    expect(star.err).toContain('needs its columns listed');
  });

  it('refuses statements that would store masked data unmasked', async () => {
    const r = await sql(masked, 'create temp table leak as select email from customers');
    expect(r.err).toContain('would store masked columns');
    const u = await sql(masked, 'update orders set note = (select email from customers where id = 1)');
    expect(u.err).toContain('would store masked columns');
  });

  it('hides row values in constraint errors', async () => {
    const r = await sql(masked, 'update customers set id = null where id = 1');
    expect(r.err).toContain('violates not-null constraint');
    expect(r.err).toContain('detail hidden: this session masks data');
    expect(r.err).not.toContain('alice');
    expect((await sql(admin, 'update customers set id = null where id = 1')).err).toContain('alice@example.com');
  });

  it('masks SQL-level PREPARE/EXECUTE and cursors', async () => {
    const r = await sql(
      masked,
      'prepare p as select lower(email) from customers where id = 1; execute p; begin; declare c cursor for select upper(email) from customers; fetch 1 from c; commit',
    );
    expect(r.err).toBe('');
    expect(r.out.split('\n').filter((l) => l.includes('@'))).toEqual([]);
  });

  it('follows several statements in one Query, and an error in the middle', async () => {
    expect(
      (
        await sql(
          masked,
          "select email from customers where id = 1; select 'bob@x.io'::text, 2; select card from customers where id = 2",
        )
      ).out,
    ).toBe('a***@example.com\nb***@x.io|2\n************4444');
    const failed = await sql(
      masked,
      'select email from customers where id = 1; select 1/0; select card from customers',
    );
    expect(failed.out).toBe('a***@example.com');
    expect(failed.err).toContain('division by zero');
    expect((await sql(masked, 'select email from customers where id = 2')).out).toBe('b***@example.net');
  });

  it('passes everything through for a grant without masking (an admin)', async () => {
    expect((await sql(admin, 'select email, card, birth from customers where id = 1')).out).toBe(
      'alice@example.com|4111111111111111|1990-01-02',
    );
    expect((await sql(admin, 'copy customers (email) to stdout (format binary)')).code).toBe(0);
  });
});

/** node-postgres asks for binary results with `binary: true` (its types do not list the option). */
const binary = (text: string, values: unknown[]): pg.QueryConfig => ({ text, values, binary: true }) as pg.QueryConfig;

describe('node-postgres (extended protocol)', () => {
  const client = (proxy: MaskingProxy): pg.Client =>
    new pg.Client({ host: '127.0.0.1', port: proxy.port, user: role, database, ssl: false, password: 'unused' });

  it('masks text and binary results', async () => {
    const c = client(masked);
    await c.connect();
    try {
      const t = await c.query('select email, card, birth, length(email) n from customers where id = $1', [1]);
      expect(t.rows[0]).toEqual({ email: 'a***@example.com', card: '************1111', birth: null, n: null });
      const b = await c.query(binary('select id, email, birth, notes from customers where id = $1', [1]));
      expect(b.rows[0]).toEqual({
        id: 1,
        email: 'a***@example.com',
        birth: null,
        notes: 'contact b***@corp.example.org',
      });
      // A named statement run again (its description from the first run).
      for (let i = 0; i < 3; i++) {
        const n = await c.query({ name: 'byid', text: 'select email from customers where id = $1', values: [2] });
        expect(n.rows[0]).toEqual({ email: 'b***@example.net' });
      }
    } finally {
      await c.end();
    }
  });

  it('passes through for an admin', async () => {
    const c = client(admin);
    await c.connect();
    try {
      const r = await c.query(binary('select email from customers where id = $1', [1]));
      expect(r.rows[0]).toEqual({ email: 'alice@example.com' });
    } finally {
      await c.end();
    }
  });
});

describe('asyncpg (binary by default)', () => {
  it('masks binary results and keeps working', async () => {
    const script = `
import asyncio, asyncpg, json, sys
async def main():
    c = await asyncpg.connect(host='127.0.0.1', port=${masked.port}, user='${role}', database='${database}', ssl=False)
    rows = await c.fetch('select id, email, card, birth, phone, upper(email) u from customers order by id')
    one = await c.fetchrow('select e.email, o.total from customers e join orders o on o.customer_id = e.id where e.id = $1', 1)
    stmt = await c.prepare('select email from customers where id = $1')
    again = [await stmt.fetchval(2) for _ in range(3)]
    await c.close()
    print(json.dumps({'rows': [[r['id'], r['email'], r['card'], r['birth'], r['phone'], r['u']] for r in rows],
                      'join': [one['email'], str(one['total'])], 'again': again}))
asyncio.run(main())
`;
    const r = await run(SYSTEM_PYTHON, ['-c', script], { timeoutMs: 60_000 });
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout.trim()) as { rows: unknown[][]; join: string[]; again: string[] };
    expect(out.rows[0]).toEqual([1, 'a***@example.com', '************1111', null, ALICE_PHONE_HASH, '***']);
    expect(out.join).toEqual(['a***@example.com', '12.5']);
    expect(out.again).toEqual(['b***@example.net', 'b***@example.net', 'b***@example.net']);
  });
});

describe('pgjdbc', () => {
  it('masks server-prepared (binary) and simple results', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pgward-mask-jdbc-'));
    const file = join(dir, 'MaskCheck.java');
    await writeFile(
      file,
      `import java.sql.*;
public class MaskCheck {
  public static void main(String[] a) throws Exception {
    String url = "jdbc:postgresql://127.0.0.1:${masked.port}/${database}?sslmode=disable&prepareThreshold=2";
    try (Connection c = DriverManager.getConnection(url, "${role}", "unused")) {
      StringBuilder out = new StringBuilder();
      try (PreparedStatement p = c.prepareStatement("select id, email, card, birth from customers where id = ?")) {
        for (int i = 0; i < 4; i++) {
          p.setInt(1, 1);
          try (ResultSet r = p.executeQuery()) { r.next(); out.append(r.getInt(1)).append('|').append(r.getString(2)).append('|').append(r.getString(3)).append('|').append(r.getDate(4)).append(';'); }
        }
      }
      try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("select lower(email) from customers where id = 2")) { r.next(); out.append(r.getString(1)); }
      System.out.println(out);
    }
  }
}
`,
    );
    try {
      const r = await run('java', ['-cp', JDBC_JAR, file], { timeoutMs: 120_000 });
      expect(r.stderr).toBe('');
      expect(r.stdout.trim()).toBe(`${'1|a***@example.com|************1111|null;'.repeat(4)}***`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
