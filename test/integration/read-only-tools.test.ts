import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { conninfo, run, type RunResult } from '../harness/clients.js';
import { startTestGateway, superuserQuery, type ClusterInfo, type TestGateway } from '../harness/gateway.js';

/**
 * The tools a read-only developer reaches for first: pg_dump (plain, -Fc, -Fd -j 2) and psql's
 * catalogue commands, through pgward with a read-only grant. A dump must exit 0 and be whole
 * (restored directly on the server, it shows the source's objects and rows), and the session
 * must still be read-only afterwards. Two grants: readOnly on the role that owns everything
 * (only pgward keeps it read-only) and readOnly on a role that can only read, as the embedded
 * default's demo_ro (pg_read_all_data).
 */

const BIN = '/usr/lib/postgresql/15/bin';
/** The profile of the embedded default (policies/demo.yaml), so the detector acts as it does there. */
const PROFILE = `profiles:
  default:
    risks:
      drop: block
      truncate: block
      update-without-where: block
      delete-without-where: block
      alter-system: block
      copy-program: end-session
      server-file-function: end-session
      '*': alert
    anomalies: { bulk-read: alert, protocol: end-session, '*': log }
`;

interface Dev {
  /** What the report calls this grant. */
  label: string;
  user: string;
  token: string;
  upstreamRole: string;
}

let cluster: ClusterInfo;
let gw: TestGateway;
let dir: string;
let devs: Dev[] = [];
const sfx = randomBytes(3).toString('hex');
const readerRole = `tools_reader_${sfx}`;
const readerPassword = randomBytes(18).toString('hex');
const restored: string[] = [];
const timings: string[] = [];

const TABLES = ['public.products', 'public.orders', 'public.events', 'inventory.stock'];

/** Built as the owning role, so the dump carries its OWNER TO and the reader only reads. */
const SOURCE = `
create schema inventory;
create table products (
  id int primary key, sku text not null unique, name text not null, price numeric(10,2) not null,
  tags text[], attrs jsonb, photo bytea, created timestamptz not null default '2024-01-02 03:04:05+00');
comment on table products is 'catalogue of products';
create index products_lower_name_idx on products (lower(name));
create index products_attrs_idx on products using gin (attrs);
create sequence order_no start 1000;
create table orders (
  id bigint primary key default nextval('order_no'), product_id int not null references products (id),
  qty int not null check (qty > 0), note text);
create index orders_product_idx on orders (product_id);
create table events (id bigint generated always as identity primary key, at timestamptz not null, payload text);
create table inventory.stock (product_id int primary key references products (id), on_hand int not null);
create view order_totals as
  select p.sku, sum(o.qty * p.price) as total from orders o join products p on p.id = o.product_id group by p.sku;
grant select on order_totals to public;
create function total_value() returns numeric language sql stable
  as $$ select coalesce(sum(total), 0) from order_totals $$;
create function touch(n int) returns int language plpgsql as $$ begin return n + 1; end $$;
insert into products
  select g, 'SKU-' || g, 'Product é ' || g, (g % 97) + 0.5, array['t' || (g % 5), 'all'],
         jsonb_build_object('g', g, 'odd', g % 2 = 1), decode(md5(g::text), 'hex')
    from generate_series(1, 2000) g;
insert into orders (product_id, qty, note) select (g % 2000) + 1, (g % 7) + 1, case when g % 3 = 0 then 'tab\there, "quoted" ''single''' end
  from generate_series(1, 20000) g;
insert into events (at, payload) select '2024-01-01'::timestamptz + g * interval '1 minute', repeat('p', g % 50)
  from generate_series(1, 5000) g;
insert into inventory.stock select g, g * 3 from generate_series(1, 500) g;
-- pg_dump reads large objects with libpq's lo_open/loread/lo_close: FunctionCall messages.
select lo_from_bytea(0, convert_to('a large object é', 'UTF8'));
`;

