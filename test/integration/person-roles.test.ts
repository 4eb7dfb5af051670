import { randomBytes } from 'node:crypto';
import { access, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PostgresCluster } from '../../src/store/postgres-launcher.js';
import type { UpstreamEndpoint } from '../../src/upstream/connector.js';
import { dropPersonRole, listPersonRoles } from '../../src/upstream/person-role-admin.js';
import { asProvisioner, provisionOver } from '../../src/upstream/person-roles.js';
import { personRoleName } from '../../src/upstream/role-names.js';
import { personVaultKey } from '../../src/vault/person-credential.js';
import { eventually } from '../harness/eventually.js';
import { startTestGateway, superuserQuery, type ClusterInfo, type TestGateway } from '../harness/gateway.js';

/**
 * Per-person upstream logins (target option personRoles) on the harness's Postgres 15:
 * developers read through a read-only grant, admins write through another; each person runs
 * as their own role per grant, made by a CREATEROLE provisioner on first use.
 */
const cluster: ClusterInfo = inject('pgCluster');
const sfx = randomBytes(4).toString('hex');
const db = `people_${sfx}`;
const ro = `ppl_ro_${sfx}`;
const rw = `ppl_rw_${sfx}`;
const prov = `ppl_prov_${sfx}`;
const provPassword = randomBytes(16).toString('hex');

const policy = `rules:
  - name: developers-read
    effect: allow
    subjects: { groups: [developers] }
    targets: [people]
    role: ${ro}
    session: { readOnly: true }
  - name: admins-write
    effect: allow
    subjects: { groups: [admins] }
    targets: [people]
    role: ${rw}
`;

const targets = {
  people: {
    host: cluster.host,
    port: cluster.port,
    database: db,
    role: ro,
    tls: { mode: 'verify-full' as const, caFile: cluster.caPath, serverName: 'localhost' },
    personRoles: { enabled: true, provisioner: prov },
  },
};

let gw: TestGateway;
let ca: string;
const clients: pg.Client[] = [];

/** A session through the gateway as `user` with a token for `groups`. */
async function connect(user: string, groups: string[], via: TestGateway = gw, database = 'people'): Promise<pg.Client> {
  const { token } = await via.issue(user, { groups });
  const c = new pg.Client({
    host: via.host,
    port: via.port,
    user,
    password: token,
    database,
    ssl: { ca, servername: 'localhost' },
  });
  c.on('error', () => undefined);
  await c.connect();
  clients.push(c);
  return c;
}

const one = async (c: pg.Client, sql: string, values: unknown[] = []): Promise<unknown> =>
  Object.values((await c.query(sql, values)).rows[0] as Record<string, unknown>)[0];

const upstream = (sql: string, values: unknown[] = []): Promise<pg.QueryResult> =>
  superuserQuery(cluster, sql, 'postgres', values);

beforeAll(async () => {
  ca = await readFile(cluster.caPath, 'utf8');
  await upstream(`create role ${ro} nologin`);
  await upstream(`create role ${rw} nologin`);
  // Postgres 15: CREATEROLE alone may create roles and grant any non-superuser role.
  await upstream(`create role ${prov} login createrole password '${provPassword}'`);
  await upstream(`create database ${db} owner ${rw}`);
  await superuserQuery(
    cluster,
    `create table notes (id int primary key, body text);
     insert into notes select g, 'note ' || g from generate_series(1, 5) g;
     alter table notes owner to ${rw};
     grant select on notes to ${ro};`,
    db,
  );
  gw = await startTestGateway(cluster, { targets }, { policies: { 'people.yaml': policy } });
  await gw.cp.vault.set('people', prov, provPassword);
}, 120_000);

afterAll(async () => {
  for (const c of clients) await c.end().catch(() => undefined);
  await gw?.close();
});

