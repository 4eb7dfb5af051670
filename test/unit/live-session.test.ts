import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AuditWriter } from '../../src/audit/writer.js';
import { CancelRouter } from '../../src/gateway/cancel-router.js';
import { ClientLink } from '../../src/gateway/client-link.js';
import type { ResolvedTarget } from '../../src/gateway/context.js';
import { LiveSession, type LiveSessionPorts } from '../../src/gateway/live-session.js';
import { GatewayMetrics } from '../../src/gateway/metrics.js';
import type { Authenticated } from '../../src/gateway/phases/authenticate.js';
import { UpstreamSource, type UpstreamPlan } from '../../src/gateway/phases/upstream.js';
import { SessionRegistry } from '../../src/gateway/session-registry.js';
import { readStartupSettings } from '../../src/policy/startup-settings.js';
import type { PolicySet } from '../../src/policy/schema.js';
import { UpstreamBroker } from '../../src/upstream/broker.js';
import type { UpstreamConnection } from '../../src/upstream/connector.js';
import { createLogger } from '../../src/util/logger.js';
import type { Vault } from '../../src/vault/vault.js';
import { errorFields, MessageQueue, msg, socketPair } from '../harness/socket-pair.js';
import { connection, grant, grantKey, target as fixtureTarget } from './phase-fixtures.js';

const log = createLogger('silent');
const cleanup: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanup.splice(0)) c();
});

const target: ResolvedTarget = { ...fixtureTarget, pool: { ...fixtureTarget.pool, waitTimeoutMs: 60_000 } };
const who: Authenticated = {
  user: 'alice',
  groups: ['dev'],
  tokenJti: 'jti-1',
  expiresAt: null,
  method: 'scram-sha-256',
  claims: {},
};

async function pair() {
  const p = await socketPair();
  cleanup.push(p.close);
  return p;
}

async function session(upstreamFor: (broker: UpstreamBroker) => Promise<UpstreamPlan>) {
  const client = await pair();
  const broker = new UpstreamBroker(log);
  cleanup.push(() => broker.close());
  const link = new ClientLink(client.server);
  const audit: Array<{ kind: string; payload: unknown }> = [];
  const ended: Array<{ id: string; endReason: string }> = [];
  const ports: LiveSessionPorts = {
    cancels: new CancelRouter(),
    sessions: new SessionRegistry(),
    store: {
      sessionOpened: async () => undefined,
      sessionEnded: async (id, e) => void ended.push({ id, endReason: e.endReason }),
    },
    audit: {
      append: (_s: string, _u: string, kind: string, payload: unknown) => void audit.push({ kind, payload }),
      endChain: () => null,
      flush: async () => undefined,
    } as unknown as AuditWriter,
    metrics: new GatewayMetrics(),
    policy: { current: () => ({ rules: [], profiles: {} }) as unknown as PolicySet },
    inspector: {} as never,
    readOnlyGuard: {} as never,
    detectorQueries: {} as never,
    alerts: {} as never,
    tokens: {} as never,
    baselines: {} as never,
    pending: new Set(),
    gatewayId: 'gw',
    limits: { maxMessageBytes: 1 << 20 },
    onTokenExpiry: 'end',
    maskingKey: Buffer.alloc(32),
  };
  const source = new UpstreamSource(target, grant, {
    vault: { get: async () => null } as unknown as Vault,
    pools: broker,
  });
  const upstream = await upstreamFor(broker);
  const live = new LiveSession(
    {
      id: 'sess-1',
      log,
      link,
      who,
      target,
      grant,
      settings: readStartupSettings([]),
      protocolMinor: 0,
      baseline: null,
      upstream,
      source,
    },
    ports,
  );
  live.start();
  return { live, ports, audit, ended, broker, from: new MessageQueue(client.client), client: client.client };
}

/** A deferred session whose pool's only connection someone else holds: its first statement waits in line. */
async function deferredWithPoolFull() {
  const up = await pair();
  let pool!: ReturnType<UpstreamBroker['pool']>;
  const s = await session(async (broker) => {
    pool = broker.pool(grantKey, async () => connection(77, up.server), {
      min: 0,
      idleMs: 60_000,
      reset: 'DISCARD ALL',
      max: 1,
      waitTimeoutMs: 60_000,
    });
    await pool.acquire();
    return { kind: 'deferred', pool, parameters: [['server_version', '17.0']] };
  });
  return { s, pool };
}

const activeSessions = async (m: GatewayMetrics): Promise<number> =>
  (await m.activeSessions.get()).values[0]?.value ?? 0;

