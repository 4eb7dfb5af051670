import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { batchDocument, batchElements } from '../../src/audit/event-document.js';
import { AuditWriter } from '../../src/audit/writer.js';
import { AuditQueries } from '../../src/store/audit-queries.js';
import type { Store } from '../../src/store/store.js';
import { createLogger } from '../../src/util/logger.js';
import { intactChain, storedEvents } from '../harness/audit.js';
import { capturedLog } from '../harness/logs.js';
import { openTestStore } from '../harness/store.js';

/**
 * What the store does to a batch is real here: triggers on session_events make it refuse
 * some events (or every insert, or take forever over one), as a store does with a value
 * over a limit, a revoked privilege or a pathological row.
 */
let store: Store;
let audit: AuditQueries;
beforeAll(async () => {
  store = await openTestStore(inject('pgCluster'));
  audit = new AuditQueries(store);
  await store.sql.query(`
    create function pgward_test_refuse_row() returns trigger language plpgsql as $$
    begin
      if new.payload ? 'poison' then
        raise exception 'total size of jsonb object elements exceeds the maximum' using errcode = '54000';
      end if;
      if new.payload ? 'slow' then
        perform pg_sleep(1.5);
        raise exception 'canceling statement due to statement timeout' using errcode = '57014';
      end if;
      return new;
    end $$;
    create function pgward_test_refuse_all() returns trigger language plpgsql as $$
    begin raise exception 'permission denied for table session_events' using errcode = '42501'; end $$;
    create trigger refuse_row before insert on session_events for each row execute function pgward_test_refuse_row();
  `);
});
afterAll(async () => {
  await store?.close();
});
afterEach(async () => {
  await store.sql.query('drop trigger if exists refuse_all on session_events');
});

const spoolDir = (): Promise<string> => mkdtemp(join(tmpdir(), 'pgward-quarantine-'));

/** Batch elements as a writer makes them, without storing them. */
async function elementsOf(fill: (w: AuditWriter) => void): Promise<string[]> {
  const elements: string[] = [];
  const w = new AuditWriter(
    { insertEvents: async (doc) => void elements.push(...batchElements(doc)!), refusal: () => null },
    createLogger('silent'),
  );
  fill(w);
  await w.close();
  return elements;
}

const seqs = async (id: string): Promise<number[]> => (await storedEvents(store, id)).map((e) => e.seq);
const spoolLines = async (dir: string): Promise<string[]> =>
  (await readFile(join(dir, 'audit-spool.jsonl'), 'utf8')).split('\n').filter(Boolean);

describe('one event the store will not take', () => {
  it('is set aside with what the store answered (54000), and the spool lines before and after it are delivered', async () => {
    const dir = await spoolDir();
    const a = randomUUID();
    const b = randomUUID();
    const aEvents = await elementsOf((w) => {
      for (let i = 0; i < 6; i++) w.append(a, 'erin', 'statement', { i });
    });
    const bEvents = await elementsOf((w) => {
      for (let i = 0; i < 5; i++) w.append(b, 'erin', 'statement', i === 2 ? { poison: true } : { i });
    });
    await writeFile(
      join(dir, 'audit-spool.jsonl'),
      [batchDocument(aEvents.slice(0, 3)), batchDocument(bEvents), batchDocument(aEvents.slice(3))].join('\n') + '\n',
    );
    const { log, entries } = capturedLog();
    const w = new AuditWriter(audit, log, { replayMs: 60_000 }, dir);
    await w.replay();
    expect(await intactChain(store, a)).toBe(6);
    expect(await seqs(b)).toEqual([1, 2, 4, 5]);
    expect(await spoolLines(dir)).toEqual([]);
    const dead = (await readFile(join(dir, 'audit-dead-letter.jsonl'), 'utf8')).trim().split('\n');
    expect(dead).toEqual([batchDocument([bEvents[2]!])]);
    expect(entries().filter((e) => e['event'] === 'audit_quarantined')).toMatchObject([
      {
        level: 50,
        events: 1,
        code: '54000',
        storeMessage: 'total size of jsonb object elements exceeds the maximum',
        sessions: [{ session: b, seq: 3 }],
      },
    ]);
    expect(entries().some((e) => /unreachable|did not answer/.test(String(e['msg'])))).toBe(false);
    await w.close();
  });

  it('is set aside on the live path too, the events around it written at once', async () => {
    const { log, entries } = capturedLog();
    const w = new AuditWriter(audit, log, {}, await spoolDir());
    const id = randomUUID();
    for (let i = 0; i < 40; i++) w.append(id, 'fay', 'statement', i === 17 ? { poison: 1 } : { i });
    await w.flush();
    expect(await seqs(id)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1).filter((s) => s !== 18));
    expect(entries().filter((e) => e['event'] === 'audit_quarantined')).toMatchObject([{ code: '54000' }]);
    expect(entries().some((e) => e['event'] === 'audit_spooled')).toBe(false);
    await w.close();
  });
});