describe('per-person upstream logins (Postgres 15)', () => {
  it("pg_stat_activity shows each developer's own login, member of the granted role only", async () => {
    const alice = await connect('alice', ['developers']);
    const bob = await connect('bob', ['developers']);
    expect(await one(alice, 'select current_user')).toBe(`alice:${ro}`);
    expect(await one(bob, 'select session_user')).toBe(`bob:${ro}`);
    const { rows } = await superuserQuery(
      cluster,
      `select usename from pg_stat_activity where datname = $1 and usename like '%:' || $2 order by 1`,
      'postgres',
      [db, ro],
    );
    expect(new Set(rows.map((r: { usename: string }) => r.usename))).toEqual(new Set([`alice:${ro}`, `bob:${ro}`]));
    // Everything the login is a member of, directly or not: the granted role, nothing else.
    const member = await alice.query(
      `select rolname from pg_roles where pg_has_role(current_user, oid, 'member') and rolname <> current_user`,
    );
    expect(member.rows.map((r: { rolname: string }) => r.rolname)).toEqual([ro]);
    const attrs = await upstream(
      `select rolcanlogin, rolinherit, rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls
         from pg_roles where rolname = $1`,
      [`alice:${ro}`],
    );
    expect(attrs.rows[0]).toEqual({
      rolcanlogin: true,
      rolinherit: true,
      rolsuper: false,
      rolcreaterole: false,
      rolcreatedb: false,
      rolreplication: false,
      rolbypassrls: false,
    });
    // Both still read what the granted role reads.
    expect(await one(alice, 'select count(*)::int from notes')).toBe(5);
    expect(await one(bob, 'select count(*)::int from notes')).toBe(5);
  });

  it("alice cannot read bob's statement text nor end his backend", async () => {
    const alice = await connect('alice', ['developers']);
    const bob = await connect('bob', ['developers']);
    const bobPid = (await one(bob, 'select pg_backend_pid()')) as number;
    const sleeping = bob.query(`select pg_sleep(30), 'bob secret 4242'`).catch((e: unknown) => e);
    await eventually(async () => {
      const { rows } = await upstream(`select state from pg_stat_activity where pid = $1`, [bobPid]);
      expect(rows[0]?.state).toBe('active');
    });
    expect(await one(alice, 'select query from pg_stat_activity where pid = $1', [bobPid])).toBe(
      '<insufficient privilege>',
    );
    const err = (await alice.query('select pg_terminate_backend($1)', [bobPid]).catch((e: unknown) => e)) as {
      code?: string;
    };
    expect(err.code).toBe('42501');
    // Bob's statement is still running: nothing ended it.
    const { rows } = await upstream(`select state, query from pg_stat_activity where pid = $1`, [bobPid]);
    expect(rows[0]).toMatchObject({ state: 'active' });
    expect(rows[0].query).toContain('bob secret 4242');
    await upstream('select pg_cancel_backend($1)', [bobPid]);
    await sleeping;
  });

  it("ALTER ROLE current_user SET changes alice's login only, never bob's later sessions", async () => {
    const alice = await connect('alice', ['admins']);
    expect(await one(alice, 'select current_user')).toBe(`alice:${rw}`);
    await alice.query(`alter role current_user set statement_timeout = '5ms'`);
    const { rows } = await upstream(
      `select r.rolname from pg_db_role_setting s join pg_roles r on r.oid = s.setrole
        where r.rolname in ($1, $2, $3, $4, $5)`,
      [rw, ro, `alice:${rw}`, `bob:${rw}`, `bob:${ro}`],
    );
    expect(rows.map((r: { rolname: string }) => r.rolname)).toEqual([`alice:${rw}`]);
    for (let i = 0; i < 3; i++) {
      const bob = await connect('bob', ['admins']);
      expect(await one(bob, 'show statement_timeout')).toBe('0');
      expect(await one(bob, 'select count(*)::int from notes')).toBe(5);
      await bob.end();
    }
    await upstream(`alter role "alice:${rw}" reset all`);
  });

  it("a read-only grant still starts read-only, whatever the person's own login has set", async () => {
    // As if alice had once managed to store this on her read-only login.
    await upstream(`alter role "alice:${ro}" set default_transaction_read_only = off`);
    try {
      const alice = await connect('alice', ['developers']);
      expect(await one(alice, 'show default_transaction_read_only')).toBe('on');
      const err = (await alice.query(`insert into notes values (99, 'x')`).catch((e: unknown) => e)) as {
        code?: string;
      };
      expect(err.code).toBe('25006');
      // Her read-only login is no member of the admins' role, whatever she does to the session.
      expect(await one(alice, `select pg_has_role(current_user, '${rw}', 'member')`)).toBe(false);
    } finally {
      await upstream(`alter role "alice:${ro}" reset all`);
    }
  });

  it('pools per person: a pooled backend never serves another person', async () => {
    const seen: Record<string, Set<number>> = { alice: new Set(), bob: new Set() };
    for (let i = 0; i < 4; i++) {
      for (const who of ['alice', 'bob'] as const) {
        const c = await connect(who, ['developers']);
        const { rows } = await c.query<{ pid: number; u: string }>('select pg_backend_pid() as pid, current_user as u');
        expect(rows[0]!.u).toBe(`${who}:${ro}`);
        seen[who]!.add(rows[0]!.pid);
        await c.end();
      }
    }
    expect([...seen['alice']!].filter((p) => seen['bob']!.has(p))).toEqual([]);
  });

  it('names that are no identifiers are quoted, hashed when they must be, and work', async () => {
    // (The gateway, like Postgres, reads at most 63 bytes of a user name.)
    for (const user of [`o'hara "x"; drop role ${ro}; --`, 'z'.repeat(60), 'Ünïcødé']) {
      const c = await connect(user, ['developers']);
      const login = (await one(c, 'select current_user')) as string;
      expect(login).toBe(personRoleName(user, ro));
      expect(Buffer.byteLength(login)).toBeLessThanOrEqual(63);
      expect(login).toMatch(/~[0-9a-f]{16}$/);
      expect(await one(c, 'select count(*)::int from notes')).toBe(5);
    }
    expect((await upstream(`select 1 from pg_roles where rolname = $1`, [ro])).rowCount).toBe(1);
  });

  it('two gateways provisioning one new person at once make one role and one password', async () => {
    const gwB = await startTestGateway(cluster, { targets }, { share: gw, policies: { 'people.yaml': policy } });
    try {
      const both = await Promise.all(
        Array.from({ length: 8 }, async (_, i) => {
          const c = await connect('carol', ['developers'], i % 2 ? gwB : gw);
          return one(c, 'select current_user');
        }),
      );
      expect(new Set(both)).toEqual(new Set([`carol:${ro}`]));
      // However the two raced, the role was created once; any other provisioning found it made.
      const created = [...gw.logs, ...gwB.logs].filter(
        (l) => l.includes('person_role_created') && l.includes(`carol:${ro}`),
      );
      expect(created).toHaveLength(1);
      expect((await upstream(`select 1 from pg_roles where rolname = $1`, [`carol:${ro}`])).rowCount).toBe(1);
      const entries = (await gw.cp.store.listVaultEntries()).filter((e) => e.role.includes('carol'));
      expect(entries.map((e) => e.role)).toEqual([personVaultKey(`carol:${ro}`)]);
      // A fresh backend through the other gateway logs in with the one password both use.
      await upstream(`select pg_terminate_backend(pid) from pg_stat_activity where usename = $1`, [`carol:${ro}`]);
      const again = await connect('carol', ['developers'], gwB);
      expect(await one(again, 'select current_user')).toBe(`carol:${ro}`);
    } finally {
      await gwB.close();
    }
  });

  it('a person who changes their own password gets the vaulted one back at the next connect; no secret is logged', async () => {
    const dave = await connect('dave', ['admins']);
    await dave.query(`alter role current_user password 'chosen-by-dave'`);
    await dave.end();
    // Drop every pooled backend of dave's, so the next session needs a new login.
    await eventually(async () => {
      await upstream(`select pg_terminate_backend(pid) from pg_stat_activity where usename = $1`, [`dave:${rw}`]);
      const c = await connect('dave', ['admins']);
      expect(await one(c, 'select current_user')).toBe(`dave:${rw}`);
      await c.end();
    });
    await gw.gateway.settled();
    expect(gw.logs.some((l) => l.includes('person_role_repaired') && l.includes(`dave:${rw}`))).toBe(true);
    const entry = JSON.parse((await gw.cp.vault.get('people', personVaultKey(`dave:${rw}`)))!) as {
      password: string;
    };
    for (const secret of [entry.password, provPassword]) expect(gw.logs.some((l) => l.includes(secret))).toBe(false);
  });

  it('six provisionings of one new login at once: one creates it, the others find it and set the same password', async () => {
    const endpoint: UpstreamEndpoint = {
      host: cluster.host,
      port: cluster.port,
      tlsMode: 'verify-full',
      ca,
      serverName: 'localhost',
      allowedAuth: ['scram-sha-256'],
      connectTimeoutMs: 10_000,
    };
    const who = {
      login: personRoleName('frank', ro),
      person: 'frank',
      role: ro,
      password: randomBytes(16).toString('hex'),
    };
    const outcomes = await Promise.all(
      Array.from({ length: 6 }, () =>
        provisionOver(endpoint, { user: prov, password: provPassword, database: db }, who),
      ),
    );
    expect(outcomes.filter((o) => o === 'created')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'repaired')).toHaveLength(5);
    const frank = new pg.Client({
      host: cluster.host,
      port: cluster.port,
      user: who.login,
      password: who.password,
      database: db,
      ssl: { ca, servername: 'localhost' },
    });
    await frank.connect();
    try {
      expect(await one(frank, 'select count(*)::int from notes')).toBe(5);
    } finally {
      await frank.end();
    }
  });

  it("pgward person-roles: lists the logins it made; drops one only when it is unused and is pgward's", async () => {
    const endpoint: UpstreamEndpoint = {
      host: cluster.host,
      port: cluster.port,
      tlsMode: 'verify-full',
      ca,
      serverName: 'localhost',
      allowedAuth: ['scram-sha-256'],
      connectTimeoutMs: 10_000,
    };
    const held = await connect('gina', ['developers']);
    await asProvisioner(endpoint, { user: prov, password: provPassword, database: db }, async (up) => {
      const mine = (await listPersonRoles(up)).filter((l) => l.role === ro || l.role === rw);
      expect(mine.find((l) => l.login === `alice:${ro}`)).toMatchObject({ person: 'alice', role: ro, member: true });
      expect(mine.find((l) => l.login === `gina:${ro}`)?.backends).toBeGreaterThan(0);
      expect(mine.map((l) => l.login)).not.toContain(ro);
      const code = (e: unknown): string | undefined => (e as { code?: string }).code;
      // In use (her session, or an idle pooled backend of a gateway): refused.
      expect(code(await dropPersonRole(up, `gina:${ro}`).catch((e: unknown) => e))).toBe('55006');
      // Not made by pgward: refused, whatever its name.
      expect(code(await dropPersonRole(up, ro).catch((e: unknown) => e))).toBe('42501');
      // frank's login (made above, no backend left): dropped.
      await eventually(async () => {
        await upstream(`select pg_terminate_backend(pid) from pg_stat_activity where usename = $1`, [`frank:${ro}`]);
        await dropPersonRole(up, personRoleName('frank', ro));
      });
    });
    expect((await upstream(`select 1 from pg_roles where rolname = $1`, [`frank:${ro}`])).rowCount).toBe(0);
    await held.end();
  });

  it('a provisioner without CREATEROLE is refused with 08004, and the reason goes to the log', async () => {
    const weak = `ppl_weak_${sfx}`;
    await upstream(`create role ${weak} login password '${provPassword}'`);
    const gwW = await startTestGateway(
      cluster,
      { targets: { people: { ...targets.people, personRoles: { enabled: true, provisioner: weak } } } },
      { policies: { 'people.yaml': policy } },
    );
    try {
      await gwW.cp.vault.set('people', weak, provPassword);
      const err = (await connect('erin', ['developers'], gwW).catch((e: unknown) => e)) as {
        code?: string;
        message?: string;
      };
      expect(err.code).toBe('08004');
      expect(err.message).toBe('pgward could not prepare your login for database "people"');
      await gwW.gateway.settled();
      expect(gwW.logs.some((l) => l.includes('permission denied to create role'))).toBe(true);
      expect((await upstream(`select 1 from pg_roles where rolname = $1`, [`erin:${ro}`])).rowCount).toBe(0);
    } finally {
      await gwW.close();
    }
  });
});

