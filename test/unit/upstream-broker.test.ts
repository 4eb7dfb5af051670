import { Duplex } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { BackendState } from '../../src/upstream/backend-state.js';
import { UpstreamBroker } from '../../src/upstream/broker.js';
import type { UpstreamConnection } from '../../src/upstream/connector.js';
import { poolKeyId, poolSettings, type PoolKey } from '../../src/upstream/pool-key.js';
import { PoolWaitAbortedError, PoolWaitTimeoutError, UpstreamPool, type PoolOptions } from '../../src/upstream/pool.js';
import { createLogger } from '../../src/util/logger.js';
import { msg } from '../harness/socket-pair.js';
import { connection } from './phase-fixtures.js';

const log = createLogger('silent');

/** An upstream connection whose server answers every Query with ReadyForQuery (idle). */
function fakeConnection(n: number): UpstreamConnection {
  const socket = new Duplex({
    read() {},
    write(_chunk, _enc, cb) {
      this.push(Buffer.concat([msg('C', 'DISCARD ALL\0'), msg('Z', 'I')]));
      cb();
    },
  });
  return connection(n, socket as unknown as UpstreamConnection['socket']);
}

const pools: UpstreamPool[] = [];
afterEach(() => {
  for (const p of pools.splice(0)) p.close();
});

function pool(opts: Partial<PoolOptions> = {}) {
  let opened = 0;
  const failNext: Error[] = [];
  const p = new UpstreamPool(
    async () => {
      const err = failNext.shift();
      if (err) throw err;
      return fakeConnection(++opened);
    },
    { min: 0, idleMs: 60_000, reset: 'DISCARD ALL', max: 2, waitTimeoutMs: 60_000, ...opts },
    log,
  );
  pools.push(p);
  return { p, opened: () => opened, failNext };
}

/** Lets pending promise callbacks and stream events run. */
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 10));

describe('upstream pool with a maximum and a wait line', () => {
  it('never opens more than max connections; the next session waits', async () => {
    const { p, opened } = pool({ max: 2 });
    const a = await p.acquire();
    const b = await p.acquire();
    let third: UpstreamConnection | null = null;
    void p.acquire().then((got) => (third = got.up));
    await settle();
    expect(opened()).toBe(2);
    expect(p.total).toBe(2);
    expect(p.waiting).toBe(1);
    expect(third).toBeNull();
    expect([a.up.pid, b.up.pid]).toEqual([1, 2]);
  });

  it('a connection released clean goes to the first in line (after its reset), not to a new dial', async () => {
    const { p, opened } = pool({ max: 1 });
    const a = await p.acquire();
    const got: number[] = [];
    void p.acquire().then((x) => got.push(x.up.pid));
    await settle();
    p.release(a.up, true);
    await settle();
    expect(got).toEqual([a.up.pid]);
    expect(opened()).toBe(1);
    expect(p.waiting).toBe(0);
  });

  it('serves the line first come, first served', async () => {
    const { p } = pool({ max: 1 });
    const a = await p.acquire();
    const order: string[] = [];
    const first = p.acquire().then((x) => (order.push('first'), x));
    const second = p.acquire().then((x) => (order.push('second'), x));
    const third = p.acquire().then((x) => (order.push('third'), x));
    await settle();
    p.release(a.up, true);
    p.release((await first).up, true);
    p.release((await second).up, true);
    await third;
    expect(order).toEqual(['first', 'second', 'third']);
  });

  it('a wait longer than waitTimeoutMs ends with a timeout error, and leaves the line', async () => {
    const { p } = pool({ max: 1, waitTimeoutMs: 30 });
    await p.acquire();
    const err = await p.acquire().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PoolWaitTimeoutError);
    expect((err as PoolWaitTimeoutError).max).toBe(1);
    expect(p.waiting).toBe(0);
  });

  it('an abandoned wait (Ctrl-C or the client left) leaves the line; the next in line is served', async () => {
    const { p } = pool({ max: 1 });
    const a = await p.acquire();
    const quitter = new AbortController();
    const abandoned = p.acquire(quitter.signal).catch((e: unknown) => e);
    const patient = p.acquire();
    await settle();
    expect(p.waiting).toBe(2);
    quitter.abort('cancel');
    const err = await abandoned;
    expect(err).toBeInstanceOf(PoolWaitAbortedError);
    expect((err as PoolWaitAbortedError).reason).toBe('cancel');
    expect(p.waiting).toBe(1);
    p.release(a.up, true);
    expect((await patient).up.pid).toBe(a.up.pid);
  });

  it('an already aborted signal does not even queue', async () => {
    const { p } = pool({ max: 1 });
    const gone = new AbortController();
    gone.abort('gone');
    await expect(p.acquire(gone.signal)).rejects.toBeInstanceOf(PoolWaitAbortedError);
    expect(p.total).toBe(0);
  });

  it('a broken connection frees its slot: a new one is dialled for the first in line', async () => {
    const { p, opened } = pool({ max: 1 });
    const a = await p.acquire();
    const next = p.acquire();
    await settle();
    a.up.socket.destroy();
    p.release(a.up, false);
    const b = await next;
    expect(b.up.pid).toBe(2);
    expect(opened()).toBe(2);
    expect(p.total).toBe(1);
  });

  it('an idle connection that dies frees its slot too', async () => {
    const { p } = pool({ max: 1 });
    const a = await p.acquire();
    p.release(a.up, true);
    await settle();
    expect(p.size).toBe(1);
    a.up.socket.destroy();
    await settle();
    expect(p.size).toBe(0);
    expect(p.total).toBe(0);
    expect((await p.acquire()).up.pid).toBe(2);
  });

  it('a failed dial for the line tells the first in line why', async () => {
    const { p, failNext } = pool({ max: 1 });
    const a = await p.acquire();
    const next = p.acquire().catch((e: unknown) => e);
    await settle();
    failNext.push(new Error('connection refused'));
    p.release(a.up, false);
    expect(((await next) as Error).message).toBe('connection refused');
    expect(p.total).toBe(0);
  });

  it('closed (its target changed) while sessions wait: each of them gets a fresh connection of its own', async () => {
    const { p, opened } = pool({ max: 1 });
    const a = await p.acquire();
    const waiting = [p.acquire(), p.acquire()];
    await settle();
    p.close();
    const got = await Promise.all(waiting);
    expect(got.map((g) => g.up.pid).sort()).toEqual([2, 3]);
    expect(opened()).toBe(3);
    // Returned to a closed pool, connections are closed, not kept.
    p.release(a.up, true);
    await settle();
    expect(a.up.socket.destroyed).toBe(true);
    expect(p.size).toBe(0);
  });

  it('keeps min idle connections without exceeding max', async () => {
    const { p } = pool({ min: 5, max: 2 });
    p.release((await p.acquire()).up, true);
    await settle();
    await p.acquire();
    await settle();
    await settle();
    expect(p.total).toBeLessThanOrEqual(2);
  });

  it('opens nothing ahead for settings used once; keeps min warm once they come back', async () => {
    const { p, opened } = pool({ min: 2, max: 5 });
    await settle();
    expect(opened()).toBe(0);
    const a = await p.acquire();
    await settle();
    expect(opened()).toBe(1);
    p.release(a.up, true);
    await settle();
    await p.acquire();
    await vi.waitFor(() => expect(p.size).toBe(2));
    expect(opened()).toBe(3);
  });
});

