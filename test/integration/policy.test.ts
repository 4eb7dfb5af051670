import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { policyRollback } from '../../src/cli/policy-commands.js';
import { PolicyQueries } from '../../src/store/policy-queries.js';
import { psql } from '../harness/clients.js';
import { eventually } from '../harness/eventually.js';
import { lastAuthFailure, startTestGateway, type TestGateway } from '../harness/gateway.js';

let gw: TestGateway;
const tokens: Record<string, string> = {};

/** A one-minute window twelve hours from now: closed whenever the test runs. */
function closedWindow(): { from: string; to: string } {
  const t = new Date(Date.now() + 12 * 3600_000);
  const hh = String(t.getUTCHours()).padStart(2, '0');
  const mm = t.getUTCMinutes();
  const next = (mm + 1) % 60;
  const hh2 = next === 0 ? String((t.getUTCHours() + 1) % 24).padStart(2, '0') : hh;
  return { from: `${hh}:${String(mm).padStart(2, '0')}`, to: `${hh2}:${String(next).padStart(2, '0')}` };
}

function policyYaml(upstreamRole: string): string {
  const w = closedWindow();
  return `rules:
  - name: no-mallory
    effect: deny
    subjects: { users: [mallory] }
  - name: devs-read
    effect: allow
    subjects: { groups: [developers] }
    targets: [app]
    session: { readOnly: true }
  - name: admins
    effect: allow
    subjects: { groups: [admins] }
    targets: [app, reports]
    params:
      role: [${upstreamRole}]
  - name: office-only
    effect: allow
    subjects: { users: [carol] }
    sources: [10.0.0.0/8]
  - name: night-only
    effect: allow
    subjects: { users: [dave] }
    schedule: { timezone: UTC, from: '${w.from}', to: '${w.to}' }
  - name: idle-sessions
    effect: allow
    subjects: { users: [idler] }
    session: { idleTimeout: 1s }
  - name: short-sessions
    effect: allow
    subjects: { users: [sleepy] }
    session: { maxDuration: 3s }
`;
}

beforeAll(async () => {
  const cluster = inject('pgCluster');
  // The role name is only known once the harness made it; start, then write the real policy.
  gw = await startTestGateway(cluster, {}, { extraTargets: ['reports'], policies: { 'main.yaml': 'rules: []\n' } });
  await writeFile(join(gw.policyDir, 'main.yaml'), policyYaml(gw.upstreamRole));
  await waitForRule('short-sessions');
  const groups: Record<string, string[]> = {
    alice: ['developers'],
    bob: ['admins'],
    mallory: ['developers'],
    erin: [],
    carol: [],
    dave: [],
    idler: [],
    sleepy: [],
  };
  for (const [u, g] of Object.entries(groups)) tokens[u] = (await gw.issue(u, { groups: g })).token;
});
afterAll(async () => {
  await gw?.close();
});

async function waitForRule(name: string): Promise<void> {
  await eventually(() => expect(gw.policy.current().rules.map((r) => r.rule.name)).toContain(name));
}

/** psql's own prefix names the host and port; the server's words follow it. */
const serverSaid = (stderr: string): string =>
  stderr.trim().replace(/^psql: error: connection to server at "[^"]+", port \d+ failed: /, '');

const connect = (user: string, db = gw.database, args = ['-c', 'select 1'], extra: Record<string, string> = {}) =>
  psql(gw, user, db, tokens[user]!, args, { extra });

