import { describe, expect, it } from 'vitest';
import { AuthThrottle } from '../../src/gateway/auth-throttle.js';

describe('failed-login brake (BAD_INPUTS D32)', () => {
  const make = () => {
    let t = 1_000_000;
    const throttle = new AuthThrottle({ windowMs: 60_000, perAddress: 5, perUser: 2, maxDelayMs: 1_000 }, () => t);
    return { throttle, advance: (ms: number) => (t += ms) };
  };

  it("answers a user's failures later and later past the budget, up to the cap", () => {
    const { throttle } = make();
    const delays: number[] = [];
    for (let i = 0; i < 7; i++) {
      throttle.failed(`10.0.0.${i}`, 'alice');
      delays.push(throttle.failureDelayMs('alice'));
    }
    expect(delays).toEqual([0, 0, 100, 200, 400, 800, 1_000]);
    expect(throttle.failureDelayMs('bob')).toBe(0);
  });

  it('refuses an address over its budget until the oldest failure leaves the window', () => {
    const { throttle, advance } = make();
    for (let i = 0; i < 4; i++) throttle.failed('10.0.0.1', `user${i}`);
    expect(throttle.addressBlocked('10.0.0.1')).toBeNull();
    advance(10_000);
    throttle.failed('10.0.0.1', 'user4');
    expect(throttle.addressBlocked('10.0.0.1')).toBe(50);
    expect(throttle.addressBlocked('10.0.0.2')).toBeNull();
    advance(50_000);
    expect(throttle.addressBlocked('10.0.0.1')).toBeNull();
  });

  it('forgets what is older than the window', () => {
    const { throttle, advance } = make();
    for (let i = 0; i < 4; i++) throttle.failed('10.0.0.1', 'alice');
    expect(throttle.failureDelayMs('alice')).toBe(200);
    advance(60_001);
    throttle.failed('10.0.0.1', 'alice');
    expect(throttle.failureDelayMs('alice')).toBe(0);
  });
});
