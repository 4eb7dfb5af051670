import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { message, RawClient, startupPacket } from '../harness/raw-client.js';
import { psql, run } from '../harness/clients.js';
import { eventually } from '../harness/eventually.js';
import { startTestGateway, superuserQuery, type TestGateway } from '../harness/gateway.js';

let gw: TestGateway;
let hook: http.Server;
const alerts: Array<Record<string, unknown>> = [];
/** Deliveries the webhook received, by the alert's user. */
const hookCalls = new Map<string, number>();
const tokens: Record<string, string> = {};

function policies(webhook: string): string {
  return `profiles:
  strict:
    webhook: ${webhook}
    risks:
      drop: block
      truncate: block
      update-without-where: block
      delete-without-where: block
      alter-system: block
      function-call-message: block
      copy-program: end-session
      '*': alert
    anomalies: { bulk-read: alert, '*': log }
    baseline: { window: 250ms, minWindows: 4, sigma: 4, bulkReadMinRows: 2000 }
  revoker:
    risks: { truncate: revoke-token }
rules:
  - name: revokers
    effect: allow
    subjects: { users: ['rev-*'] }
    session: { detector: revoker }
    tls: { required: false }
  - name: everyone
    effect: allow
    subjects: { users: ['*'] }
    session: { detector: strict }
    tls: { required: false }
`;
}

beforeAll(async () => {
  hook = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const alert = JSON.parse(body) as Record<string, unknown>;
      const user = String(alert['user']);
      const calls = (hookCalls.get(user) ?? 0) + 1;
      hookCalls.set(user, calls);
      // The first delivery of the user 'alerter' fails: alerts must be retried.
      if (user === 'alerter' && calls === 1) return void res.writeHead(503).end();
      alerts.push(alert);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
  gw = await startTestGateway(
    inject('pgCluster'),
    { auth: { passwordUsers: ['raw-*'] } },
    { policies: { 'p.yaml': policies(url) } },
  );
  for (const u of [
    'alice',
    'bob',
    'analyst',
    'killer',
    'copier',
    'raw-fc',
    'raw-g15',
    'rev-one',
    'bencher',
    'copier-up',
    'alerter',
  ])
    tokens[u] = (await gw.issue(u)).token;
  await psql(gw, 'bob', gw.database, tokens['bob']!, [
    '-c',
    'create table t (id int primary key, v text)',
    '-c',
    "insert into t select g, 'row ' || g from generate_series(1, 50000) g",
    '-c',
    'create table small (id int)',
    '-c',
    'insert into small select generate_series(1, 10)',
  ]);
});
afterAll(async () => {
  await gw?.close();
  await new Promise((r) => hook?.close(r));
});

async function events(user: string, kind: string): Promise<Array<Record<string, unknown>>> {
  await gw.gateway.settled();
  const { rows } = await gw.cp.store.sql.query<{ payload: Record<string, unknown> }>(
    `select payload from session_events where username = $1 and kind = $2 order by at, seq`,
    [user, kind],
  );
  return rows.map((r) => r.payload);
}