describe('a store that refuses every insert', () => {
  it('keeps everything in the spool, says what the store answered, sets nothing aside, and delivers once it takes inserts again', async () => {
    await store.sql.query(
      'create trigger refuse_all before insert on session_events for each statement execute function pgward_test_refuse_all()',
    );
    const dir = await spoolDir();
    const { log, entries } = capturedLog();
    const w = new AuditWriter(audit, log, { replayMs: 60_000 }, dir);
    const id = randomUUID();
    for (let i = 0; i < 30; i++) w.append(id, 'gus', 'statement', { i });
    await w.flush();
    await w.replay();
    expect(await seqs(id)).toEqual([]);
    expect((await spoolLines(dir)).flatMap((l) => batchElements(l)!)).toHaveLength(30);
    await expect(readFile(join(dir, 'audit-dead-letter.jsonl'), 'utf8')).rejects.toThrow(/ENOENT/);
    expect(entries().filter((e) => e['event'] === 'audit_replay_failed')).toMatchObject([
      { storeAnswered: true, code: '42501', err: 'permission denied for table session_events' },
    ]);
    expect(entries().find((e) => e['event'] === 'audit_replay_failed')?.['msg']).toMatch(
      /the store refuses every audit insert, an empty one too \(42501: permission denied/,
    );

    await store.sql.query('drop trigger refuse_all on session_events');
    await w.replay();
    expect(await intactChain(store, id)).toBe(30);
    expect(await spoolLines(dir)).toEqual([]);
    await w.close();
  });
});

describe('a batch that never gets an answer while the store answers everything else', () => {
  it('does not hold back the lines after it, and after three replays its slow event is set aside', async () => {
    const dir = await spoolDir();
    const slow = randomUUID();
    const other = randomUUID();
    const slowEvents = await elementsOf((w) => {
      for (let i = 0; i < 4; i++) w.append(slow, 'hal', 'statement', i === 1 ? { slow: true } : { i });
    });
    const otherEvents = await elementsOf((w) => {
      for (let i = 0; i < 3; i++) w.append(other, 'hal', 'statement', { i });
    });
    await writeFile(
      join(dir, 'audit-spool.jsonl'),
      [batchDocument(slowEvents), batchDocument(otherEvents)].join('\n') + '\n',
    );
    const { log, entries } = capturedLog();
    const w = new AuditWriter(audit, log, { replayMs: 60_000, writeTimeoutMs: 400 }, dir);
    await w.replay();
    // The line after the stuck one is delivered at the first replay.
    expect(await intactChain(store, other)).toBe(3);
    expect(await spoolLines(dir)).toEqual([batchDocument(slowEvents)]);
    expect(entries().filter((e) => e['event'] === 'audit_replay_partial')).toHaveLength(1);
    await w.replay();
    await w.replay();
    expect(await seqs(slow)).toEqual([1, 3, 4]);
    expect(await spoolLines(dir)).toEqual([]);
    expect(entries().filter((e) => e['event'] === 'audit_quarantined')).toMatchObject([
      { code: 'timeout', sessions: [{ session: slow, seq: 2 }] },
    ]);
    await w.close();
  }, 60_000);
});
