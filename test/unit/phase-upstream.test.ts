import { afterEach, describe, expect, it } from 'vitest';
import { UpstreamSource } from '../../src/gateway/phases/upstream.js';
import { PgError } from '../../src/protocol/errors.js';
import { UpstreamBroker } from '../../src/upstream/broker.js';
import type { PoolOptions } from '../../src/upstream/pool.js';
import { createLogger } from '../../src/util/logger.js';
import type { Vault } from '../../src/vault/vault.js';
import { connection, grant, grantKey, target } from './phase-fixtures.js';

const log = createLogger('silent');
const brokers: UpstreamBroker[] = [];
afterEach(() => {
  for (const b of brokers.splice(0)) b.close();
});

const noCredential = { get: async () => null } as unknown as Vault;

/** A broker whose pool for the grant already exists, with connections from `connect`. */
function brokerWithPool(opts: Partial<PoolOptions> = {}) {
  const broker = new UpstreamBroker(log);
  brokers.push(broker);
  let n = 0;
  const pool = broker.pool(grantKey, async () => connection(++n), {
    min: 0,
    idleMs: 60_000,
    reset: 'DISCARD ALL',
    max: 1,
    waitTimeoutMs: 50,
    ...opts,
  });
  return { broker, pool };
}

describe('upstream phase', () => {
  it('bound at login while the pool has not yet seen what the server reports for these settings', async () => {
    const { broker, pool } = brokerWithPool();
    const plan = await new UpstreamSource(target, grant, { vault: noCredential, pools: broker }).plan();
    expect(plan.kind).toBe('bound');
    if (plan.kind !== 'bound') return;
    expect(plan.pool).toBe(pool);
    expect(plan.up.pid).toBe(1);
    // ...and now it has: the next such session is deferred to its first message.
    const next = await new UpstreamSource(target, grant, { vault: noCredential, pools: broker }).plan();
    expect(next).toEqual({ kind: 'deferred', pool, parameters: [['server_version', '17.0']] });
  });

  it('assign: login always binds at login', async () => {
    const { broker, pool } = brokerWithPool({ max: 5 });
    // The pool has opened a connection, so it knows what to tell a deferred session.
    pool.release((await pool.acquire()).up, false);
    const atLogin = { ...target, pool: { ...target.pool, assign: 'login' as const } };
    expect((await new UpstreamSource(atLogin, grant, { vault: noCredential, pools: broker }).plan()).kind).toBe(
      'bound',
    );
  });

  it('all connections busy past waitTimeoutMs: FATAL-ready 53300 that says so', async () => {
    const { broker, pool } = brokerWithPool();
    await pool.acquire();
    const err = (await new UpstreamSource(target, grant, { vault: noCredential, pools: broker })
      .connect()
      .catch((e: unknown) => e)) as PgError;
    expect(err).toBeInstanceOf(PgError);
    expect(err.code).toBe('53300');
    expect(err.message).toBe('sorry, too many clients already for database "app"');
    expect(err.detail).toMatch(/^All 1 upstream connections stayed busy/);
  });

  it('Ctrl-C while waiting in line: 57014, and the line is left', async () => {
    const { broker, pool } = brokerWithPool({ waitTimeoutMs: 60_000 });
    await pool.acquire();
    const ctrlC = new AbortController();
    const waiting = new UpstreamSource(target, grant, { vault: noCredential, pools: broker })
      .connect(ctrlC.signal)
      .catch((e: unknown) => e);
    await new Promise((r) => setImmediate(r));
    expect(pool.waiting).toBe(1);
    ctrlC.abort('cancel');
    const err = (await waiting) as PgError;
    expect(err.code).toBe('57014');
    expect(pool.waiting).toBe(0);
  });

  it('no pooling (or replication): a fresh connection, which needs the vaulted credential', async () => {
    const broker = new UpstreamBroker(log);
    brokers.push(broker);
    const unpooled = { ...target, pool: { ...target.pool, enabled: false } };
    const err = (await new UpstreamSource(unpooled, grant, { vault: noCredential, pools: broker })
      .plan()
      .catch((e: unknown) => e)) as PgError;
    expect(err.code).toBe('08004');
    expect(err.message).toBe('pgward has no credential for database "app"');
    expect(broker.size).toBe(0);
  });

  it('dials at the same moment share one vault lookup', async () => {
    const broker = new UpstreamBroker(log);
    brokers.push(broker);
    let lookups = 0;
    const vault = { get: async () => (lookups++, null) } as unknown as Vault;
    const unpooled = { ...target, pool: { ...target.pool, enabled: false } };
    const plans = Array.from({ length: 5 }, () =>
      new UpstreamSource(unpooled, grant, { vault, pools: broker }).plan().catch((e: unknown) => e),
    );
    const errs = (await Promise.all(plans)) as PgError[];
    expect(errs.map((e) => e.code)).toEqual(['08004', '08004', '08004', '08004', '08004']);
    expect(lookups).toBe(1);
    // Nothing is kept: the next dial asks again (a rotated secret is read).
    await new UpstreamSource(unpooled, grant, { vault, pools: broker }).plan().catch(() => undefined);
    expect(lookups).toBe(2);
  });

  it('personRoles: each person gets the pool of their own login; replication keeps the granted role', async () => {
    const broker = new UpstreamBroker(log);
    brokers.push(broker);
    const personal = { ...target, personRoles: { provisioner: 'prov' } };
    const opts = { min: 0, idleMs: 60_000, reset: 'DISCARD ALL', max: 1, waitTimeoutMs: 50 };
    const pools = {
      alice: broker.pool({ ...grantKey, role: 'alice:app_ro' }, async () => connection(1), opts),
      bob: broker.pool({ ...grantKey, role: 'bob:app_ro' }, async () => connection(2), opts),
    };
    for (const who of ['alice', 'bob'] as const) {
      const source = new UpstreamSource(personal, grant, { vault: noCredential, pools: broker }, who);
      expect(source.login).toBe(`${who}:app_ro`);
      const plan = await source.plan();
      expect(plan.kind === 'bound' && plan.pool).toBe(pools[who]);
    }
    // Without personRoles on the target, or for a replication grant: the granted role.
    expect(new UpstreamSource(target, grant, { vault: noCredential, pools: broker }, 'alice').login).toBe('app_ro');
    const replication = { ...grant, replication: 'database' };
    expect(new UpstreamSource(personal, replication, { vault: noCredential, pools: broker }, 'alice').login).toBe(
      'app_ro',
    );
  });
});
