import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { batchDocument, batchElements } from '../../src/audit/event-document.js';
import { AuditWriter, MAX_BATCH_EVENTS, type AuditSink } from '../../src/audit/writer.js';
import { AuditQueries, type StoredEvent } from '../../src/store/audit-queries.js';
import type { Store } from '../../src/store/store.js';
import { createLogger } from '../../src/util/logger.js';
import { intactChain as chainLength, storedEvents } from '../harness/audit.js';
import { capturedLog } from '../harness/logs.js';
import { openTestStore } from '../harness/store.js';

let store: Store;
let audit: AuditQueries;
beforeAll(async () => {
  store = await openTestStore(inject('pgCluster'));
  audit = new AuditQueries(store);
});
afterAll(async () => {
  await store?.close();
});

/** The real store, counting the events of each insert it takes, and a switch that makes it unreachable. */
function recording(): { sink: AuditSink; inserts: number[]; down: { value: boolean } } {
  const inserts: number[] = [];
  const down = { value: false };
  const sink: AuditSink = {
    insertEvents: async (doc) => {
      if (down.value) throw new Error('connect ECONNREFUSED');
      await audit.insertEvents(doc);
      inserts.push((JSON.parse(doc) as unknown[]).length);
    },
    refusal: (err) => audit.refusal(err),
  };
  return { sink, inserts, down };
}

const stored = (sessionId: string): Promise<StoredEvent[]> => storedEvents(store, sessionId);
const intactChain = (sessionId: string): Promise<number> => chainLength(store, sessionId);

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

const spoolDir = (): Promise<string> => mkdtemp(join(tmpdir(), 'pgward-writer-'));

describe('AuditWriter batches', () => {
  it('writes a burst in inserts of at most MAX_BATCH_EVENTS, every chain intact', async () => {
    const { sink, inserts } = recording();
    const w = new AuditWriter(sink, createLogger('silent'));
    const sessions = [randomUUID(), randomUUID(), randomUUID()];
    for (let i = 0; i < 2_000; i++)
      for (const s of sessions) w.append(s, 'alice', 'statement', { i, sql: 'copy t from stdin' });
    await w.flush();
    expect(Math.max(...inserts)).toBeLessThanOrEqual(MAX_BATCH_EVENTS);
    expect(inserts.reduce((a, b) => a + b, 0)).toBe(6_000);
    for (const s of sessions) expect(await intactChain(s)).toBe(2_000);
    await w.close();
  });

  it('spools a burst during an outage in bounded lines and replays it in bounded inserts, in order', async () => {
    const dir = await spoolDir();
    const { sink, inserts, down } = recording();
    down.value = true;
    const w = new AuditWriter(sink, createLogger('silent'), { replayMs: 60_000 }, dir);
    const sessions = [randomUUID(), randomUUID()];
    for (let i = 0; i < 1_750; i++) for (const s of sessions) w.append(s, 'bob', 'statement', { i });
    await w.flush();
    const lines = (await readFile(join(dir, 'audit-spool.jsonl'), 'utf8')).trim().split('\n');
    expect(lines.map((l) => batchElements(l)!.length).every((n) => n <= MAX_BATCH_EVENTS)).toBe(true);
    expect(lines.reduce((n, l) => n + batchElements(l)!.length, 0)).toBe(3_500);

    down.value = false;
    await w.replay();
    expect(inserts.length).toBeGreaterThanOrEqual(4);
    expect(Math.max(...inserts)).toBeLessThanOrEqual(MAX_BATCH_EVENTS);
    for (const s of sessions) expect(await intactChain(s)).toBe(1_750);
    expect(await readFile(join(dir, 'audit-spool.jsonl'), 'utf8')).toBe('');
    await w.close();
  });

  it('replays a whole burst spooled as one line by an earlier version in bounded inserts', async () => {
    const dir = await spoolDir();
    const id = randomUUID();
    const elements = await elementsOf((w) => {
      for (let i = 0; i < 3_000; i++) w.append(id, 'carol', 'statement', { i, n: 2 ** 53 - 1 - i });
    });
    await writeFile(join(dir, 'audit-spool.jsonl'), batchDocument(elements) + '\n');
    const { sink, inserts } = recording();
    const w = new AuditWriter(sink, createLogger('silent'), {}, dir);
    await w.replay();
    expect(Math.max(...inserts)).toBeLessThanOrEqual(MAX_BATCH_EVENTS);
    expect(await intactChain(id)).toBe(3_000);
    await w.close();
  });
});

