import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, compactVerify, importJWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { AuditWriter } from '../../src/audit/writer.js';
import { deriveAuditKeys, eventMac, macMatches, signJws } from '../../src/audit/keys.js';
import { createLogger } from '../../src/util/logger.js';

describe('audit keys', () => {
  const secret = randomBytes(32);

  it('are the same wherever the same vault secret is (every gateway, the exporting CLI), and differ with another', async () => {
    const a = deriveAuditKeys(secret);
    const b = deriveAuditKeys(Buffer.from(secret));
    expect(b.macKey.equals(a.macKey)).toBe(true);
    expect(b.publicJwk).toEqual(a.publicJwk);
    const other = deriveAuditKeys(randomBytes(32));
    expect(other.macKey.equals(a.macKey)).toBe(false);
    expect(other.kid).not.toBe(a.kid);
    expect(a.kid).toBe(await calculateJwkThumbprint(a.publicJwk));
  });

  it('MAC an event hash, and a changed hash or MAC does not match', () => {
    const { macKey } = deriveAuditKeys(secret);
    const hash = randomBytes(32).toString('hex');
    const mac = Buffer.from(eventMac(macKey, hash), 'hex');
    expect(macMatches(macKey, hash, mac)).toBe(true);
    expect(macMatches(macKey, randomBytes(32).toString('hex'), mac)).toBe(false);
    expect(macMatches(deriveAuditKeys(randomBytes(32)).macKey, hash, mac)).toBe(false);
    expect(macMatches(macKey, hash, mac.subarray(1))).toBe(false);
  });

  it('sign a JWS that a standard library verifies with the public JWK', async () => {
    const keys = deriveAuditKeys(secret);
    const jws = signJws(keys, 'test+jws', { hello: 'world' });
    const { payload, protectedHeader } = await compactVerify(jws, await importJWK(keys.publicJwk, 'EdDSA'));
    expect(JSON.parse(new TextDecoder().decode(payload))).toEqual({ hello: 'world' });
    expect(protectedHeader).toMatchObject({ alg: 'EdDSA', kid: keys.kid, typ: 'test+jws' });
  });
});

describe('what the MAC costs on the writer path (measured, printed; no timing asserted)', () => {
  it('appends a typical statements event with and without the audit key', async () => {
    const keys = deriveAuditKeys(randomBytes(32));
    const payload = (i: number): unknown => ({
      count: 3,
      start: new Date().toISOString(),
      columns: ['statement', 'rows', 'bytes', 'ms', 'offsetMs', 'outcome', 'error', 'params'],
      statements: [
        {
          sql: 'select * from orders where customer_id = $1 and created_at > $2',
          category: 'read',
          tables: ['orders'],
        },
        { sql: 'update orders set status = $1 where id = $2', category: 'write', tables: ['orders'] },
      ],
      runs: [
        [0, 12, 1840, 2, 0, 'ok'],
        [1, 1, 13, 1, 3, 'ok'],
        [0, i % 50, 7200, 4, 9, 'ok'],
      ],
    });
    const N = 20_000;
    // The writer as the gateway runs it: appends, and batches written (to a sink that takes them at once).
    const run = async (withKeys: boolean): Promise<number> => {
      const w = new AuditWriter({ insertEvents: async () => undefined, refusal: () => null }, createLogger('silent'), {
        keys: withKeys ? keys : undefined,
        checkpoint: { file: null, intervalMs: 3_600_000 },
      });
      const ids = Array.from({ length: 20 }, () => randomUUID());
      let ns = 0;
      for (let chunk = 0; chunk < N / 500; chunk++) {
        const t0 = process.hrtime.bigint();
        for (let i = 0; i < 500; i++) w.append(ids[i % ids.length]!, 'alice', 'statements', payload(i));
        await w.flush();
        ns += Number(process.hrtime.bigint() - t0);
      }
      await w.close();
      return ns / N;
    };
    // Warm up both paths, then take the best of five alternating rounds of each.
    const rounds: Record<'plain' | 'keyed', number[]> = { plain: [], keyed: [] };
    await run(false);
    await run(true);
    for (let r = 0; r < 5; r++) {
      rounds.plain.push(await run(false));
      rounds.keyed.push(await run(true));
    }
    const plain = Math.min(...rounds.plain);
    const keyed = Math.min(...rounds.keyed);
    const hash = randomBytes(32);
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < N; i++) createHmac('sha256', keys.macKey).update(hash).digest();
    const hmac = Number(process.hrtime.bigint() - t0) / N;
    console.log(
      `audit append per event: ${(plain / 1000).toFixed(2)} µs unkeyed, ${(keyed / 1000).toFixed(2)} µs keyed ` +
        `(MAC + checkpoint bookkeeping ${((keyed - plain) / 1000).toFixed(2)} µs, ${(((keyed - plain) / plain) * 100).toFixed(0)}%); ` +
        `HMAC-SHA-256 of a 32-byte hash alone ${(hmac / 1000).toFixed(2)} µs`,
    );
    expect(keyed).toBeGreaterThan(0);
  });
});