/** What a restored database must show as the source does: objects, definitions and every row. */
async function fingerprint(database: string): Promise<Record<string, unknown>> {
  const q = async (sql: string): Promise<unknown> => (await superuserQuery(cluster, sql, database)).rows;
  const ours = `in ('public', 'inventory')`;
  const out: Record<string, unknown> = {
    relations: await q(
      `select n.nspname, c.relname, c.relkind, pg_get_userbyid(c.relowner) as owner, obj_description(c.oid, 'pg_class') as comment
         from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname ${ours} order by 1, 2`,
    ),
    indexes: await q(`select indexdef from pg_indexes where schemaname ${ours} order by indexname`),
    constraints: await q(
      `select conrelid::regclass::text, conname, pg_get_constraintdef(oid) from pg_constraint
        where connamespace in (select oid from pg_namespace where nspname ${ours}) order by 1, 2`,
    ),
    views: await q(`select viewname, definition from pg_views where schemaname ${ours} order by 1`),
    functions: await q(
      `select p.oid::regprocedure::text, pg_get_functiondef(p.oid) from pg_proc p
         join pg_namespace n on n.oid = p.pronamespace where n.nspname ${ours} order by 1`,
    ),
    acl: await q(`select relname, relacl::text from pg_class where relname = 'order_totals'`),
    sequence: await q(`select last_value, is_called from order_no`),
    identity: await q(`select last_value, is_called from events_id_seq`),
    largeObjects: await q(
      `select oid, pg_get_userbyid(lomowner), md5(lo_get(oid)) from pg_largeobject_metadata order by oid`,
    ),
    totalValue: await q(`select total_value()::text`),
    view: await q(`select count(*)::int, md5(string_agg(t::text, E'\\n' order by t::text)) from order_totals t`),
  };
  for (const t of TABLES) {
    out[t] = await q(`select count(*)::int as rows, md5(string_agg(t::text, E'\\n' order by t::text)) from ${t} t`);
  }
  return out;
}

const env = (dev: Dev): Record<string, string> => ({ PGPASSWORD: dev.token, PGPASSFILE: '/dev/null' });
const viaPgward = (dev: Dev): string => conninfo(gw, dev.user, gw.database);

/** A command, timed; its result with the time it took. */
async function timed(what: string, cmd: string, args: string[], e: Record<string, string>): Promise<RunResult> {
  const started = performance.now();
  const r = await run(cmd, args, { env: e, timeoutMs: 180_000 });
  timings.push(`${what}: ${Math.round(performance.now() - started)} ms, exit ${r.code}`);
  return r;
}

/** Why a tool failed, as it printed it (a statement the gateway refused shows here). */
function failure(r: RunResult): string {
  return `exit ${r.code}: ${r.stderr.trim()}`;
}

/** A fresh database on the server, restored directly (not through pgward) as the superuser. */
async function restoreDirectly(label: string, how: 'psql' | 'pg_restore', path: string): Promise<string> {
  const db = `restored_${sfx}_${restored.length}`;
  await superuserQuery(cluster, `create database ${db} template template0`);
  restored.push(db);
  const target = conninfo(cluster, cluster.superuser, db);
  const e = { PGPASSWORD: cluster.superuserPassword, PGPASSFILE: '/dev/null' };
  const r =
    how === 'psql'
      ? await timed(
          `${label} restore`,
          `${BIN}/psql`,
          ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', target, '-f', path],
          e,
        )
      : await timed(`${label} restore`, `${BIN}/pg_restore`, ['--exit-on-error', '-j', '2', '-d', target, path], e);
  expect(r.code, failure(r)).toBe(0);
  expect(r.stderr).toBe('');
  return db;
}

