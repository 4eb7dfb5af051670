import { mkdtemp } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadServerTls } from '../../src/gateway/server-tls.js';
import { ensureDevCertificates } from '../../src/tls/dev-ca.js';
import { eventually } from '../harness/eventually.js';
import { startTestGateway, superuserQuery, type TestGateway } from '../harness/gateway.js';

let gw: TestGateway;
let token: string;

beforeAll(async () => {
  gw = await startTestGateway(inject('pgCluster'));
  token = (await gw.issue('alice')).token;
});
afterAll(async () => {
  await gw?.close();
});

async function client(g: TestGateway = gw, password = token): Promise<{ c: pg.Client; errors: string[] }> {
  const c = new pg.Client({
    host: g.host,
    port: g.port,
    user: 'alice',
    password,
    database: g.database,
    ssl: { ca: await readFile(g.caPath, 'utf8'), servername: 'localhost' },
  });
  const errors: string[] = [];
  c.on('error', (e) => errors.push(e.message));
  await c.connect();
  return { c, errors };
}

/** The SHA-256 fingerprint of the certificate the gateway serves now. */
async function servedCertificate(ca: string): Promise<string> {
  const raw = net.connect(gw.port, '127.0.0.1');
  await new Promise((r) => raw.once('connect', r));
  raw.write(Buffer.from('0000000804d2162f', 'hex'));
  await new Promise((r) => raw.once('data', r));
  const s = tls.connect({ socket: raw, ca, servername: 'localhost' });
  await new Promise((r, j) => {
    s.once('secureConnect', r);
    s.once('error', j);
  });
  const fp = s.getPeerCertificate().fingerprint256;
  s.destroy();
  return fp;
}

describe('SIGHUP: certificate reload', () => {
  it('serves a renewed certificate to new connections, without a restart', async () => {
    const ca = await readFile(gw.caPath, 'utf8');
    const before = await servedCertificate(ca);
    const { c } = await client();
    // A renewed certificate from another CA (the test trusts both).
    const dir = await mkdtemp(join(tmpdir(), 'pgward-renew-'));
    const renewed = await ensureDevCertificates(dir);
    gw.gateway.reloadTls(
      await loadServerTls({
        certPath: renewed.certPath,
        keyPath: renewed.keyPath,
        caPath: renewed.caCertPath,
        minVersion: 'TLSv1.2',
      }),
    );
    const after = await servedCertificate(renewed.caPem);
    expect(after).not.toBe(before);
    // The session opened before keeps working.
    expect((await c.query('select 1 as n')).rows).toEqual([{ n: 1 }]);
    await c.end();
    const cluster = inject('pgCluster');
    gw.gateway.reloadTls(
      await loadServerTls({
        certPath: cluster.certPath,
        keyPath: cluster.keyPath,
        caPath: cluster.caPath,
        minVersion: 'TLSv1.2',
      }),
    );
    expect(await servedCertificate(ca)).toBe(before);
  });
});

describe('SIGHUP: configuration reload', () => {
  it('applies targets and limits to new connections, names what needs a restart, leaves live sessions alone', async () => {
    const { psql } = await import('../harness/clients.js');
    const { c } = await client();
    // Before: no target "fresh", and a 20 kB statement is fine.
    const missing = await psql(gw, 'alice', 'fresh', token, ['-c', 'select 1']);
    expect(missing.stderr).toContain('database "fresh" does not exist');
    const big = `select length('${'x'.repeat(20_000)}') as n`;
    expect((await psql(gw, 'alice', gw.database, token, ['-c', big])).stdout.trim()).toBe('20000');

    const next = structuredClone(gw.config);
    next.targets['fresh'] = { ...next.targets['app']! };
    next.limits.maxMessageBytes = 10_000;
    next.listen.port = 1;
    await gw.cp.vault.set('fresh', gw.upstreamRole, gw.upstreamPassword);
    const result = await gw.gateway.reloadConfig(next);
    try {
      expect(result.applied).toEqual(['limits.maxMessageBytes', 'targets.fresh']);
      expect(result.needsRestart).toEqual(['listen.port']);
      expect((await psql(gw, 'alice', 'fresh', token, ['-c', 'select 7'])).stdout.trim()).toBe('7');
      const tooBig = await psql(gw, 'alice', gw.database, token, ['-c', big]);
      expect(tooBig.code).not.toBe(0);
      // The session opened before the reload goes on.
      expect((await c.query('select 2 as n')).rows).toEqual([{ n: 2 }]);
    } finally {
      // gw.config is still the configuration the gateway started with.
      expect((await gw.gateway.reloadConfig(structuredClone(gw.config))).needsRestart).toEqual([]);
      await c.end();
    }
  });
});