describe('risky statements through psql', () => {
  it.each([
    ['update t set v = v', 'update-without-where', 'block'],
    ['delete from t', 'delete-without-where', 'block'],
    ['truncate t', 'truncate', 'block'],
    ['drop table t', 'drop', 'block'],
    // F9: every statement of a multi-statement string is parsed, so the second one is caught.
    ['select 1; drop table t', 'drop', 'block'],
    ['alter system set work_mem = 1024', 'alter-system', 'block'],
    ["copy t to '/tmp/x.csv'", 'copy-server-file', 'alert'],
    ["select pg_read_file('/etc/hostname')", 'server-file-function', 'alert'],
    ["select lo_import('/etc/hostname')", 'large-object-function', 'alert'],
    // SQL text run elsewhere is dynamic-sql, blocked by a profile that blocks anything.
    ["select dblink_exec('host=x', 'select 1')", 'dynamic-sql', 'block'],
    ['set role none', 'set-role', 'alert'],
    ['set session authorization default', 'set-session-authorization', 'alert'],
    ['create extension if not exists pg_trgm', 'create-extension', 'alert'],
    ['select 1; select 2', 'multi-statement', 'alert'],
  ])('%s → %s (%s), and the session stays usable', async (sql, risk, action) => {
    const r = await psql(gw, 'alice', gw.database, tokens['alice']!, [
      '-v',
      'ON_ERROR_STOP=0',
      '-c',
      sql,
      '-c',
      "select 'usable'",
    ]);
    expect(r.stdout.trim().split('\n').pop()).toBe('usable');
    await gw.gateway.settled();
    if (action === 'block') expect(r.stderr).toContain(`ERROR:  pgward: statement refused by policy (${risk})`);
    else expect(r.stderr).not.toContain('refused by policy');
    const { rows } = await gw.cp.store.sql.query<{ action: string; detail: { risk: string } }>(
      `select action, detail from anomalies where username = 'alice' and kind = 'risky-statement' order by id desc limit 1`,
    );
    expect(rows[0]).toMatchObject({ action, detail: { risk } });
    // Blocked statements never reached Postgres.
    if (action === 'block')
      expect(
        (await superuserQuery(inject('pgCluster'), 'select count(*)::int as n from t', gw.upstreamDatabase)).rows[0].n,
      ).toBe(50_000);
  });

  it('records each statement with classification, rows, timing and outcome, constants replaced', async () => {
    await psql(gw, 'alice', gw.database, tokens['alice']!, [
      '-c',
      "select * from t where v = 'secret-literal' or id < 4",
    ]);
    const ev = await events('alice', 'statements');
    const batch = ev.find((e) => JSON.stringify(e).includes('id < $2')) as {
      statements: Array<{ sql: string }>;
      runs: unknown[][];
    };
    const idx = batch.statements.findIndex((s) => s.sql === 'select * from t where v = $1 or id < $2');
    expect(batch.statements[idx]).toEqual({
      sql: 'select * from t where v = $1 or id < $2',
      category: 'read',
      tables: ['t'],
    });
    const run = batch.runs.find((r) => r[0] === idx)!;
    expect([run[1], run[5]]).toEqual([3, 'ok']);
    expect(JSON.stringify(ev)).not.toContain('secret-literal');
  });

  it('ends the session for copy ... program, before Postgres sees it', async () => {
    const r = await psql(gw, 'alice', gw.database, tokens['alice']!, ['-c', "copy t to program 'cat > /tmp/pwned'"]);
    expect(r.stderr).toContain('FATAL:  terminating connection: statement refused by policy (copy-program)');
    await gw.gateway.settled();
    const { rows } = await gw.cp.store.sql.query<{ end_reason: string }>(
      `select end_reason from sessions where username = 'alice' order by started_at desc limit 1`,
    );
    expect(rows[0]?.end_reason).toBe('detector');
  });

  it('revokes the token when the profile says so', async () => {
    const r = await psql(gw, 'rev-one', gw.database, tokens['rev-one']!, ['-c', 'truncate t']);
    expect(r.stderr).toContain('revoked by the detector');
    const again = await psql(gw, 'rev-one', gw.database, tokens['rev-one']!, ['-c', 'select 1']);
    expect(again.stderr).toContain('password authentication failed for user "rev-one"');
  });

  it('sends alerts to the webhook, retrying a failed delivery', async () => {
    const r = await psql(gw, 'alerter', gw.database, tokens['alerter']!, [
      '-c',
      'set role none',
      '-c',
      "select 'usable'",
    ]);
    expect(r.stdout.trim().split('\n').pop()).toBe('usable');
    await eventually(() =>
      expect(alerts).toContainEqual(
        expect.objectContaining({ kind: 'risky-statement', user: 'alerter', gateway: gw.config.gatewayId }),
      ),
    );
    expect(hookCalls.get('alerter')).toBeGreaterThan(1);
  });
});

