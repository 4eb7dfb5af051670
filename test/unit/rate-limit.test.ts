import { describe, expect, it } from 'vitest';
import { KeyedBuckets, SourceLimit, TokenBucket } from '../../src/gateway/rate-limit.js';

const clock = () => {
  let t = 1_000_000;
  return { now: () => t, advance: (ms: number) => (t += ms) };
};

describe('token buckets for unauthenticated requests', () => {
  it('a bucket gives its burst at once, then one token per period/per, and says when', () => {
    const c = clock();
    const b = new TokenBucket({ per: 3, periodMs: 60_000 }, c.now);
    expect([b.take(), b.take(), b.take(), b.take()]).toEqual([true, true, true, false]);
    expect(b.retryAfterS()).toBe(20);
    c.advance(19_999);
    expect(b.take()).toBe(false);
    c.advance(1);
    expect(b.take()).toBe(true);
    expect(b.take()).toBe(false);
  });

  it('per key: one address spending its budget leaves another alone; full buckets are forgotten', () => {
    const c = clock();
    const k = new KeyedBuckets({ per: 2, periodMs: 1_000 }, c.now);
    expect([k.take('10.0.0.1'), k.take('10.0.0.1'), k.take('10.0.0.1')]).toEqual([true, true, false]);
    expect(k.take('10.0.0.2')).toBe(true);
    expect(k.retryAfterS('10.0.0.1')).toBe(1);
    expect(k.size).toBe(2);
  });

  it('source and gateway limits: which one refused, and the gateway budget is not spent by refused sources', () => {
    const c = clock();
    const l = new SourceLimit({ per: 2, periodMs: 60_000 }, { per: 3, periodMs: 60_000 }, c.now);
    expect(l.admit('a')).toBeNull();
    expect(l.admit('a')).toBeNull();
    expect(l.admit('a')).toEqual({ scope: 'address', retryAfterS: 30 });
    expect(l.admit('b')).toBeNull();
    expect(l.admit('c')).toEqual({ scope: 'gateway', retryAfterS: 20 });
    c.advance(20_000);
    expect(l.admit('c')).toBeNull();
  });
});