describe('upstream pool: a backend the reset cannot return to its opened state is not reused', () => {
  /** A pool whose readState answers from `states` by pid; `resets` lists what ran before a check. */
  function checked(states: Map<number, Partial<BackendState>>) {
    const resets: string[] = [];
    const made = pool({
      max: 3,
      readState: async (up, before) => {
        if (before !== undefined) resets.push(before);
        // At open (no reset) the backend is fresh; at release it is what the test says.
        const now = before === undefined ? {} : (states.get(up.pid) ?? {});
        return {
          parameters: now.parameters ?? [],
          status: now.status ?? 'I',
          tempNamespace: now.tempNamespace ?? false,
          customSettings: now.customSettings ?? 40,
        };
      },
    });
    return { ...made, resets };
  }

  it('kept when the state after DISCARD ALL is the opened state; the reset and its check are one call', async () => {
    const { p, resets } = checked(new Map());
    const a = await p.acquire();
    p.release(a.up, true);
    await vi.waitFor(() => expect(p.size).toBe(1));
    expect(resets).toEqual(['DISCARD ALL']);
    expect((await p.acquire()).up).toBe(a.up);
  });

  it('closed when the session made a temp namespace, or loaded a library (custom settings changed)', async () => {
    const states = new Map<number, Partial<BackendState>>([
      [1, { tempNamespace: true }],
      [2, { customSettings: 52 }],
    ]);
    const { p } = checked(states);
    const a = await p.acquire();
    const b = await p.acquire();
    p.release(a.up, true);
    p.release(b.up, true);
    await vi.waitFor(() => expect(a.up.socket.destroyed && b.up.socket.destroyed).toBe(true));
    expect(p.size).toBe(0);
    expect(p.total).toBe(0);
  });

  it('a new connection whose stream breaks on the state query is not handed out: the acquire fails', async () => {
    const { p } = pool({
      readState: async (up) => {
        up.socket.destroy();
        throw new Error('invalid message length');
      },
    });
    await expect(p.acquire()).rejects.toThrow(/session-state query: invalid message length/);
    expect(p.total).toBe(0);
  });

  it("the reset's ParameterStatus messages are merged into what the connection reports", async () => {
    const { p } = checked(new Map([[1, { parameters: [['DateStyle', 'Postgres, MDY']] as Array<[string, string]> }]]));
    const a = await p.acquire();
    a.up.parameters = [
      ['DateStyle', 'ISO, MDY'],
      ['TimeZone', 'UTC'],
    ];
    p.release(a.up, true);
    await vi.waitFor(() => expect(p.size).toBe(1));
    expect(a.up.parameters).toEqual([
      ['DateStyle', 'Postgres, MDY'],
      ['TimeZone', 'UTC'],
    ]);
  });
});