describe('extended and prepared protocol clients', () => {
  it('node-postgres: a blocked prepared statement, then the connection works on', async () => {
    const client = new pg.Client({
      host: gw.host,
      port: gw.port,
      user: 'alice',
      password: tokens['alice'],
      database: gw.database,
      ssl: { ca: await readFile(gw.caPath, 'utf8'), servername: 'localhost' },
    });
    await client.connect();
    try {
      await expect(
        client.query({ name: 'wipe-one', text: 'delete from t where id = $1', values: [-1] }),
      ).resolves.toBeDefined();
      await expect(client.query({ name: 'wipe-all', text: 'delete from t' })).rejects.toMatchObject({ code: '42501' });
      await client.query('begin');
      await expect(client.query({ text: 'update t set v = $1', values: ['x'] })).rejects.toMatchObject({
        code: '42501',
      });
      await expect(client.query('select 1')).rejects.toMatchObject({ code: '25P02' });
      await client.query('rollback');
      expect(
        (await client.query({ text: 'select count(*)::int as n from t where id <= $1', values: [10] })).rows,
      ).toEqual([{ n: 10 }]);
    } finally {
      await client.end();
    }
  });

  it.each(['extended', 'prepared'])(
    'pgbench -M %s: risky statements alerted on, every transaction still succeeds',
    async (mode) => {
      const { writeFile, mkdtemp } = await import('node:fs/promises');
      const { join } = await import('node:path');
      const { tmpdir } = await import('node:os');
      const dir = await mkdtemp(join(tmpdir(), 'pgb-'));
      const script = join(dir, 'risky.sql');
      await writeFile(script, '\\set id random(1, 50000)\nselect v from t where id = :id;\nset role none;\n');
      const r = await run(
        'pgbench',
        [
          '-n',
          '-M',
          mode,
          '-c',
          '2',
          '-t',
          '50',
          '-f',
          script,
          '-h',
          gw.host,
          '-p',
          String(gw.port),
          '-U',
          'bencher',
          gw.database,
        ],
        {
          env: { PGPASSWORD: tokens['bencher']!, PGSSLMODE: 'verify-full', PGSSLROOTCERT: gw.caPath },
        },
      );
      expect(r.stderr).not.toContain('error');
      expect(r.stdout).toMatch(/number of transactions actually processed: 100\/100/);
      expect(r.stdout).toMatch(/number of failed transactions: 0/);
      const { rows } = await gw.cp.store.sql.query<{ n: number }>(
        `select count(*)::int as n from anomalies where username = 'bencher' and detail->>'risk' = 'set-role'`,
      );
      expect(rows[0]!.n).toBeGreaterThan(0);
    },
  );
});

describe('FunctionCall messages', () => {
  it('are refused by OID with an error, and the session goes on', async () => {
    const c = await RawClient.connect(gw.port);
    await c.upgrade(await readFile(gw.caPath, 'utf8'));
    c.write(startupPacket({ user: 'raw-fc', database: gw.database }));
    expect((await c.next())?.type).toBe('R');
    c.write(message('p', `${tokens['raw-fc']}\0`));
    await c.until_('Z');
    // FunctionCall: oid 1598 (random()), no arguments, text result.
    const body = Buffer.alloc(10);
    body.writeUInt32BE(1598, 0);
    body.writeUInt16BE(0, 4);
    body.writeUInt16BE(0, 6);
    body.writeUInt16BE(0, 8);
    c.write(message('F', body));
    const reply = await c.until_('Z');
    expect(reply.map((m) => m.type)).toEqual(['E', 'Z']);
    expect(reply[0]!.body.toString()).toContain('statement refused by policy (function-call-message)');
    c.write(message('Q', 'select 1\0'));
    expect((await c.until_('Z')).map((m) => m.type)).toEqual(['T', 'D', 'C', 'Z']);
    // A message type no client sends: the session ends, and the detector records why.
    c.write(message('!', Buffer.alloc(0)));
    expect((await c.error())?.['C']).toBe('08P01');
    await eventually(async () => {
      await gw.gateway.settled();
      const { rows } = await gw.cp.store.sql.query<{ severity: string }>(
        `select severity from anomalies where username = 'raw-fc' and kind = 'protocol'`,
      );
      expect(rows).toEqual([{ severity: 'high' }]);
    });
  });
});