describe('live session (over socket pairs)', () => {
  it('tells the client its parameters, a cancel key and ReadyForQuery, registers itself, then relays', async () => {
    const up = await pair();
    const s = await session(async () => ({ kind: 'bound', up: connection(77, up.server), pool: null }));
    const start = await s.from.until('Z');
    expect(start.map((m) => m.type)).toEqual(['S', 'K', 'Z']);
    const pid = start[1]!.body.readUInt32BE(0);
    expect(s.ports.cancels.owns(pid)).toBe(true);
    expect(s.ports.sessions.get('sess-1')).toMatchObject({ user: 'alice', target: 'app', tokenJti: 'jti-1' });
    expect(await activeSessions(s.ports.metrics)).toBe(1);
    const toUpstream = new MessageQueue(up.client);
    s.client.write(msg('Q', 'select 1\0'));
    expect((await toUpstream.next())!.type).toBe('Q');
    up.client.write(Buffer.concat([msg('C', 'SELECT 1\0'), msg('Z', 'I')]));
    expect((await s.from.until('Z')).map((m) => m.type)).toEqual(['C', 'Z']);
    expect(s.audit.map((a) => a.kind)).toEqual(['session_start', 'policy']);
  });

  it('one dispose releases everything: key, registry entry, pooled connection, gauge, audit record', async () => {
    const up = await pair();
    let released: boolean | null = null;
    const pool = { release: (_u: UpstreamConnection, reusable: boolean) => void (released = reusable) };
    const s = await session(async () => ({ kind: 'bound', up: connection(77, up.server), pool: pool as never }));
    const start = await s.from.until('Z');
    const pid = start[1]!.body.readUInt32BE(0);
    s.ports.sessions.get('sess-1')!.kill('by test');
    const fatal = (await s.from.until('E')).at(-1)!;
    expect(errorFields(fatal.body)).toMatchObject({ S: 'FATAL', C: '57P01', M: 'terminating connection: by test' });
    expect(s.ports.cancels.owns(pid)).toBe(false);
    expect(s.ports.sessions.size).toBe(0);
    // Killed: the connection's state is unknown, so it is not reused.
    expect(released).toBe(false);
    expect(await activeSessions(s.ports.metrics)).toBe(0);
    expect(s.audit.at(-1)).toMatchObject({ kind: 'session_end', payload: { reason: 'killed' } });
    await Promise.all([...s.ports.pending]);
    expect(s.ended).toEqual([{ id: 'sess-1', endReason: 'killed' }]);
  });

  it('a client that leaves idle hands its pooled connection back as reusable', async () => {
    const up = await pair();
    let released: boolean | null = null;
    const pool = { release: (_u: UpstreamConnection, reusable: boolean) => void (released = reusable) };
    const s = await session(async () => ({ kind: 'bound', up: connection(77, up.server), pool: pool as never }));
    await s.from.until('Z');
    s.client.write(msg('X'));
    await new Promise((r) => s.client.once('close', r));
    await Promise.all([...s.ports.pending]);
    expect(released).toBe(true);
    expect(s.ended).toEqual([{ id: 'sess-1', endReason: 'client-terminate' }]);
  });

  it('deferred: Ctrl-C while its first statement waits in line ends the wait (FATAL 57014) and frees the place', async () => {
    const { s, pool } = await deferredWithPoolFull();
    const start = await s.from.until('Z');
    const pid = start[1]!.body.readUInt32BE(0);
    const key = start[1]!.body.subarray(4);
    s.client.write(msg('Q', 'select 1\0'));
    await vi.waitFor(() => expect(pool.waiting).toBe(1));
    expect(s.ports.cancels.route(pid, key)).toBe(true);
    const fatal = (await s.from.until('E')).at(-1)!;
    expect(errorFields(fatal.body)).toMatchObject({ S: 'FATAL', C: '57014' });
    expect(pool.waiting).toBe(0);
    expect(s.ports.sessions.size).toBe(0);
  });

  it('deferred: a client that leaves while waiting in line gives up its place', async () => {
    const { s, pool } = await deferredWithPoolFull();
    await s.from.until('Z');
    s.client.write(msg('Q', 'select 1\0'));
    await vi.waitFor(() => expect(pool.waiting).toBe(1));
    s.client.destroy();
    await vi.waitFor(() => expect(pool.waiting).toBe(0));
    expect(s.ports.sessions.size).toBe(0);
    await Promise.all([...s.ports.pending]);
    expect(s.ended).toEqual([{ id: 'sess-1', endReason: 'client-closed' }]);
  });
});