beforeAll(async () => {
  cluster = inject('pgCluster');
  gw = await startTestGateway(
    cluster,
    {},
    {
      policies: {
        'tools.yaml': `${PROFILE}rules:
  - name: read-only-on-the-owner
    effect: allow
    subjects: { users: [dev-owner-ro] }
    targets: [app]
    session: { readOnly: true, detector: default }
  - name: read-only-on-a-reader
    effect: allow
    subjects: { users: [dev-reader-ro] }
    targets: [app]
    role: ${readerRole}
    session: { readOnly: true, detector: default }
`,
      },
    },
  );
  // As the embedded default's demo_ro: logs in, reads everything, owns nothing.
  await superuserQuery(cluster, `create role ${readerRole} login password '${readerPassword}'`);
  await superuserQuery(cluster, `grant pg_read_all_data to ${readerRole}`);
  await gw.cp.vault.set('app', readerRole, readerPassword);
  await superuserQuery(cluster, `set role ${gw.upstreamRole};\n${SOURCE}`, gw.upstreamDatabase);
  // pg_read_all_data covers tables, views and sequences, not large objects.
  await superuserQuery(
    cluster,
    `do $$ declare o oid; begin for o in select oid from pg_largeobject_metadata loop
       execute format('grant select on large object %s to ${readerRole}', o); end loop; end $$`,
    gw.upstreamDatabase,
  );
  devs = [
    {
      label: 'read-only grant, owning role',
      user: 'dev-owner-ro',
      token: (await gw.issue('dev-owner-ro')).token,
      upstreamRole: gw.upstreamRole,
    },
    {
      label: 'read-only grant, reader role',
      user: 'dev-reader-ro',
      token: (await gw.issue('dev-reader-ro')).token,
      upstreamRole: readerRole,
    },
  ];
  dir = await mkdtemp(join(tmpdir(), 'pgward-ro-tools-'));
});

afterAll(async () => {
  await gw?.close();
  for (const db of restored) await superuserQuery(cluster, `drop database if exists ${db}`);
  await superuserQuery(cluster, `drop owned by ${readerRole}`, gw.upstreamDatabase).catch(() => undefined);
  await superuserQuery(cluster, `drop role if exists ${readerRole}`).catch(() => undefined);
  if (dir) await rm(dir, { recursive: true, force: true });
  console.info(`read-only tools timings:\n  ${timings.join('\n  ')}`);
});

/** The two grants, by their index in devs. */
const GRANTS = [
  { i: 0, grant: 'readOnly on the owning role' },
  { i: 1, grant: 'readOnly on a reading role, as demo_ro' },
];

describe.each(GRANTS)('pg_dump through pgward ($grant)', ({ i }) => {
  const dev = (): Dev => devs[i]!;
  let source: Record<string, unknown>;
  beforeAll(async () => {
    source ??= await fingerprint(gw.upstreamDatabase);
  });

  it('dumps plain SQL that, restored with psql directly on the server, is the source', async () => {
    const file = join(dir, `plain-${i}.sql`);
    const r = await timed(
      `${dev().label}: pg_dump plain`,
      `${BIN}/pg_dump`,
      ['-d', viaPgward(dev()), '-f', file],
      env(dev()),
    );
    expect(r.code, failure(r)).toBe(0);
    expect(r.stderr).toBe('');
    const db = await restoreDirectly(`${dev().label}: plain`, 'psql', file);
    expect(await fingerprint(db)).toEqual(source);
  });

  it('dumps -Fc that, restored with pg_restore directly on the server, is the source', async () => {
    const file = join(dir, `custom-${i}.dump`);
    const r = await timed(
      `${dev().label}: pg_dump -Fc`,
      `${BIN}/pg_dump`,
      ['-Fc', '-d', viaPgward(dev()), '-f', file],
      env(dev()),
    );
    expect(r.code, failure(r)).toBe(0);
    expect(r.stderr).toBe('');
    const db = await restoreDirectly(`${dev().label}: -Fc`, 'pg_restore', file);
    expect(await fingerprint(db)).toEqual(source);
  });

  it('dumps -Fd -j 2 (a snapshot shared by parallel workers) that, restored directly, is the source', async () => {
    const out = join(dir, `directory-${i}`);
    const r = await timed(
      `${dev().label}: pg_dump -Fd -j 2`,
      `${BIN}/pg_dump`,
      ['-Fd', '-j', '2', '-d', viaPgward(dev()), '-f', out],
      env(dev()),
    );
    expect(r.code, failure(r)).toBe(0);
    expect(r.stderr).toBe('');
    const db = await restoreDirectly(`${dev().label}: -Fd -j 2`, 'pg_restore', out);
    expect(await fingerprint(db)).toEqual(source);
  });

  it('is still read-only after the dumps: create temp table and insert fail with 25006', async () => {
    const r = await run(
      `${BIN}/psql`,
      ['-X', '-At', '-v', 'ON_ERROR_STOP=0', '-v', 'VERBOSITY=sqlstate', '-d', viaPgward(dev())],
      {
        env: env(dev()),
        input:
          'create temp table t(x int);\n' +
          "insert into events (at, payload) values (now(), 'after pg_dump');\n" +
          'show default_transaction_read_only;\nshow transaction_read_only;\nselect current_user;\n',
      },
    );
    expect([...r.stderr.matchAll(/ERROR:\s+(\w{5})/g)].map((m) => m[1])).toEqual(['25006', '25006']);
    expect(r.stdout.trim().split('\n')).toEqual(['on', 'on', dev().upstreamRole]);
  });

  it("cannot turn read-only off with pg_dump's own set_config shape", async () => {
    const before = await superuserQuery(cluster, 'select count(*)::int as n from events', gw.upstreamDatabase);
    const r = await run(
      `${BIN}/psql`,
      ['-X', '-At', '-v', 'ON_ERROR_STOP=0', '-v', 'VERBOSITY=sqlstate', '-d', viaPgward(dev())],
      {
        env: env(dev()),
        input:
          "select set_config(name, 'off', false) from pg_settings where name = 'default_transaction_read_only';\n" +
          "insert into events (at, payload) values (now(), 'lifted');\n" +
          'create temp table t(x int);\n',
      },
    );
    const after = await superuserQuery(cluster, 'select count(*)::int as n from events', gw.upstreamDatabase);
    expect(after.rows[0].n, r.stdout + r.stderr).toBe(before.rows[0].n);
    expect(r.stdout).not.toContain('INSERT');
    expect(r.stdout).not.toContain('CREATE TABLE');
  });
});