/**
 * Postgres 16 changed CREATEROLE: granting a role needs ADMIN OPTION on it, and the creator
 * gets ADMIN OPTION on the roles it creates. The membership is granted with SET FALSE there.
 */
describe.each([16, 17])('per-person upstream logins (Postgres %i)', (major) => {
  let c: PostgresCluster;
  let gwV: TestGateway;
  const name = `pg${major}`;
  const weakName = `pg${major}weak`;
  const password = randomBytes(12).toString('hex');
  const query = (sql: string): Promise<pg.QueryResult> => c.query(sql, 'app');

  beforeAll(async () => {
    const binDir = fileURLToPath(new URL(`../../node_modules/pg${major}/native/bin`, import.meta.url));
    await access(join(binDir, 'postgres'));
    const dir = await mkdtemp(join(tmpdir(), `pgward-person-pg${major}-`));
    c = await PostgresCluster.start({
      dataDir: join(dir, 'data'),
      superuserPassword: password,
      binaries: { binDir, version: major, source: 'npm' },
      tls: { certPath: cluster.certPath, keyPath: cluster.keyPath, caPath: cluster.caPath },
    });
    await c.query('create role reader nologin');
    await c.query(`create role prov login createrole password '${password}'`);
    await c.query('grant reader to prov with admin true, inherit false, set false');
    // CREATEROLE without ADMIN OPTION on the granted role: enough in 15, not from 16 on.
    await c.query(`create role weakprov login createrole password '${password}'`);
    await c.query('create database app');
    await query(`create table notes (id int); insert into notes values (1), (2); grant select on notes to reader`);
    const target = (provisioner: string) => ({
      host: '127.0.0.1',
      port: c.port,
      database: 'app',
      role: 'reader',
      tls: { mode: 'verify-full' as const, caFile: cluster.caPath, serverName: 'localhost' },
      personRoles: { enabled: true, provisioner },
    });
    gwV = await startTestGateway(
      cluster,
      { targets: { [name]: target('prov'), [weakName]: target('weakprov') } },
      {
        policies: {
          'v.yaml': `rules:
  - name: developers
    effect: allow
    subjects: { groups: [developers] }
    targets: [${name}, ${weakName}]
    role: reader
    session: { readOnly: true }
`,
        },
      },
    );
    await gwV.cp.vault.set(name, 'prov', password);
    await gwV.cp.vault.set(weakName, 'weakprov', password);
  }, 120_000);
  afterAll(async () => {
    await gwV?.close();
    await c?.stop();
  });

  it('each person runs as their own login, reads the granted tables, and cannot see or end the other', async () => {
    const alice = await connect('alice', ['developers'], gwV, name);
    const bob = await connect('bob', ['developers'], gwV, name);
    expect(await one(alice, 'select current_user')).toBe('alice:reader');
    expect(await one(bob, 'select current_user')).toBe('bob:reader');
    expect(await one(alice, 'select count(*)::int from notes')).toBe(2);
    expect(await one(alice, `select current_setting('server_version_num')::int / 10000`)).toBe(major);
    const bobPid = (await one(bob, 'select pg_backend_pid()')) as number;
    expect(await one(alice, 'select query from pg_stat_activity where pid = $1', [bobPid])).toBe(
      '<insufficient privilege>',
    );
    const kill = (await alice.query('select pg_terminate_backend($1)', [bobPid]).catch((e: unknown) => e)) as {
      code?: string;
    };
    expect(kill.code).toBe('42501');
    // INHERIT TRUE, SET FALSE: the privileges of reader, never the role itself.
    const setRole = (await alice.query('set role reader').catch((e: unknown) => e)) as { code?: string };
    expect(setRole.code).toBe('42501');
    const { rows } = await query(
      `select g.rolname as granted, m.inherit_option, m.set_option, m.admin_option
         from pg_auth_members m join pg_roles g on g.oid = m.roleid join pg_roles p on p.oid = m.member
        where p.rolname = 'alice:reader'`,
    );
    expect(rows).toEqual([{ granted: 'reader', inherit_option: true, set_option: false, admin_option: false }]);
    // The provisioner got ADMIN OPTION on the login it created (and nothing more), so it can repair it.
    const admin = await query(
      `select m.admin_option, m.inherit_option, m.set_option from pg_auth_members m
         join pg_roles r on r.oid = m.roleid join pg_roles p on p.oid = m.member
        where r.rolname = 'alice:reader' and p.rolname = 'prov'`,
    );
    expect(admin.rows).toEqual([{ admin_option: true, inherit_option: false, set_option: false }]);
  });

  it('a repair works there too: a changed password is set back by the provisioner', async () => {
    await c.query(`alter role "alice:reader" password 'changed'`);
    await c.query(`select pg_terminate_backend(pid) from pg_stat_activity where usename = 'alice:reader'`);
    await eventually(async () => {
      const alice = await connect('alice', ['developers'], gwV, name);
      expect(await one(alice, 'select current_user')).toBe('alice:reader');
      await alice.end();
    });
  });

  it('a provisioner with CREATEROLE but no ADMIN OPTION on the granted role is refused, and leaves no role behind', async () => {
    const err = (await connect('erin', ['developers'], gwV, weakName).catch((e: unknown) => e)) as { code?: string };
    expect(err.code).toBe('08004');
    await gwV.gateway.settled();
    expect(gwV.logs.some((l) => l.includes('permission denied to grant role'))).toBe(true);
    expect((await query(`select 1 from pg_roles where rolname = 'erin:reader'`)).rowCount).toBe(0);
  });
});