describe('decisions through psql', () => {
  it('lets a granted user in and records the rule and version', async () => {
    const r = await connect('alice', gw.database, ['-c', 'select 6 * 7']);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('42');
    const { rows } = await gw.cp.store.sql.query<{ policy_rule: string; policy_version: string; read_only: boolean }>(
      `select policy_rule, policy_version, read_only from sessions where username = 'alice' order by started_at desc limit 1`,
    );
    expect(rows[0]).toMatchObject({ policy_rule: 'devs-read', read_only: true });
    expect(Number(rows[0]!.policy_version)).toBe(gw.policy.current().version);
  });

  it.each([
    [
      'a deny rule',
      'mallory',
      gw?.database,
      'FATAL:  pgward: access to database "app" is denied for user "mallory"',
      'policy: denied by rule no-mallory (main.yaml)',
    ],
    [
      'no matching rule',
      'erin',
      undefined,
      'FATAL:  pgward: user "erin" has no access to database "app"',
      'policy: no allow rule matches user erin (groups: none) on app/',
    ],
    [
      'a source outside the range',
      'carol',
      undefined,
      'FATAL:  pgward: connections to database "app" are not allowed from this address',
      'policy: rule office-only (main.yaml): source 127.0.0.1 not in 10.0.0.0/8',
    ],
    [
      'outside the time window',
      'dave',
      undefined,
      'FATAL:  pgward: connections to database "app" are not allowed at this time',
      'policy: rule night-only (main.yaml): outside daily',
    ],
  ])('refuses %s with FATAL 28000 and audits the reason', async (_n, user, _db, message, reason) => {
    const r = await connect(user);
    expect(r.code).not.toBe(0);
    expect(serverSaid(r.stderr)).toBe(message);
    expect(await lastAuthFailure(gw, user)).toContain(reason);
  });

  it('refuses a database the grant does not cover', async () => {
    const r = await connect('alice', 'reports');
    expect(serverSaid(r.stderr)).toBe('FATAL:  pgward: user "alice" has no access to database "reports"');
    expect((await connect('bob', 'reports', ['-c', 'select 2'])).stdout.trim()).toBe('2');
  });

  it.each([
    ['options=-c role=…', { options: '-c role=postgres' }, '"role"'],
    ['replication=database', { replication: 'database' }, '"replication"'],
    [
      'options=-c default_transaction_read_only=off',
      { options: '-c default_transaction_read_only=off' },
      '"default_transaction_read_only"',
    ],
  ])('refuses %s for a read-only grant with 42501', async (_n, extra, name) => {
    const r = await connect('alice', gw.database, ['-c', 'select 1'], extra);
    expect(r.code).not.toBe(0);
    expect(serverSaid(r.stderr)).toBe(
      `FATAL:  startup parameter ${name} is not allowed through pgward\nHINT:  Remove it from the connection string, or ask an administrator to allow it by policy.`,
    );
  });

  it('lets a grant name a role switch, and only that role', async () => {
    const ok = await connect('bob', gw.database, ['-c', 'show role'], { options: `-c role=${gw.upstreamRole}` });
    expect(ok.stdout.trim()).toBe(gw.upstreamRole);
    const no = await connect('bob', gw.database, ['-c', 'show role'], { options: '-c role=postgres' });
    expect(no.stderr).toContain('startup parameter "role" is not allowed through pgward');
  });
});

describe('read-only sessions, two layers', () => {
  it("the upstream session is read-only: writes fail with Postgres's own 25006", async () => {
    const r = await connect('alice', gw.database, ['-c', 'create table t_ro (id int)']);
    expect(r.stderr).toContain('ERROR:  cannot execute CREATE TABLE in a read-only transaction');
  });

  it('the relay refuses statements that switch read-only off, and the session goes on', async () => {
    const script = [
      'set default_transaction_read_only = off;',
      'select 1;',
      'set session characteristics as transaction read write;',
      'begin read write;',
      "select set_config('default_transaction_read_only', 'off', false);",
      'begin;',
      'set transaction read write;',
      'select 2;',
      'rollback;',
      'reset default_transaction_read_only;',
      'show default_transaction_read_only;',
      'begin read only;',
      'select 3;',
      'commit;',
    ].join('\n');
    const out = await psql(gw, 'alice', gw.database, tokens['alice']!, ['-q', '-v', 'ON_ERROR_STOP=0'], {
      input: script + '\n',
    });
    const errors = out.stderr.split('\n').filter((l) => l.includes('ERROR'));
    expect(errors).toEqual([
      'ERROR:  pgward: this session is read-only',
      'ERROR:  pgward: this session is read-only',
      'ERROR:  pgward: this session is read-only',
      'ERROR:  pgward: this session is read-only',
      'ERROR:  pgward: this session is read-only',
      // Inside the transaction the refusal fails it, as any error would in Postgres.
      'ERROR:  current transaction is aborted, commands ignored until end of transaction block',
    ]);
    expect(out.stdout.trim().split('\n')).toEqual(['1', 'on', '3']);
    expect(out.stderr).not.toContain('pgward_blocked');
  });

  it('holds in the extended protocol too (node-postgres, bound parameters), and the client stays usable', async () => {
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
        client.query({ text: "select set_config($1, 'off', false)", values: ['default_transaction_read_only'] }),
      ).rejects.toMatchObject({
        code: '25006',
        message: 'pgward: this session is read-only',
      });
      await expect(client.query({ name: 'rw', text: 'begin read write' })).rejects.toMatchObject({ code: '25006' });
      expect((await client.query({ text: 'select $1::int + 1 as n', values: [41] })).rows).toEqual([{ n: 42 }]);
      expect((await client.query('show transaction_read_only')).rows).toEqual([{ transaction_read_only: 'on' }]);
    } finally {
      await client.end();
    }
  });
});