describe('SIGHUP: each changed key applied or named truthfully', () => {
  it('an external issuer added takes effect for the next connection, and removed, no longer', async () => {
    const { startTestIssuer } = await import('../harness/jwt-issuer.js');
    const { psql } = await import('../harness/clients.js');
    const ci = await startTestIssuer();
    try {
      const jwt = await ci.sign({}, { subject: 'ci-reload' });
      const added = structuredClone(gw.config);
      added.auth.passwordUsers = ['ci-*'];
      added.auth.externalIssuers = [
        {
          issuer: ci.issuer,
          audience: 'pgward',
          algorithms: ['RS256'],
          allowInsecure: true,
          requiredClaims: {},
          usernameClaim: 'sub',
          groupsClaim: 'groups',
          groupMap: {},
        },
      ];
      expect(await gw.gateway.reloadConfig(added)).toEqual({
        applied: ['auth.passwordUsers', 'auth.externalIssuers'],
        needsRestart: [],
      });
      expect((await psql(gw, 'ci-reload', gw.database, jwt, ['-c', 'select 11'])).stdout.trim()).toBe('11');
      const removed = structuredClone(added);
      removed.auth.externalIssuers = [];
      expect((await gw.gateway.reloadConfig(removed)).applied).toEqual(['auth.externalIssuers']);
      const refused = await psql(gw, 'ci-reload', gw.database, jwt, ['-c', 'select 11']);
      expect(refused.stderr).toContain('FATAL:  password authentication failed for user "ci-reload"');
    } finally {
      await gw.gateway.reloadConfig(structuredClone(gw.config));
      await ci.close();
    }
  });

  it('token lifetimes apply from the next token; keys read only at start are named and left as they were', async () => {
    const off = structuredClone(gw.config);
    off.auth.linkLogin = false;
    expect((await gw.gateway.reloadConfig(off)).applied).toEqual(['auth.linkLogin']);
    const next = structuredClone(off);
    next.auth.maxTtl = '1h';
    next.limits.shutdownGraceMs = 1;
    next.gatewayId = 'renamed';
    next.audit.retention = '30d';
    // Turning links on needs a console URL, which this gateway was started without.
    next.auth.linkLogin = true;
    const r = await gw.gateway.reloadConfig(next);
    try {
      expect(r.applied).toEqual(['auth.maxTtl']);
      expect(r.needsRestart).toEqual(['gatewayId', 'auth.linkLogin', 'limits.shutdownGraceMs', 'audit.retention']);
      await expect(gw.issue('alice', { ttl: '2h' })).rejects.toThrow(
        'token lifetime 2h is over the limit of maxTtl 1h',
      );
      // What needs a restart stays as started.
      const { c } = await client();
      const { rows } = await gw.cp.store.sql.query<{ gateway_id: string }>(
        `select gateway_id from sessions order by started_at desc limit 1`,
      );
      expect(rows[0]?.gateway_id).toBe(gw.config.gatewayId);
      await c.end();
    } finally {
      expect(await gw.gateway.reloadConfig(structuredClone(gw.config))).toEqual({
        applied: ['auth.maxTtl'],
        needsRestart: ['auth.linkLogin'],
      });
    }
    expect((await gw.issue('alice', { ttl: '2h' })).token).toMatch(/^ey/);
  });
});

describe('SIGTERM: graceful shutdown', () => {
  it('ends idle sessions at once and busy ones when their statement or transaction completes', async () => {
    // A gateway of its own: this test shuts it down.
    const own = await startTestGateway(inject('pgCluster'));
    const ownToken = (await own.issue('alice')).token;
    const cluster = inject('pgCluster');
    // The busy statement waits for a lock the test holds, so it is surely running when the
    // shutdown starts and completes only when the test lets it.
    const holder = new pg.Client({
      host: cluster.host,
      port: cluster.port,
      user: cluster.superuser,
      password: cluster.superuserPassword,
      database: own.upstreamDatabase,
      ssl: { ca: await readFile(cluster.caPath, 'utf8'), servername: 'localhost' },
    });
    await holder.connect();
    try {
      await holder.query('select pg_advisory_lock(4242)');
      const idle = await client(own, ownToken);
      const busy = await client(own, ownToken);
      const tx = await client(own, ownToken);
      await tx.c.query('begin');
      await tx.c.query('create temp table t (i int)');
      const sql = "select pg_advisory_lock(4242), 'finished' as r";
      const running = busy.c.query(sql);
      await eventually(async () => {
        const { rows } = await superuserQuery(
          cluster,
          `select wait_event_type from pg_stat_activity where query = $1 and usename = $2`,
          'postgres',
          [sql, own.upstreamRole],
        );
        expect(rows).toEqual([{ wait_event_type: 'Lock' }]);
      });
      // A grace far longer than the test may take: the shutdown must end because the
      // sessions did, not because the grace ran out.
      let closed = false;
      const closing = own.gateway.close(600_000).then(() => (closed = true));
      // The idle session is ended at once...
      await eventually(() => expect(idle.errors.join(' ')).toMatch(/pgward is shutting down|Connection terminated/));
      // ...the transaction is allowed to finish...
      await tx.c.query('insert into t values (1)');
      await tx.c.query('commit');
      // ...the running statement returns its result...
      await holder.query('select pg_advisory_unlock(4242)');
      expect((await running).rows[0].r).toBe('finished');
      // ...and then the shutdown completes.
      await eventually(() => expect(closed, 'gateway.close() resolved').toBe(true));
      await closing;
      for (const x of [idle, busy, tx])
        await eventually(() => expect(x.errors.join(' ')).toMatch(/pgward is shutting down|Connection terminated/));
      // No new connections.
      await expect(client(own, ownToken)).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      await holder.end();
      await own.web?.close();
      await own.policy.close();
      await own.cp.close();
    }
  });
});