describe('settings that change how SQL text is read, mid-session (BAD_INPUTS G15)', () => {
  it('client_encoding SJIS, standard_conforming_strings off, pipelined changes, an encoding pgward cannot read: no hidden DROP runs', async () => {
    await psql(gw, 'bob', gw.database, tokens['bob']!, ['-c', 'create table victim (i int)']);
    const c = await RawClient.connect(gw.port);
    await c.upgrade(await readFile(gw.caPath, 'utf8'));
    c.write(startupPacket({ user: 'raw-g15', database: gw.database }));
    expect((await c.next())?.type).toBe('R');
    c.write(message('p', `${tokens['raw-g15']}\0`));
    await c.until_('Z');
    const query = (sql: string | Buffer): void =>
      c.write(message('Q', Buffer.concat([Buffer.from(sql), Buffer.from([0])])));
    const errorOf = async (): Promise<string> => {
      const reply = await c.until_('Z');
      const e = reply.find((m) => m.type === 'E');
      return e ? e.body.toString('latin1') : `no error: ${reply.map((m) => m.type).join('')}`;
    };

    // SJIS 0x81 0x5C is one character; read as UTF-8 its second byte would escape the quote
    // and hide the DROP inside a string. The server reads SJIS, so must the inspector.
    query("set client_encoding = 'SJIS'");
    const set = await c.until_('Z');
    expect(set.some((m) => m.type === 'S' && m.body.toString('latin1').startsWith('client_encoding\0SJIS'))).toBe(true);
    query(
      Buffer.concat([Buffer.from("select E'"), Buffer.from([0x81, 0x5c]), Buffer.from("'; drop table victim; --'")]),
    );
    expect(await errorOf()).toContain('statement refused by policy (drop)');

    // standard_conforming_strings off: a backslash in a plain literal escapes the quote.
    query("set client_encoding = 'UTF8'; set standard_conforming_strings = off");
    await c.until_('Z');
    query("select 'a\\''; drop table victim; --'");
    expect(await errorOf()).toContain('statement refused by policy (drop)');

    // Pipelined behind the change, before the server has said so: held back until it has
    // (issue 15), then read as it reports and run (standard: the backslash is a character).
    c.write(
      Buffer.concat([message('Q', 'set standard_conforming_strings = on\0'), message('Q', "select 'b\\' as x\0")]),
    );
    await c.until_('Z');
    expect(await errorOf()).toMatch(/^no error/);
    // In the same pipeline step (before Sync) as the change, the server reports it only after
    // reading the statement: it cannot be read in advance and is refused.
    const parse = (sql: string): Buffer =>
      message('P', Buffer.concat([Buffer.from(`\0${sql}\0`), Buffer.from([0, 0])]));
    const bindExecute = Buffer.concat([
      message('B', Buffer.from([0, 0, 0, 0, 0, 0, 0, 0])),
      message('E', Buffer.from([0, 0, 0, 0, 0])),
    ]);
    c.write(
      Buffer.concat([
        parse("select set_config('standard_conforming_strings', 'off', false)"),
        bindExecute,
        parse("select 'c\\'; drop table victim; --'"),
        bindExecute,
        message('S', Buffer.alloc(0)),
      ]),
    );
    expect(await errorOf()).toMatch(/C0A000\0.*statement refused: its text cannot be inspected/);

    // JOHAB: no decoder; ASCII statements still run, others are refused.
    query("set client_encoding = 'JOHAB'");
    await c.until_('Z');
    query('select 1');
    expect(await errorOf()).toMatch(/^no error/);
    query(Buffer.concat([Buffer.from("select '"), Buffer.from([0x84, 0x41]), Buffer.from("'")]));
    expect(await errorOf()).toContain('cannot read this statement in client_encoding JOHAB');
    c.end();

    const { rows } = await superuserQuery(
      inject('pgCluster'),
      `select to_regclass('victim') is not null as present`,
      gw.upstreamDatabase,
    );
    expect(rows[0].present).toBe(true);
    const anomalies = await gw.cp.store.sql.query<{ n: number }>(
      `select count(*)::int as n from anomalies where username = 'raw-g15' and kind = 'unreadable-statement'`,
    );
    expect(anomalies.rows[0]!.n).toBe(2);
  });
});