describe('session limits from the grant', () => {
  it("ends an idle session like Postgres's idle_session_timeout (57P05)", async () => {
    // Idle three times the timeout, so a late timer on a busy machine still fires first.
    const r = await psql(gw, 'idler', gw.database, tokens['idler']!, [], {
      input: 'select 1;\n\\! sleep 3\nselect 2;\n',
    });
    expect(r.stdout.trim()).toBe('1');
    expect(r.stderr).toContain('FATAL:  terminating connection due to idle-session timeout');
  });

  it('ends a session at its maximum duration, running statement included', async () => {
    const r = await psql(gw, 'sleepy', gw.database, tokens['sleepy']!, ['-c', 'select pg_sleep(10)']);
    expect(r.stderr).toContain('FATAL:  terminating connection: the session reached its maximum duration');
  });
});

describe('hot reload, versions and rollback', () => {
  it('applies a file edit to new connections, keeps the last good version on a bad edit, and rolls back', async () => {
    const queries = new PolicyQueries(gw.cp.store);
    const before = gw.policy.current().version!;
    const good = policyYaml(gw.upstreamRole);
    const denyAlice = good.replace('users: [mallory]', 'users: [mallory, alice]');
    const mainYaml = join(gw.policyDir, 'main.yaml');
    try {
      await writeFile(mainYaml, denyAlice);
      // How soon an edit applies is measured by the bench; here only that it does.
      await eventually(async () => expect((await connect('alice')).code).not.toBe(0));
      const edited = gw.policy.current().version!;
      expect(edited).toBeGreaterThan(before);
      const v = await queries.version(edited);
      expect(v?.source).toBe('files');
      expect(v?.diff).toContain('-    subjects: { users: [mallory] }');
      expect(v?.diff).toContain('+    subjects: { users: [mallory, alice] }');

      // A broken edit is refused whole; the version in force stays.
      await writeFile(mainYaml, denyAlice.replace('effect: deny', 'effect: maybe'));
      await eventually(() =>
        expect(gw.logs.some((l) => l.includes('policy_invalid') && l.includes('main.yaml:3:13: rules.0.effect'))).toBe(
          true,
        ),
      );
      expect(gw.policy.current().version).toBe(edited);
      expect((await connect('alice')).code).not.toBe(0);

      // Roll back with the CLI, as an operator would, against the same store.
      const configPath = join(gw.policyDir, '..', 'pgward.yaml');
      await writeFile(
        configPath,
        `store: { url: '${gw.storeUrl}', caFile: '${gw.caPath}' }\nvault: { keyFile: '${gw.vaultKeyFile}' }\n`,
      );
      const restored = await policyRollback(configPath, before);
      await eventually(() => expect(gw.policy.current().version).toBe(restored));
      expect(gw.policy.current().rules.map((r) => r.rule.name)).toContain('no-mallory');
      expect((await connect('alice')).stdout.trim()).toBe('1');
      const row = await queries.version(restored);
      expect(row?.comment).toBe(`rollback to version ${before}`);
      expect(row?.diff).toContain('+    subjects: { users: [mallory] }');
    } finally {
      // Leave the file as the other tests expect it, whatever happened above.
      await writeFile(mainYaml, good);
      await eventually(async () => expect((await connect('alice')).code).toBe(0));
    }
  });
});
