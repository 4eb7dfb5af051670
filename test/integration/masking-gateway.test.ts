import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { psql } from '../harness/clients.js';
import { statementItems } from '../../src/web/statement-runs.js';
import { startTestGateway, superuserQuery, type TestGateway } from '../harness/gateway.js';

/** Data masking through the whole gateway: a developer's grant masks, an admin's does not; the audit says what was masked. */

const cluster = inject('pgCluster');
let gw: TestGateway;
const tokens: Record<string, string> = {};

const POLICY = `rules:
  - name: developers-masked
    effect: allow
    subjects: { users: ['dev-*'] }
    tls: { required: false }
    session:
      masking:
        columns:
          - { column: 'public.customers.email', strategy: email-domain }
          - { column: 'public.customers.card', strategy: keep-last, keep: 4 }
        values:
          - { value: email, strategy: email-domain }
  - name: admins
    effect: allow
    subjects: { users: ['admin-*'] }
    tls: { required: false }
`;

beforeAll(async () => {
  gw = await startTestGateway(cluster, {}, { policies: { 'p.yaml': POLICY } });
  const c = new pg.Client({
    host: cluster.host,
    port: cluster.port,
    user: cluster.superuser,
    password: cluster.superuserPassword,
    database: gw.upstreamDatabase,
    ssl: { rejectUnauthorized: false },
  });
  await c.connect();
  await c.query(`set role ${gw.upstreamRole}`);
  await c.query(`create table customers (id int primary key, email text, card text, notes text);
    insert into customers values (1, 'alice@example.com', '4111111111111111', 'cc bob@corp.example.org')`);
  await c.end();
  for (const u of ['dev-ann', 'admin-al']) tokens[u] = (await gw.issue(u)).token;
  void superuserQuery;
});

afterAll(async () => {
  await gw?.close();
});

const q = (user: string, sql: string) => psql(gw, user, gw.database, tokens[user]!, ['-c', sql]);

describe('masking through the gateway', () => {
  it('masks a developer, passes an admin, and the audit counts what was masked', async () => {
    const dev = await q('dev-ann', 'select id, email, card, notes, upper(email) from customers');
    expect(dev.stderr).toBe('');
    expect(dev.stdout.trim()).toBe('1|a***@example.com|************1111|cc b***@corp.example.org|***');
    const admin = await q('admin-al', 'select email, card from customers');
    expect(admin.stdout.trim()).toBe('alice@example.com|4111111111111111');
    const bin = await q('dev-ann', 'copy customers to stdout (format binary)');
    expect(bin.stderr).toContain('COPY in binary format cannot be masked');
    await gw.gateway.settled();
    const { rows } = await gw.cp.store.sql.query<{ payload: { columns: string[]; runs: unknown[][] } }>(
      `select payload from session_events where username = 'dev-ann' and kind = 'statements'`,
    );
    const run = rows[0]!.payload.runs.find((r) => r.length > 8)!;
    expect(run[rows[0]!.payload.columns.indexOf('masked')]).toEqual({
      'public.customers.email': 2,
      'public.customers.card': 1,
      email: 1,
    });
    const all = JSON.stringify(rows);
    expect(all).not.toContain('alice@');
    expect(all).not.toContain('4111111111111111');
    // The auditor's playback item carries the same counts (the timeline shows them as tags).
    const items = statementItems(0, rows[0]!.payload, 0, 0, 100);
    expect(items.find((i) => i.masked)?.masked).toEqual({
      'public.customers.email': 2,
      'public.customers.card': 1,
      email: 1,
    });
  });
});
