import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { psql } from '../harness/clients.js';
import { eventually } from '../harness/eventually.js';
import { startTestGateway, superuserQuery, type TestGateway } from '../harness/gateway.js';

let gw: TestGateway;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  gw = await startTestGateway(
    inject('pgCluster'),
    {},
    {
      policies: {
        'p.yaml': `rules:
  - name: readers
    effect: allow
    subjects: { users: ['ro-*'] }
    session: { readOnly: true }
  - name: everyone
    effect: allow
    subjects: { users: ['*'] }
    tls: { required: false }
`,
      },
    },
  );
  for (const u of ['alice', 'bob', 'ro-carol', 'dave']) tokens[u] = (await gw.issue(u)).token;
});
afterAll(async () => {
  await gw?.close();
});

interface PoolView {
  size: number;
  total: number;
  handedOut: number;
}
const pools = (): PoolView[] => [
  ...(gw.gateway as unknown as { ctx: { pools: { values(): Iterable<PoolView> } } }).ctx.pools.values(),
];

/** Every pool at rest: no connection handed out, being reset, or being opened. */
async function poolsAtRest(): Promise<void> {
  await eventually(() => expect(pools().map((p) => p.total - p.size)).toEqual(pools().map(() => 0)));
}

const q = async (user: string, sql: string, extra: Record<string, string> = {}): Promise<string[]> => {
  const r = await psql(gw, user, gw.database, tokens[user]!, ['-q', '-v', 'ON_ERROR_STOP=0'], { input: sql, extra });
  await gw.gateway.settled();
  // The reset (DISCARD ALL) done before the next session asks for a connection.
  await poolsAtRest();
  return r.stdout.trim().split('\n');
};

/** The pool whose startup settings include application_name `app`. */
const poolOf = (app: string): PoolView | undefined =>
  [
    ...(gw.gateway as unknown as { ctx: { pools: { entries(): Iterable<[string, PoolView]> } } }).ctx.pools.entries(),
  ].find(([id]) => id.includes(`\0application_name=${app}`))?.[1];

