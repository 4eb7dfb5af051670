import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { IdentityQueries } from '../../src/store/identity-queries.js';
import type { Store } from '../../src/store/store.js';
import { openTestStore } from '../harness/store.js';

let store: Store;
beforeAll(async () => {
  store = await openTestStore(inject('pgCluster'), { max: 2 });
  await store.ensureUser('alice', { salt: randomBytes(16), iterations: 4096 });
});
afterAll(async () => {
  await store?.close();
});

describe('login lookups have a pool of their own', () => {
  it('answer while every general connection is taken (as by audit bulk writes)', async () => {
    const held = await Promise.all([store.sql.connect(), store.sql.connect()]);
    let generalAnswered = false;
    const general = store.sql.query('select 1').then(() => {
      generalAnswered = true;
    });
    try {
      expect((await store.scramCredentials('alice'))?.user.iterations).toBe(4096);
      expect(await store.token(randomUUID())).toBeNull();
      expect(await store.vaultEntry('app', 'nobody')).toBeNull();
      expect(await new IdentityQueries(store).link(randomBytes(32))).toBeNull();
      // The general pool really was full: its query is still waiting for a connection.
      expect(generalAnswered).toBe(false);
    } finally {
      for (const c of held) c.release();
    }
    await general;
    expect(generalAnswered).toBe(true);
  });
});
