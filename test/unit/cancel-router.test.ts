import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CancelRouter, type CancelTarget } from '../../src/gateway/cancel-router.js';

function target(busy = true): CancelTarget & { cancels: number; busyNow: boolean } {
  const t = {
    cancels: 0,
    busyNow: busy,
    busy: () => t.busyNow,
    cancel: () => void t.cancels++,
  };
  return t;
}

const hash = (key: Buffer): Buffer => createHash('sha256').update(key).digest();

describe('cancel router', () => {
  it('issues distinct positive pids with keys of the asked length', () => {
    const r = new CancelRouter();
    const a = r.register(target());
    const b = r.register(target(), 32);
    expect(a.pid).not.toBe(b.pid);
    for (const k of [a, b]) {
      expect(k.pid).toBeGreaterThan(0);
      expect(k.pid).toBeLessThanOrEqual(0x7fffffff);
    }
    expect(a.key.length).toBe(4);
    expect(b.key.length).toBe(32);
    expect(r.size).toBe(2);
  });

  it('forwards a cancel with the right key to a busy session', () => {
    const r = new CancelRouter();
    const t = target();
    const { pid, key } = r.register(t);
    expect(r.route(pid, key)).toBe(true);
    expect(t.cancels).toBe(1);
  });

  it('ignores a wrong key, a key of another length, and an unknown pid', () => {
    const r = new CancelRouter();
    const t = target();
    const { pid, key } = r.register(t);
    const wrong = Buffer.from(key);
    wrong[0] = wrong[0]! ^ 0xff;
    expect(r.route(pid, wrong)).toBe(false);
    expect(r.route(pid, Buffer.concat([key, Buffer.from([0])]))).toBe(false);
    expect(r.route(pid + 1, key)).toBe(false);
    expect(t.cancels).toBe(0);
  });

  it('never cancels an idle session (a late cancel must not hit the next statement)', () => {
    const r = new CancelRouter();
    const t = target(false);
    const { pid, key } = r.register(t);
    expect(r.route(pid, key)).toBe(false);
    expect(t.cancels).toBe(0);
  });

  it('forgets a session once unregistered', () => {
    const r = new CancelRouter();
    const t = target();
    const { pid, key } = r.register(t);
    r.unregister(pid);
    expect(r.owns(pid)).toBe(false);
    expect(r.route(pid, key)).toBe(false);
    expect(r.size).toBe(0);
  });

  it('a peer gateway relays only the hash of the key; the owner checks it', () => {
    const r = new CancelRouter();
    const t = target();
    const { pid, key } = r.register(t);
    expect(r.owns(pid)).toBe(true);
    expect(r.routeHashed(pid, hash(Buffer.from('not the key')))).toBe(false);
    expect(r.routeHashed(pid, hash(key).subarray(0, 16))).toBe(false);
    expect(t.cancels).toBe(0);
    expect(r.routeHashed(pid, hash(key))).toBe(true);
    expect(t.cancels).toBe(1);
    t.busyNow = false;
    expect(r.routeHashed(pid, hash(key))).toBe(false);
    expect(r.routeHashed(pid + 1, hash(key))).toBe(false);
  });
});

describe('cancel key tags: only keys a gateway of the cluster issued are relayed', () => {
  it('keys carry a tag every router with the same secret checks; made-up keys almost never pass', () => {
    const secret = Buffer.alloc(32, 7);
    const here = new CancelRouter({ tagSecret: secret });
    const peer = new CancelRouter({ tagSecret: secret });
    const stranger = new CancelRouter();
    for (const len of [4, 32]) {
      const { pid, key } = here.register(target(), len);
      expect(peer.issuedByCluster(pid, key)).toBe(true);
      expect(stranger.issuedByCluster(pid, key)).toBe(false);
      const flipped = Buffer.from(key);
      flipped[0]! ^= 1;
      expect(peer.issuedByCluster(pid, flipped)).toBe(false);
      expect(peer.issuedByCluster(pid ^ 1, key)).toBe(false);
    }
    let passed = 0;
    for (let i = 0; i < 3_000; i++) if (peer.issuedByCluster(i + 1, randomBytes(4))) passed++;
    // 2 tag bytes: 1 in 65,536 made-up 4-byte keys passes.
    expect(passed).toBeLessThanOrEqual(2);
    for (let i = 0; i < 300; i++) expect(peer.issuedByCluster(i + 1, randomBytes(32))).toBe(false);
  });

  it('budgets: per address, and for relays in all', () => {
    const r = new CancelRouter({ limits: { perAddress: 2, relayedPerGateway: 1 } });
    expect([r.sourceAllows('a'), r.sourceAllows('a'), r.sourceAllows('a'), r.sourceAllows('b')]).toEqual([
      true,
      true,
      false,
      true,
    ]);
    expect(r.sourceAllows(null)).toBe(true);
    expect([r.relayAllows(), r.relayAllows()]).toEqual([true, false]);
  });
});
