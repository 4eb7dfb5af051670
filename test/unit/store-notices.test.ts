import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { noticeChannel, type Notice } from '../../src/store/notices.js';
import type { Store } from '../../src/store/store.js';
import { createLogger } from '../../src/util/logger.js';
import { capturedLog } from '../harness/logs.js';
import { openTestStore } from '../harness/store.js';

let store: Store;
beforeAll(async () => {
  store = await openTestStore(inject('pgCluster'));
});
afterAll(async () => {
  await store?.close();
});

describe('notices through the store', () => {
  it('a subscriber gets the notices of its kinds, decoded, and drops payloads that are not notices', async () => {
    const { log, entries } = capturedLog();
    const got: Notice[] = [];
    const sub = store.subscribe(['cancel', 'token-revoked'], {
      notice: (n) => got.push(n),
      down: () => undefined,
      log,
    });
    await sub.ready;
    await store.sql.query('select pg_notify($1, $2)', [noticeChannel('cancel'), '{"pid":1,"keyHash":"00"}']);
    await store.publish({ kind: 'user-revoked', user: 'mallory' });
    await store.publish({ kind: 'policy-version', version: 3 });
    await store.publish({ kind: 'cancel', pid: 4242, keyHash: 'beef', from: 'gw-a' });
    await store.publish({ kind: 'token-revoked', jti: 'j-1' });
    await vi.waitFor(() => expect(got).toContainEqual({ kind: 'token-revoked', jti: 'j-1' }));
    // Same channel, delivered in order: the user-revoked notice before it was not for this subscriber.
    expect(got).toEqual([
      { kind: 'cancel', pid: 4242, keyHash: 'beef', from: 'gw-a' },
      { kind: 'token-revoked', jti: 'j-1' },
    ]);
    expect(entries().filter((e) => e['event'] === 'notice_dropped')).toMatchObject([
      { channel: noticeChannel('cancel') },
    ]);
    await sub.close();
  });

  it('a revocation with endSessions announces itself in the statement that revokes', async () => {
    const got: Notice[] = [];
    const sub = store.subscribe(['token-revoked', 'user-revoked'], {
      notice: (n) => got.push(n),
      down: () => undefined,
      log: createLogger('silent'),
    });
    await sub.ready;
    const jti = randomUUID();
    await store.ensureUser('rita', { salt: randomBytes(16), iterations: 4096 });
    await store.insertToken({
      jti,
      username: 'rita',
      groups: [],
      expiresAt: new Date(Date.now() + 3_600_000),
      issuedBy: 'test',
      storedKey: randomBytes(32),
      serverKey: randomBytes(32),
    });
    expect(await store.revokeToken(jti, 'test', true)).toBe(true);
    // A second revocation changes nothing and so announces nothing; the user-wide one follows it.
    expect(await store.revokeToken(jti, 'again', true)).toBe(false);
    await store.revokeUserTokens('rita', 'test', true);
    await vi.waitFor(() => expect(got.length).toBe(2));
    expect(got).toEqual([
      { kind: 'token-revoked', jti },
      { kind: 'user-revoked', user: 'rita' },
    ]);
    await sub.close();
  });
});