describe('behaviour', () => {
  it('a bulk read far above the baseline built by a normal workload raises an anomaly', async () => {
    // Normal: a few small reads in each of several windows.
    const script = Array.from({ length: 14 }, () => 'select * from small;\nselect pg_sleep(0.1);').join('\n');
    await psql(gw, 'analyst', gw.database, tokens['analyst']!, ['-q'], { input: script + '\n' });
    const before = await gw.cp.store.sql.query(
      `select count(*)::int as n from anomalies where username = 'analyst' and kind = 'bulk-read'`,
    );
    expect(before.rows[0].n).toBe(0);
    const r = await psql(gw, 'analyst', gw.database, tokens['analyst']!, ['-c', 'select * from t']);
    expect(r.stdout.split('\n').length).toBeGreaterThan(49_000);
    await gw.gateway.settled();
    const { rows } = await gw.cp.store.sql.query<{ severity: string; detail: { rows: number; tables: string[] } }>(
      `select severity, detail from anomalies where username = 'analyst' and kind = 'bulk-read'`,
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.severity).toBe('high');
    expect(rows[0]!.detail.tables).toEqual(['t']);
    expect(rows[0]!.detail.rows).toBeGreaterThan(49_000);
    const saved = await gw.cp.store.sql.query(`select state->'windows' as w from baselines where username = 'analyst'`);
    expect(Number(saved.rows[0].w)).toBeGreaterThanOrEqual(4);
  });
});