describe('AuditWriter spool order', () => {
  it('a batch spooled while a replay runs stays ahead of later batches', async () => {
    const dir = await spoolDir();
    const { sink, down } = recording();
    let open: () => void = () => undefined;
    let gate: Promise<void> | null = null;
    const gated: AuditSink = {
      insertEvents: async (doc) => (await gate, sink.insertEvents(doc)),
      refusal: sink.refusal,
    };
    const w = new AuditWriter(gated, createLogger('silent'), { batch: 20, replayMs: 60_000 }, dir);
    const id = randomUUID();
    const append = (from: number): void => {
      for (let i = from; i < from + 20; i++) w.append(id, 'gina', 'statement', { i });
    };
    down.value = true;
    append(0);
    await w.flush();
    // The store is back, and a replay is delivering the spool when the next batch comes.
    down.value = false;
    gate = new Promise((r) => (open = r));
    const replay = w.replay();
    append(20);
    const spooling = w.flush();
    open();
    await replay;
    await spooling;
    append(40);
    await w.flush();
    // Events 21-40 wait in the spool, so 41-60 wait behind them rather than overtaking.
    expect((await stored(id)).map((e) => e.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    await w.replay();
    expect(await intactChain(id)).toBe(60);
    await w.close();
  });
});

describe('AuditWriter and what the store refuses', () => {
  it('stores any string exactly (U+0000, unpaired surrogates, a literal \\u0000), searchable with stand-ins, its hash intact', async () => {
    const { sink } = recording();
    const w = new AuditWriter(sink, createLogger('silent'));
    const id = randomUUID();
    const payload = {
      sql: 'select $1',
      params: ['a\0b', 'lone \ud800 high', 'lone \udfff low', 'typed \\u0000'],
      'key\0': 1,
    };
    w.append(id, 'dave\0x', 'statement', payload);
    w.append(id, 'dave', 'statement', { plain: 'é 😀' });
    await w.flush();
    expect(await intactChain(id)).toBe(2);
    const [first, second] = await stored(id);
    expect(first!.payload).toEqual(payload);
    expect(first!.username).toBe('dave\0x');
    expect(second!.payload).toEqual({ plain: 'é 😀' });
    // The searchable columns: U+0000 as the six characters \u0000, an unpaired surrogate as U+FFFD.
    const { rows } = await store.sql.query<{ username: string; payload: unknown; exact: boolean }>(
      'select username, payload, exact_body is not null as exact from session_events where session_id = $1 order by seq',
      [id],
    );
    expect(rows[0]).toEqual({
      username: 'dave\\u0000x',
      payload: {
        sql: 'select $1',
        params: ['a\\u0000b', 'lone \ufffd high', 'lone \ufffd low', 'typed \\u0000'],
        'key\\u0000': 1,
      },
      exact: true,
    });
    expect(rows[1]!.exact).toBe(false);
    await w.close();
  });

  it('sets aside a spooled event the store refuses as data, and delivers the rest before and after it', async () => {
    const dir = await spoolDir();
    const a = randomUUID();
    const b = randomUUID();
    const aEvents = await elementsOf((w) => {
      for (let i = 0; i < 6; i++) w.append(a, 'erin', 'statement', { i });
    });
    const bEvents = await elementsOf((w) => {
      for (let i = 0; i < 5; i++) w.append(b, 'erin', 'statement', { q: 'x' });
    });
    // As an earlier version spooled it: the NUL escaped raw, which jsonb refuses (22P05).
    bEvents[2] = bEvents[2]!.replace('"p":{"q":"x"}', '"p":{"q":"a\\u0000b"}');
    expect(bEvents[2]).toContain('\\u0000');
    await writeFile(
      join(dir, 'audit-spool.jsonl'),
      [batchDocument(aEvents.slice(0, 3)), batchDocument(bEvents), batchDocument(aEvents.slice(3))].join('\n') + '\n',
    );
    const { log, entries } = capturedLog();
    const w = new AuditWriter(recording().sink, log, {}, dir);
    await w.replay();
    expect(await intactChain(a)).toBe(6);
    expect((await stored(b)).map((e) => e.seq)).toEqual([1, 2, 4, 5]);
    expect(await readFile(join(dir, 'audit-spool.jsonl'), 'utf8')).toBe('');
    const dead = (await readFile(join(dir, 'audit-dead-letter.jsonl'), 'utf8')).trim().split('\n');
    expect(dead).toEqual([batchDocument([bEvents[2]!])]);
    // The log says what the store answered and which event it was, not that the store was unreachable.
    expect(entries().filter((e) => e['event'] === 'audit_quarantined')).toMatchObject([
      { events: 1, code: '22P05', sessions: [{ session: b, seq: 3 }], storeMessage: expect.stringMatching(/Unicode/) },
    ]);
    expect(entries().some((e) => /unreachable|did not answer/.test(String(e['msg'])))).toBe(false);
    await w.close();
  });

  it('sets aside a spool line cut short by a crash and delivers the lines after it', async () => {
    const dir = await spoolDir();
    const id = randomUUID();
    const elements = await elementsOf((w) => {
      for (let i = 0; i < 4; i++) w.append(id, 'frank', 'statement', { i });
    });
    const cut = batchDocument(elements.slice(0, 2)).slice(0, -40);
    await writeFile(join(dir, 'audit-spool.jsonl'), `${cut}\n${batchDocument(elements.slice(2))}\n`);
    const w = new AuditWriter(recording().sink, createLogger('silent'), {}, dir);
    await w.replay();
    expect((await stored(id)).map((e) => e.seq)).toEqual([3, 4]);
    expect(await readFile(join(dir, 'audit-dead-letter.jsonl'), 'utf8')).toBe(cut + '\n');
    await w.close();
  });
});
