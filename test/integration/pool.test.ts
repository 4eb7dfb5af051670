import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { psql } from '../harness/clients.js';
import { startTestGateway, type TestGateway } from '../harness/gateway.js';

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
  for (const u of ['alice', 'bob', 'ro-carol']) tokens[u] = (await gw.issue(u)).token;
});
afterAll(async () => {
  await gw?.close();
});

const q = async (user: string, sql: string, extra: Record<string, string> = {}): Promise<string[]> => {
  const r = await psql(gw, user, gw.database, tokens[user]!, ['-q', '-v', 'ON_ERROR_STOP=0'], { input: sql, extra });
  await gw.gateway.settled();
  // Let the reset (DISCARD ALL) finish before the next session asks for a connection.
  await new Promise((r) => setTimeout(r, 100));
  return r.stdout.trim().split('\n');
};

describe('warm upstream pool', () => {
  it('hands the same backend to the next session, with nothing of the last one left on it', async () => {
    const [pid1] = await q(
      'alice',
      `select pg_backend_pid();
       create temp table mine (secret text); insert into mine values ('alice-only');
       set work_mem = '7MB';
       prepare stmt as select 1;
       select pg_advisory_lock(42);
       listen alice_channel;
       set role none;`,
      { application_name: 'alice-app' },
    );
    const out = await q(
      'bob',
      `select pg_backend_pid();
       select count(*) from pg_class where relname = 'mine' and relpersistence = 't';
       show work_mem;
       select count(*) from pg_prepared_statements;
       select count(*) from pg_locks where locktype = 'advisory' and pid = pg_backend_pid();
       select count(*) from pg_listening_channels();
       show application_name;`,
      { application_name: 'bob-app' },
    );
    expect(out[0]).toBe(pid1);
    expect(out.slice(1)).toEqual(['0', '4MB', '0', '0', '0', 'bob-app']);
  });

  it('never reuses a connection whose client left inside a transaction', async () => {
    const [pid1] = await q('alice', 'select pg_backend_pid(); begin; select 1;');
    const [pid2] = await q('alice', 'select pg_backend_pid();');
    expect(pid2).not.toBe(pid1);
  });

  it('keeps read-only sessions on their own connections, where RESET cannot switch read-only off', async () => {
    const out = await q('ro-carol', 'reset default_transaction_read_only; show default_transaction_read_only; discard all; show default_transaction_read_only;');
    expect(out).toEqual(['on', 'on']);
    const rw = await q('alice', 'show default_transaction_read_only;');
    expect(rw).toEqual(['off']);
  });

  it('keeps warm connections ready before anyone connects', async () => {
    const pools = [...(gw.gateway as unknown as { ctx: { pools: Map<string, { size: number; opened: number }> } }).ctx.pools.values()];
    expect(pools.length).toBeGreaterThan(0);
    for (let i = 0; i < 40 && pools.some((p) => p.size < 2); i++) await new Promise((r) => setTimeout(r, 50));
    expect(pools.every((p) => p.size >= 2)).toBe(true);
  });
});
