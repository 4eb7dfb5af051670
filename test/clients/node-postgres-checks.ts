import { readFileSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import type { MatrixRun } from './matrix.js';
import { md5, state, TEN_MB, type Check } from './node-checks.js';

/** node-postgres with verify-full: the CA, and the host (an IP address SAN here) checked by Node's TLS. */
function config(r: MatrixRun, extra: Partial<pg.ClientConfig> = {}): pg.ClientConfig {
  return {
    host: r.host,
    port: r.port,
    user: r.user,
    password: r.password,
    database: r.database,
    ssl: { ca: readFileSync(r.caPath, 'utf8') },
    connectionTimeoutMillis: 20_000,
    ...extra,
  };
}

async function withClient<T>(
  r: MatrixRun,
  fn: (c: pg.Client) => Promise<T>,
  extra: Partial<pg.ClientConfig> = {},
): Promise<T> {
  const c = new pg.Client(config(r, extra));
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

const one = async (c: pg.Client, sql: string, values: unknown[] = []): Promise<unknown> =>
  Object.values((await c.query(sql, values)).rows[0] as object)[0];

export const nodePostgresChecks: Record<string, Check> = {
  // node-postgres's own COPY is pg-copy-streams (the library its README points to).
  'copy out': (r) =>
    withClient(r, async (c) => {
      const chunks: Buffer[] = [];
      for await (const chunk of c.query(copyTo(`copy (select g, 'é' || g from generate_series(1, 1000) g) to stdout`)))
        chunks.push(chunk as Buffer);
      const data = Buffer.concat(chunks);
      return `${data.toString().split('\n').length - 1}|${md5(data)}`;
    }),
  'copy in': (r) =>
    withClient(r, async (c) => {
      try {
        const lines = Array.from({ length: 1000 }, (_, i) => `${i + 1001}\tcopied é ${i + 1001}\n`);
        await pipeline(Readable.from(lines), c.query(copyFrom(`copy ${r.table} (id, v) from stdin`)));
      } catch (err) {
        return state(err);
      }
      return `1000|${String(await one(c, `select count(*)::int from ${r.table} where v like 'copied é %'`))}`;
    }),
  login: (r) => withClient(r, async (c) => ((await one(c, 'select current_user is not null')) === true ? 't' : 'f')),
  parameters: (r) =>
    withClient(r, async (c) => {
      const row = (
        await c.query('select $1::int4 + 1 as a, $2::text as b, length($3::bytea) as n', [
          42,
          'café ✓',
          Buffer.from([0, 1, 255]),
        ])
      ).rows[0] as { a: number; b: string; n: number };
      return `${row.a}|${row.b}|${row.n}`;
    }),
  transactions: (r) =>
    withClient(r, async (c) => {
      try {
        await c.query('begin');
        await c.query(`insert into ${r.table} (id, v) values (1, 'rolled back')`);
        await c.query('rollback');
        const afterRollback = await one(c, `select count(*) from ${r.table} where id = 1`);
        await c.query('begin');
        await c.query(`insert into ${r.table} (id, v) values (1, 'committed')`);
        await c.query('commit');
        return `rollback ${String(afterRollback)}, commit ${String(await one(c, `select count(*) from ${r.table} where id = 1`))}`;
      } catch (err) {
        await c.query('rollback');
        return state(err);
      }
    }),
  'error then reuse': (r) =>
    withClient(r, async (c) => {
      const seen: string[] = [];
      await c.query('select 1/0').catch((e: unknown) => seen.push(state(e)));
      await c.query('begin');
      for (const q of ['select 1/0', 'select 1']) await c.query(q).catch((e: unknown) => seen.push(state(e)));
      await c.query('rollback');
      seen.push(String(await one(c, 'select 3')));
      return seen.join(',');
    }),
  'large value': (r) =>
    withClient(r, async (c) => {
      const sent = (
        await c.query('select length(t) as n, md5(t) as h from (select $1::text as t) s', ['x'.repeat(TEN_MB)])
      ).rows[0] as { n: number; h: string };
      const back = String(await one(c, "select repeat('y', 10485760)"));
      return `${sent.n}|${sent.h}|${back.length}|${md5(back)}`;
    }),
  '100k rows': (r) =>
    withClient(r, async (c) => {
      const { rows } = await c.query<{ g: number }>('select g, md5(g::text) from generate_series(1, 100000) g');
      return `${rows.length}|${rows.reduce((s, x) => s + x.g, 0)}`;
    }),
  'listen/notify': (r) =>
    withClient(r, (listener) =>
      withClient(r, async (sender) => {
        const channel = `ch_${r.table}`;
        const got = new Promise<pg.Notification>((resolve) => listener.once('notification', resolve));
        await listener.query(`listen ${channel}`);
        await sender.query('select pg_notify($1, $2)', [channel, 'payload é']);
        const n = await got;
        return n.channel === channel ? (n.payload ?? '') : `wrong channel ${n.channel}`;
      }),
    ),
  'prepared reuse': (r) =>
    withClient(r, async (c) => {
      let sum = 0;
      // A named query is parsed once on the connection and then only bound and executed.
      for (let i = 1; i <= 10; i++)
        sum += Number(
          ((await c.query({ name: 'double', text: 'select $1::int * 2 as d', values: [i] })).rows[0] as { d: number })
            .d,
        );
      return String(sum);
    }),
  cancel: (r) =>
    withClient(r, async (c) => {
      const sleeping = new pg.Query('select pg_sleep(300)');
      const outcome = new Promise<string>((resolve) => {
        sleeping.on('error', (e) => resolve(`cancel ${state(e)}`));
        sleeping.on('end', () => resolve('not cancelled'));
      });
      c.query(sleeping);
      setTimeout(() => {
        // Client#cancel: a second connection that sends the CancelRequest with the session's key.
        const canceller = new pg.Client(config(r)) as pg.Client & { cancel(client: pg.Client, query: pg.Query): void };
        canceller.cancel(c, sleeping);
      }, 1000);
      return `${await outcome}, then ${String(await one(c, 'select 1'))}`;
    }),
  pipelining: (r) =>
    withClient(
      r,
      async (c) => {
        const inserts: Array<Promise<unknown>> = [];
        for (let i = 10_001; i <= 20_000; i++)
          inserts.push(c.query(`insert into ${r.table} (id, v) values ($1, $2)`, [i, 'batched é']));
        const settled = await Promise.allSettled(inserts);
        const failed = settled.find((s) => s.status === 'rejected');
        if (failed) return state(failed.reason);
        return `batched rows ${String(await one(c, `select count(*) from ${r.table} where id between 10001 and 20000`))}`;
      },
      { pipeline: true },
    ),
  'pipelining after set_config': (r) =>
    withClient(
      r,
      async (c) => {
        // Issue 15: a statement with non-ASCII text behind one that mentions set_config, in one pipeline.
        const [a, b] = await Promise.allSettled([
          one(c, "select set_config('app.tenant', 'acme', false)"),
          one(c, "select 'café'"),
        ]);
        if (a.status === 'rejected') return state(a.reason);
        if (b.status === 'rejected') return state(b.reason);
        return `${String(a.value)}|${String(b.value)}`;
      },
      { pipeline: true },
    ),
  '50 connections': async (r) => {
    const all = await Promise.allSettled(Array.from({ length: 50 }, () => withClient(r, (c) => one(c, 'select 1'))));
    const errors = [...new Set(all.flatMap((s) => (s.status === 'rejected' ? [String(s.reason)] : [])))];
    return `${all.filter((s) => s.status === 'fulfilled' && s.value === 1).length} ok${errors.length ? ` ${errors.join('; ')}` : ''}`;
  },
  'channel binding': async (r) => {
    const c = new pg.Client(config(r, { enableChannelBinding: true }));
    // node-postgres has no "require": record the mechanism it chose from what the server offered.
    const conn = (
      c as unknown as { connection: { sendSASLInitialResponseMessage(mechanism: string, response: string): void } }
    ).connection;
    let mechanism = 'none';
    const send = conn.sendSASLInitialResponseMessage.bind(conn);
    conn.sendSASLInitialResponseMessage = (m, response) => {
      mechanism = m;
      send(m, response);
    };
    await c.connect();
    try {
      return `${mechanism}, ${String(await one(c, 'select 1'))}`;
    } finally {
      await c.end();
    }
  },
};