describe('the record survives the worst endings', () => {
  async function sessionRecord(user: string) {
    await gw.gateway.settled();
    const { rows } = await gw.cp.store.sql.query<{
      id: string;
      ended_at: Date | null;
      end_reason: string;
      chain_length: number;
      chain_head: Buffer;
    }>(
      `select id, ended_at, end_reason, chain_length, chain_head from sessions where username = $1 order by started_at desc limit 1`,
      [user],
    );
    const s = rows[0]!;
    const ev = await gw.cp.store.sql.query<{
      seq: number;
      kind: string;
      hash: Buffer;
      payload: { runs?: unknown[][] };
    }>(`select seq, kind, hash, payload from session_events where session_id = $1 order by seq`, [s.id]);
    return { s, ev: ev.rows };
  }

  it('upstream killed mid-query: a closed record, the statement marked interrupted', async () => {
    const running = psql(gw, 'killer', gw.database, tokens['killer']!, ['-c', 'select pg_sleep(20)']);
    // Only this test's backend: other test files run the same statement on the shared cluster.
    await eventually(async () => {
      const { rows } = await superuserQuery(
        inject('pgCluster'),
        `select pg_terminate_backend(pid) as t from pg_stat_activity where query like 'select pg_sleep(20)%' and usename = $1`,
        'postgres',
        [gw.upstreamRole],
      );
      expect(rows).toHaveLength(1);
    });
    const r = await running;
    expect(r.code).not.toBe(0);
    const { s, ev } = await sessionRecord('killer');
    expect(s.ended_at).not.toBeNull();
    expect(ev.map((e) => e.kind)).toEqual(['session_start', 'policy', 'statements', 'session_end']);
    expect(['interrupted', 'error']).toContain(ev[2]!.payload.runs![0]![5]);
    expect(s.chain_length).toBe(4);
    expect(s.chain_head.equals(ev[3]!.hash)).toBe(true);
  });

  it('upstream killed mid-COPY: the client is told, a closed record, the COPY not recorded as done', async () => {
    const { spawn } = await import('node:child_process');
    const child = spawn(
      'bash',
      [
        '-c',
        `yes 'x' | head -n 50000000 | psql -X -d "host=${gw.host} port=${gw.port} user=copier-up dbname=${gw.database} sslmode=verify-full sslrootcert=${gw.caPath}" -c "create temp table c (v text)" -c "copy c from stdin"`,
      ],
      {
        env: { ...process.env, PGPASSWORD: tokens['copier-up']! },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
    // Only this test's backend, once its COPY is streaming.
    await eventually(async () => {
      const { rows } = await superuserQuery(
        inject('pgCluster'),
        `select pg_terminate_backend(pid) as t from pg_stat_activity where query like 'copy c from stdin%' and usename = $1`,
        'postgres',
        [gw.upstreamRole],
      );
      expect(rows).toHaveLength(1);
    });
    expect(await exited).not.toBe(0);
    expect(stderr).toMatch(/terminating connection|server closed the connection/);
    const { s, ev } = await sessionRecord('copier-up');
    expect(s.ended_at).not.toBeNull();
    expect(s.end_reason).toBe('upstream-closed');
    expect(ev[ev.length - 1]!.kind).toBe('session_end');
    expect(['interrupted', 'error']).toContain(
      ev
        .filter((e) => e.kind === 'statements')
        .pop()
        ?.payload.runs?.pop()?.[5],
    );
    expect(s.chain_length).toBe(ev.length);
    // The gateway goes on serving.
    expect((await psql(gw, 'copier-up', gw.database, tokens['copier-up']!, ['-c', 'select 5'])).stdout.trim()).toBe(
      '5',
    );
  });

  it('client killed mid-COPY: a closed record, the COPY marked interrupted', async () => {
    const { spawn } = await import('node:child_process');
    const child = spawn(
      'bash',
      [
        '-c',
        `yes 'x' | head -n 50000000 | psql -X -d "host=${gw.host} port=${gw.port} user=copier dbname=${gw.database} sslmode=verify-full sslrootcert=${gw.caPath}" -c "create temp table copier_in (v text)" -c "copy copier_in from stdin"`,
      ],
      {
        env: { ...process.env, PGPASSWORD: tokens['copier']! },
        stdio: 'ignore',
        detached: true,
      },
    );
    // Killed once the COPY reached Postgres, so the record has a COPY to mark.
    await eventually(async () => {
      const { rows } = await superuserQuery(
        inject('pgCluster'),
        `select 1 from pg_stat_activity where query like 'copy copier_in from stdin%' and usename = $1`,
        'postgres',
        [gw.upstreamRole],
      );
      expect(rows).toHaveLength(1);
    });
    process.kill(-child.pid!, 'SIGKILL');
    await eventually(() => expect(gw.gateway.sessions.list().filter((x) => x.user === 'copier')).toEqual([]));
    const { s, ev } = await sessionRecord('copier');
    expect(s.ended_at).not.toBeNull();
    expect(s.end_reason).toBe('client-closed');
    expect(ev[ev.length - 1]!.kind).toBe('session_end');
    expect(
      ev
        .filter((e) => e.kind === 'statements')
        .pop()
        ?.payload.runs?.pop()?.[5],
    ).toBe('interrupted');
    expect(s.chain_length).toBe(ev.length);
  });
});
