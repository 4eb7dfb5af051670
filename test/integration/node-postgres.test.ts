import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../harness/gateway.js';

let gw: TestGateway;
let ca: string;
let token: string;
const clients: pg.Client[] = [];

async function connect(extra: Partial<pg.ClientConfig> = {}): Promise<pg.Client> {
  const c = new pg.Client({
    host: gw.host,
    port: gw.port,
    user: 'dana',
    password: token,
    database: gw.database,
    ssl: { ca, servername: 'localhost' },
    ...extra,
  });
  await c.connect();
  clients.push(c);
  return c;
}

beforeAll(async () => {
  gw = await startTestGateway(inject('pgCluster'));
  ca = await readFile(gw.caPath, 'utf8');
  token = (await gw.issue('dana')).token;
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
  await gw?.close();
});

describe('node-postgres through pgward', () => {
  it('binds parameters of many types', async () => {
    const c = await connect();
    const r = await c.query(
      'select $1::int + 1 as n, $2::text as t, $3::jsonb as j, $4::timestamptz as ts, $5::bool as b',
      [41, 'héllo ✓', { a: [1, 2] }, new Date('2026-01-02T03:04:05Z'), true],
    );
    expect(r.rows[0]).toEqual({ n: 42, t: 'héllo ✓', j: { a: [1, 2] }, ts: new Date('2026-01-02T03:04:05Z'), b: true });
  });

  it('reuses a named prepared statement', async () => {
    const c = await connect();
    const q = { name: 'sq', text: 'select $1::int * $1::int as sq' };
    for (const n of [3, 4, 5]) expect((await c.query({ ...q, values: [n] })).rows[0].sq).toBe(n * n);
  });

  it('keeps going after errors in queued (pipelined) queries', async () => {
    const c = await connect();
    const results = await Promise.allSettled([
      c.query('select 1 as a'),
      c.query('select 1/0'),
      c.query('select $1::int as b', ['not a number']),
      c.query('select 3 as c'),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason.code).toBe('22012');
    expect((results[2] as PromiseRejectedResult).reason.code).toBe('22P02');
    expect((results[3] as PromiseFulfilledResult<pg.QueryResult>).value.rows[0].c).toBe(3);
  });

  it('round-trips a 10 MB bytea both ways', async () => {
    const c = await connect();
    const blob = randomBytes(10 * 1024 * 1024);
    await c.query('create table if not exists blobs (id int primary key, data bytea)');
    await c.query('insert into blobs values (1, $1)', [blob]);
    const r = await c.query('select data, length(data) as n from blobs where id = 1');
    expect(r.rows[0].n).toBe(blob.length);
    expect((r.rows[0].data as Buffer).equals(blob)).toBe(true);
  });

  it('delivers LISTEN/NOTIFY between two sessions', async () => {
    const listener = await connect();
    const notifier = await connect();
    await listener.query('listen pgward_events');
    const got = new Promise<pg.Notification>((resolve) => listener.once('notification', resolve));
    await notifier.query(`select pg_notify('pgward_events', 'payload-42')`);
    const n = await got;
    expect(n.channel).toBe('pgward_events');
    expect(n.payload).toBe('payload-42');
  });

  it('authenticates with SCRAM-SHA-256-PLUS when node-postgres enables channel binding', async () => {
    const c = await connect({ enableChannelBinding: true } as Partial<pg.ClientConfig>);
    expect((await c.query('select 1 as one')).rows[0].one).toBe(1);
  });

  it('hands out synthetic BackendKeyData, never the upstream backend key', async () => {
    const c = await connect();
    const seen = (c as unknown as { processID: number }).processID;
    const real = (await c.query('select pg_backend_pid() as pid')).rows[0].pid as number;
    expect(seen).toBeGreaterThan(0);
    expect(seen).not.toBe(real);
  });
});
