import { randomBytes } from 'node:crypto';
import { access, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { builtinFunctionName } from '../../src/detect/function-oids.js';
import { PostgresCluster } from '../../src/store/postgres-launcher.js';
import { psql } from '../harness/clients.js';
import { eventually } from '../harness/eventually.js';
import { startTestGateway, superuserQuery, type ClusterInfo, type TestGateway } from '../harness/gateway.js';
import { fields, int32, message, RawClient, startupPacket, type BackendMessage } from '../harness/raw-client.js';

/**
 * Issue 13, items 1-5, sent as an attacker would (psql, raw FunctionCall frames, the
 * extended protocol, pipelined batches) against Postgres 15 through pgward, with a
 * read-only grant on a role that can write (only pgward keeps it read-only), and as an
 * admin whose profile blocks TRUNCATE and DROP. Each test states what the attacker sees
 * now and checks that the write did not happen. Then what a read-only developer does
 * every day, which must still work, and the same attacks on Postgres 13 (which does not
 * report default_transaction_read_only).
 */

const POLICY = `profiles:
  open:
    risks: { '*': log }
  guarded:
    risks: { drop: block, truncate: block, '*': alert }
rules:
  - name: readers
    effect: allow
    subjects: { users: ['ro-*', 'raw-ro-*'] }
    session: { readOnly: true, detector: open }
    tls: { required: false }
  - name: admins
    effect: allow
    subjects: { users: ['admin-*', 'raw-admin-*'] }
    session: { detector: guarded }
    tls: { required: false }
  - name: writers
    effect: allow
    subjects: { users: ['rw-*'] }
    session: { detector: open }
    tls: { required: false }
`;

let cluster: ClusterInfo;
let gw: TestGateway;
let ca: string;
const tokens = new Map<string, string>();

async function token(g: TestGateway, user: string): Promise<string> {
  const key = `${g.port}/${user}`;
  let t = tokens.get(key);
  if (!t) {
    t = (await g.issue(user)).token;
    tokens.set(key, t);
  }
  return t;
}

/** The upstream database as its owner sees it (not through pgward). */
async function upstream(sql: string): Promise<pg.QueryResult> {
  return superuserQuery(cluster, sql, gw.upstreamDatabase);
}

async function victimRows(table = 'victim'): Promise<number> {
  return Number((await upstream(`select count(*)::int as n from ${table}`)).rows[0].n);
}

async function anomalies(user: string): Promise<Array<{ kind: string; severity: string }>> {
  await gw.gateway.settled();
  const { rows } = await gw.cp.store.sql.query<{ kind: string; severity: string }>(
    `select kind, severity from anomalies where username = $1 order by at`,
    [user],
  );
  return rows;
}

/** The FATAL a read-only session gets when the server reports default_transaction_read_only off. */
const LIFTED = {
  S: 'FATAL',
  V: 'FATAL',
  C: '57P01',
  M: 'terminating connection: the server reported default_transaction_read_only = off in a read-only session',
};

/** Normalized texts of the statements the audit records as blocked for this user. */
async function blockedStatements(user: string): Promise<unknown[]> {
  return (await statementEvents(user)).filter((s) => s['blocked']).map((s) => s['sql']);
}

async function statementEvents(user: string): Promise<Array<Record<string, unknown>>> {
  await gw.gateway.settled();
  const { rows } = await gw.cp.store.sql.query<{ payload: { statements: Array<Record<string, unknown>> } }>(
    `select payload from session_events where username = $1 and kind = 'statements' order by at, seq`,
    [user],
  );
  return rows.flatMap((r) => r.payload.statements);
}

/** psql as the attacker runs it: one -c per statement, going on after errors. */
function attack(g: TestGateway, user: string, database: string, ...statements: string[]) {
  return token(g, user).then((t) =>
    psql(g, user, database, t, ['-v', 'ON_ERROR_STOP=0', ...statements.flatMap((s) => ['-c', s])], {
      extra: { sslmode: 'verify-full' },
    }),
  );
}

/** SQLSTATE-free lines psql printed for errors (ERROR/FATAL), in order. */
function errors(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter((l) => /^(ERROR|FATAL):/.test(l))
    .map((l) => l.replace(/\s+/g, ' '));
}

async function rawSession(g: TestGateway, user: string, database = g.database): Promise<RawClient> {
  const c = await RawClient.connect(g.port);
  await c.upgrade(ca);
  c.write(startupPacket({ user, database }));
  const auth = await c.next();
  if (auth?.type !== 'R') throw new Error(`expected an authentication request, got ${auth?.type}`);
  c.write(message('p', `${await token(g, user)}\0`));
  await c.until_('Z');
  return c;
}

/** FunctionCall: oid, all arguments in text format, text result. */
function functionCall(oid: number, args: string[]): Buffer {
  const parts = [int32(oid), Buffer.from([0, 0]), Buffer.from([args.length >> 8, args.length & 0xff])];
  for (const a of args) parts.push(int32(Buffer.byteLength(a)), Buffer.from(a));
  parts.push(Buffer.from([0, 0]));
  return message('F', Buffer.concat(parts));
}

const query = (sql: string): Buffer => message('Q', `${sql}\0`);
const parse = (sql: string, name = ''): Buffer =>
  message('P', Buffer.concat([Buffer.from(`${name}\0${sql}\0`), Buffer.from([0, 0])]));
const bind = (statement = ''): Buffer =>
  message('B', Buffer.concat([Buffer.from(`\0${statement}\0`), Buffer.from([0, 0, 0, 0, 0, 0])]));
const execute = (): Buffer => message('E', Buffer.concat([Buffer.from('\0'), int32(0)]));
const SYNC = message('S', Buffer.alloc(0));

function errorsIn(msgs: BackendMessage[]): Array<Record<string, string>> {
  return msgs.filter((m) => m.type === 'E').map((m) => fields(m.body));
}

/** Everything the gateway sends until it closes (or `count` ReadyForQuery arrived). */
async function readAll(c: RawClient, readies = Infinity): Promise<BackendMessage[]> {
  const out: BackendMessage[] = [];
  let seen = 0;
  for (;;) {
    const m = await c.next(15_000);
    if (!m) return out;
    out.push(m);
    if (m.type === 'Z' && ++seen >= readies) return out;
  }
}

beforeAll(async () => {
  cluster = inject('pgCluster');
  ca = await readFile(cluster.caPath, 'utf8');
  gw = await startTestGateway(cluster, { auth: { passwordUsers: ['raw-*'] } }, { policies: { 'p.yaml': POLICY } });
  const role = gw.upstreamRole;
  // Written by the role itself in a writable session (or by a colleague): functions a
  // read-only developer can call, one that lifts read-only and one that writes.
  await upstream(`
    create table victim (i int);
    create table victim2 (i int);
    insert into victim values (1), (2);
    insert into victim2 values (1), (2);
    create function lift_ro() returns text language sql
      as $$ select set_config('default_transaction_read_only', 'off', false) $$;
    create function write_row() returns int language sql as $$ insert into victim values (99) returning 1 $$;
    alter table victim owner to ${role};
    alter table victim2 owner to ${role};
    alter function lift_ro() owner to ${role};
    alter function write_row() owner to ${role};
  `);
}, 60_000);

afterAll(async () => {
  await gw?.close();
});

describe('item 1: read-only switched off by a statement (psql)', () => {
  it('boolean prefixes: `set default_transaction_read_only = fal` is refused, the session stays read-only', async () => {
    const r = await attack(
      gw,
      'ro-alice',
      gw.database,
      'set default_transaction_read_only = fal',
      'show default_transaction_read_only',
      'create temp table t (x int)',
    );
    expect(errors(r.stderr)).toEqual([
      'ERROR: pgward: this session is read-only',
      'ERROR: cannot execute CREATE TABLE in a read-only transaction',
    ]);
    expect(r.stdout.trim()).toBe('on');
  });

  it.each([
    'begin; set local transaction_read_only = fals; insert into victim values (10); commit',
    'begin read write; insert into victim values (11); commit',
    'start transaction read write; insert into victim values (12); commit',
    'begin; set transaction read write; insert into victim values (13); commit',
    'begin; listen x; reset transaction_read_only; insert into victim values (14); commit',
    'set session characteristics as transaction read write; insert into victim values (15)',
    "begin; select set_config('transaction_read_only', 'off', true); insert into victim values (16); commit",
  ])('transaction-level: %s is refused and writes nothing', async (sql) => {
    const before = await victimRows();
    const r = await attack(gw, 'ro-alice', gw.database, sql);
    expect(errors(r.stderr)[0]).toBe('ERROR: pgward: this session is read-only');
    // The refusal says where the read-only comes from.
    expect(r.stderr).toContain(
      'HINT:  The access rule "readers" grants this session read-only; write access needs another rule or an access request.',
    );
    expect(await victimRows()).toBe(before);
  });

  it('each transaction-level form sent alone, as separate psql commands, is refused too', async () => {
    const before = await victimRows();
    const r = await attack(
      gw,
      'ro-alice',
      gw.database,
      'begin',
      'set local transaction_read_only = fals',
      'rollback',
      'begin',
      'listen x',
      'reset transaction_read_only',
      'insert into victim values (17)',
      'rollback',
    );
    expect(errors(r.stderr)).toEqual([
      'ERROR: pgward: this session is read-only',
      'ERROR: pgward: this session is read-only',
      'ERROR: current transaction is aborted, commands ignored until end of transaction block',
    ]);
    expect(await victimRows()).toBe(before);
  });

  it('a function that lifts it (set_config inside): the server reports it off, the session ends with FATAL before the next statement', async () => {
    const before = await victimRows();
    const r = await attack(
      gw,
      'ro-lifter',
      gw.database,
      'select pg_backend_pid()',
      'select lift_ro()',
      'insert into victim values (20)',
    );
    const [pid, shown] = r.stdout.trim().split('\n');
    expect(shown).toBe('off');
    expect(errors(r.stderr)[0]).toBe(
      'FATAL: terminating connection: the server reported default_transaction_read_only = off in a read-only session',
    );
    expect(await victimRows()).toBe(before);
    expect(await anomalies('ro-lifter')).toEqual([{ kind: 'read-only-lifted', severity: 'high' }]);
    // Its upstream connection was closed, not pooled for the next session.
    await eventually(async () =>
      expect((await upstream(`select count(*)::int as n from pg_stat_activity where pid = ${pid}`)).rows[0].n).toBe(0),
    );
  });

  it('the same function, then COMMIT and a write in one Query: refused whole', async () => {
    const before = await victimRows();
    const r = await attack(gw, 'ro-lifter2', gw.database, 'select lift_ro(); commit; insert into victim values (21)');
    expect(errors(r.stderr)).toEqual(['ERROR: pgward: this session is read-only']);
    expect(await victimRows()).toBe(before);
  });

  it('the same function pipelined with a write in the next Query: the write waits for the report and never runs', async () => {
    const before = await victimRows();
    const c = await rawSession(gw, 'raw-ro-pipeliner');
    c.write(Buffer.concat([query('select lift_ro()'), query('insert into victim values (22)')]));
    // The INSERT is held until the lift's answer (and its report) is in; the report then ends
    // the session, so the INSERT never reaches the server.
    expect(errorsIn(await readAll(c))).toEqual([LIFTED]);
    expect(c.isClosed).toBe(true);
    expect(await victimRows()).toBe(before);
    expect(await anomalies('raw-ro-pipeliner')).toEqual([{ kind: 'read-only-lifted', severity: 'high' }]);
  });

  it('the same in the extended protocol, pipelined batches (Parse/Bind/Execute/Sync twice): the write never runs', async () => {
    const before = await victimRows();
    const c = await rawSession(gw, 'raw-ro-extended');
    c.write(
      Buffer.concat([
        parse('select lift_ro()'),
        bind(),
        execute(),
        SYNC,
        parse('insert into victim values (23)'),
        bind(),
        execute(),
        SYNC,
      ]),
    );
    expect(errorsIn(await readAll(c))).toEqual([LIFTED]);
    expect(await victimRows()).toBe(before);
  });

  it('a pipelined SELECT of a function that writes waits for the report too: it never runs', async () => {
    const before = await victimRows();
    const c = await rawSession(gw, 'raw-ro-residual');
    c.write(Buffer.concat([query('select lift_ro()'), query('select write_row()')]));
    expect(errorsIn(await readAll(c))).toEqual([LIFTED]);
    expect(await victimRows()).toBe(before);
    expect(await anomalies('raw-ro-residual')).toEqual([{ kind: 'read-only-lifted', severity: 'high' }]);
  });

  it('statements prepared earlier, bound as lift, COMMIT and write in one step: the COMMIT is refused, nothing is written', async () => {
    const before = await victimRows();
    const c = await rawSession(gw, 'raw-ro-bound');
    c.write(
      Buffer.concat([parse('select lift_ro()', 'l'), parse('commit', 'c'), parse('select write_row()', 'w'), SYNC]),
    );
    expect(errorsIn(await c.until_('Z'))).toEqual([]);
    c.write(Buffer.concat([bind('l'), execute(), bind('c'), execute(), bind('w'), execute(), SYNC]));
    const errors = errorsIn(await readAll(c));
    expect(errors[0]).toMatchObject({ C: '25006', M: 'pgward: this session is read-only' });
    expect(errors[0]?.['D']).toContain('A transaction end bound in the same pipeline step');
    expect(await victimRows()).toBe(before);
    expect(await blockedStatements('raw-ro-bound')).toEqual(['commit']);
  });
});

describe('item 2: FunctionCall messages (raw frames)', () => {
  it('set_config by OID 2078 (default_transaction_read_only, off) is refused, and the next INSERT fails', async () => {
    const before = await victimRows();
    const c = await rawSession(gw, 'raw-ro-fc');
    c.write(functionCall(2078, ['default_transaction_read_only', 'off', 'false']));
    const reply = await c.until_('Z');
    expect(reply.map((m) => m.type)).toEqual(['E', 'Z']);
    // The detail names the setting when the relay hands over the call's arguments, else says set_config() by FunctionCall.
    expect(errorsIn(reply)[0]).toMatchObject({ C: '25006', M: 'pgward: this session is read-only' });
    c.write(query('insert into victim values (30)'));
    expect(errorsIn(await c.until_('Z'))[0]).toMatchObject({
      C: '25006',
      M: 'cannot execute INSERT in a read-only transaction',
    });
    c.write(query('show default_transaction_read_only'));
    const shown = (await c.until_('Z')).find((m) => m.type === 'D')!;
    expect(shown.body.subarray(6).toString()).toBe('on');
    c.end();
    expect(await victimRows()).toBe(before);
  });

  it('set_config(transaction_read_only) inside a transaction, and a user function by OID, are refused', async () => {
    const oid = Number((await upstream(`select 'lift_ro'::regproc::oid as oid`)).rows[0].oid);
    expect(oid).toBeGreaterThanOrEqual(16_384);
    const c = await rawSession(gw, 'raw-ro-fc2');
    c.write(query('begin'));
    await c.until_('Z');
    c.write(functionCall(2078, ['transaction_read_only', 'off', 'true']));
    expect(errorsIn(await c.until_('Z'))[0]).toMatchObject({ C: '25006' });
    c.write(query('rollback'));
    await c.until_('Z');
    c.write(functionCall(oid, []));
    expect(errorsIn(await c.until_('Z'))[0]).toMatchObject({
      C: '25006',
      M: `pgward: FunctionCall refused: function ${oid} is not a built-in function pgward can name`,
    });
    c.write(query('show default_transaction_read_only'));
    expect(
      (await c.until_('Z'))
        .find((m) => m.type === 'D')!
        .body.subarray(6)
        .toString(),
    ).toBe('on');
    c.end();
    expect((await anomalies('raw-ro-fc2')).map((a) => a.kind)).toEqual(['unknown-function-call']);
  });

  it('pg_terminate_backend by OID is classified (signal-backend) and alerted under a profile that alerts', async () => {
    const c = await rawSession(gw, 'raw-admin-fc');
    c.write(functionCall(2096, ['2147483647', '0']));
    const reply = await c.until_('Z');
    // No such backend: Postgres answers with a warning and false; pgward lets it through with an alert.
    expect(reply.map((m) => m.type)).toContain('V');
    c.end();
    await eventually(async () =>
      expect(await anomalies('raw-admin-fc')).toEqual([{ kind: 'risky-statement', severity: 'medium' }]),
    );
    const stmts = await statementEvents('raw-admin-fc');
    expect(stmts[0]).toMatchObject({
      sql: 'FunctionCall pg_terminate_backend (oid 2096)',
      risks: ['function-call-message', 'signal-backend'],
    });
  });
});

describe('item 3: SQL run from inside SQL', () => {
  it.each([
    "select query_to_xml('select set_config(''default_transaction_read_only'',''off'',false)',true,false,'')",
    "DO $$BEGIN EXECUTE 'SET default_transaction_re'||'ad_only = off'; END$$",
    "DO $$DECLARE s text := 'SET default_transaction_read_only = off'; BEGIN EXECUTE s; END$$",
    'DO $$BEGIN PERFORM lift_ro(); COMMIT; INSERT INTO victim VALUES (40); END$$',
  ])('%s is refused; read-only holds', async (sql) => {
    const before = await victimRows();
    const r = await attack(
      gw,
      'ro-bob',
      gw.database,
      sql,
      'show default_transaction_read_only',
      'insert into victim values (41)',
    );
    expect(errors(r.stderr)).toEqual([
      'ERROR: pgward: this session is read-only',
      'ERROR: cannot execute INSERT in a read-only transaction',
    ]);
    expect(r.stdout.trim()).toBe('on');
    expect(await victimRows()).toBe(before);
  });
});

describe('item 4: text only the upstream grammar reads, and text none reads', () => {
  const olderOnly = 'SELECT 1 FROM (VALUES (1)) AS system_user';

  it(`read-only: SET default_transaction_read_only = off; ${olderOnly} is refused`, async () => {
    const r = await attack(
      gw,
      'ro-carol',
      gw.database,
      `SET default_transaction_read_only = off; ${olderOnly}`,
      'show default_transaction_read_only',
    );
    expect(errors(r.stderr)).toEqual(['ERROR: pgward: this session is read-only']);
    expect(r.stdout.trim()).toBe('on');
  });

  it(`admin blocking TRUNCATE and DROP: TRUNCATE victim2; DROP TABLE victim2; ${olderOnly} is refused`, async () => {
    const r = await attack(gw, 'admin-dave', gw.database, `TRUNCATE victim2; DROP TABLE victim2; ${olderOnly}`);
    expect(errors(r.stderr)).toEqual(['ERROR: pgward: statement refused by policy (truncate)']);
    expect(await victimRows('victim2')).toBe(2);
    const stmts = await statementEvents('admin-dave');
    expect(stmts[0]).toMatchObject({ category: 'ddl', risks: ['multi-statement', 'truncate', 'drop'] });
  });

  it("text no grammar reads: refused with Postgres's own syntax error where guarded, forwarded elsewhere", async () => {
    const ro = await attack(gw, 'ro-erin', gw.database, 'selec 1');
    expect(errors(ro.stderr)).toEqual(['ERROR: syntax error at or near "selec"']);
    // The position goes with it, so psql draws the same caret Postgres would.
    expect(ro.stderr).toContain('ERROR:  syntax error at or near "selec"\nLINE 1: selec 1\n        ^');
    expect(await anomalies('ro-erin')).toEqual([{ kind: 'unparsable-statement', severity: 'medium' }]);
    const admin = await attack(gw, 'admin-erin', gw.database, 'selec 1');
    expect(errors(admin.stderr)).toEqual(['ERROR: syntax error at or near "selec"']);
    const rw = await attack(gw, 'rw-erin', gw.database, 'selec 1');
    expect(rw.stderr).toContain('ERROR:  syntax error at or near "selec"\nLINE 1: selec 1');
    expect(await anomalies('rw-erin')).toEqual([]);
  });
});

describe('item 5: DO blocks and EXECUTE', () => {
  it("DO $$BEGIN EXECUTE 'TRUNCATE victim'; EXECUTE 'DROP TABLE victim'; END$$ is blocked, and the audit shows what was inside", async () => {
    const before = await victimRows();
    const r = await attack(
      gw,
      'admin-frank',
      gw.database,
      "DO $$BEGIN EXECUTE 'TRUNCATE victim'; EXECUTE 'DROP TABLE victim'; END$$",
      'DO $$BEGIN TRUNCATE victim; END$$',
      "DO $$DECLARE q text := 'TRUNC' || 'ATE'; BEGIN EXECUTE q || ' victim'; END$$",
    );
    expect(errors(r.stderr)).toEqual([
      'ERROR: pgward: statement refused by policy (truncate)',
      'ERROR: pgward: statement refused by policy (truncate)',
      // Computed SQL text hides what runs: a profile that blocks anything blocks it.
      'ERROR: pgward: statement refused by policy (dynamic-sql)',
    ]);
    expect(await victimRows()).toBe(before);
    const stmts = await statementEvents('admin-frank');
    expect(stmts.map((s) => [s['sql'], s['category'], s['tables'], s['risks']])).toEqual([
      ['DO $1', 'ddl', ['victim'], ['truncate', 'drop']],
      ['DO $1', 'write', ['victim'], ['truncate']],
      ['DO $1', 'read', undefined, ['dynamic-sql']],
    ]);
  });
});

describe('what a read-only developer does every day still works', () => {
  it("SELECTs, psql's catalogue commands, SET statement_timeout, BEGIN READ ONLY, pg_dump's set_config", async () => {
    const t = await token(gw, 'ro-daily');
    const r = await psql(gw, 'ro-daily', gw.database, t, [
      '-c',
      'select count(*) from victim',
      '-c',
      '\\d',
      '-c',
      '\\dt victim',
      '-c',
      '\\df lift_ro',
      '-c',
      '\\l',
      '-c',
      'set statement_timeout = 5000',
      '-c',
      'begin read only; select 1; commit',
      '-c',
      "SELECT set_config(name, 'view, foreign-table', false) FROM pg_settings WHERE name = 'restrict_nonsystem_relation_kind'",
      '-c',
      "select table_to_xml('victim', true, false, '') is not null",
      '-c',
      'show default_transaction_read_only',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n').at(-1)).toBe('on');
    expect(await anomalies('ro-daily')).toEqual([]);
  });

  it("names every built-in function OID as this server's pg_proc does", async () => {
    const { rows } = await upstream('select oid::int as oid, proname from pg_proc where oid < 10000');
    const wrong = rows.filter((r: { oid: number; proname: string }) => builtinFunctionName(r.oid, 15) !== r.proname);
    expect(rows.length).toBeGreaterThan(3000);
    expect(wrong).toEqual([]);
  });
});

describe('Postgres 13 (no report of default_transaction_read_only): the strict statement check', () => {
  let pg13: PostgresCluster;
  let gw13: TestGateway;
  const password = randomBytes(12).toString('hex');

  beforeAll(async () => {
    const binDir = fileURLToPath(new URL('../../node_modules/pg13/native/bin', import.meta.url));
    await access(join(binDir, 'postgres'));
    const dir = await mkdtemp(join(tmpdir(), 'pgward-ro13-'));
    pg13 = await PostgresCluster.start({
      dataDir: join(dir, 'data'),
      superuserPassword: password,
      binaries: { binDir, version: 13, source: 'npm' },
      tls: { certPath: cluster.certPath, keyPath: cluster.keyPath, caPath: cluster.caPath },
    });
    await pg13.query(`create role app login password '${password}'`);
    await pg13.query('create database app owner app');
    await pg13.query(
      `set role app; create table victim (i int); insert into victim values (1);
       create function lift_ro() returns text language sql
         as $$ select set_config('default_transaction_read_only', 'off', false) $$;
       create function write_row() returns int language sql as $$ insert into victim values (99) returning 1 $$;`,
      'app',
    );
    gw13 = await startTestGateway(
      cluster,
      {
        auth: { passwordUsers: ['raw-*'] },
        targets: {
          pg13: {
            host: '127.0.0.1',
            port: pg13.port,
            database: 'app',
            role: 'app',
            tls: { mode: 'verify-full', caFile: cluster.caPath, serverName: 'localhost' },
          },
        } as never,
      },
      { policies: { 'p.yaml': POLICY } },
    );
    await gw13.cp.vault.set('pg13', 'app', password);
  }, 120_000);

  afterAll(async () => {
    await gw13?.close();
    await pg13?.stop();
  });

  const rows13 = async (): Promise<number> =>
    Number((await pg13.query('select count(*)::int as n from victim', 'app')).rows[0].n);

  it('the statement forms and FunctionCall are refused as on 15', async () => {
    const r = await attack(
      gw13,
      'ro-ivan',
      'pg13',
      'set default_transaction_read_only = fal',
      "DO $$BEGIN EXECUTE 'SET default_transaction_re'||'ad_only = off'; END$$",
      'show default_transaction_read_only',
    );
    expect(errors(r.stderr)).toEqual([
      'ERROR: pgward: this session is read-only',
      'ERROR: pgward: this session is read-only',
    ]);
    expect(r.stdout.trim()).toBe('on');
    const c = await rawSession(gw13, 'raw-ro-13', 'pg13');
    c.write(functionCall(2078, ['default_transaction_read_only', 'off', 'false']));
    expect(errorsIn(await c.until_('Z'))[0]).toMatchObject({ C: '25006' });
    c.end();
  });

  it('a lift pgward cannot see is not reported, so pgward refuses every write itself', async () => {
    const before = await rows13();
    const r = await attack(
      gw13,
      'ro-judy',
      'pg13',
      'select lift_ro()',
      'insert into victim values (2)',
      'show default_transaction_read_only',
    );
    expect(errors(r.stderr)).toEqual(['ERROR: pgward: this session is read-only']);
    // Postgres 13 took the lift and said nothing: only pgward's own refusal stood.
    expect(r.stdout.trim().split('\n')).toEqual(['off', 'off']);
    expect(await rows13()).toBe(before);
  });

  it('residual (documented): after such a lift, a function that writes does write; the role is the wall', async () => {
    const before = await rows13();
    await attack(gw13, 'ro-judy', 'pg13', 'select lift_ro()', 'select write_row()');
    expect(await rows13()).toBe(before + 1);
  });
});
