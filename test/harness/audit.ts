import { expect } from 'vitest';
import { eventHash, genesisHash } from '../../src/audit/chain.js';
import { AuditQueries, type StoredEvent } from '../../src/store/audit-queries.js';
import type { Store } from '../../src/store/store.js';

/** The stored events of one session, in chain order. */
export async function storedEvents(store: Store, sessionId: string): Promise<StoredEvent[]> {
  const out: StoredEvent[] = [];
  await new AuditQueries(store).readEvents({ from: new Date(0), to: new Date(Date.now() + 86_400_000) }, 5_000, {
    total: () => undefined,
    batch: async (events) => void out.push(...events.filter((e) => e.sessionId === sessionId)),
  });
  return out;
}

/** How many events the session has stored, after checking that seqs run 1..n and every hash links and checks out. */
export async function intactChain(store: Store, sessionId: string): Promise<number> {
  const events = await storedEvents(store, sessionId);
  let prev = genesisHash(sessionId);
  events.forEach((e, i) => {
    expect(e.seq).toBe(i + 1);
    expect(e.prevHash.toString('hex')).toBe(prev);
    const body = {
      session_id: sessionId,
      seq: e.seq,
      at: e.at.toISOString(),
      kind: e.kind,
      username: e.username,
      payload: e.payload,
      prev_hash: prev,
    };
    expect(eventHash(body)).toBe(e.hash.toString('hex'));
    prev = e.hash.toString('hex');
  });
  return events.length;
}