/** psql's catalogue commands: each one alone, as a developer types it. */
const CATALOGUE: Array<[string, (dev: Dev) => Array<string | RegExp>]> = [
  ['\\l', () => [gw.upstreamDatabase]],
  ['\\dn', () => ['inventory', 'public']],
  ['\\dt', () => ['products', 'orders', 'events']],
  ['\\dt+', () => ['products', 'orders', 'events', 'catalogue of products']],
  ['\\dt inventory.*', () => ['stock']],
  ['\\d products', () => ['Table "public.products"', 'products_lower_name_idx', 'TABLE "orders" CONSTRAINT']],
  ['\\d+ order_totals', () => ['View "public.order_totals"', 'View definition:', /sum\(\(?o\.qty/]],
  ['\\di', () => ['products_pkey', 'products_lower_name_idx', 'products_attrs_idx', 'orders_product_idx']],
  ['\\ds', () => ['order_no', 'events_id_seq']],
  ['\\df', () => ['total_value', 'touch']],
  ['\\du', (dev) => [gw.upstreamRole, dev.upstreamRole]],
  ['\\dx', () => ['plpgsql']],
  ['\\sf total_value', () => ['CREATE OR REPLACE FUNCTION public.total_value()', 'from order_totals']],
  ['\\z', () => ['order_totals', '=r/' + gw.upstreamRole, 'products', 'order_no']],
  ['\\conninfo', (dev) => [`database "app" as user "${dev.user}"`, 'SSL connection (protocol: TLSv1.3']],
  ['\\dl', () => ['Large objects']],
];

describe.each(GRANTS)('psql catalogue commands through pgward ($grant)', ({ i }) => {
  it.each(CATALOGUE)('%s exits 0 and lists what the server has', async (command, expected) => {
    const dev = devs[i]!;
    const r = await run(`${BIN}/psql`, ['-X', '-v', 'ON_ERROR_STOP=1', '-d', viaPgward(dev), '-c', command], {
      env: env(dev),
    });
    expect(r.code, failure(r)).toBe(0);
    expect(r.stderr).toBe('');
    for (const want of expected(dev)) {
      if (typeof want === 'string') expect(r.stdout).toContain(want);
      else expect(r.stdout).toMatch(want);
    }
  });
});
