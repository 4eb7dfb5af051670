import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AuditWriter, type AuditSink } from '../../src/audit/writer.js';
import { AuditQueries } from '../../src/store/audit-queries.js';
import { createLogger } from '../../src/util/logger.js';
import { intactChain } from '../harness/audit.js';
import { startTestGateway, type TestGateway } from '../harness/gateway.js';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway(inject('pgCluster'));
});
afterAll(async () => {
  await gw?.close();
});

/** The real store, behind a switch that makes every write fail like an unreachable server. */
function flaky(): { store: AuditSink; down: { value: boolean } } {
  const down = { value: true };
  const real = new AuditQueries(gw.cp.store);
  const store: AuditSink = {
    insertEvents: (doc) => (down.value ? Promise.reject(new Error('connect ECONNREFUSED')) : real.insertEvents(doc)),
    refusal: (err) => real.refusal(err),
  };
  return { store, down };
}

/** Every stored event of these sessions, checked link by link. */
async function chainsIntact(sessions: string[]): Promise<number> {
  let n = 0;
  for (const id of sessions) n += await intactChain(gw.cp.store, id);
  return n;
}

const log = createLogger('silent');

describe('audit spool while the store is down', () => {
  it('keeps every event on disk through an outage and a restart, then delivers them in order', async () => {
    const spool = await mkdtemp(join(tmpdir(), 'pgward-spool-'));
    const { store } = flaky();
    const first = new AuditWriter(store, log, { flushMs: 10, batch: 50, replayMs: 100 }, spool);
    const sessions = [randomUUID(), randomUUID(), randomUUID()];
    for (let i = 0; i < 100; i++)
      for (const s of sessions) first.append(s, 'alice', 'statements', { i, sql: 'select $1' });
    await first.flush();
    await first.close();
    const onDisk = (await readFile(join(spool, 'audit-spool.jsonl'), 'utf8')).trim().split('\n');
    expect(onDisk.length).toBeGreaterThan(1);
    expect(await chainsIntact(sessions)).toBe(0);

    // The process restarts with the store back: the spool is delivered first.
    const second = new AuditWriter(new AuditQueries(gw.cp.store), log, { replayMs: 100 }, spool);
    for (let i = 0; i < 100 && (await chainsIntact(sessions)) < 300; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await chainsIntact(sessions)).toBe(300);
    expect(await readFile(join(spool, 'audit-spool.jsonl'), 'utf8')).toBe('');
    await second.close();
  });

  it('delivers by itself when the store comes back, and later events follow in order', async () => {
    const spool = await mkdtemp(join(tmpdir(), 'pgward-spool-'));
    const { store, down } = flaky();
    const w = new AuditWriter(store, log, { flushMs: 10, batch: 20, replayMs: 100 }, spool);
    const id = randomUUID();
    for (let i = 0; i < 60; i++) w.append(id, 'bob', 'statements', { i });
    await w.flush();
    down.value = false;
    for (let i = 0; i < 60; i++) w.append(id, 'bob', 'statements', { i: 60 + i });
    await w.flush();
    for (let i = 0; i < 100 && (await chainsIntact([id])) < 120; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await chainsIntact([id])).toBe(120);
    await w.close();
  });
});
