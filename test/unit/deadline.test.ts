import { describe, expect, it } from 'vitest';
import { within } from '../../src/util/deadline.js';

/** Keeps this process busy, as a burst of appends hashing events does. */
function stall(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

/** An answer that is ready as soon as the event loop gets to it (like a reply already in the socket). */
const answerAfterStall = (): Promise<string> => new Promise((resolve) => setImmediate(() => resolve('stored')));

describe('the audit write deadline', () => {
  // (util/deadline's within() rejects here: its timer fires as the stall ends, before the answer is read.)
  it('does not blame the store for a stall of this process', async () => {
    const write = within(answerAfterStall(), 300, 'audit write');
    stall(800);
    await expect(write).resolves.toBe('stored');
  });

  it('still gives up on a store that never answers, and passes on its errors', async () => {
    await expect(within(new Promise<never>(() => undefined), 300, 'audit write')).rejects.toThrow(
      'audit write: no answer within 300 ms',
    );
    await expect(within(Promise.reject(new Error('connect ECONNREFUSED')), 300, 'audit write')).rejects.toThrow(
      'ECONNREFUSED',
    );
  });
});
