import type { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { PgError } from '../../src/protocol/errors.js';
import { Relay, type BoundUpstream, type EndReason } from '../../src/relay/relay.js';
import { FakeSocket, msg, types } from '../harness/socket-pair.js';

const query = (sql: string): Buffer => msg('Q', `${sql}\0`);

function deferred(): { promise: Promise<BoundUpstream>; resolve(u: BoundUpstream): void; reject(e: unknown): void } {
  let resolve!: (u: BoundUpstream) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<BoundUpstream>((a, b) => {
    resolve = a;
    reject = b;
  });
  return { promise, resolve, reject };
}

function setup(told: Array<[string, string]> = [['server_version', '17.0']]) {
  const client = new FakeSocket();
  const upstream = new FakeSocket();
  const bind = deferred();
  let binds = 0;
  const ends: Array<{ reason: EndReason; reusable: boolean | undefined }> = [];
  const bound: number[] = [];
  const relay = new Relay(client as unknown as Duplex, null, {
    maxMessageBytes: 1 << 20,
    parameters: told,
    keepUpstream: true,
    bindUpstream: () => {
      binds++;
      return bind.promise;
    },
    onEnd: (reason, _detail, reusable) => ends.push({ reason, reusable }),
    // How many bytes had reached the upstream when the relay said it was bound.
    onBound: () => bound.push(upstream.bytes.length),
  });
  relay.start();
  return { client, upstream, bind, relay, ends, bound, binds: () => binds };
}

describe('a relay that starts without an upstream connection', () => {
  it('binds one at the first message, sends what waited in order, then relays both ways', async () => {
    const s = setup();
    expect(s.relay.bound).toBe(false);
    s.client.emit('data', Buffer.concat([query('select 1'), query('select 2')]));
    expect(s.binds()).toBe(1);
    expect(s.client.paused).toBe(true);
    s.client.emit('data', query('select 3'));
    expect(s.binds()).toBe(1);
    s.bind.resolve({
      socket: s.upstream as unknown as Duplex,
      leftover: Buffer.alloc(0),
      parameters: [['server_version', '17.0']],
    });
    await new Promise((r) => setImmediate(r));
    expect(s.relay.bound).toBe(true);
    expect(s.upstream.bytes.toString('latin1')).toBe(
      Buffer.concat([query('select 1'), query('select 2'), query('select 3')]).toString('latin1'),
    );
    expect(s.client.paused).toBe(false);
    // Told only once the waiting statements are upstream (a cancel asked meanwhile goes then).
    expect(s.bound).toEqual([s.upstream.bytes.length]);
    expect(s.relay.busy).toBe(true);
    s.upstream.emit('data', Buffer.concat([msg('C', 'SELECT 1\0'), msg('Z', 'I')]));
    expect(types(s.client.bytes)).toBe('CZ');
  });

  it('tells the client what the server reports differently from what it was told at login', async () => {
    const s = setup([
      ['server_version', '17.0'],
      ['TimeZone', 'UTC'],
    ]);
    s.client.emit('data', query('select 1'));
    s.bind.resolve({
      socket: s.upstream as unknown as Duplex,
      leftover: Buffer.alloc(0),
      parameters: [
        ['server_version', '17.1'],
        ['TimeZone', 'UTC'],
      ],
    });
    await new Promise((r) => setImmediate(r));
    expect(types(s.client.bytes)).toBe('S');
    expect(s.client.bytes.subarray(5).toString('latin1')).toBe('server_version\x0017.1\0');
  });

  it('a Terminate before any statement ends the session without asking for an upstream', () => {
    const s = setup();
    s.client.emit('data', msg('X', ''));
    s.client.emit('close');
    expect(s.binds()).toBe(0);
    expect(s.ends).toEqual([{ reason: 'client-terminate', reusable: false }]);
  });

  it('no upstream to be had: the client gets the FATAL with its SQLSTATE, the session ends once', async () => {
    const s = setup();
    s.client.emit('data', query('select 1'));
    s.bind.reject(new PgError('08006', 'pgward could not connect to the server for database "x"'));
    await new Promise((r) => setImmediate(r));
    const e = s.client.bytes;
    expect(types(e)).toBe('E');
    expect(e.toString('latin1')).toContain('C08006\0');
    expect(e.toString('latin1')).toContain('could not connect');
    expect(s.ends.map((x) => x.reason)).toEqual(['upstream-unavailable']);
  });

  it('the client leaves while its upstream is being bound: the late connection is closed, not leaked or reused', async () => {
    const s = setup();
    s.client.emit('data', query('select pg_sleep(1)'));
    s.client.emit('close');
    expect(s.ends).toEqual([{ reason: 'client-closed', reusable: false }]);
    s.bind.resolve({ socket: s.upstream as unknown as Duplex, leftover: Buffer.alloc(0), parameters: [] });
    await new Promise((r) => setImmediate(r));
    expect(s.upstream.destroyed).toBe(true);
    expect(s.upstream.written).toEqual([]);
  });

  it('can be ended from the gateway before it is bound (kill, revocation, drain)', () => {
    const s = setup();
    s.relay.endWhenIdle('terminating connection: shutting down');
    expect(types(s.client.bytes)).toBe('E');
    expect(s.ends.map((x) => x.reason)).toEqual(['shutdown']);
    expect(s.binds()).toBe(0);
  });
});
