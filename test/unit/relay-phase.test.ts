import { describe, expect, it } from 'vitest';
import { IllegalPhaseTransition, RelayPhase, canMove } from '../../src/relay/relay-phase.js';
import { Relay, type BoundUpstream, type EndReason } from '../../src/relay/relay.js';
import type { RelayObserver } from '../../src/relay/observer.js';
import { FakeSocket, msg, types } from '../harness/socket-pair.js';

const query = (sql: string): Buffer => msg('Q', `${sql}\0`);
const ready = (status: 'I' | 'T' | 'E'): Buffer => msg('Z', status);

function live(observer?: RelayObserver) {
  const client = new FakeSocket();
  const upstream = new FakeSocket();
  const ends: Array<{ reason: EndReason; detail: string | undefined; reusable: boolean | undefined }> = [];
  const relay = new Relay(client.asDuplex, upstream.asDuplex, {
    maxMessageBytes: 1 << 20,
    keepUpstream: true,
    observer,
    onEnd: (reason, detail, reusable) => ends.push({ reason, detail, reusable }),
  });
  relay.start();
  return { client, upstream, relay, ends };
}

describe('relay phase transitions', () => {
  it('allows only forward moves, and nothing after ended', () => {
    expect(canMove('unbound', 'binding')).toBe(true);
    expect(canMove('binding', 'live')).toBe(true);
    expect(canMove('live', 'binding')).toBe(false);
    expect(canMove('live', 'unbound')).toBe(false);
    expect(canMove('terminated', 'draining')).toBe(false);
    expect(canMove('refusing', 'live')).toBe(false);
    for (const to of ['unbound', 'binding', 'live', 'draining', 'refusing', 'terminated', 'ended'] as const) {
      expect(canMove('ended', to)).toBe(false);
    }
  });

  it('an illegal move throws when strict, and is reported (phase unchanged) when not', () => {
    expect(() => new RelayPhase('ended', undefined, true).to('live')).toThrow(IllegalPhaseTransition);
    const seen: string[] = [];
    const phase = new RelayPhase('live', (e) => seen.push(e.message), false);
    expect(phase.to('binding')).toBe(false);
    expect(phase.name).toBe('live');
    expect(seen).toEqual(['illegal relay phase transition live -> binding']);
  });
});

describe('a relay through its phases', () => {
  it('starts live with an upstream, and ends once when the client terminates', () => {
    const s = live();
    expect(s.relay.phaseName).toBe('live');
    s.client.emit('data', msg('X'));
    expect(s.relay.phaseName).toBe('ended');
    s.client.emit('close');
    expect(s.ends).toEqual([{ reason: 'client-terminate', detail: undefined, reusable: true }]);
    // A pooled connection outlives the client: the Terminate is not forwarded.
    expect(s.upstream.written).toEqual([]);
  });

  it('draining waits for the running transaction, then sends the FATAL after its answer', async () => {
    const s = live();
    s.client.emit('data', query('begin'));
    s.upstream.emit('data', Buffer.concat([msg('C', 'BEGIN\0'), ready('T')]));
    s.relay.endWhenIdle('terminating connection: pgward is shutting down');
    expect(s.relay.phaseName).toBe('draining');
    s.client.emit('data', query('commit'));
    // Still in the transaction: the session goes on.
    expect(s.upstream.bytes.includes(query('commit'))).toBe(true);
    s.upstream.emit('data', Buffer.concat([msg('C', 'COMMIT\0'), ready('I')]));
    await Promise.resolve();
    expect(s.relay.phaseName).toBe('ended');
    expect(types(s.client.bytes)).toBe('CZCZE');
    expect(s.client.bytes.toString('latin1')).toContain('shutting down');
    expect(s.ends.map((e) => e.reason)).toEqual(['shutdown']);
  });

  it('an idle session drains at once', () => {
    const s = live();
    s.relay.endWhenIdle('terminating connection: bye');
    expect(s.relay.phaseName).toBe('ended');
    expect(types(s.client.bytes)).toBe('E');
  });

  it('refusing: once the observer ends the session nothing more from the client goes upstream', () => {
    const observer: RelayObserver = {
      statement: (_k, sql) => (sql?.includes('evil') ? { action: 'end', message: 'no' } : null),
      bind: () => undefined,
      sync: () => undefined,
      ready: () => undefined,
    };
    const s = live(observer);
    s.client.emit('data', Buffer.concat([query('select 1'), query('select evil'), query('select 2')]));
    expect(s.relay.phaseName).toBe('refusing');
    expect(s.upstream.bytes.toString('latin1')).toBe(query('select 1').toString('latin1'));
    s.relay.kill('detector', 'terminating connection: no');
    expect(s.relay.phaseName).toBe('ended');
    expect(s.ends.map((e) => e.reason)).toEqual(['detector']);
  });

  it('a drain asked while a statement runs in a transaction-free cycle ends at its ReadyForQuery', async () => {
    const s = live();
    s.client.emit('data', query('select pg_sleep(1)'));
    expect(s.relay.busy).toBe(true);
    s.relay.endWhenIdle('terminating connection: drain');
    expect(s.relay.phaseName).toBe('draining');
    s.upstream.emit('data', Buffer.concat([msg('C', 'SELECT 1\0'), ready('I')]));
    await Promise.resolve();
    expect(s.ends.map((e) => e.reason)).toEqual(['shutdown']);
  });

  it('a drain asked while the upstream is being bound holds until the waiting statement is answered', async () => {
    const client = new FakeSocket();
    const upstream = new FakeSocket();
    let bound!: (u: BoundUpstream) => void;
    const ends: EndReason[] = [];
    const relay = new Relay(client.asDuplex, null, {
      maxMessageBytes: 1 << 20,
      keepUpstream: true,
      bindUpstream: () => new Promise<BoundUpstream>((r) => (bound = r)),
      onEnd: (reason) => ends.push(reason),
    });
    relay.start();
    expect(relay.phaseName).toBe('unbound');
    client.emit('data', query('select 1'));
    expect(relay.phaseName).toBe('binding');
    relay.endWhenIdle('terminating connection: drain');
    expect(relay.phaseName).toBe('draining');
    bound({ socket: upstream.asDuplex, leftover: Buffer.alloc(0), parameters: [] });
    await new Promise((r) => setImmediate(r));
    // Bound, still draining: the waiting statement went upstream.
    expect(relay.phaseName).toBe('draining');
    expect(upstream.bytes.equals(query('select 1'))).toBe(true);
    upstream.emit('data', Buffer.concat([msg('C', 'SELECT 1\0'), ready('I')]));
    await Promise.resolve();
    expect(ends).toEqual(['shutdown']);
    expect(types(client.bytes)).toBe('CZE');
  });
});
