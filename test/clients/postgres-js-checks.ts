import { readFileSync } from 'node:fs';
import postgres from 'postgres';
import type { MatrixRun } from './matrix.js';
import { md5, state, TEN_MB, type Check } from './node-checks.js';

type Sql = postgres.Sql;

/** postgres.js with verify-full (CA and host checked by Node's TLS); max 1 so queries share one connection. */
function connect(r: MatrixRun, extra: postgres.Options<Record<string, postgres.PostgresType>> = {}): Sql {
  return postgres({
    host: r.host,
    port: r.port,
    user: r.user,
    password: r.password,
    database: r.database,
    ssl: { ca: readFileSync(r.caPath, 'utf8') },
    max: 1,
    connect_timeout: 20,
    onnotice: () => undefined,
    ...extra,
  });
}

async function withSql<T>(
  r: MatrixRun,
  fn: (sql: Sql) => Promise<T>,
  extra: postgres.Options<Record<string, postgres.PostgresType>> = {},
): Promise<T> {
  const sql = connect(r, extra);
  try {
    return await fn(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

class Rollback extends Error {}

export const postgresJsChecks: Record<string, Check> = {
  login: (r) =>
    withSql(r, async (sql) => ((await sql`select current_user is not null as ok`)[0]!['ok'] === true ? 't' : 'f')),
  parameters: (r) =>
    withSql(r, async (sql) => {
      const [row] =
        await sql`select ${42}::int4 + 1 as a, ${'café ✓'}::text as b, length(${Buffer.from([0, 1, 255])}::bytea) as n`;
      return `${String(row!['a'])}|${String(row!['b'])}|${String(row!['n'])}`;
    }),
  transactions: (r) =>
    withSql(r, async (sql) => {
      const t = sql(r.table);
      try {
        await sql
          .begin(async (tx) => {
            await tx`insert into ${t} (id, v) values (1, 'rolled back')`;
            throw new Rollback();
          })
          .catch((e: unknown) => {
            if (!(e instanceof Rollback)) throw e;
          });
        const [a] = await sql`select count(*)::int as n from ${t} where id = 1`;
        await sql.begin((tx) => tx`insert into ${t} (id, v) values (1, 'committed')`);
        const [b] = await sql`select count(*)::int as n from ${t} where id = 1`;
        return `rollback ${String(a!['n'])}, commit ${String(b!['n'])}`;
      } catch (err) {
        return state(err);
      }
    }),
  'error then reuse': (r) =>
    withSql(r, async (sql) => {
      const seen: string[] = [];
      await sql`select 1/0`.catch((e: unknown) => seen.push(state(e)));
      const reserved = await sql.reserve();
      try {
        await reserved`begin`;
        await reserved`select 1/0`.catch((e: unknown) => seen.push(state(e)));
        await reserved`select 1`.catch((e: unknown) => seen.push(state(e)));
        await reserved`rollback`;
      } finally {
        reserved.release();
      }
      seen.push(String((await sql`select 3 as n`)[0]!['n']));
      return seen.join(',');
    }),
  'large value': (r) =>
    withSql(r, async (sql) => {
      const [sent] = await sql`select length(t) as n, md5(t) as h from (select ${'x'.repeat(TEN_MB)}::text as t) s`;
      const [back] = await sql`select repeat('y', 10485760) as y`;
      const y = String(back!['y']);
      return `${String(sent!['n'])}|${String(sent!['h'])}|${y.length}|${md5(y)}`;
    }),
  '100k rows': (r) =>
    withSql(r, async (sql) => {
      let n = 0;
      let sum = 0;
      // A cursor: the portal is executed 1,000 rows at a time.
      for await (const rows of sql`select g, md5(g::text) from generate_series(1, 100000) g`.cursor(1000)) {
        for (const row of rows) {
          n++;
          sum += Number(row['g']);
        }
      }
      return `${n}|${sum}`;
    }),
  'copy out': (r) =>
    withSql(r, async (sql) => {
      const chunks: Buffer[] = [];
      const stream = await sql`copy (select g, 'é' || g from generate_series(1, 1000) g) to stdout`.readable();
      for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
      const data = Buffer.concat(chunks);
      return `${data.toString().split('\n').length - 1}|${md5(data)}`;
    }),
  'copy in': (r) =>
    withSql(r, async (sql) => {
      try {
        const stream = await sql`copy ${sql(r.table)} (id, v) from stdin`.writable();
        const done = new Promise<void>((resolve, reject) => {
          stream.on('finish', resolve);
          stream.on('error', reject);
        });
        for (let i = 1001; i <= 2000; i++) stream.write(`${i}\tcopied é ${i}\n`);
        stream.end();
        await done;
      } catch (err) {
        return state(err);
      }
      const [row] = await sql`select count(*)::int as n from ${sql(r.table)} where v like ${'copied é %'}`;
      return `1000|${String(row!['n'])}`;
    }),
  'listen/notify': (r) =>
    withSql(
      r,
      async (sql) => {
        const channel = `ch_${r.table}`;
        let resolve!: (payload: string) => void;
        const got = new Promise<string>((res) => (resolve = res));
        const listening = await sql.listen(channel, (payload) => resolve(payload));
        await sql.notify(channel, 'payload é');
        const payload = await got;
        await listening.unlisten();
        return payload;
      },
      { max: 2 },
    ),
  'prepared reuse': (r) =>
    withSql(r, async (sql) => {
      let sum = 0;
      // prepare: true (the default): a named statement, parsed once and then bound and executed.
      for (let i = 1; i <= 10; i++) sum += Number((await sql`select ${i}::int * 2 as d`)[0]!['d']);
      return String(sum);
    }),
  cancel: (r) =>
    withSql(r, async (sql) => {
      const sleeping = sql`select pg_sleep(300)`;
      const timer = setTimeout(() => void sleeping.cancel(), 1000);
      const first = await sleeping.then(
        () => 'not cancelled',
        (e: unknown) => `cancel ${state(e)}`,
      );
      clearTimeout(timer);
      return `${first}, then ${String((await sql`select 1 as n`)[0]!['n'])}`;
    }),
  pipelining: (r) =>
    withSql(r, async (sql) => {
      // Queries issued together on one connection are pipelined.
      const settled = await Promise.allSettled(
        Array.from(
          { length: 10_000 },
          (_, k) => sql`insert into ${sql(r.table)} (id, v) values (${10_001 + k}, ${'batched é'})`,
        ),
      );
      const failed = settled.find((s) => s.status === 'rejected');
      if (failed) return state(failed.reason);
      const [row] = await sql`select count(*)::int as n from ${sql(r.table)} where id between 10001 and 20000`;
      return `batched rows ${String(row!['n'])}`;
    }),
  'pipelining after set_config': (r) =>
    withSql(r, async (sql) => {
      // Issue 15: a statement with non-ASCII text behind one that mentions set_config, in one pipeline.
      const [a, b] = await Promise.allSettled([
        sql`select set_config('app.tenant', 'acme', false) as v`,
        sql`select 'café' as v`,
      ]);
      if (a.status === 'rejected') return state(a.reason);
      if (b.status === 'rejected') return state(b.reason);
      return `${String(a.value[0]!['v'])}|${String(b.value[0]!['v'])}`;
    }),
  '50 connections': async (r) => {
    const all = await Promise.allSettled(
      Array.from({ length: 50 }, () => withSql(r, async (sql) => (await sql`select 1 as n`)[0]!['n'])),
    );
    const errors = [...new Set(all.flatMap((s) => (s.status === 'rejected' ? [String(s.reason)] : [])))];
    return `${all.filter((s) => s.status === 'fulfilled' && s.value === 1).length} ok${errors.length ? ` ${errors.join('; ')}` : ''}`;
  },
  'channel binding': (r) =>
    withSql(r, async (sql) => `bound, ${String((await sql`select 1 as n`)[0]!['n'])}`, {
      channel_binding: 'require',
    } as postgres.Options<Record<string, postgres.PostgresType>>),
};