describe('upstream broker', () => {
  const key = (target: string, readOnly = false, settings: Array<[string, string]> = []): PoolKey => ({
    target,
    role: 'app',
    database: 'db',
    readOnly,
    settings,
  });
  const opts: PoolOptions = { min: 0, idleMs: 60_000, reset: 'DISCARD ALL', max: 2, waitTimeoutMs: 1_000 };

  it('one pool per key; the Map key says target, role, database, read-only and startup settings', () => {
    const broker = new UpstreamBroker(log);
    const connect = async (): Promise<UpstreamConnection> => fakeConnection(1);
    const rw = broker.pool(key('a'), connect, opts);
    expect(broker.pool(key('a'), connect, opts)).toBe(rw);
    expect(broker.pool(key('a', true), connect, opts)).not.toBe(rw);
    expect(poolKeyId(key('a', true))).toBe('a\0app\0db\0ro');
    expect([...broker.entries()].map(([id]) => id)).toEqual(['a\0app\0db\0rw', 'a\0app\0db\0ro']);
    // Settings in whatever order the client sent them: one pool.
    const tz = broker.pool(
      key(
        'a',
        false,
        poolSettings([
          ['timezone', 'UTC'],
          ['datestyle', 'ISO'],
        ]),
      ),
      connect,
      opts,
    );
    expect(
      broker.pool(
        key(
          'a',
          false,
          poolSettings([
            ['datestyle', 'ISO'],
            ['timezone', 'UTC'],
          ]),
        ),
        connect,
        opts,
      ),
    ).toBe(tz);
    expect(tz).not.toBe(rw);
    expect(
      poolKeyId(
        key(
          'a',
          false,
          poolSettings([
            ['timezone', 'UTC'],
            ['datestyle', 'ISO'],
          ]),
        ),
      ),
    ).toBe('a\0app\0db\0rw\0datestyle=ISO\0timezone=UTC');
    broker.close();
  });

  it('a changed target (config reload) loses its pools; the others stay', async () => {
    const broker = new UpstreamBroker(log);
    const connect = async (): Promise<UpstreamConnection> => fakeConnection(1);
    const a = broker.pool(key('a'), connect, opts);
    const b = broker.pool(key('b'), connect, opts);
    const held = await a.acquire();
    expect(broker.invalidateTarget('a')).toBe(1);
    expect(broker.get(key('a'))).toBeUndefined();
    expect(broker.get(key('b'))).toBe(b);
    // A session of the closed pool keeps its connection; returned, it is closed, not kept.
    a.release(held.up, true);
    await settle();
    expect(held.up.socket.destroyed).toBe(true);
    expect(a.size).toBe(0);
    broker.close();
  });

  it('at most maxPools pools per target: the one longest at rest closes first, a busy one never', async () => {
    const broker = new UpstreamBroker(log);
    const connect = async (): Promise<UpstreamConnection> => fakeConnection(1);
    const capped = { ...opts, maxPools: 2 };
    const busy = broker.pool(key('a', false, [['application_name', 'busy']]), connect, capped);
    await busy.acquire();
    const old = broker.pool(key('a', false, [['application_name', 'old']]), connect, capped);
    await settle();
    const other = broker.pool(key('b', false, [['application_name', 'x']]), connect, capped);
    const fresh = broker.pool(key('a', false, [['application_name', 'new']]), connect, capped);
    expect(broker.get(key('a', false, [['application_name', 'old']]))).toBeUndefined();
    expect([...broker.values()]).toEqual([busy, other, fresh]);
    expect(old.size).toBe(0);
    broker.close();
  });

  it('a connection given back to a pool closed meanwhile goes back to the pool that lent it', async () => {
    const broker = new UpstreamBroker(log);
    const connect = async (): Promise<UpstreamConnection> => fakeConnection(1);
    const planned = broker.pool(key('a'), connect, opts);
    expect(broker.invalidateTarget('a')).toBe(1);
    const lender = broker.pool(key('a'), connect, opts);
    const got = await lender.acquire();
    planned.release(got.up, true);
    await vi.waitFor(() => expect(lender.size).toBe(1));
    expect(lender.total).toBe(1);
    expect(lender.restingFor()).toBeGreaterThan(0);
    broker.close();
  });

  it('a pool at rest (nothing handed out) for longer than idleMs closes with its idle connections', async () => {
    const broker = new UpstreamBroker(log);
    const connect = async (): Promise<UpstreamConnection> => fakeConnection(1);
    const p = broker.pool(key('a'), connect, { ...opts, idleMs: 1_000 });
    const got = await p.acquire();
    p.release(got.up, true);
    await vi.waitFor(() => expect(p.size).toBe(1));
    broker.sweep(Date.now() + 500);
    expect(broker.size).toBe(1);
    broker.sweep(Date.now() + 2_000);
    expect(broker.size).toBe(0);
    expect(got.up.socket.destroyed).toBe(true);
    broker.close();
  });
});