describe('warm upstream pool', () => {
  it('hands the same backend to the next session with the same settings, with nothing of the last one left on it', async () => {
    const [pid1] = await q(
      'alice',
      `select pg_backend_pid();
       set work_mem = '7MB';
       set application_name = 'changed';
       prepare stmt as select 1;
       select pg_advisory_lock(42);
       listen alice_channel;
       set role none;`,
      { application_name: 'shared-app' },
    );
    const out = await q(
      'bob',
      `select pg_backend_pid();
       show work_mem;
       select count(*) from pg_prepared_statements;
       select count(*) from pg_locks where locktype = 'advisory' and pid = pg_backend_pid();
       select count(*) from pg_listening_channels();
       show application_name;`,
      { application_name: 'shared-app' },
    );
    expect(out[0]).toBe(pid1);
    expect(out.slice(1)).toEqual(['4MB', '0', '0', '0', 'shared-app']);
  });

  it('sessions with other startup settings get other backends, opened with those settings', async () => {
    const [pid1] = await q('alice', 'select pg_backend_pid();', { application_name: 'one-app' });
    const [pid2, app] = await q('alice', 'select pg_backend_pid(); show application_name;', {
      application_name: 'other-app',
    });
    expect(pid2).not.toBe(pid1);
    expect(app).toBe('other-app');
  });

  it("RESET returns to what the client connected with; what one session changed is not the next one's", async () => {
    const settings = {
      application_name: 'reset-app',
      options: '-c DateStyle=Postgres,MDY -c TimeZone=America/Los_Angeles',
    };
    const first = await q(
      'alice',
      `select pg_backend_pid();
       set datestyle to iso; set timezone to 'UTC';
       reset datestyle; show datestyle;
       reset all; show timezone;
       set datestyle to iso; set timezone to 'Etc/UTC';`,
      settings,
    );
    expect(first.slice(1)).toEqual(['Postgres, MDY', 'America/Los_Angeles']);
    const second = await q(
      'bob',
      `select pg_backend_pid(); show datestyle; show timezone; select '2024-06-01 12:00'::timestamptz;`,
      settings,
    );
    expect(second).toEqual([first[0], 'Postgres, MDY', 'America/Los_Angeles', 'Sat Jun 01 12:00:00 2024 PDT']);
  });

  it('a backend left with a temp namespace, a loaded library or a placeholder setting is not reused; one left clean is', async () => {
    const cases: Array<[string, string, boolean]> = [
      ['clean', 'select 1;', true],
      ['temp', 'create temp table mine (secret text); drop table mine;', false],
      ['library', 'do $$ begin perform 1; end $$;', false],
      ['placeholder', "select set_config('app.tenant', 'acme', false);", false],
      ['set-dotted', 'set app.tenant = acme;', false],
    ];
    for (const [name, sql, reused] of cases) {
      const app = `residue-${name}`;
      const [pid1] = await q('alice', `select pg_backend_pid(); ${sql}`, { application_name: app });
      const [pid2, tenant] = await q(
        'alice',
        "select pg_backend_pid(); select coalesce(current_setting('app.tenant', true), 'none');",
        { application_name: app },
      );
      expect([name, pid2 === pid1]).toEqual([name, reused]);
      expect([name, tenant]).toEqual([name, 'none']);
    }
  });

  it('never reuses a connection whose client left inside a transaction', async () => {
    const [pid1] = await q('alice', 'select pg_backend_pid(); begin; select 1;');
    const [pid2] = await q('alice', 'select pg_backend_pid();');
    expect(pid2).not.toBe(pid1);
  });

  it('keeps read-only sessions on their own connections, where RESET cannot switch read-only off', async () => {
    const out = await q(
      'ro-carol',
      'reset default_transaction_read_only; show default_transaction_read_only; discard all; show default_transaction_read_only;',
    );
    expect(out).toEqual(['on', 'on']);
    const rw = await q('alice', 'show default_transaction_read_only;');
    expect(rw).toEqual(['off']);
  });

  it("an invalid startup setting fails with the server's own FATAL, DETAIL included", async () => {
    const r = await psql(gw, 'alice', gw.database, tokens['alice']!, ['-c', 'select 1'], {
      extra: { options: '-c DateStyle=bogus', application_name: 'bogus-app' },
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('FATAL:  invalid value for parameter "DateStyle": "bogus"');
    expect(r.stderr).toContain('DETAIL:  Unrecognized key word: "bogus".');
  });

  it('keeps min connections warm for settings that come back, and none for settings used once', async () => {
    expect(await q('alice', 'select 1;', { application_name: 'once-app' })).toEqual(['1']);
    expect(poolOf('once-app')?.total).toBeLessThanOrEqual(1);
    expect(await q('alice', 'select 1;', { application_name: 'warm-app' })).toEqual(['1']);
    expect(await q('alice', 'select 1;', { application_name: 'warm-app' })).toEqual(['1']);
    await eventually(() => expect(poolOf('warm-app')?.size).toBeGreaterThanOrEqual(2));
    expect(poolOf('once-app')?.total).toBeLessThanOrEqual(1);
  });
});

describe('upstream assigned at the first message', () => {
  const handedOut = (): number => pools().reduce((n, p) => n + p.handedOut, 0);
  /** A node-postgres client that keeps the ParameterStatus messages it was sent. */
  const client = async (user = 'dave'): Promise<{ c: pg.Client; reported: Map<string, string> }> => {
    const c = new pg.Client({
      host: gw.host,
      port: gw.port,
      user,
      password: tokens[user],
      database: gw.database,
      application_name: 'lazy-test',
      ssl: { ca: await readFile(gw.caPath, 'utf8'), servername: 'localhost' },
    });
    const reported = new Map<string, string>();
    (
      c as unknown as {
        connection: { on(e: string, f: (m: { parameterName: string; parameterValue: string }) => void): void };
      }
    ).connection.on('parameterStatus', (m) => reported.set(m.parameterName, m.parameterValue));
    c.on('error', () => undefined);
    await c.connect();
    return { c, reported };
  };
  /**
   * The first session with these settings connects at login, to learn what the server
   * reports; the tests below are about the sessions after it, so each makes sure it happened.
   */
  const teach = async (): Promise<void> => {
    const t = await client();
    await t.c.query('select 1');
    await t.c.end();
    await poolsAtRest();
  };
  const backends = async (): Promise<number> =>
    (
      await superuserQuery(
        inject('pgCluster'),
        `select count(*)::int as n from pg_stat_activity where datname = $1 and backend_type = 'client backend'`,
        'postgres',
        [gw.upstreamDatabase],
      )
    ).rows[0].n;

  it('idle sessions hold no upstream connection; each gets one when it speaks, and was told what the server reports', async () => {
    // The first session with these settings connects at login and teaches the pool what the server reports.
    const first = await client();
    expect((await first.c.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
    await first.c.end();
    await poolsAtRest();
    const before = await backends();
    const taken = handedOut();
    const idle = await Promise.all(Array.from({ length: 12 }, () => client()));
    expect(handedOut()).toBe(taken);
    expect(await backends()).toBeLessThanOrEqual(before);
    for (const s of idle) expect(s.reported).toEqual(first.reported);
    const pids = await Promise.all(
      idle.map(
        async (s) =>
          (await s.c.query('select pg_backend_pid() as pid, current_setting($1) as app', ['application_name']))
            .rows[0] as { pid: number; app: string },
      ),
    );
    expect(new Set(pids.map((p) => p.pid)).size).toBe(12);
    expect(pids.every((p) => p.app === 'lazy-test')).toBe(true);
    expect(handedOut()).toBe(taken + 12);
    await Promise.all(idle.map((s) => s.c.end()));
  });

  it('a session that ends without a statement never takes an upstream connection', async () => {
    await teach();
    const taken = handedOut();
    const s = await client();
    await s.c.end();
    await gw.gateway.settled();
    expect(handedOut()).toBe(taken);
    const { rows } = await gw.cp.store.sql.query(
      `select end_reason from sessions where username = 'dave' order by started_at desc limit 1`,
    );
    expect(rows[0]?.end_reason).toBe('client-terminate');
  });

  it('an idle session can be killed and ends with a FATAL the client reads', async () => {
    const s = await client();
    const errors: Error[] = [];
    s.c.on('error', (e) => errors.push(e));
    const live = gw.gateway.sessions.list().filter((x) => x.user === 'dave');
    expect(live.length).toBe(1);
    live[0]!.kill('terminated by administrator test');
    await eventually(() => expect(errors[0]?.message).toContain('terminated by administrator test'));
  });

  it('when no upstream connection can be had at the first message: FATAL to the client, a closed record', async () => {
    await teach();
    const s = await client();
    const cluster = inject('pgCluster');
    await superuserQuery(cluster, `alter role ${gw.upstreamRole} nologin`);
    try {
      // Empty the warm pool: its connections end, and new ones are refused.
      await superuserQuery(
        cluster,
        `select pg_terminate_backend(pid) from pg_stat_activity where usename = $1`,
        'postgres',
        [gw.upstreamRole],
      );
      await eventually(() => expect(pools().map((p) => p.size)).toEqual(pools().map(() => 0)));
      const err = await s.c.query('select 1').then(
        () => null,
        (e: Error & { code?: string; severity?: string }) => e,
      );
      expect(err?.code).toBe('28000');
      expect(err?.severity).toBe('FATAL');
      await gw.gateway.settled();
      const { rows } = await gw.cp.store.sql.query(
        `select end_reason from sessions where username = 'dave' order by started_at desc limit 1`,
      );
      expect(rows[0]?.end_reason).toBe('upstream-unavailable');
    } finally {
      await superuserQuery(cluster, `alter role ${gw.upstreamRole} login`);
    }
    // And the next session is served.
    const next = await client();
    expect((await next.c.query('select 2 as two')).rows).toEqual([{ two: 2 }]);
    await next.c.end();
  });
});
